/**
 * A private, throw-away Prometheus server for tests: Debian's `prometheus` package (found on PATH, or
 * installed with apt-get when running as root), started with a generated config that scrapes the given
 * targets, its database in a temp folder, on 127.0.0.1 and a free port. Queried through its HTTP API.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { installHint, resolveProgram, type DebianProgram } from './apt';
import { freePort } from '../platform/net';
import { startTestServer } from './support/test-server';

const PROMETHEUS: DebianProgram = { binaries: ['prometheus'], package: 'prometheus' };
export const PROMETHEUS_INSTALL_HINT = installHint(PROMETHEUS);

/** Finds prometheus or, as root with apt-get, installs it; otherwise why not. */
export function resolvePrometheus(opts: { install?: boolean } = {}) {
  return resolveProgram(PROMETHEUS, opts);
}

/** One scrape job: a name (the `job` label) and `host:port` targets serving /metrics. */
export interface ScrapeJob {
  job: string;
  targets: string[];
}

/** One sample of an instant query's result. */
export interface Sample {
  metric: Record<string, string>;
  value: number;
}

export interface Prometheus {
  url: string;
  /** Evaluates a PromQL expression now (GET /api/v1/query); throws on a query error. */
  query(expr: string): Promise<Sample[]>;
  /** The scrape targets' health, by job: `up`, `down` or `unknown`, with the last error. */
  targets(): Promise<{ job: string; health: string; lastError: string }[]>;
  stop(): Promise<void>;
}

/** The whole configuration: nothing is read from /etc/prometheus. */
export function prometheusConfig(jobs: ScrapeJob[], intervalSeconds: number): string {
  const lines = [`global:`, `  scrape_interval: ${intervalSeconds}s`, `  evaluation_interval: ${intervalSeconds}s`];
  lines.push(`scrape_configs:`);
  for (const j of jobs)
    lines.push(
      `  - job_name: ${JSON.stringify(j.job)}`,
      `    static_configs:`,
      `      - targets: ${JSON.stringify(j.targets)}`,
    );
  return `${lines.join('\n')}\n`;
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  const body = (await res.json()) as { status: string; data: T; error?: string };
  if (body.status !== 'success') throw new Error(`${url}: ${body.error ?? res.status}`);
  return body.data;
}

/** Starts Prometheus scraping `jobs` every `intervalSeconds` (default 1) and waits until it is ready. */
export async function startPrometheus(
  jobs: ScrapeJob[],
  opts: { binary?: string; intervalSeconds?: number; startTimeoutMs?: number } = {},
): Promise<Prometheus> {
  let binary = opts.binary;
  if (!binary) {
    const r = resolvePrometheus();
    if (!r.ok) throw new Error(r.reason);
    binary = r.path;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'auditflow-prometheus-'));
  fs.writeFileSync(path.join(dir, 'prometheus.yml'), prometheusConfig(jobs, opts.intervalSeconds ?? 1));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const server = startTestServer(
    binary,
    [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    'prometheus',
    dir,
  );
  await server.ready(
    async () => (await fetch(`${url}/-/ready`).catch(() => undefined))?.ok,
    `prometheus to be ready on ${url}`,
    opts.startTimeoutMs ?? 30_000,
  );
  return {
    url,
    async query(expr) {
      const data = await getJson<{ result: { metric: Record<string, string>; value: [number, string] }[] }>(
        `${url}/api/v1/query?query=${encodeURIComponent(expr)}`,
      );
      return data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
    },
    async targets() {
      const data = await getJson<{
        activeTargets: { labels: Record<string, string>; health: string; lastError: string }[];
      }>(`${url}/api/v1/targets`);
      return data.activeTargets.map((t) => ({ job: t.labels.job ?? '', health: t.health, lastError: t.lastError }));
    },
    stop: server.stop,
  };
}
