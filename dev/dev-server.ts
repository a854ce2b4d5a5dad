/**
 * Starts `temporal server start-dev` as a child process (our own process, not the SDK's 5-second
 * ephemeral wrapper), waits until its namespace answers, and stops it cleanly.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import readline from 'node:readline';
import { Connection } from '@temporalio/client';
import { searchAttributeFlags } from '../domain/search-attributes';
import { freePort } from '../platform/net';
import { stopChild } from '../platform/process';
import { resolveTemporalBinary, describeResolved, type ResolvedBinary } from './temporal-binaries';
import { eventually } from '../platform/wait';

export interface DevServerOptions {
  /** gRPC port; 0 picks a free one. */
  port?: number;
  /** Web UI port; 0 picks a free one; `false` runs headless. */
  uiPort?: number | false;
  ip?: string;
  namespace?: string;
  /** SQLite file; omitted means in-memory. */
  dbFile?: string;
  /** Extra dynamic config, as KEY=JSON. */
  dynamicConfig?: string[];
  /** Each complete output line of the server, for a prefixed log stream. */
  onLine?: (line: string) => void;
  log?: (line: string) => void;
  binary?: ResolvedBinary;
  startTimeoutMs?: number;
  /** The codec server the Web UI calls to show encrypted payloads in clear (--ui-codec-endpoint). */
  uiCodecEndpoint?: string;
}

export interface DevServer {
  address: string;
  namespace: string;
  uiUrl?: string;
  binary: ResolvedBinary;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Polls until the namespace can be described, or throws after the timeout (at once if the server exits). */
export async function waitForTemporal(
  address: string,
  namespace: string,
  timeoutMs: number,
  isAlive = () => true,
): Promise<void> {
  let lastError = 'no answer yet';
  await eventually(
    async () => {
      let connection: Connection | undefined;
      try {
        connection = await Connection.connect({ address, connectTimeout: 1000 });
        await connection.workflowService.describeNamespace({ namespace });
        return true;
      } catch (err) {
        lastError = (err as Error).message;
        return undefined;
      } finally {
        await connection?.close();
      }
    },
    () => `Temporal at ${address} (last error: ${lastError})`,
    {
      timeoutMs,
      intervalMs: 250,
      giveUp: () => (isAlive() ? undefined : 'the Temporal server exited before it was ready'),
    },
  );
}

/** Starts the dev server with auditflow's search attributes registered, and waits until it is ready. */
export async function startDevServer(opts: DevServerOptions = {}): Promise<DevServer> {
  const binary = opts.binary ?? (await resolveTemporalBinary('cli', { log: opts.log }));
  opts.log?.(`using ${describeResolved(binary)}`);
  const ip = opts.ip ?? '127.0.0.1';
  const namespace = opts.namespace ?? 'default';
  const port = opts.port || (await freePort());
  const uiPort = opts.uiPort === false ? undefined : opts.uiPort || (await freePort());
  const args = [
    'server',
    'start-dev',
    '--ip',
    ip,
    '--port',
    String(port),
    '--namespace',
    namespace,
    '--log-format',
    'text',
    '--log-level',
    'warn',
    '--dynamic-config-value',
    'frontend.enableServerVersionCheck=false',
    ...searchAttributeFlags(),
    ...(opts.dbFile ? ['--db-filename', opts.dbFile] : []),
    ...(uiPort ? ['--ui-port', String(uiPort), '--ui-disable-news-fetch'] : ['--headless']),
    // The UI decodes auditflow's encrypted payloads through the codec server (platform/codec-server.ts).
    ...(uiPort && opts.uiCodecEndpoint ? ['--ui-codec-endpoint', opts.uiCodecEndpoint] : []),
    ...(opts.dynamicConfig ?? []).flatMap((kv) => ['--dynamic-config-value', kv]),
  ];
  const child = spawn(binary.path, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const tail: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    readline.createInterface({ input: stream }).on('line', (line) => {
      tail.push(line);
      if (tail.length > 20) tail.shift();
      opts.onLine?.(line);
    });
  }
  let exited = false;
  child.once('exit', () => (exited = true));
  const address = `${ip}:${port}`;
  try {
    await waitForTemporal(address, namespace, opts.startTimeoutMs ?? 90_000, () => !exited);
  } catch (err) {
    await stopChild(child, 2000);
    throw new Error(`${(err as Error).message}\nlast server output:\n${tail.join('\n')}`, { cause: err });
  }
  return {
    address,
    namespace,
    uiUrl: uiPort ? `http://localhost:${uiPort}` : undefined,
    binary,
    child,
    stop: () => stopChild(child, 8000),
  };
}
