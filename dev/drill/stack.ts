/**
 * The world a fault drill runs in: its own Temporal dev server on a SQLite file (so it can be killed and
 * started again), a real SMTP sink behind a TCP proxy (so outbound mail can go down), and the worker and
 * the gateway as real separate processes (`node --import tsx worker/main.ts`, as `npm run worker` runs
 * it) that a drill can SIGKILL and start again. Demands are unanswered copies of the test spec with
 * every duration compressed to seconds.
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { Client, Connection } from '@temporalio/client';
import { compressTimings } from '../../domain/compressed';
import { checkDemand, type DemandSpec } from '../../domain/demand';
import { demandWorkflowId } from '../../domain/ids';
import { statusQuery } from '../../domain/messages';
import { TERMINAL_STATUSES, type DemandStatusView } from '../../domain/state';
import { demandSummary } from '../../domain/summary';
import { noonZone } from '../../domain/time';
import { sampleSpec } from '../support/specs';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy';
import { startDevServer, type DevServer } from '../dev-server';
import { TEST_ENCRYPTION_KEYS, testDataConverter } from '../support/temporal';
import { spawnEntry } from '../support/spawn';
import { stopChild } from '../../platform/process';
import { freePort } from '../../platform/net';
import { bundleWorkflows } from '../../worker/main';
import type { auditDemandWorkflow } from '../../workflows';
import { eventually } from '../../platform/wait';
import type { Storage } from '../../platform/storage';
import { createFileStorage } from '../../platform/storage-file';
import { openStorage } from '../../platform/storage-open';
import { loadConfig } from '../../platform/config';

export const DRILL_SECRET = 'drill-secret-0123456789abcdef0123456789abcdef';

/** A worker or gateway process that can be killed and started again; its output is kept. */
export interface Service {
  name: string;
  /** Every output line of every run so far. */
  lines: string[];
  /** Starts it (again); `extra` settings hold for this run and the later ones. */
  start(extra?: NodeJS.ProcessEnv): Promise<void>;
  /** Sends the signal and waits until the process has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  running(): boolean;
  stop(): Promise<void>;
}

/** A service started as `node --import tsx <script>` with `env`, ready when a line matches `ready`. */
export function service(
  name: string,
  script: string,
  env: NodeJS.ProcessEnv,
  ready: RegExp,
  readyTimeoutMs = 120_000,
): Service {
  const lines: string[] = [];
  let child: ChildProcess | undefined;
  const alive = () => child !== undefined && child.exitCode === null && child.signalCode === null;
  return {
    name,
    lines,
    running: alive,
    async start(extra) {
      if (alive()) return;
      if (extra) Object.assign(env, extra);
      const mark = lines.length;
      const c = spawnEntry(script, { env });
      child = c;
      for (const s of [c.stdout!, c.stderr!]) readline.createInterface({ input: s }).on('line', (l) => lines.push(l));
      await eventually(
        () => lines.slice(mark).some((l) => ready.test(l)),
        () => `${name} to be ready:\n${lines.slice(mark).slice(-15).join('\n')}`,
        {
          timeoutMs: readyTimeoutMs,
          intervalMs: 100,
          giveUp: () =>
            c.exitCode !== null || c.signalCode !== null
              ? `${name} exited (${c.exitCode ?? c.signalCode}) while starting`
              : undefined,
        },
      );
    },
    async kill(signal = 'SIGKILL') {
      const c = child;
      if (!c || !alive()) return;
      const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
      c.kill(signal);
      await exited;
    },
    async stop() {
      if (child) await stopChild(child, 7000);
    },
  };
}

/** One demand the drill started, with what it must end as. */
export interface DrillDemand {
  spec: DemandSpec;
  workflowId: string;
  /** The workflow's start instant (its state's startedAt), for the dry run. */
  startAt: number;
  expectedEnd: DemandStatusView['status'];
  /** Answered demands are counted from the workflow's own record; unanswered ones also from the dry run. */
  answered: boolean;
}

export interface DrillStack {
  dataDir: string;
  taskQueue: string;
  /** The dev server (its own, on a SQLite file), stoppable and restartable on the same port and file. */
  server: { address: string; kill(): Promise<void>; restart(): Promise<void> };
  client: Client;
  sink: SmtpSink;
  /** Between the worker and the sink: `down()` is an SMTP outage. */
  smtp: TcpProxy;
  worker: Service;
  gateway?: Service;
  /** With `hosts`: every worker and gateway, each with a data folder of its own (worker A is `worker`). */
  workers: Service[];
  gateways: { service: Service; port: number }[];
  /** Between the gateway and Temporal (with `gateway`): `down()` makes Temporal unreachable for it. */
  temporalProxy?: TcpProxy;
  gatewayPort: number;
  /** The storage the stack's processes share (its send ledger, evidence, reports). */
  storage: Storage;
  demands: DrillDemand[];
  /** Starts `n` unanswered demands due `deadlineIn` seconds from now (ladder up to 1.75x that). */
  startDemands(n: number, deadlineIn: number, prefix: string): Promise<DrillDemand[]>;
  status(d: DrillDemand): Promise<DemandStatusView>;
  /** Waits until every demand reached a terminal status with an empty outbox; returns the stragglers on timeout. */
  waitForEnds(timeoutMs: number): Promise<{ ended: number; notEnded: string[] }>;
  close(): Promise<void>;
}

/** The test spec compressed to `deadlineIn` seconds (domain/compressed.ts), in a zone where it is noon. */
export function compressedSpec(id: string, startMs: number, deadlineIn: number): DemandSpec {
  const checked = checkDemand(compressTimings({ ...sampleSpec(id) }, { startMs, deadlineIn, zone: noonZone(startMs) }));
  if (!checked.ok)
    throw new Error(`drill spec invalid: ${checked.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
  return checked.spec;
}

export interface StackOptions {
  /** Also run the inbound gateway as a process (AUDITFLOW_INBOUND_AUTH=report), reaching Temporal through `temporalProxy`. */
  gateway?: boolean;
  /**
   * Several hosts sharing S3 storage: two workers and two gateways, each with a separate data folder
   * (as separate machines would have), all with these storage settings (AUDITFLOW_STORAGE_URL, credentials).
   */
  hosts?: { storageEnv: Record<string, string> };
  log?: (line: string) => void;
}

/** Starts the dev server (SQLite file), sink, proxy and worker process; the gateway process when asked. */
export async function startStack(opts: StackOptions = {}): Promise<DrillStack> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'auditflow-drill-'));
  const dbFile = path.join(dataDir, 'temporal.db');
  const port = await freePort();
  let server: DevServer = await startDevServer({ port, uiPort: false, dbFile, log: opts.log });
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection, namespace: 'default', dataConverter: testDataConverter });
  const sink = await startSmtpSink();
  const smtp = await startTcpProxy({ host: '127.0.0.1', port: sink.port });
  const bundle = path.join(dataDir, 'workflow-bundle.js');
  fs.writeFileSync(bundle, (await bundleWorkflows()).code);
  const taskQueue = `drill-${Date.now().toString(36)}`;
  const gatewayPort = await freePort();
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    AUDITFLOW_DATA_DIR: dataDir,
    AUDITFLOW_TASK_QUEUE: taskQueue,
    TEMPORAL_ADDRESS: server.address,
    TEMPORAL_NAMESPACE: 'default',
    SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
    AUDITFLOW_SECRET: DRILL_SECRET,
    AUDITFLOW_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS,
    AUDITFLOW_WORKFLOW_BUNDLE: bundle,
    AUDITFLOW_GATEWAY_PORT: String(gatewayPort),
    AUDITFLOW_INBOUND_AUTH: 'report',
    NO_COLOR: '1',
  };
  if (opts.hosts) Object.assign(env, opts.hosts.storageEnv);
  /** A host's own data folder (with `hosts`); otherwise the stack's one. */
  const hostEnv = (host: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => {
    if (!opts.hosts) return { ...env, ...extra };
    const own = path.join(dataDir, `host-${host}`);
    fs.mkdirSync(own, { recursive: true });
    return { ...env, AUDITFLOW_DATA_DIR: own, ...extra };
  };
  const worker = service('worker', 'worker/main.ts', hostEnv('a'), /worker ready/);
  const temporalProxy = opts.gateway ? await startTcpProxy({ host: '127.0.0.1', port }) : undefined;
  const gateway = temporalProxy
    ? service('gateway', 'gateway/main.ts', hostEnv('a', { TEMPORAL_ADDRESS: temporalProxy.address }), /gateway ready/)
    : undefined;
  const workers = [worker];
  const gateways = gateway ? [{ service: gateway, port: gatewayPort }] : [];
  if (opts.hosts) {
    workers.push(service('worker-b', 'worker/main.ts', hostEnv('b'), /worker ready/));
    const portB = await freePort();
    gateways.push({
      service: service(
        'gateway-b',
        'gateway/main.ts',
        hostEnv('b', { AUDITFLOW_GATEWAY_PORT: String(portB) }),
        /gateway ready/,
      ),
      port: portB,
    });
  }
  for (const w of workers) await w.start();
  for (const g of gateways) await g.service.start();
  const storage = opts.hosts
    ? openStorage(loadConfig({ ...env, AUDITFLOW_DATA_DIR: path.join(dataDir, 'drill') }))
    : createFileStorage(dataDir);
  const demands: DrillDemand[] = [];
  const handle = (d: DrillDemand) => client.workflow.getHandle(d.workflowId);
  const status = (d: DrillDemand) => handle(d).query(statusQuery);
  return {
    dataDir,
    taskQueue,
    server: {
      address: server.address,
      async kill() {
        const c = server.child;
        if (c.exitCode !== null || c.signalCode !== null) return;
        const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
        c.kill('SIGKILL');
        await exited;
      },
      async restart() {
        server = await startDevServer({ port, uiPort: false, dbFile, binary: server.binary, log: opts.log });
      },
    },
    client,
    sink,
    smtp,
    worker,
    ...(gateway ? { gateway } : {}),
    workers,
    gateways,
    ...(temporalProxy ? { temporalProxy } : {}),
    gatewayPort,
    storage,
    demands,
    async startDemands(n, deadlineIn, prefix) {
      const started: DrillDemand[] = [];
      for (let i = 0; i < n; i++) {
        const spec = compressedSpec(`${prefix}-${Date.now().toString(36)}-${i}`, Date.now(), deadlineIn);
        const workflowId = demandWorkflowId(spec.id);
        await client.workflow.start<typeof auditDemandWorkflow>('auditDemandWorkflow', {
          workflowId,
          taskQueue,
          args: [{ spec, startedBy: 'drill' }],
          staticSummary: demandSummary(spec),
        });
        started.push({ spec, workflowId, startAt: 0, expectedEnd: 'referred', answered: false });
      }
      demands.push(...started);
      return started;
    },
    status,
    async waitForEnds(timeoutMs) {
      const done = new Set<string>();
      const allEnded = async () => {
        for (const d of demands) {
          if (done.has(d.workflowId)) continue;
          const s = await status(d).catch(() => undefined);
          if (s && !d.startAt) d.startAt = Date.parse(s.startedAt);
          if (s && TERMINAL_STATUSES.includes(s.status) && s.outbox.length === 0) {
            // The owner's notice goes out after the report: the workflow is done only when it has closed.
            const desc = await handle(d).describe();
            if (desc.status.name !== 'RUNNING') done.add(d.workflowId);
          }
        }
        return done.size === demands.length;
      };
      // A drill reports the demands short of their end rather than failing on them.
      await eventually(allEnded, 'every demand to end', { timeoutMs, intervalMs: 500 }).catch(() => undefined);
      return { ended: done.size, notEnded: demands.filter((d) => !done.has(d.workflowId)).map((d) => d.spec.id) };
    },
    async close() {
      for (const g of gateways) await g.service.stop();
      await temporalProxy?.close();
      for (const w of workers) await w.stop();
      await smtp.close();
      await sink.close();
      await connection.close();
      await stopChild(server.child, 8000);
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
