/**
 * Scenario 2, reply latency: parked demands (and as many shadows) of 8 items; each item is answered
 * once, ours by an email through the gateway, the shadow's by a raw signal RPC, alternately. Latency is
 * from the start of the SMTP submission (for the RPC: the call) until the status query shows the answer.
 * Also used by the parked scenario for single replies.
 */
import type { Client } from '@temporalio/client';
import { statusQuery } from '../domain/messages';
import type { BenchStack, OutboundMail } from './stack';
import { shadowReplySignal, shadowStatusQuery } from './shadow-workflow';
import { benchSpec, itemId, shadowInput } from './specs';
import { counterparty, percentiles, pool, round, sleep, startOurs, startShadow, type Percentiles } from './util';

/** Collects the request each demand sends, to reply to it later. */
export function requestCollector(stack: BenchStack, ids: Set<string>) {
  const requests = new Map<string, OutboundMail>();
  stack.sink.onMail((m) => {
    if (m.kind === 'request' && ids.has(m.demandId) && m.replyTo) requests.set(m.demandId, m);
  });
  return {
    requests,
    async all(timeoutMs: number): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (requests.size < ids.size) {
        if (Date.now() > deadline)
          throw new Error(`only ${requests.size} of ${ids.size} demands sent their request in time`);
        await sleep(200);
      }
    },
  };
}

/** Polls a query until it holds; returns the instant it did. */
async function until(check: () => Promise<boolean>, timeoutMs = 60_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return performance.now();
    if (Date.now() > deadline) throw new Error('the answer never showed in the status query');
    await sleep(2);
  }
}

/** One answer through the gateway; milliseconds until the status query shows it. */
export async function oursReply(
  client: Client,
  cp: ReturnType<typeof counterparty>,
  request: OutboundMail,
  item: string,
): Promise<number> {
  const handle = client.workflow.getHandle(`audit:${request.demandId}`);
  const t0 = performance.now();
  await cp.answer(request, item);
  const seen = await until(
    async () => ((await handle.query(statusQuery)).items.find((i) => i.id === item)?.answers.length ?? 0) > 0,
  );
  return seen - t0;
}

/** One raw signal to a shadow; milliseconds until its status query shows it. */
export async function shadowReply(client: Client, demandId: string, item: string): Promise<number> {
  const handle = client.workflow.getHandle(`shadow:${demandId}`);
  const t0 = performance.now();
  await handle.signal(shadowReplySignal, { itemId: item });
  const seen = await until(async () => (await handle.query(shadowStatusQuery)).answered.includes(item));
  return seen - t0;
}

export interface LatencyResult {
  samplesPerSide: number;
  gatewayReplyMs: Percentiles;
  signalRpcMs: Percentiles;
  ratios: { replyLatencyP50: number; replyLatencyP95: number; replyLatencyP99: number };
}

export async function replyLatency(
  stack: BenchStack,
  o: { demands: number; progress: (l: string) => void },
): Promise<LatencyResult> {
  const tag = `lat-${Date.now().toString(36)}`;
  const ids = Array.from({ length: o.demands }, (_, i) => `${tag}-${i}`);
  const collector = requestCollector(stack, new Set(ids));
  await pool(ids, 4, async (id) => {
    const startMs = Date.now();
    const spec = benchSpec({ id, items: 8, startMs, deadlineDays: 60 });
    await startOurs(stack.client, stack.taskQueue, spec);
    await startShadow(stack.client, stack.shadowTaskQueue, id, shadowInput(spec, startMs));
  });
  await collector.all(120_000);
  await sleep(1000);
  const cp = counterparty(stack.gatewayPort, 1);
  const ours: number[] = [];
  const shadow: number[] = [];
  try {
    for (let i = 0; i < 8; i++) {
      for (const id of ids) {
        ours.push(await oursReply(stack.client, cp, collector.requests.get(id)!, itemId(i)));
        shadow.push(await shadowReply(stack.client, id, itemId(i)));
      }
      o.progress(`reply latency: ${ours.length}/${ids.length * 8} replies each way`);
    }
  } finally {
    cp.close();
  }
  const a = percentiles(ours);
  const b = percentiles(shadow);
  return {
    samplesPerSide: ours.length,
    gatewayReplyMs: a,
    signalRpcMs: b,
    ratios: {
      replyLatencyP50: round(a.p50 / b.p50),
      replyLatencyP95: round(a.p95 / b.p95),
      replyLatencyP99: round(a.p99 / b.p99),
    },
  };
}
