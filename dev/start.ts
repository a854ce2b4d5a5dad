/**
 * `npm start`: the whole product on one machine, in the foreground. Starts the Temporal dev server
 * (persisting to <data>/temporal.db), the local mail catcher and the worker, prints the URLs, and
 * stops everything it started on Ctrl-C or SIGTERM.
 */
import type { ChildProcess } from 'node:child_process';
import { Client } from '@temporalio/client';
import fs from 'node:fs';
import path from 'node:path';
import {
  ConfigError,
  loadConfig,
  loadEncryptionKeys,
  type AuditflowConfig,
  type ListenAddress,
} from '../platform/config';
import { startCodecServer, type CodecServer } from '../platform/codec-server';
import { dataConverterFor, type EncryptionKey } from '../platform/codec';
import { ensureDigestSchedule } from '../platform/digest-schedule';
import { connectClient, isRemoteTarget, loadTemporalTarget, type TemporalTarget } from '../platform/temporal-target';
import { redactSmtpUrl } from '../platform/transport';
import { startDevServer, type DevServer } from './dev-server';
import { spawnEntry } from './support/spawn';
import { stopChild } from '../platform/process';
import { hostPort, isPortOpen } from '../platform/net';
import { componentLogger, pipeLines } from './log-stream';
import { startSmtpSink, type SmtpSink } from './support/smtp-sink';
import { TemporalBinaryNotFoundError } from './temporal-binaries';

const say = componentLogger('auditflow');

interface Stack {
  server?: DevServer;
  codec?: CodecServer;
  catcher?: SmtpSink;
  children: Partial<Record<'worker' | 'gateway', ChildProcess>>;
  stopping: boolean;
}

function fail(message: string, code = 1): never {
  say(message);
  process.exit(code);
}

async function ensurePortFree(port: number, variable: string, what: string): Promise<void> {
  if (await isPortOpen('127.0.0.1', port)) {
    fail(
      `port ${port} (${what}) is already in use: is another \`npm start\` or Temporal server running? Stop it, or set ${variable} to another port.`,
    );
  }
}

/** Starts a component (worker, gateway) as a child process and restarts it if it dies unexpectedly. */
function supervise(
  stack: Stack,
  name: 'worker' | 'gateway',
  script: string,
  env: NodeJS.ProcessEnv,
  readyMarker: string,
  onReady: () => void,
  onGiveUp: () => void,
): void {
  const log = componentLogger(name);
  const crashes: number[] = [];
  const launch = () => {
    const child = spawnEntry(script, { env });
    let ready = false;
    const watch = (line: string) => {
      if (!ready && line.includes(readyMarker)) {
        ready = true;
        setImmediate(onReady);
      }
      return true;
    };
    pipeLines(child.stdout, log, watch);
    pipeLines(child.stderr, log, watch);
    stack.children[name] = child;
    child.once('exit', (code, signal) => {
      if (stack.stopping) return;
      const now = Date.now();
      crashes.push(now);
      while (crashes.length && crashes[0]! < now - 60_000) crashes.shift();
      if (crashes.length > 5) {
        say(
          `the ${name} exited ${crashes.length} times within a minute (last: ` +
            `${signal ?? `code ${code}`}); giving up. Fix the error above and run npm start again.`,
        );
        onGiveUp();
        return;
      }
      say(`the ${name} exited (${signal ?? `code ${code}`}); restarting it in 2 s`);
      setTimeout(() => !stack.stopping && launch(), 2000);
    });
  };
  launch();
}

/** The browser origins of the Web UI that may call the codec server. */
function uiOrigins(config: AuditflowConfig): string[] {
  return [
    ...new Set([
      new URL(config.uiUrl).origin,
      `http://localhost:${config.uiPort}`,
      `http://127.0.0.1:${config.uiPort}`,
    ]),
  ];
}

async function stopAll(stack: Stack, code: number): Promise<never> {
  if (stack.stopping) process.exit(code);
  stack.stopping = true;
  say('stopping: gateway, worker, mail catcher, Temporal server ...');
  const children = Object.values(stack.children);
  const hardStop = setTimeout(() => {
    say('still stopping after 9 s: killing what is left');
    for (const c of children) c.kill('SIGKILL');
    stack.server?.child.kill('SIGKILL');
    process.exit(code || 1);
  }, 9000);
  hardStop.unref();
  await Promise.all([...children.map((c) => stopChild(c, 7000)), stack.catcher?.close(), stack.codec?.close()]);
  await stack.server?.stop();
  say('stopped');
  process.exit(code);
}

