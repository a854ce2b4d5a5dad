/**
 * The stack the benchmark runs on, all of it its own: a dev server, the real worker, the shadow worker
 * and the real gateway as child processes (so that CPU and RSS are read per process from /proc), an
 * outbound SMTP sink in this process that hands every message auditflow sends to the scripted
 * counterparty, and a client.
 */
import type { ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { Client, Connection } from '@temporalio/client';
import { startSmtpSink } from '../dev/support/smtp-sink';
import { startDevServer, type DevServer } from '../dev/dev-server';
import { spawnEntry } from '../dev/support/spawn';
import { stopChild } from '../platform/process';
import { freePort, isPortOpen } from '../platform/net';
import { eventually } from '../platform/wait';
import { dataConverterFor, parseEncryptionKeys } from '../platform/codec';

/** What the sink keeps of each outbound message: the headers the counterparty needs. */
export interface OutboundMail {
  demandId: string;
  kind: string;
  itemIds: string[];
  to: string;
  replyTo?: string;
  messageId?: string;
  subject: string;
}

export interface OutboundSink {
  url: string;
  count: number;
  onMail(fn: (m: OutboundMail) => void): void;
  close(): Promise<void>;
}

const address = (v: string | undefined) => v?.match(/<([^>]+)>/)?.[1] ?? v?.trim();

/** The shared SMTP sink, keeping nothing but reporting the auditflow headers of each message. */
export async function startOutboundSink(): Promise<OutboundSink> {
  const sink = await startSmtpSink({ keep: 'none' });
  return {
    url: sink.url,
    get count() {
      return sink.count;
    },
    onMail: (fn) =>
      sink.onMail((m) => {
        const demandId = m.header('x-auditflow-demand');
        if (!demandId) return;
        fn({
          demandId,
          kind: m.header('x-auditflow-kind') ?? '',
          itemIds: (m.header('x-auditflow-items') ?? '').split(',').filter(Boolean),
          to: m.envelope.to[0] ?? '',
          replyTo: address(m.header('reply-to')),
          messageId: m.header('message-id'),
          subject: m.header('subject') ?? '',
        });
      }),
    close: () => sink.close(),
  };
}

/** CPU seconds (user + system) and resident memory of one process, from /proc. */
export function processUsage(pid: number): { cpuSeconds: number; rssBytes: number } {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    return { cpuSeconds: ticks / 100, rssBytes: rssKb * 1024 };
  } catch {
    return { cpuSeconds: 0, rssBytes: 0 };
  }
}

export interface BenchStack {
  dataDir: string;
  /** The settings the worker and gateway run with (server, data folder, keys, task queue). */
  env: NodeJS.ProcessEnv;
  server: DevServer;
  client: Client;
  connection: Connection;
  sink: OutboundSink;
  taskQueue: string;
  shadowTaskQueue: string;
  gatewayPort: number;
  worker: ChildProcess;
  shadowWorker: ChildProcess;
  gateway: ChildProcess;
  /** Resident memory and CPU of each process. */
  usage(): Record<'worker' | 'shadowWorker' | 'gateway' | 'server', { cpuSeconds: number; rssBytes: number }>;
  close(): Promise<void>;
}

export function spawnTs(script: string, env: NodeJS.ProcessEnv, logFile: string): ChildProcess {
  const log = fs.openSync(logFile, 'a');
  const child = spawnEntry(script, { env, stdio: ['ignore', log, log] });
  fs.closeSync(log);
  return child;
}

async function waitFor(
  what: string,
  fn: () => Promise<boolean> | boolean,
  timeoutMs: number,
  alive: ChildProcess[] = [],
): Promise<void> {
  const exited = () => alive.find((c) => c.exitCode !== null);
  await eventually(fn, what, {
    timeoutMs,
    intervalMs: 250,
    giveUp: () => (exited() ? `a bench process exited (${exited()!.exitCode})` : undefined),
  });
}

/** The bench's one payload key (a fresh one per process is not needed: nothing it encrypts is kept). */
const BENCH_ENCRYPTION_KEYS = 'bench:' + '42'.repeat(32);

