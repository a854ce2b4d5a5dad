/**
 * One demand test's world: a Temporal environment (time-skipping or the dev server), a real SMTP sink,
 * and the real auditflow worker on its own task queue with its own data folder. Always torn down.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DataConverter } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { AttachmentRef } from '../../domain/attachments';
import type { Worker } from '@temporalio/worker';
import type { WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { demandWorkflowId } from '../../domain/ids';
import { statusQuery } from '../../domain/messages';
import type { DemandSpecInput } from '../../domain/demand';
import type { DemandStatusView } from '../../domain/state';
import { demandSummary } from '../../domain/summary';
import { checkDemand } from '../../domain/demand';
import { calendarRules } from '../../domain/schedule';
import { earliestInWindow } from '../../domain/time';
import { loadConfig, loadSecret, type AuditflowConfig } from '../../platform/config';
import { createAuditWorker } from '../../worker/main';
import type { auditDemandWorkflow } from '../../workflows';
import { startSmtpSink, type SmtpSink } from './smtp-sink';
import { ANY_HOUR } from './specs';
import { devEnv, TEST_ENCRYPTION_KEYS, timeSkippingEnv, uniqueName, workflowBundlePath } from './temporal';
import { eventually } from '../../platform/wait';

export const TEST_SECRET = 'test-secret-0123456789abcdef0123456789abcdef';

export interface Harness {
  env: TestWorkflowEnvironment;
  sink: SmtpSink;
  config: AuditflowConfig;
  worker: Worker;
  /** Starts a demand (validated like the CLI does) and returns its handle. */
  start(
    spec: DemandSpecInput,
    startedBy?: string,
    /** References to files already in the harness's storage, as `auditflow start` passes them. */
    attachments?: AttachmentRef[],
  ): Promise<WorkflowHandleWithFirstExecutionRunId<typeof auditDemandWorkflow>>;
  status(demandId: string): Promise<DemandStatusView>;
  /** Waits until the workflow has recorded every queued message (its outbox is empty). */
  settled(demandId: string): Promise<DemandStatusView>;
  /** The environment the real CLI needs to reach this harness's server, worker, data folder, storage and sink. */
  cliEnv(): Record<string, string>;
  /** Advances (time-skipping) time to an instant. */
  skipTo(ms: number): Promise<void>;
  close(): Promise<void>;
}

export async function harness(
  kind: 'time-skipping' | 'dev',
  extraEnv: Record<string, string> = {},
  opts: { address?: string; dataConverter?: DataConverter } = {},
): Promise<Harness> {
  // `dataConverter`: the test client's, when the test gives the worker other keys (or none) in extraEnv.
  const env = kind === 'time-skipping' ? await timeSkippingEnv() : await devEnv(opts.address, opts.dataConverter);
  const sink = await startSmtpSink();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'auditflow-test-'));
  const config = loadConfig({
    AUDITFLOW_DATA_DIR: dataDir,
    SMTP_URL: sink.url,
    AUDITFLOW_TASK_QUEUE: uniqueName('tq'),
    AUDITFLOW_SECRET: TEST_SECRET,
    AUDITFLOW_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS,
    ...extraEnv,
  });
  const { worker, close: closeWorker } = await createAuditWorker(
    config,
    env.nativeConnection,
    env.namespace ?? 'default',
    { workflowBundlePath: await workflowBundlePath() },
  );
  const running = worker.run();
  const client = env.client;
  return {
    env,
    sink,
    config,
    worker,
    async start(input, startedBy = 'test', attachments) {
      // The dev server runs on the wall clock: a demand there sends at any hour unless its spec says
      // otherwise. On the time-skipping server a demand starts at the next sending hour of its counterparty
      // (as ops would start it), so its request goes at once; sending hours are tested there.
      if (kind === 'dev' && input.calendar === undefined) input = { ...input, calendar: ANY_HOUR };
      if (kind === 'time-skipping') {
        const spec = checkDemand(input);
        if (spec.ok) {
          const now = await env.currentTimeMs();
          const open = earliestInWindow(now, spec.spec.counterparty.timezone, calendarRules(spec.spec));
          if (open > now) await env.sleep(open - now);
        }
      }
      const checked = checkDemand(input);
      if (!checked.ok) throw new Error(`test spec invalid: ${JSON.stringify(checked.problems)}`);
      return client.workflow.start<typeof auditDemandWorkflow>('auditDemandWorkflow', {
        workflowId: demandWorkflowId(checked.spec.id),
        taskQueue: config.taskQueue,
        args: [{ spec: checked.spec, startedBy, ...(attachments ? { attachments } : {}) }],
        staticSummary: demandSummary(checked.spec),
      });
    },
    status: (demandId) => client.workflow.getHandle(demandWorkflowId(demandId)).query(statusQuery),
    settled(demandId) {
      let left = 0;
      return eventually(
        async () => {
          const s = await client.workflow.getHandle(demandWorkflowId(demandId)).query(statusQuery);
          left = s.outbox.length;
          return left === 0 ? s : undefined;
        },
        () => `demand ${demandId} to send its ${left} queued message(s)`,
        { intervalMs: 100 },
      );
    },
    cliEnv: () => ({
      TEMPORAL_ADDRESS: env.address,
      AUDITFLOW_TASK_QUEUE: config.taskQueue,
      AUDITFLOW_DATA_DIR: config.dataDir,
      SMTP_URL: sink.url,
      AUDITFLOW_SECRET: loadSecret(config),
      AUDITFLOW_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS,
      // The storage settings and their credentials, when the test gave some (s3://).
      ...extraEnv,
    }),
    async skipTo(ms) {
      const now = await env.currentTimeMs();
      if (ms > now) await env.sleep(ms - now);
    },
    async close() {
      worker.shutdown();
      await running.catch(() => undefined);
      await closeWorker();
      await sink.close();
      await env.teardown();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Runs `fn` with a time-skipping harness and always tears it down. */
export async function withHarness(fn: (h: Harness) => Promise<void>): Promise<void> {
  const h = await harness('time-skipping');
  try {
    await fn(h);
  } finally {
    await h.close();
  }
}

/** Asserts that an update was refused and that its reason (the cause's message) matches. */
export async function rejectsWith(p: Promise<unknown>, reason: RegExp): Promise<void> {
  await p.then(
    () => {
      throw new Error(`expected a refusal matching ${reason}, but the update was accepted`);
    },
    (err: Error & { cause?: Error }) => {
      const text = err.cause?.message ?? err.message;
      if (!reason.test(text)) throw new Error(`refusal "${text}" does not match ${reason}`);
    },
  );
}
