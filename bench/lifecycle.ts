/**
 * Scenario 1, lifecycle cost against the floor: N demands of M items on compressed deadlines, each
 * started next to its shadow. The counterparty answers items 1, 4, 7, ... on time (when the request
 * arrives, through the gateway), items 2, 5, 8, ... after the reminder, and never answers the rest,
 * which go up the whole ladder to referral. The shadow gets the same answers as raw signals at the
 * same offsets. Per item: state transitions, history events and bytes, worker CPU, items per second.
 */
import { temporal } from '@temporalio/proto';
import type { Client } from '@temporalio/client';
import type { BenchStack, OutboundMail } from './stack';
import { shadowReplySignal } from './shadow-workflow';
import { benchSpec, itemId, shadowInput } from './specs';
import { counterparty, describeCost, round, sleep, startOurs, startShadow } from './util';

export interface LifecycleOptions {
  demands: number;
  items: number;
  deadlineIn: number;
  progress: (line: string) => void;
}

interface Side {
  stateTransitionsPerItem: number;
  historyEventsPerItem: number;
  historyBytesPerItem: number;
  workerCpuSecondsPerItem: number;
  itemsPerSecond: number;
  wallSeconds: number;
  completed: number;
}

export interface LifecycleResult {
  demands: number;
  itemsPerDemand: number;
  deadlineSeconds: number;
  answeredOnTime: number;
  answeredAfterReminder: number;
  unanswered: number;
  ours: Side;
  shadow: Side;
  /** Where one demand's history bytes go (ours and its shadow): bytes per event type, largest first. */
  historyBytesByEvent: { ours: Record<string, number>; shadow: Record<string, number> };
  ratios: {
    stateTransitionsPerItem: number;
    historyEventsPerItem: number;
    historyBytesPerItem: number;
    workerCpuPerItem: number;
    throughput: number;
  };
}

/** One workflow's history bytes by event type (each event's encoded size), largest first. */
async function bytesByEvent(client: Client, workflowId: string): Promise<Record<string, number>> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const sums = new Map<string, number>();
  for (const e of history.events ?? []) {
    const type = temporal.api.enums.v1.EventType[e.eventType ?? 0]!.replace(/^EVENT_TYPE_/, '');
    sums.set(type, (sums.get(type) ?? 0) + temporal.api.history.v1.HistoryEvent.encode(e).finish().length);
  }
  return Object.fromEntries([...sums].sort((a, b) => b[1] - a[1]));
}

/** 0: on time, 1: after the reminder, 2: never. */
const behaviour = (i: number) => i % 3;

