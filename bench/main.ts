/**
 * `npm run bench [-- --quick] [-- --only 1,2,3,4,5,6,7,8]`: the benchmark of issue 6. Starts its own stack
 * (dev server on in-memory SQLite, worker, shadow worker and gateway as child processes), runs the
 * scenarios, prints a table and writes bench-results.json with every figure and the ratios.
 * Absolute figures depend on the machine and its load; the ratios compare two things measured in the
 * same run on the same server.
 */
import { execSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../platform/paths';
import { growth } from './growth';
import { replyLatency } from './latency';
import { lifecycle } from './lifecycle';
import { gatewayThroughput, parked } from './parked';
import { startBenchStack, type BenchStack } from './stack';
import { storageCost } from './storage';
import { codecCost } from './codec';
import { cliLatency } from './cli';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const onlyArg =
  argv.find((a) => a.startsWith('--only'))?.split('=')[1] ??
  (argv.includes('--only') ? argv[argv.indexOf('--only') + 1] : undefined);
const only = new Set((onlyArg ?? '1,2,3,4,5,6,7,8').split(',').map(Number));

const SIZES = quick
  ? {
      demands: 12,
      items: 8,
      deadlineIn: 20,
      latencyDemands: 4,
      parked: 150,
      gatewayMessages: 300,
      growth: [1, 8, 32],
      storage: { demands: 6, items: 8, deadlineIn: 20, parked: 40, messages: 200 },
      codec: { demands: 6, items: 8, deadlineIn: 20, latencyDemands: 3 },
    }
  : {
      demands: 50,
      items: 8,
      deadlineIn: 40,
      latencyDemands: 12,
      parked: 1000,
      gatewayMessages: 1000,
      growth: [1, 8, 32, 128],
      storage: { demands: 20, items: 8, deadlineIn: 30, parked: 100, messages: 600 },
      codec: { demands: 20, items: 8, deadlineIn: 30, latencyDemands: 8 },
    };

const began = Date.now();
const progress = (line: string) =>
  process.stdout.write(`[${String(Math.round((Date.now() - began) / 1000)).padStart(4)} s] ${line}\n`);

function machine() {
  let cpuModel = os.cpus()[0]?.model ?? 'unknown';
  cpuModel = cpuModel.replace(/\s+/g, ' ').trim();
  const load = os.loadavg().map((l) => Math.round(l * 100) / 100);
  let commit = 'unknown';
  try {
    commit = execSync('git rev-parse --short HEAD', { cwd: PROJECT_ROOT, encoding: 'utf8' }).trim();
  } catch {
    // not a git checkout
  }
  return {
    cores: os.cpus().length,
    cpuModel,
    memoryGiB: Math.round(os.totalmem() / 1073741824),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    loadAverageAtStart: load,
    commit,
  };
}

type Row = [string, string, string];

async function main(): Promise<void> {
  const results: Record<string, unknown> = {
    date: new Date().toISOString(),
    mode: quick ? 'quick' : 'full',
    machine: machine(),
    temporal: 'temporal server start-dev, in-memory SQLite (no --db-filename), 1 history shard',
    sizes: SIZES,
  };
  const errors: Record<string, string> = {};
  const ratios: Record<string, number> = {};
  const rows: Row[] = [];
  const run = async <T>(n: number, name: string, fn: () => Promise<T>): Promise<T | undefined> => {
    if (!only.has(n)) return undefined;
    progress(`scenario ${n}: ${name}`);
    try {
      const r = await fn();
      results[name] = r;
      return r;
    } catch (err) {
      errors[name] = (err as Error).stack ?? String(err);
      progress(`scenario ${n} failed: ${(err as Error).message}`);
      return undefined;
    }
  };
  let stack: BenchStack | undefined;
  try {
    if ([1, 2, 3, 4, 8].some((n) => only.has(n))) stack = await startBenchStack(progress);
    const s = stack!;
    const lat = await run(2, 'replyLatency', () => replyLatency(s, { demands: SIZES.latencyDemands, progress }));
    if (lat) {
      ratios.replyLatencyP95 = lat.ratios.replyLatencyP95;
      rows.push([
        'reply latency p50/p95/p99, gateway',
        `${lat.gatewayReplyMs.p50} / ${lat.gatewayReplyMs.p95} / ${lat.gatewayReplyMs.p99} ms`,
        `x${lat.ratios.replyLatencyP95} (p95) vs signal RPC; target <= 2`,
      ]);
      rows.push([
        'reply latency p50/p95/p99, raw signal',
        `${lat.signalRpcMs.p50} / ${lat.signalRpcMs.p95} / ${lat.signalRpcMs.p99} ms`,
        `${lat.samplesPerSide} samples each`,
      ]);
    }
    const life = await run(1, 'lifecycle', () =>
      lifecycle(s, { demands: SIZES.demands, items: SIZES.items, deadlineIn: SIZES.deadlineIn, progress }),
    );
    if (life) {
      ratios.stateTransitionsPerItem = life.ratios.stateTransitionsPerItem;
      ratios.throughput = life.ratios.throughput;
      ratios.historyBytesPerItem = life.ratios.historyBytesPerItem;
      ratios.workerCpuPerItem = life.ratios.workerCpuPerItem;
      const { ours: a, shadow: b } = life;
      rows.push([
        'state transitions / item (ours, shadow)',
        `${a.stateTransitionsPerItem}, ${b.stateTransitionsPerItem}`,
        `x${life.ratios.stateTransitionsPerItem}; target <= 1.15`,
      ]);
      rows.push([
        'history events / item',
        `${a.historyEventsPerItem}, ${b.historyEventsPerItem}`,
        `x${life.ratios.historyEventsPerItem}`,
      ]);
      rows.push([
        'history bytes / item',
        `${a.historyBytesPerItem}, ${b.historyBytesPerItem}`,
        `x${life.ratios.historyBytesPerItem}`,
      ]);
      rows.push([
        'worker CPU s / item',
        `${a.workerCpuSecondsPerItem}, ${b.workerCpuSecondsPerItem}`,
        `x${life.ratios.workerCpuPerItem}`,
      ]);
      rows.push([
        'items completed / s',
        `${a.itemsPerSecond}, ${b.itemsPerSecond}`,
        `x${life.ratios.throughput}; target >= 0.85`,
      ]);
    }
    const park = await run(4, 'parked', () => parked(s, { demands: SIZES.parked, progress }));
    if (park) {
      const p = park.result;
      results.parked = p;
      rows.push([
        `parked ${p.demands} x ${p.itemsPerDemand}: worker RSS`,
        `${p.workerRssMB} MB (idle ${p.workerRssMBBefore} MB)`,
        `target <= 1024 MB`,
      ]);
      rows.push(['parked: server RSS', `${p.serverRssMB} MB (before ${p.serverRssMBBefore} MB)`, '']);
      rows.push(['parked: time to start all', `${p.startSeconds} s`, `${p.startsPerSecond} starts/s`]);
      rows.push([
        'parked: reply to a random demand',
        `p50 ${p.randomReplyMs.p50} ms, max ${p.randomReplyMs.max} ms`,
        `${p.randomReplyMs.n} samples`,
      ]);
      const gw = await run(3, 'gatewayThroughput', () =>
        gatewayThroughput(s, park.requests, { messages: SIZES.gatewayMessages, progress }),
      );
      if (gw) {
        ratios.gatewayThroughput = gw.ratios.gatewayThroughput;
        ratios.gatewayVsFairFloor = gw.ratios.gatewayVsFairFloor;
        rows.push([
          `gateway msg/s, ${gw.clients} clients (bare, fair floor, full)`,
          `${gw.bareMessagesPerSecond}, ${gw.fairFloorMessagesPerSecond}, ${gw.gatewayMessagesPerSecond}`,
          `x${gw.ratios.gatewayThroughput} of bare; x${gw.ratios.gatewayVsFairFloor} of the fair floor`,
        ]);
        ratios.spooledVsFairFloor = gw.ratios.spooledVsFairFloor;
        rows.push([
          `gateway spooled msg/s, ${gw.clients} clients (all recorded after)`,
          `${gw.spooledMessagesPerSecond} (${gw.spooledRecordedSeconds} s)`,
          `x${gw.ratios.spooledVsFairFloor} of the fair floor (target >= 0.5)`,
        ]);
        rows.push([
          'disk fsync/s (4 KiB write + fdatasync)',
          `${gw.fsyncPerSecond}`,
          `gateway = x${gw.ratios.gatewayVsFsync} of it`,
        ]);
      }
    } else if (only.has(3)) {
      errors.gatewayThroughput = 'needs the parked demands of scenario 4 (their reply addresses)';
    }
    const cli = await run(8, 'cli', () => cliLatency(s, { progress }));
    if (cli) {
      Object.assign(ratios, cli.ratios);
      const m = cli.medianMs;
      rows.push([
        'cli: temporal workflow describe (median of 5)',
        `${m.temporalDescribe} ms`,
        'the floor of the cli ratios',
      ]);
      rows.push([
        'cli: validate / plan',
        `${m.validate} / ${m.plan} ms`,
        `x${cli.ratios.cliValidate} (target <= 5) / x${cli.ratios.cliPlan}`,
      ]);
      rows.push([
        'cli: show / list',
        `${m.show} / ${m.list} ms`,
        `x${cli.ratios.cliShow} (target <= 8) / x${cli.ratios.cliList}`,
      ]);
    }
    if (stack) {
      progress('stopping the stack');
      await stack.close();
      stack = undefined;
    }
    const g = await run(5, 'growth', () => growth({ itemCounts: SIZES.growth, progress }));
    if (g) {
      for (const d of g.perDemand)
        rows.push([
          `growth: demand of ${d.items} items, to referral`,
          `${d.historyEvents} events, ${d.historyBytes} B`,
          `${d.eventsPerItem} ev/item, ${d.messages} msgs, ${d.eventsPerMessage} ev/msg`,
        ]);
      rows.push([
        'growth: parked history after 1 d, 30 d',
        `${g.waited.day1.events} / ${g.waited.day30.events} events, ${g.waited.day1.bytes} / ${g.waited.day30.bytes} B`,
        `grew by ${g.waited.grewBy} B`,
      ]);
    }
    const st = await run(6, 'storage', () => storageCost({ ...SIZES.storage, progress }));
    if (st) {
      ratios.s3LifecycleThroughput = st.ratios.s3LifecycleThroughput;
      ratios.s3GatewayThroughput = st.ratios.s3GatewayThroughput;
      rows.push([
        'storage: lifecycle items/s (file, s3)',
        `${st.file.lifecycleItemsPerSecond}, ${st.s3.lifecycleItemsPerSecond}`,
        `x${st.ratios.s3LifecycleThroughput} on s3; worker CPU/item x${st.ratios.s3WorkerCpuPerItem}`,
      ]);
      rows.push([
        'storage: gateway msg/s (file, s3)',
        `${st.file.gatewayMessagesPerSecond}, ${st.s3.gatewayMessagesPerSecond}`,
        `x${st.ratios.s3GatewayThroughput} on s3`,
      ]);
    }
    const cc = await run(7, 'codec', () => codecCost({ ...SIZES.codec, progress }));
    if (cc) {
      Object.assign(ratios, cc.ratios);
      rows.push([
        'codec on / off: state transitions per item',
        `${cc.on.stateTransitionsPerItem}, ${cc.off.stateTransitionsPerItem}`,
        `x${cc.ratios.codecStateTransitionsPerItem}`,
      ]);
      rows.push([
        'codec on / off: items completed / s',
        `${cc.on.itemsPerSecond}, ${cc.off.itemsPerSecond}`,
        `x${cc.ratios.codecThroughput}`,
      ]);
      rows.push([
        'codec on / off: reply latency p95',
        `${cc.on.replyLatencyP95Ms}, ${cc.off.replyLatencyP95Ms} ms`,
        `x${cc.ratios.codecReplyLatencyP95}`,
      ]);
      rows.push([
        'codec on / off: history bytes, worker CPU per item',
        `${cc.on.historyBytesPerItem} / ${cc.off.historyBytesPerItem} B; ${cc.on.workerCpuSecondsPerItem} / ${cc.off.workerCpuSecondsPerItem} s`,
        `x${cc.ratios.codecHistoryBytesPerItem}; x${cc.ratios.codecWorkerCpuPerItem}`,
      ]);
    }
  } finally {
    await stack?.close();
  }
  results.ratios = ratios;
  results.errors = errors;
  results.durationSeconds = Math.round((Date.now() - began) / 1000);
  const file = path.join(PROJECT_ROOT, 'bench-results.json');
  fs.writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  const w = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length), 6));
  const line = (r: Row) => `${r[0].padEnd(w[0]!)}  ${r[1].padEnd(w[1]!)}  ${r[2]}`;
  process.stdout.write(
    `\n${line(['figure', 'value', 'ratio / note'])}\n${w.map((n) => '-'.repeat(n)).join('  ')}\n${rows.map(line).join('\n')}\n\n`,
  );
  process.stdout.write(
    `ratios: ${JSON.stringify(ratios)}\nwrote ${file} (${results.mode}, ${results.durationSeconds} s)\n`,
  );
  if (Object.keys(errors).length) {
    process.stdout.write(`failed scenarios: ${Object.keys(errors).join(', ')} (details in bench-results.json)\n`);
    process.exitCode = 1;
  }
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

main().catch((err) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
