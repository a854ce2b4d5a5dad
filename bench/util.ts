/** Small helpers shared by the bench scenarios: percentiles, a counterparty mailer, starting demands. */
import type { Client } from '@temporalio/client';
import nodemailer from 'nodemailer';
import type { DemandSpec } from '../domain/demand';
import { demandWorkflowId } from '../domain/ids';
import type { OutboundMail } from './stack';
import type { ShadowDemandInput } from './shadow-workflow';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Percentiles {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentiles of a sample, in the sample's unit (rounded to 0.1). */
export function percentiles(values: number[]): Percentiles {
  const s = [...values].sort((a, b) => a - b);
  const at = (p: number) =>
    s.length ? s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]! : NaN;
  const r = (v: number) => Math.round(v * 10) / 10;
  return { n: s.length, p50: r(at(50)), p95: r(at(95)), p99: r(at(99)), max: r(s[s.length - 1] ?? NaN) };
}

export const round = (v: number, digits = 3) => Math.round(v * 10 ** digits) / 10 ** digits;

/** The counterparty: answers an item by replying to a message auditflow sent, through the gateway. */
export function counterparty(gatewayPort: number, connections = 4) {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: gatewayPort,
    secure: false,
    ignoreTLS: true,
    pool: true,
    maxConnections: connections,
    maxMessages: Infinity,
  });
  return {
    async answer(m: OutboundMail, itemId: string): Promise<void> {
      if (!m.replyTo) throw new Error(`the ${m.kind} of ${m.demandId} has no Reply-To`);
      const subject = m.subject.replace(/^re:\s*/i, '').replace(/\s*\[[a-z0-9-]+\]/g, '');
      await transport.sendMail({
        from: m.to,
        to: m.replyTo,
        subject: `Re: ${subject} [${itemId}]`,
        ...(m.messageId ? { inReplyTo: m.messageId, references: [m.messageId] } : {}),
        text: `Our answer for ${itemId}: the application requested the permissions listed in our inventory; data was processed in our EU data centre and deleted in May 2023. No undeclared use cases.\n\nPriya Shah\n`,
        envelope: { from: m.to, to: [m.replyTo] },
      });
    },
    close: () => transport.close(),
  };
}

/** Starts a demand exactly as the CLI does (one workflow per demand, id from the business key). */
export function startOurs(client: Client, taskQueue: string, spec: DemandSpec) {
  return client.workflow.start('auditDemandWorkflow', {
    workflowId: demandWorkflowId(spec.id),
    taskQueue,
    args: [{ spec, startedBy: 'bench' }],
  });
}

export function startShadow(client: Client, taskQueue: string, demandId: string, input: ShadowDemandInput) {
  return client.workflow.start('shadowDemandWorkflow', { workflowId: `shadow:${demandId}`, taskQueue, args: [input] });
}

/** stateTransitionCount, history events and bytes, start and close of one workflow. */
export async function describeCost(client: Client, workflowId: string) {
  const d = await client.workflowService.describeWorkflowExecution({
    namespace: client.options.namespace,
    execution: { workflowId },
  });
  const info = d.workflowExecutionInfo!;
  const ms = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) =>
    t ? Number(t.seconds) * 1000 + Math.round((t.nanos ?? 0) / 1e6) : NaN;
  return {
    stateTransitions: Number(info.stateTransitionCount ?? 0),
    historyEvents: Number(info.historyLength ?? 0),
    historyBytes: Number(info.historySizeBytes ?? 0),
    startMs: ms(info.startTime),
    closeMs: ms(info.closeTime),
    status: info.status,
  };
}

/** Runs fn over items with at most `limit` in flight. */
export async function pool<T>(items: T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i]!, i);
      }
    }),
  );
}