/** Starts everything; `progress` gets one line per step. */
export async function startBenchStack(
  progress: (line: string) => void,
  extraEnv: Record<string, string> = {},
): Promise<BenchStack> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'auditflow-bench-'));
  const codecOff = extraEnv.AUDITFLOW_ENCRYPTION === 'off';
  const logFile = path.join(dataDir, 'stack.log');
  progress(`data and logs in ${dataDir}`);
  const sink = await startOutboundSink();
  progress('starting the Temporal dev server (in-memory SQLite)');
  const server = await startDevServer({
    uiPort: false,
    onLine: (l) => fs.appendFileSync(logFile, `temporal | ${l}\n`),
  });
  const gatewayPort = await freePort();
  const taskQueue = 'bench-audit-demands';
  const shadowTaskQueue = 'bench-shadow';
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TEMPORAL_ADDRESS: server.address,
    TEMPORAL_NAMESPACE: server.namespace,
    AUDITFLOW_DATA_DIR: dataDir,
    SMTP_URL: sink.url,
    AUDITFLOW_SECRET: crypto.randomBytes(32).toString('hex'),
    // Encryption on, as the product runs; extraEnv AUDITFLOW_ENCRYPTION=off measures a run without it.
    ...(codecOff ? {} : { AUDITFLOW_ENCRYPTION_KEYS: BENCH_ENCRYPTION_KEYS }),
    AUDITFLOW_TASK_QUEUE: taskQueue,
    AUDITFLOW_GATEWAY_PORT: String(gatewayPort),
    AUDITFLOW_INBOUND_AUTH: 'report',
    AUDITFLOW_LOG_LEVEL: 'WARN',
    AUDITFLOW_EXIT_WITH_PARENT: '1',
    BENCH_TASK_QUEUE: shadowTaskQueue,
    // E.g. the storage settings of an s3:// run (bench/storage.ts).
    ...extraEnv,
  };
  progress('starting the worker, the shadow worker and the gateway (child processes; bundling takes a while)');
  const worker = spawnTs('worker/main.ts', env, path.join(dataDir, 'worker.log'));
  const shadowWorker = spawnTs('bench/shadow-worker.ts', env, path.join(dataDir, 'shadow-worker.log'));
  const gateway = spawnTs('gateway/main.ts', env, path.join(dataDir, 'gateway.log'));
  // Never leave the server behind, even when the bench is interrupted.
  process.once('exit', () => server.child.kill('SIGKILL'));
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({
    connection,
    namespace: server.namespace,
    dataConverter: codecOff ? {} : dataConverterFor(parseEncryptionKeys(BENCH_ENCRYPTION_KEYS)),
  });
  const children = [worker, shadowWorker, gateway];
  const polling = async (tq: string) => {
    const r = await client.workflowService.describeTaskQueue({
      namespace: server.namespace,
      taskQueue: { name: tq },
      taskQueueType: 1,
    });
    return (r.pollers?.length ?? 0) > 0;
  };
  await waitFor(
    'the worker, shadow worker and gateway',
    async () =>
      (await polling(taskQueue)) && (await polling(shadowTaskQueue)) && (await isPortOpen('127.0.0.1', gatewayPort)),
    300_000,
    children,
  );
  progress('stack ready');
  const pid = (c: ChildProcess) => c.pid ?? 0;
  return {
    dataDir,
    env,
    server,
    client,
    connection,
    sink,
    taskQueue,
    shadowTaskQueue,
    gatewayPort,
    worker,
    shadowWorker,
    gateway,
    usage: () => ({
      worker: processUsage(pid(worker)),
      shadowWorker: processUsage(pid(shadowWorker)),
      gateway: processUsage(pid(gateway)),
      server: processUsage(pid(server.child)),
    }),
    async close() {
      await Promise.all(children.map((c) => stopChild(c, 8000)));
      await connection.close();
      await server.stop();
      await sink.close();
    },
  };
}

/** Runs a TypeScript file of this repo as a child process and resolves with it once it prints `listening <port>`. */
export async function spawnListening(
  script: string,
  logFile: string,
  env?: NodeJS.ProcessEnv,
): Promise<{ child: ChildProcess; port: number }> {
  const child = spawnEntry(script, { ...(env ? { env } : {}), stdio: ['ignore', 'pipe', fs.openSync(logFile, 'a')] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${script} exited (${code})`)));
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = /^listening (\d+)/.exec(line);
      if (m) resolve(Number(m[1]));
    });
  });
  return { child, port };
}