export async function lifecycle(stack: BenchStack, o: LifecycleOptions): Promise<LifecycleResult> {
  const tag = `life-${Date.now().toString(36)}`;
  const ids = Array.from({ length: o.demands }, (_, i) => `${tag}-${i}`);
  const mine = new Set(ids);
  const cp = counterparty(stack.gatewayPort);
  const answered = new Set<string>();
  let replies = 0;
  const pending: Promise<void>[] = [];
  stack.sink.onMail((m: OutboundMail) => {
    if (!mine.has(m.demandId)) return;
    const want = m.kind === 'request' ? 0 : m.kind === 'reminder' ? 1 : -1;
    for (const item of m.itemIds) {
      const key = `${m.demandId}/${item}`;
      if (behaviour(Number(item.slice(5)) - 1) !== want || answered.has(key)) continue;
      answered.add(key);
      pending.push(cp.answer(m, item).then(() => void (replies += 1)));
    }
  });
  const before = stack.usage();
  const t0 = Date.now();
  const results: Promise<unknown>[] = [];
  const timers: NodeJS.Timeout[] = [];
  for (const id of ids) {
    const startMs = Date.now();
    const spec = benchSpec({ id, items: o.items, startMs, deadlineIn: o.deadlineIn });
    const ours = await startOurs(stack.client, stack.taskQueue, spec);
    const shadow = await startShadow(stack.client, stack.shadowTaskQueue, id, shadowInput(spec, startMs));
    results.push(ours.result(), shadow.result());
    const signal = (i: number) => shadow.signal(shadowReplySignal, { itemId: itemId(i) });
    for (let i = 0; i < o.items; i++) {
      if (behaviour(i) === 0) pending.push(signal(i));
      // The compressed reminder goes out half-way to the deadline.
      if (behaviour(i) === 1) timers.push(setTimeout(() => pending.push(signal(i)), o.deadlineIn * 500 + 300));
    }
  }
  o.progress(
    `lifecycle: started ${o.demands} demands and ${o.demands} shadows in ${((Date.now() - t0) / 1000).toFixed(1)} s; deadline ${o.deadlineIn} s, ladder to ${Math.round(o.deadlineIn * 1.75)} s`,
  );
  let done = 0;
  const all = Promise.all(results.map((p) => p.then(() => void (done += 1))));
  const ticker = setInterval(
    () =>
      o.progress(
        `lifecycle: ${done}/${results.length} workflows finished, ${replies} replies through the gateway, ${stack.sink.count} mails out (${Math.round((Date.now() - t0) / 1000)} s)`,
      ),
    10_000,
  );
  try {
    await all;
    await Promise.all(pending);
  } finally {
    clearInterval(ticker);
    timers.forEach(clearTimeout);
    cp.close();
  }
  const after = stack.usage();
  await sleep(500);
  const side = async (wfIds: string[], cpu: number): Promise<Side> => {
    const costs = await Promise.all(wfIds.map((w) => describeCost(stack.client, w)));
    const items = wfIds.length * o.items;
    const sum = (f: (c: (typeof costs)[number]) => number) => costs.reduce((a, c) => a + f(c), 0);
    const wall = (Math.max(...costs.map((c) => c.closeMs)) - Math.min(...costs.map((c) => c.startMs))) / 1000;
    return {
      stateTransitionsPerItem: round(sum((c) => c.stateTransitions) / items, 2),
      historyEventsPerItem: round(sum((c) => c.historyEvents) / items, 2),
      historyBytesPerItem: Math.round(sum((c) => c.historyBytes) / items),
      workerCpuSecondsPerItem: round(cpu / items, 4),
      itemsPerSecond: round(items / wall, 3),
      wallSeconds: round(wall, 1),
      completed: costs.filter((c) => c.status === 2).length,
    };
  };
  const ours = await side(
    ids.map((id) => `audit:${id}`),
    after.worker.cpuSeconds - before.worker.cpuSeconds,
  );
  const shadow = await side(
    ids.map((id) => `shadow:${id}`),
    after.shadowWorker.cpuSeconds - before.shadowWorker.cpuSeconds,
  );
  const per = Array.from({ length: o.items }, (_, i) => behaviour(i));
  return {
    demands: o.demands,
    itemsPerDemand: o.items,
    deadlineSeconds: o.deadlineIn,
    answeredOnTime: per.filter((b) => b === 0).length * o.demands,
    answeredAfterReminder: per.filter((b) => b === 1).length * o.demands,
    unanswered: per.filter((b) => b === 2).length * o.demands,
    ours,
    shadow,
    historyBytesByEvent: {
      ours: await bytesByEvent(stack.client, `audit:${ids[0]}`),
      shadow: await bytesByEvent(stack.client, `shadow:${ids[0]}`),
    },
    ratios: {
      stateTransitionsPerItem: round(ours.stateTransitionsPerItem / shadow.stateTransitionsPerItem),
      historyEventsPerItem: round(ours.historyEventsPerItem / shadow.historyEventsPerItem),
      historyBytesPerItem: round(ours.historyBytesPerItem / shadow.historyBytesPerItem),
      workerCpuPerItem: round(ours.workerCpuSecondsPerItem / shadow.workerCpuSecondsPerItem),
      throughput: round(ours.itemsPerSecond / shadow.itemsPerSecond),
    },
  };
}
