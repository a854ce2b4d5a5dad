/**
 * Scenario 4, parked scale: many demands of 8 items all waiting on a deadline 60 days away. Worker and
 * server RSS, the time to start them all, and the latency of a few replies to random parked demands
 * (with more demands than the worker's cache holds, a reply means a replay). Then scenario 3, gateway
 * throughput, replies to these demands' items from 8 concurrent SMTP clients, against a bare smtp-server
 * and against the fair floor (bench/fair-smtp.ts: an fsync'd spool file and one signal RPC per message),
 * then the gateway spooled (AUDITFLOW_GATEWAY_ACCEPT=spooled) with the next messages.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spoolQuery, spoolWorkflowIds } from '../domain/spool';
import { freePort, isPortOpen } from '../platform/net';
import { stopChild } from '../platform/process';
import { eventually } from '../platform/wait';
import { oursReply, requestCollector } from './latency';
import { benchSpec, itemId } from './specs';
import { spawnListening, spawnTs, type BenchStack, type OutboundMail } from './stack';
import { counterparty, percentiles, pool, round, sleep, startOurs, type Percentiles } from './util';

export interface ParkedResult {
  demands: number;
  itemsPerDemand: number;
  startSeconds: number;
  startsPerSecond: number;
  workerRssMB: number;
  serverRssMB: number;
  gatewayRssMB: number;
  workerRssMBBefore: number;
  serverRssMBBefore: number;
  randomReplyMs: Percentiles;
}

const MB = (b: number) => Math.round(b / 1048576);

export async function parked(
  stack: BenchStack,
  o: { demands: number; progress: (l: string) => void },
): Promise<{ result: ParkedResult; requests: Map<string, OutboundMail> }> {
  const tag = `park-${Date.now().toString(36)}`;
  const ids = Array.from({ length: o.demands }, (_, i) => `${tag}-${i}`);
  const collector = requestCollector(stack, new Set(ids));
  const before = stack.usage();
  const t0 = Date.now();
  let started = 0;
  const ticker = setInterval(
    () => o.progress(`parked: ${started}/${o.demands} started, ${collector.requests.size} requests sent`),
    10_000,
  );
  try {
    await pool(ids, 16, async (id) => {
      await startOurs(
        stack.client,
        stack.taskQueue,
        benchSpec({ id, items: 8, startMs: Date.now(), deadlineDays: 60 }),
      );
      started += 1;
    });
    const startSeconds = (Date.now() - t0) / 1000;
    o.progress(`parked: ${o.demands} started in ${startSeconds.toFixed(1)} s; waiting for every request to go out`);
    await collector.all(600_000);
    await sleep(3000);
    const after = stack.usage();
    const cp = counterparty(stack.gatewayPort, 1);
    const samples: number[] = [];
    try {
      for (let i = 0; i < 5; i++) {
        const id = ids[Math.floor(Math.random() * ids.length)]!;
        samples.push(await oursReply(stack.client, cp, collector.requests.get(id)!, itemId(7 - i)));
      }
    } finally {
      cp.close();
    }
    return {
      requests: collector.requests,
      result: {
        demands: o.demands,
        itemsPerDemand: 8,
        startSeconds: round(startSeconds, 1),
        startsPerSecond: round(o.demands / startSeconds, 1),
        workerRssMB: MB(after.worker.rssBytes),
        serverRssMB: MB(after.server.rssBytes),
        gatewayRssMB: MB(after.gateway.rssBytes),
        workerRssMBBefore: MB(before.worker.rssBytes),
        serverRssMBBefore: MB(before.server.rssBytes),
        randomReplyMs: percentiles(samples),
      },
    };
  } finally {
    clearInterval(ticker);
  }
}

export interface GatewayResult {
  clients: number;
  messages: number;
  bareMessagesPerSecond: number;
  /** The fair floor (bench/fair-smtp.ts): an fsync'd spool file and one signal RPC per message. */
  fairFloorMessagesPerSecond: number;
  fairFloorFailures: number;
  gatewayMessagesPerSecond: number;
  gatewayFailures: number;
  /** The gateway with AUDITFLOW_GATEWAY_ACCEPT=spooled: 250s per second, and the seconds until all were recorded. */
  spooledMessagesPerSecond: number;
  spooledFailures: number;
  spooledRecordedSeconds: number;
  fsyncPerSecond: number;
  ratios: {
    gatewayThroughput: number;
    gatewayVsFairFloor: number;
    gatewayVsFsync: number;
    spooledVsFairFloor: number;
  };
}

/** Single-threaded 4 KiB write + fdatasync per second, on the filesystem of the data folder. */
export function fsyncRate(dir: string, seconds = 2): number {
  const file = path.join(dir, 'fsync-probe');
  const fd = fs.openSync(file, 'w');
  const block = Buffer.alloc(4096, 1);
  let n = 0;
  const end = Date.now() + seconds * 1000;
  try {
    while (Date.now() < end) {
      fs.writeSync(fd, block);
      fs.fdatasyncSync(fd);
      n += 1;
    }
  } finally {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
  }
  return round(n / seconds, 0);
}

