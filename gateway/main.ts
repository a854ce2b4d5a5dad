/**
 * The inbound gateway process: the SMTP gateway (and the IMAP poller when AUDITFLOW_IMAP_URL is set),
 * both feeding the same pipeline. `npm start` runs it; `npm run gateway` runs it alone.
 */
import { Client } from '@temporalio/client';
import { createEvidenceStore } from '../platform/evidence';
import type { Storage } from '../platform/storage';
import { openStorage } from '../platform/storage-open';
import { timedStorage } from '../platform/storage-timed';
import { makeHmac } from '../platform/hash';
import { loadSecrets, type AuditflowConfig } from '../platform/config';
import { checkStorageOrExit, connectWithRetry, exitWithParent, loadProcessSettings } from '../platform/process';
import { connectClient } from '../platform/temporal-target';
import { clientTracing, startTracing } from '../platform/tracing';
import { cachingResolver, type DnsResolver } from './auth';
import { startImapPoller, type ImapPoller } from './imap';
import { createProfileCache, type IntakeDeps } from './intake';
import { gatewayMetrics, serveMetrics, type GatewayMetrics } from './metrics';
import { createSlots } from './slots';
import { startSmtpGateway, type SmtpGateway } from './smtp';
import { startSpool } from './spool';

/** The pipeline's dependencies for a config and a client. */
export function intakeDeps(
  config: AuditflowConfig,
  client: Client,
  opts: { resolver?: DnsResolver; log?: IntakeDeps['log']; storage?: Storage; metrics?: GatewayMetrics } = {},
): IntakeDeps {
  const opened = opts.storage ?? openStorage(config);
  const storage = opts.metrics ? timedStorage(opened, opts.metrics.storageWrite) : opened;
  return {
    client,
    evidence: createEvidenceStore(storage),
    hmac: loadSecrets(config).map(makeHmac),
    replyDomain: config.replyDomain,
    replyLocalPart: config.replyLocalPart,
    taskQueue: config.taskQueue,
    mta: config.gateway.hostname,
    authMode: config.gateway.authMode,
    trustedArcSealers: config.gateway.trustedArcSealers,
    parseSlots: createSlots(config.gateway.parsers),
    profiles: createProfileCache(),
    parseMs: config.gateway.parseTimeoutMs,
    resolver: opts.resolver ?? cachingResolver(),
    ...(opts.log ? { log: opts.log } : {}),
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
  };
}

/** Everything the gateway process runs. */
export interface Gateway {
  smtp: SmtpGateway;
  imap?: ImapPoller;
  /** The Prometheus endpoint's URL, when metrics are on. */
  metricsUrl?: string;
  close(): Promise<void>;
}

/** Starts the SMTP gateway and, when configured, the IMAP poller. */
export async function startGateway(
  config: AuditflowConfig,
  client: Client,
  log: (line: string) => void,
  opts: { resolver?: DnsResolver; port?: number; storage?: Storage; metricsPort?: number } = {},
): Promise<Gateway> {
  const metrics = config.metrics.gateway ? gatewayMetrics() : undefined;
  const deps = intakeDeps(config, client, { ...opts, ...(metrics ? { metrics } : {}) });
  const spool =
    config.gateway.accept === 'spooled'
      ? startSpool(deps, {
          gateway: `${config.gateway.hostname}:${process.pid}`,
          graceMs: config.gateway.spoolGraceMs,
          log,
          onOutcome: (entry, outcome) =>
            log(
              outcome.result === 'recorded'
                ? `recorded spooled message ${entry.ref.sha256.slice(0, 12)}: ${outcome.demandId} ${outcome.itemIds.join(',')} ${outcome.kind}`
                : outcome.result === 'triaged'
                  ? `kept spooled message ${entry.ref.sha256.slice(0, 12)} for triage: ${outcome.reason}`
                  : `spooled message ${entry.ref.sha256.slice(0, 12)} not recorded yet: ${outcome.reason}`,
            ),
        })
      : undefined;
  const smtp = await startSmtpGateway({
    ...(spool ? { spool } : {}),
    host: config.gateway.host,
    port: opts.port ?? config.gateway.port,
    maxBytes: config.gateway.maxBytes,
    ...(config.gateway.tls ? { tls: config.gateway.tls } : {}),
    name: config.gateway.hostname,
    intake: deps,
    log,
    maxClientsPerAddress: config.gateway.connectionsPerClient,
    idleTimeoutMs: config.gateway.idleTimeoutMs,
  });
  const imap = config.imap ? await startImapPoller({ ...config.imap, intake: deps, log }) : undefined;
  const address = config.metrics.gateway && {
    ...config.metrics.gateway,
    port: opts.metricsPort ?? config.metrics.gateway.port,
  };
  // A second gateway on the machine runs without an endpoint rather than not at all.
  const endpoint =
    metrics && address
      ? await serveMetrics(metrics, address).catch((err: Error) => {
          log(`metrics off: ${err.message} (set AUDITFLOW_GATEWAY_METRICS to another port)`);
          return undefined;
        })
      : undefined;
  return {
    smtp,
    ...(imap ? { imap } : {}),
    ...(endpoint ? { metricsUrl: endpoint.url } : {}),
    async close() {
      await endpoint?.close();
      await imap?.close();
      await smtp.close();
      await spool?.close();
    },
  };
}

async function main(): Promise<void> {
  const log = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);
  const { config, target, dataConverter } = loadProcessSettings();
  exitWithParent();
  const storage = openStorage(config);
  await checkStorageOrExit(storage, log);
  // The gateway answers 451 while Temporal is down; it only needs a connection object to start.
  const connection = await connectWithRetry(() => connectClient(target), target, { timeoutMs: 120_000, log });
  // Each message's ReceiveMail span is the parent of the update that records it (and of the workflow's handler).
  const tracing = config.tracing ? await startTracing(config.tracing, 'auditflow-gateway') : undefined;
  const interceptors = await clientTracing(tracing);
  const client = new Client({ connection, namespace: target.namespace, dataConverter, interceptors });
  const gateway = await startGateway(config, client, log, { storage });
  log(
    `gateway ready: ` +
      `SMTP on ${config.gateway.host}:${gateway.smtp.port} for *@${config.replyDomain} (authentication ${config.gateway.authMode}, ` +
      `limit ${config.gateway.maxBytes} bytes` +
      (config.gateway.accept === 'spooled' ? `, spooled: 250 once the spool has a message` : '') +
      ')' +
      (config.imap ? `; IMAP ${new URL(config.imap.url).host} folder ${config.imap.folder}` : '') +
      (gateway.metricsUrl ? `; metrics on ${gateway.metricsUrl}` : '') +
      (config.tracing ? `; traces to ${config.tracing.endpoint}` : ''),
  );
  const stop = async () => {
    await gateway.close();
    await connection.close();
    await tracing?.shutdown();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`gateway failed: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  });
}
