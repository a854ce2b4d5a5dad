/**
 * A private, throw-away S3 server for tests: Versity S3 Gateway (versitygw) on 127.0.0.1 and a free port,
 * its POSIX backend and version store in a fresh temp folder, random root credentials, and one bucket
 * (with Object Lock, hence versioning, by default). It can be stopped and started again on the same port
 * with the same data, for outage tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CreateBucketCommand,
  GetBucketVersioningCommand,
  PutBucketVersioningCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { freePort, isPortOpen } from '../../platform/net';
import { eventually } from '../../platform/wait';
import {
  findVersitygw,
  goAvailable,
  resolveVersitygw,
  VERSITYGW_INSTALL_HINT,
  VersitygwNotFoundError,
} from '../versitygw';

const HOST = '127.0.0.1';
const REGION = 'us-east-1';

export interface S3ServerOptions {
  /** The versitygw binary (default: resolved without building). */
  binary?: string;
  /** The bucket made at start (default 'auditflow-test'). */
  bucket?: string;
  /** Whether that bucket has Object Lock (default true). */
  objectLock?: boolean;
  /** Receives versitygw's own output lines. */
  log?: (line: string) => void;
}

/** What a process needs in its environment to use the server as storage (a type, so it is a Record<string, string>). */
export type S3ProcessEnv = {
  AUDITFLOW_STORAGE_URL: string;
  AWS_ACCESS_KEY_ID: string;
  AWS_SECRET_ACCESS_KEY: string;
  AWS_REGION: string;
};

export interface S3Server {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  port: number;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** The server's private folder: `root/` (buckets) and `versions/` (older versions). */
  dir: string;
  /** The environment a worker, gateway or CLI process needs to keep its storage under `prefix` in the bucket. */
  env(prefix?: string): S3ProcessEnv;
  /** A client for assertions, shared and destroyed by close(). */
  client(): S3Client;
  /** Makes another bucket; with Object Lock (the default) it is also versioned. */
  createBucket(name: string, opts?: { objectLock?: boolean }): Promise<void>;
  /** Ends the server and keeps its data, so that start() brings the same buckets back. */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same data and waits until it answers. */
  start(): Promise<void>;
  /** Ends the server and removes its folder; safe to call twice. */
  close(): Promise<void>;
}

const exited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;

