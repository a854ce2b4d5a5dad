/**
 * The gateway's Prometheus endpoint (AUDITFLOW_GATEWAY_METRICS): what became of each inbound message
 * (recorded, kept for triage and why, deferred with 451), RCPT refusals, sender-authentication verdicts,
 * processing latency and storage write latency, plus Node's process metrics. Labels are fixed sets:
 * never an address, a demand id or free text.
 */
import http from 'node:http';
import client from 'prom-client';
import type { ListenAddress } from '../platform/config';
import { STORAGE_WRITE_BUCKETS, STORAGE_WRITE_HISTOGRAM } from '../platform/metrics';
import { hostPort } from '../platform/net';
import type { WriteObserver } from '../platform/storage-timed';

/** What became of a message: `deferred` is a 451 (SMTP) or a message left in the IMAP folder for the next pass. */
export type InboundOutcome = 'recorded' | 'duplicate' | 'triaged' | 'deferred' | 'too-big' | 'spooled';

/** Why a message went to triage, reduced to a fixed set (the full reason is in the triage inbox). */
export const TRIAGE_CATEGORIES = [
  ['malformed', /^malformed/],
  ['unmatched', /^unmatched/],
  ['unknown-demand', /^no demand /],
  ['demand-ended', /^demand \S+ (has ended|ended while)/],
  ['not-ready', /has not published its inbound profile/],
  ['no-from', /^no From address/],
  ['delay-report', /temporary delivery delay report/],
  ['unverified-bounce', /^unverifiable delivery report/],
  ['unknown-sender', /^sender .* is not a listed contact/],
  ['unauthenticated', /^unauthenticated/],
  ['ambiguous', /^ambiguous/],
  ['refused-by-demand', /^refused by demand/],
  ['parse-timeout', /^parsing ran out of time/],
] as const;

/** The category of a triage reason as processInbound words it; `other` for anything new. */
export function triageCategory(reason: string): string {
  return TRIAGE_CATEGORIES.find(([, pattern]) => pattern.test(reason))?.[0] ?? 'other';
}

/** The gateway's instruments. */
export interface GatewayMetrics {
  /** `seconds`: from the stored message to its outcome (none for a message refused while it arrived). */
  inbound(channel: string, outcome: InboundOutcome, seconds?: number, triageReason?: string): void;
  rcptRefused(problem: string): void;
  authVerdict(decision: string): void;
  storageWrite: WriteObserver;
  /** The registry's text exposition (what /metrics serves). */
  render(): Promise<string>;
}

/** Instruments on a fresh registry (one per gateway, so tests can run several). */
export function gatewayMetrics(): GatewayMetrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const replies = new client.Counter({
    name: 'auditflow_gateway_replies_total',
    help: 'Inbound messages by channel (smtp, imap) and outcome (recorded, duplicate, triaged, deferred, too-big, spooled)',
    labelNames: ['channel', 'outcome'],
    registers,
  });
  const triage = new client.Counter({
    name: 'auditflow_gateway_triage_total',
    help: 'Messages kept for triage, by reason category',
    labelNames: ['channel', 'reason'],
    registers,
  });
  const rcpt = new client.Counter({
    name: 'auditflow_gateway_rcpt_refused_total',
    help: 'Recipients refused at RCPT TO, by problem (foreign, malformed, bad-signature, expired, too-many)',
    labelNames: ['problem'],
    registers,
  });
  const auth = new client.Counter({
    name: 'auditflow_gateway_auth_verdicts_total',
    help: 'Sender-authentication verdicts on replies from listed contacts (pass, pass-with-warning, fail)',
    labelNames: ['decision'],
    registers,
  });
  const latency = new client.Histogram({
    name: 'auditflow_gateway_message_seconds',
    help: 'Time from a stored message to its outcome (parse, authenticate, record in Temporal)',
    labelNames: ['channel', 'outcome'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  const writes = new client.Histogram({
    name: STORAGE_WRITE_HISTOGRAM,
    help: 'Storage write latency',
    labelNames: ['backend', 'result'],
    buckets: STORAGE_WRITE_BUCKETS,
    registers,
  });
  return {
    inbound(channel, outcome, seconds, triageReason) {
      replies.inc({ channel, outcome });
      if (seconds !== undefined) latency.observe({ channel, outcome }, seconds);
      if (outcome === 'triaged') triage.inc({ channel, reason: triageCategory(triageReason ?? '') });
    },
    rcptRefused: (problem) => rcpt.inc({ problem }),
    authVerdict: (decision) => auth.inc({ decision }),
    storageWrite: (seconds, labels) => writes.observe(labels, seconds),
    render: () => registry.metrics(),
  };
}

/** A running metrics endpoint. */
export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

/** Serves GET /metrics on the address (port 0: a free one). */
export async function serveMetrics(metrics: GatewayMetrics, address: ListenAddress): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404).end('not found; metrics are at /metrics\n');
      return;
    }
    metrics.render().then(
      (text) => res.writeHead(200, { 'content-type': client.Registry.PROMETHEUS_CONTENT_TYPE }).end(text),
      (err: Error) => res.writeHead(500).end(`${err.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : address.port;
  return {
    url: `http://${hostPort({ host: address.host, port })}/metrics`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