/** An endpoint's URL for the banner, or how to turn it on. */
function metricsUrl(address: ListenAddress | undefined): string {
  return address ? `http://${hostPort(address)}/metrics` : 'off';
}

function printBanner(config: AuditflowConfig, target: TemporalTarget, stack: Stack, authMode: string): void {
  const lines = [
    '',
    'auditflow is running. Press Ctrl-C to stop.',
    stack.server
      ? `  Temporal Web UI (dashboard):  ${stack.server.uiUrl}/namespaces/${target.namespace}/workflows`
      : `  Temporal:                     ${target.description} (your own server; no dev server started)`,
    `  Temporal gRPC:                ${target.address} namespace ${target.namespace}`,
    `  Worker task queue:            ${config.taskQueue}`,
    `  Inbound reply gateway (SMTP): ` +
      `${config.gateway.host}:${config.gateway.port} for *@${config.replyDomain}` +
      (authMode === 'report' ? ' (sender authentication recorded, not enforced: local sandbox)' : ''),
    stack.catcher
      ? `  Outbound mail catcher (SMTP): 127.0.0.1:${stack.catcher.port} -> ${path.relative(process.cwd(), config.outboxDir) || '.'}/*.eml`
      : `  Outbound mail:                ${redactSmtpUrl(config.smtpUrl)}`,
    stack.codec
      ? `  Codec server (UI, temporal):  ${stack.codec.url}  (payloads are encrypted; see README, Confidentiality)`
      : `  Payload encryption:           off (AUDITFLOW_ENCRYPTION=off)`,
    `  Prometheus metrics:           worker ${metricsUrl(config.metrics.worker)}, gateway ${metricsUrl(config.metrics.gateway)}`,
    `  Data folder:                  ${config.dataDir}`,
    '  Try: npx auditflow doctor    |    npx auditflow start examples/api-usage-audit.yaml    |    npx auditflow inbox',
    '',
  ];
  for (const l of lines) say(l);
}

/** Creates (or updates) the daily digest schedule once the worker that runs it is up; a failure is logged, not fatal. */
async function scheduleDigest(
  config: AuditflowConfig,
  target: TemporalTarget,
  keys: EncryptionKey[] | undefined,
): Promise<void> {
  try {
    const connection = await connectClient(target);
    try {
      const client = new Client({ connection, namespace: target.namespace, dataConverter: dataConverterFor(keys) });
      const { id, outcome } = await ensureDigestSchedule(client, config.taskQueue);
      say(
        `daily digest schedule ${id} ${outcome}: owners get it at 09:00 on business days (npx auditflow digest --dry-run)`,
      );
    } finally {
      await connection.close();
    }
  } catch (err) {
    say(
      `could not create the daily digest schedule: ${(err as Error).message.split('\n')[0]} (npx auditflow setup creates it)`,
    );
  }
}