/** Starts versitygw on the port and waits until it accepts connections, or fails with its last output. */
async function launch(
  binary: string,
  dir: string,
  port: number,
  credentials: { accessKeyId: string; secretAccessKey: string },
  log: (line: string) => void,
): Promise<ChildProcess> {
  const args = ['--port', `${HOST}:${port}`, '--quiet', 'posix', '--versioning-dir', path.join(dir, 'versions')];
  // Only what a Go program needs: a VGW_* setting in the caller's environment would change the server.
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: os.homedir(),
    ROOT_ACCESS_KEY: credentials.accessKeyId,
    ROOT_SECRET_KEY: credentials.secretAccessKey,
  };
  const child = spawn(binary, [...args, path.join(dir, 'root')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const onData = (d: Buffer) => {
    const lines = d.toString().split('\n');
    for (const line of lines.filter((l) => l.trim())) {
      output.push(line);
      log(line);
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  child.once('error', (err) => output.push(err.message));
  try {
    await eventually(() => isPortOpen(HOST, port, 500), `versitygw to listen on ${HOST}:${port}`, {
      timeoutMs: 30_000,
      intervalMs: 50,
      giveUp: () => (exited(child) ? `versitygw exited with ${child.exitCode ?? child.signalCode}` : undefined),
    });
    return child;
  } catch (err) {
    await end(child);
    throw new Error(`${(err as Error).message}\n${output.slice(-10).join('\n')}`, { cause: err });
  }
}

/** SIGTERM (versitygw shuts down cleanly on it), SIGKILL if it is still there after 10 s. */
async function end(child: ChildProcess): Promise<void> {
  if (exited(child) || child.pid === undefined) return;
  child.kill('SIGTERM');
  try {
    await eventually(() => exited(child), 'versitygw to exit', { timeoutMs: 10_000, intervalMs: 50 });
  } catch {
    child.kill('SIGKILL');
    await eventually(() => exited(child), 'versitygw to exit after SIGKILL', { timeoutMs: 5000, intervalMs: 50 });
  }
}

function s3Client(endpoint: string, accessKeyId: string, secretAccessKey: string): S3Client {
  // The SDK warns on every start under Node 20 (still maintained here); the warning says nothing to act on.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return new S3Client({
    region: REGION,
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** Starts a private versitygw with one bucket and waits until it answers. */
export async function startS3Server(opts: S3ServerOptions = {}): Promise<S3Server> {
  const binary = opts.binary ?? (await resolveVersitygw({ build: false })).path;
  const log = opts.log ?? (() => {});
  const bucket = opts.bucket ?? 'auditflow-test';
  const accessKeyId = `AF${crypto.randomBytes(9).toString('hex').toUpperCase()}`;
  const secretAccessKey = crypto.randomBytes(24).toString('base64url');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'auditflow-s3-'));
  for (const sub of ['root', 'versions']) fs.mkdirSync(path.join(dir, sub));

  let child: ChildProcess | undefined;
  let port = 0;
  // A free port can be taken by someone else before versitygw binds it: try again with another.
  for (let attempt = 1; !child; attempt++) {
    port = await freePort();
    try {
      child = await launch(binary, dir, port, { accessKeyId, secretAccessKey }, log);
    } catch (err) {
      if (attempt >= 3 || !/address already in use/i.test((err as Error).message)) {
        fs.rmSync(dir, { recursive: true, force: true });
        throw err;
      }
    }
  }
  let running: ChildProcess | undefined = child;
  // If the test process ends without close(), the server must not outlive it.
  const onExit = () => running?.kill('SIGKILL');
  process.on('exit', onExit);

  const endpoint = `http://${HOST}:${port}`;
  let shared: S3Client | undefined;
  const client = () => (shared ??= s3Client(endpoint, accessKeyId, secretAccessKey));
  const stop = async () => {
    const current = running;
    running = undefined;
    if (current) await end(current);
  };
  let closed: Promise<void> | undefined;

  const server: S3Server = {
    endpoint,
    port,
    bucket,
    accessKeyId,
    secretAccessKey,
    dir,
    env: (prefix = 'auditflow') => ({
      AUDITFLOW_STORAGE_URL: `s3://${bucket}/${prefix}?endpoint=${endpoint}&pathStyle=true&region=${REGION}`,
      AWS_ACCESS_KEY_ID: accessKeyId,
      AWS_SECRET_ACCESS_KEY: secretAccessKey,
      AWS_REGION: REGION,
    }),
    client,
    async createBucket(name, { objectLock = true } = {}) {
      const s3 = client();
      await s3.send(new CreateBucketCommand({ Bucket: name, ObjectLockEnabledForBucket: objectLock }));
      if (!objectLock) return;
      // Object Lock needs versioning; versitygw turns it on with the lock, but only with a versioning dir.
      const versioning = async () => (await s3.send(new GetBucketVersioningCommand({ Bucket: name }))).Status;
      if ((await versioning()) !== 'Enabled')
        await s3.send(new PutBucketVersioningCommand({ Bucket: name, VersioningConfiguration: { Status: 'Enabled' } }));
      const status = await versioning();
      if (status !== 'Enabled') throw new Error(`bucket ${name} has Object Lock but versioning is ${status}`);
    },
    stop,
    async start() {
      if (closed) throw new Error('this S3 server is closed; start a new one');
      if (running) return;
      running = await launch(binary, dir, port, { accessKeyId, secretAccessKey }, log);
    },
    close() {
      closed ??= (async () => {
        await stop();
        process.removeListener('exit', onExit);
        shared?.destroy();
        fs.rmSync(dir, { recursive: true, force: true });
      })();
      return closed;
    },
  };
  try {
    await server.createBucket(bucket, { objectLock: opts.objectLock ?? true });
  } catch (err) {
    await server.close();
    throw err;
  }
  return server;
}

/** Whether a test file can have an S3 server: `skip` is false, or says why not and how to get versitygw. */
export interface S3Availability {
  skip: string | false;
  /** The binary to pass to startS3Server (undefined when skipped). */
  binary: string | undefined;
}

/**
 * For tests, at load time (synchronous, like resolveDovecot): finds versitygw without building it. Under
 * dev/run-tests.ts the runner has already found or built it and set AUDITFLOW_VERSITYGW (empty when it
 * could not), so a test process never spends minutes in a build, and a missing one is a skip, not a failure.
 */
export function s3ServerOrSkip(env: NodeJS.ProcessEnv = process.env): S3Availability {
  let found: ReturnType<typeof findVersitygw>;
  try {
    found = findVersitygw(env);
  } catch (err) {
    if (!(err instanceof VersitygwNotFoundError)) throw err;
    return { skip: `versitygw (the S3 server) is needed: ${err.reason}; ${VERSITYGW_INSTALL_HINT}`, binary: undefined };
  }
  if ('path' in found) return { skip: false, binary: found.path };
  const build = goAvailable(env)
    ? 'run the tests through dev/run-tests.ts (npm test), which builds it once with Go, or '
    : 'Go is not installed to build it; ';
  return {
    skip: `versitygw (the S3 server) is needed and was not found (${found.tried.join('; ')}); ${build}${VERSITYGW_INSTALL_HINT}`,
    binary: undefined,
  };
}
