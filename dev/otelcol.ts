/**
 * The OpenTelemetry Collector the trace test sends spans to: dev/otelcol/, the collector's own modules
 * (v0.165.0) with only the OTLP receiver and the debug exporter, which prints every span it receives. No
 * registry ships such a binary, so `go build` makes it once per machine (and per change of its sources)
 * into a cache outside the clone. Order: AUDITFLOW_OTELCOL -> the cache -> build into it (Go on PATH).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../platform/net';
import { PROJECT_ROOT } from '../platform/paths';
import { runGo, takeBuildLock } from './support/build-lock';
import { findOnPath, isExecutableFile } from './support/executables';
import { startTestServer } from './support/test-server';

/** The collector release the module pins, its sources, and the env var that points at a built binary. */
export const OTELCOL = {
  version: 'v0.165.0',
  source: path.join(PROJECT_ROOT, 'dev', 'otelcol'),
  envVar: 'AUDITFLOW_OTELCOL',
} as const;

const EXE = 'auditflow-otelcol';
/** A cold build (modules downloaded, everything compiled) took 1.6 minutes on 2 loaded cores. */
const BUILD_TIMEOUT_MS = 10 * 60_000;

/** `${XDG_CACHE_HOME:-~/.cache}/auditflow/otelcol-v0.165.0-<digest of the sources>`. */
export function otelcolCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const digest = createHash('sha256');
  for (const file of ['go.mod', 'go.sum', 'main.go']) digest.update(fs.readFileSync(path.join(OTELCOL.source, file)));
  const cacheHome = env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(cacheHome, 'auditflow', `otelcol-${OTELCOL.version}-${digest.digest('hex').slice(0, 12)}`);
}

export type OtelcolSource = 'env' | 'cache' | 'built';

/** Where the collector binary is, or why there is none. */
export type OtelcolResolution = { ok: true; path: string; source: OtelcolSource } | { ok: false; reason: string };

/** Finds the collector without building it: synchronous, so a test file can decide at load time. */
export function findOtelcol(env: NodeJS.ProcessEnv = process.env): OtelcolResolution {
  const explicit = env[OTELCOL.envVar];
  if (explicit) {
    return isExecutableFile(explicit)
      ? { ok: true, path: path.resolve(explicit), source: 'env' }
      : { ok: false, reason: `${OTELCOL.envVar}=${explicit} is not an executable file` };
  }
  const cached = path.join(otelcolCacheDir(env), EXE);
  if (isExecutableFile(cached)) return { ok: true, path: cached, source: 'cache' };
  if (!findOnPath('go', env))
    return { ok: false, reason: `it is not in ${cached}, and Go is not on PATH to build it from dev/otelcol/` };
  return { ok: false, reason: `not built yet: ${cached}` };
}

/** Finds the collector or builds it into the cache under a lock (renamed into place, never half a file). */
export async function resolveOtelcol(
  opts: { env?: NodeJS.ProcessEnv; log?: (line: string) => void } = {},
): Promise<OtelcolResolution> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? (() => undefined);
  const found = findOtelcol(env);
  const goBinary = findOnPath('go', env);
  if (found.ok || env[OTELCOL.envVar] || !goBinary) return found;
  const cacheDir = otelcolCacheDir(env);
  const binary = path.join(cacheDir, EXE);
  fs.mkdirSync(path.dirname(cacheDir), { recursive: true });
  const release = await takeBuildLock(`${cacheDir}.lock`, 'the OpenTelemetry Collector', log);
  try {
    if (isExecutableFile(binary)) return { ok: true, path: binary, source: 'cache' };
    const tmpDir = `${cacheDir}.tmp-${process.pid}-${Date.now()}`;
    fs.mkdirSync(tmpDir);
    try {
      log(
        `building the OpenTelemetry Collector ${OTELCOL.version} with go build (a minute or two, once; in ${cacheDir})`,
      );
      const started = Date.now();
      const command = `go build -o ${path.join(tmpDir, EXE)} . (in dev/otelcol)`;
      await runGo(goBinary, ['build', '-trimpath', '-o', path.join(tmpDir, EXE), '.'], {
        cwd: OTELCOL.source,
        env,
        command,
        timeoutMs: BUILD_TIMEOUT_MS,
      });
      fs.mkdirSync(cacheDir, { recursive: true });
      fs.renameSync(path.join(tmpDir, EXE), binary);
      log(`built the OpenTelemetry Collector in ${Math.round((Date.now() - started) / 1000)} s: ${binary}`);
      return { ok: true, path: binary, source: 'built' };
    } catch (err) {
      return { ok: false, reason: (err as Error).message };
    } finally {
      fs.rmSync(tmpDir, { recursive: true, force: true });
    }
  } finally {
    release();
  }
}

/** One span as the debug exporter printed it. */
export interface ReceivedSpan {
  service: string;
  traceId: string;
  parentId: string;
  id: string;
  name: string;
}

/** A running collector: the OTLP/HTTP endpoint to give OTEL_EXPORTER_OTLP_ENDPOINT, and the spans so far. */
export interface Otelcol {
  endpoint: string;
  spans(): ReceivedSpan[];
  stop(): Promise<void>;
}

/** The collector's configuration: OTLP over HTTP on `port`, every span printed in full. */
export function otelcolConfig(port: number): string {
  return [
    'receivers:',
    '  otlp:',
    '    protocols:',
    '      http:',
    `        endpoint: 127.0.0.1:${port}`,
    'exporters:',
    '  debug:',
    '    verbosity: detailed',
    'service:',
    '  telemetry:',
    '    metrics:',
    '      level: none',
    '  pipelines:',
    '    traces:',
    '      receivers: [otlp]',
    '      exporters: [debug]',
    '',
  ].join('\n');
}

/**
 * Reads the debug exporter's detailed output: each resource's `service.name`, then its spans' ids and
 * names, in the order printed.
 */
export function parseDebugSpans(output: string): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  let service = '';
  let span: Partial<ReceivedSpan> | undefined;
  const field = (line: string, name: string) => new RegExp(`^\\s*${name}\\s*:\\s*(\\S*)`).exec(line)?.[1];
  for (const line of output.split('\n')) {
    const resource = /-> service\.name: Str\((.*)\)$/.exec(line.trimEnd());
    if (resource && !span) service = resource[1]!;
    if (/^Span #\d+/.test(line.trim())) span = { service };
    if (!span) continue;
    const traceId = field(line, 'Trace ID');
    if (traceId !== undefined) span.traceId = traceId;
    const parentId = field(line, 'Parent ID');
    if (parentId !== undefined) span.parentId = parentId;
    const id = field(line, 'ID');
    if (id !== undefined) span.id = id;
    const name = /^\s*Name\s*:\s*(.*)$/.exec(line)?.[1];
    if (name !== undefined) {
      spans.push({ service, traceId: '', parentId: '', id: '', ...span, name: name.trim() } as ReceivedSpan);
      span = undefined;
    }
  }
  return spans;
}

/** Starts the collector on a free port and waits until it says it is ready. */
export async function startOtelcol(binary: string, opts: { startTimeoutMs?: number } = {}): Promise<Otelcol> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'auditflow-otelcol-'));
  const port = await freePort();
  fs.writeFileSync(path.join(dir, 'config.yaml'), otelcolConfig(port));
  const server = startTestServer(binary, ['--config', path.join(dir, 'config.yaml')], 'the collector', dir);
  await server.ready(
    () => server.output().includes('Everything is ready'),
    'the collector to be ready',
    opts.startTimeoutMs ?? 30_000,
  );
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans: () => parseDebugSpans(server.output()),
    stop: server.stop,
  };
}
