/**
 * The inbound gateway process: the SMTP gateway (and the IMAP poller when AUDITFLOW_IMAP_URL is set),
 * both feeding the same pipeline. `npm start` runs it; `npm run gateway` runs it alone.
 */
import { Client, type Connection } from '@temporalio/client';
import { createFileEvidenceStore } from '../activities/evidence';
import { makeHmac } from '../activities/email';
import { loadConfigOrExit, loadSecret, loadSecretOrExit, type AuditflowConfig } from '../worker/config';
import { connectClient, loadTemporalTarget, type TemporalTarget } from '../worker/temporal-target';
import { cachingResolver, type DnsResolver } from './auth';
import { startImapPoller, type ImapPoller } from './imap';
import { createProfileCache, type IntakeDeps } from './intake';
import { createSlots } from './slots';
import { startSmtpGateway, type SmtpGateway } from './smtp';

/** The pipeline's dependencies for a config and a client. */
export function intakeDeps(config: AuditflowConfig, client: Client, opts: { resolver?: DnsResolver; log?: IntakeDeps['log'] } = {}): IntakeDeps {
  return {
    client,
    evidence: createFileEvidenceStore(config.evidenceDir),
    hmac: makeHmac(loadSecret(config)),
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
  };
}

/** Everything the gateway process runs. */
export interface Gateway {
  smtp: SmtpGateway;
  imap?: ImapPoller;
  close(): Promise<void>;
}

/** Starts the SMTP gateway and, when configured, the IMAP poller. */
export async function startGateway(config: AuditflowConfig, client: Client, log: (line: string) => void, opts: { resolver?: DnsResolver; port?: number } = {}): Promise<Gateway> {
  const deps = intakeDeps(config, client, opts);
  const smtp = await startSmtpGateway({ host: config.gateway.host, port: opts.port ?? config.gateway.port, maxBytes: config.gateway.maxBytes, ...(config.gateway.tls ? { tls: config.gateway.tls } : {}), name: config.gateway.hostname, intake: deps, log, maxClientsPerAddress: config.gateway.connectionsPerClient, idleTimeoutMs: config.gateway.idleTimeoutMs });
  const imap = config.imap ? await startImapPoller({ ...config.imap, intake: deps, log }) : undefined;
  return {
    smtp,
    ...(imap ? { imap } : {}),
    async close() {
      await imap?.close();
      await smtp.close();
    },
  };
}

async function connectWithRetry(target: TemporalTarget, log: (l: string) => void): Promise<Connection> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await connectClient(target);
    } catch (err) {
      if (attempt === 1) log(`waiting for Temporal at ${target.description}: ${(err as Error).message.split('\n')[0]}`);
      if (attempt > 120) throw err;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

async function main(): Promise<void> {
  const log = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);
  const config = loadConfigOrExit();
  loadSecretOrExit(config);
  let target: TemporalTarget;
  try {
    target = loadTemporalTarget(process.env, `localhost:${config.temporalPort}`);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(2);
  }
  // The gateway answers 451 while Temporal is down; it only needs a connection object to start.
  const connection = await connectWithRetry(target, log);
  const client = new Client({ connection, namespace: target.namespace });
  const gateway = await startGateway(config, client, log);
  log(`gateway ready: SMTP on ${config.gateway.host}:${gateway.smtp.port} for *@${config.replyDomain} (authentication ${config.gateway.authMode}, limit ${config.gateway.maxBytes} bytes)${config.imap ? `; IMAP ${new URL(config.imap.url).host} folder ${config.imap.folder}` : ''}`);
  if (process.env.AUDITFLOW_EXIT_WITH_PARENT === '1') {
    const parent = process.ppid;
    setInterval(() => process.ppid !== parent && process.kill(process.pid, 'SIGTERM'), 1000).unref();
  }
  const stop = async () => {
    await gateway.close();
    await connection.close();
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