export async function gatewayThroughput(
  stack: BenchStack,
  requests: Map<string, OutboundMail>,
  o: { messages: number; progress: (l: string) => void },
): Promise<GatewayResult> {
  const clients = 8;
  const fsyncPerSecond = fsyncRate(stack.dataDir);
  o.progress(
    `gateway throughput: disk does ${fsyncPerSecond} fsync/s; ${o.messages} messages from ${clients} clients into a bare smtp-server`,
  );
  const bare = await spawnListening('bench/bare-smtp.ts', path.join(stack.dataDir, 'bare-smtp.log'));
  const targets: { m: OutboundMail; item: string }[] = [];
  // Item-major: consecutive messages go to different demands, as replies from many counterparties do
  // (eight clients answering the same demand at once measure that one workflow's signal queue instead).
  const reqs = [...requests.values()];
  for (let i = 0; i < 8; i++)
    for (const m of reqs) {
      const item = m.itemIds[i];
      if (item) targets.push({ m, item });
    }
  const work = targets.slice(0, o.messages);
  const blast = async (send: (t: (typeof work)[number], client: number) => Promise<void>) => {
    let next = 0;
    let failures = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: clients }, async (_, c) => {
        while (next < work.length) {
          const t = work[next++]!;
          await send(t, c).catch(() => void (failures += 1));
        }
      }),
    );
    return { seconds: (performance.now() - t0) / 1000, failures };
  };
  /** Messages per second a server on `port` answered with 250, from the same clients and messages. */
  const rateAt = async (port: number) => {
    const cps = Array.from({ length: clients }, () => counterparty(port, 1));
    const r = await blast((t, c) => cps[c]!.answer(t.m, t.item));
    cps.forEach((c) => c.close());
    return { rate: (work.length - r.failures) / r.seconds, failures: r.failures };
  };
  let bareRate: number;
  try {
    bareRate = (await rateAt(bare.port)).rate;
  } finally {
    await stopChild(bare.child, 2000);
  }
  o.progress(`gateway throughput: bare ${bareRate.toFixed(0)} msg/s; now the fair floor (fsync'd spool + one signal)`);
  const fair = await spawnListening('bench/fair-smtp.ts', path.join(stack.dataDir, 'fair-smtp.log'), stack.env);
  let fairRate: number;
  let fairFailures: number;
  try {
    ({ rate: fairRate, failures: fairFailures } = await rateAt(fair.port));
  } finally {
    await stopChild(fair.child, 5000);
  }
  o.progress(`gateway throughput: fair floor ${fairRate.toFixed(0)} msg/s; now the full gateway`);
  const { rate: gatewayRate, failures } = await rateAt(stack.gatewayPort);
  // The same gateway, spooled (a second process; the first stays idle), with the next messages in line
  // (new answers, as the first run's were): 250 once the spool has a message, then recorded in the background.
  o.progress(`gateway throughput: full gateway ${gatewayRate.toFixed(0)} msg/s; now the spooled gateway`);
  const spooledPort = await freePort();
  const spooled = spawnTs(
    'gateway/main.ts',
    { ...stack.env, AUDITFLOW_GATEWAY_PORT: String(spooledPort), AUDITFLOW_GATEWAY_ACCEPT: 'spooled' },
    path.join(stack.dataDir, 'gateway-spooled.log'),
  );
  let spooledRun: { rate: number; failures: number; recordedSeconds: number };
  try {
    await eventually(() => isPortOpen('127.0.0.1', spooledPort), 'the spooled gateway to listen', 120_000);
    const next = targets.slice(o.messages, 2 * o.messages);
    if (next.length === work.length) work.splice(0, work.length, ...next);
    const t0 = performance.now();
    const { rate, failures: f } = await rateAt(spooledPort);
    const waiting = async () => {
      let n = 0;
      for (const id of spoolWorkflowIds(stack.env.AUDITFLOW_TASK_QUEUE!))
        n +=
          (
            await stack.client.workflow
              .getHandle(id)
              .query(spoolQuery)
              .catch(() => undefined)
          )?.waiting.length ?? 0;
      return n;
    };
    await eventually(async () => (await waiting()) === 0, 'the spooled gateway to record every message', {
      timeoutMs: 600_000,
      intervalMs: 250,
    });
    spooledRun = { rate, failures: f, recordedSeconds: (performance.now() - t0) / 1000 };
  } finally {
    await stopChild(spooled, 10_000);
  }
  return {
    clients,
    messages: work.length,
    bareMessagesPerSecond: round(bareRate, 1),
    fairFloorMessagesPerSecond: round(fairRate, 1),
    fairFloorFailures: fairFailures,
    gatewayMessagesPerSecond: round(gatewayRate, 1),
    gatewayFailures: failures,
    spooledMessagesPerSecond: round(spooledRun.rate, 1),
    spooledFailures: spooledRun.failures,
    spooledRecordedSeconds: round(spooledRun.recordedSeconds, 1),
    fsyncPerSecond,
    ratios: {
      gatewayThroughput: round(gatewayRate / bareRate),
      gatewayVsFairFloor: round(gatewayRate / fairRate),
      gatewayVsFsync: round(gatewayRate / fsyncPerSecond),
      spooledVsFairFloor: round(spooledRun.rate / fairRate),
    },
  };
}