async function main(): Promise<void> {
  let config: AuditflowConfig;
  let target: TemporalTarget;
  try {
    config = loadConfig();
    target = loadTemporalTarget(process.env, `127.0.0.1:${config.temporalPort}`);
  } catch (err) {
    // Both are bad settings (exit 2); ConfigError already names each variable.
    fail(err instanceof ConfigError ? err.message : (err as Error).message, 2);
  }
  fs.mkdirSync(config.dataDir, { recursive: true });
  const stack: Stack = { stopping: false, children: {} };
  process.on('SIGINT', () => void stopAll(stack, 0));
  process.on('SIGTERM', () => void stopAll(stack, 0));
  // If whoever started us dies without a signal reaching us (npm killed hard), do not outlive it.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) {
      say('the parent process is gone; stopping');
      void stopAll(stack, 1);
    }
  }, 1000).unref();

  const workerEnv: NodeJS.ProcessEnv = {
    ...process.env,
    AUDITFLOW_DATA_DIR: config.dataDir,
    AUDITFLOW_EXIT_WITH_PARENT: '1',
  };
  // Every port this run will listen on is checked before anything starts: a busy one stops the run with
  // nothing started (a Temporal server started first would be left running).
  const ports: [port: number, variable: string, what: string][] = [];
  if (config.encryption.on) ports.push([config.codec.port, 'AUDITFLOW_CODEC_PORT', 'codec server']);
  if (!target.explicit)
    ports.push(
      [config.temporalPort, 'AUDITFLOW_TEMPORAL_PORT', 'Temporal gRPC'],
      [config.uiPort, 'AUDITFLOW_UI_PORT', 'Temporal Web UI'],
    );
  if (!config.smtpExplicit) ports.push([config.catcherPort, 'AUDITFLOW_SMTP_PORT', 'mail catcher']);
  ports.push([config.gateway.port, 'AUDITFLOW_GATEWAY_PORT', 'inbound reply gateway']);
  if (config.metrics.worker) ports.push([config.metrics.worker.port, 'AUDITFLOW_WORKER_METRICS', 'worker metrics']);
  if (config.metrics.gateway) ports.push([config.metrics.gateway.port, 'AUDITFLOW_GATEWAY_METRICS', 'gateway metrics']);
  for (const [port, variable, what] of ports) await ensurePortFree(port, variable, what);

  let keys: EncryptionKey[] | undefined;
  // Where the digest schedule is created: the dev server started below, else the server the settings name.
  let digestTarget = target;
  if (config.encryption.on) {
    // Payloads are encrypted (the key is generated into the data folder the first time); the codec server
    // lets the Web UI show them in clear.
    try {
      keys = loadEncryptionKeys(config, { remote: isRemoteTarget(target) })!;
    } catch (err) {
      fail((err as Error).message, 2);
    }
    stack.codec = await startCodecServer({
      keys,
      host: config.codec.host,
      port: config.codec.port,
      origins: uiOrigins(config),
      ...(config.codec.token ? { token: config.codec.token } : {}),
      log: say,
    });
  }
  if (!target.explicit) {
    const tlog = componentLogger('temporal');
    try {
      stack.server = await startDevServer({
        port: config.temporalPort,
        uiPort: config.uiPort,
        ip: '127.0.0.1',
        dbFile: path.join(config.dataDir, 'temporal.db'),
        ...(stack.codec ? { uiCodecEndpoint: stack.codec.url } : {}),
        log: say,
        // Pollers complain while the server shuts down; that noise hides the useful lines.
        onLine: (line) =>
          !(stack.stopping && /Failed to poll|network dial error|graceful_stop/.test(line)) && tlog(line),
      });
    } catch (err) {
      if (err instanceof TemporalBinaryNotFoundError) fail(err.message, 1);
      fail(`could not start the Temporal dev server: ${(err as Error).message}`);
    }
    stack.server.child.once('exit', (code, signal) => {
      if (!stack.stopping) {
        say(`the Temporal server exited unexpectedly (${signal ?? `code ${code}`}); stopping everything`);
        void stopAll(stack, 1);
      }
    });
    Object.assign(workerEnv, { TEMPORAL_ADDRESS: stack.server.address, TEMPORAL_NAMESPACE: stack.server.namespace });
    digestTarget = loadTemporalTarget(workerEnv, stack.server.address);
  } else {
    say(`TEMPORAL_ADDRESS or a Temporal profile names ${target.description}: not starting a dev server`);
  }

  if (!config.smtpExplicit) {
    stack.catcher = await startSmtpSink({
      dir: config.outboxDir,
      keep: 'none',
      port: config.catcherPort,
      host: '127.0.0.1',
      banner: 'auditflow mail catcher (stores, never relays)',
      log: componentLogger('mail'),
    });
  } else {
    say(`SMTP_URL is set: sending through ${redactSmtpUrl(config.smtpUrl)}; no mail catcher started`);
  }

  // On the embedded sandbox nothing can pass SPF/DKIM/DMARC (no DNS for the example domains), so the
  // local gateway records the verdicts without enforcing them, unless told otherwise.
  const authMode = process.env.AUDITFLOW_INBOUND_AUTH ?? (target.explicit ? 'enforce' : 'report');
  const gatewayEnv = { ...workerEnv, AUDITFLOW_INBOUND_AUTH: authMode };
  const ready = new Set<string>();
  const readyOnce = (name: string) => () => {
    // The schedule's runs go to the worker's task queue: created once that worker is there (not again on restarts).
    if (name === 'worker' && !ready.has(name)) void scheduleDigest(config, digestTarget, keys);
    ready.add(name);
    if (ready.size === 2) printBanner(config, target, stack, authMode);
  };
  const giveUp = () => void stopAll(stack, 1);
  supervise(stack, 'worker', path.join('worker', 'main.ts'), workerEnv, 'worker ready', readyOnce('worker'), giveUp);
  supervise(
    stack,
    'gateway',
    path.join('gateway', 'main.ts'),
    gatewayEnv,
    'gateway ready',
    readyOnce('gateway'),
    giveUp,
  );
}

main().catch((err) => {
  say(`npm start failed: ${(err as Error).stack ?? err}`);
  process.exit(1);
});
