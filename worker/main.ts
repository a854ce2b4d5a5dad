/**
 * The auditflow worker: connects to Temporal through envconfig, builds the mail transport and the
 * evidence store, and runs the demand workflows and their activities on the `audit-demands` queue.
 */
import path from 'node:path';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker, type NativeConnection } from '@temporalio/worker';
import { createActivities } from '../activities';
import { createFileEvidenceStore } from '../activities/evidence';
import { triageLogDir } from '../activities/triage-log';
import { loadConfigOrExit, loadSecret, loadSecretOrExit, type AuditflowConfig } from './config';
import { connectWorker, loadTemporalTarget, type TemporalTarget } from './temporal-target';
import { createMailTransport, redactSmtpUrl } from './transport';

/** Connects, retrying while the server starts up (npm start launches both at once). */
async function connectWithRetry(target: TemporalTarget, timeoutMs: number): Promise<NativeConnection> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await connectWorker(target);
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`cannot reach Temporal at ${target.description}: ${(err as Error).message}. Is the server running? (npm start starts one; see README for TEMPORAL_ADDRESS)`, { cause: err });
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

/** Bundles the workflow code without webpack's per-module chatter in the log. */
export async function bundleWorkflows(): Promise<{ code: string }> {
  return bundleWorkflowCode({ workflowsPath: require.resolve('../workflows'), logger: new DefaultLogger('WARN') });
}

/** A worker plus what must be closed with it. */
export interface AuditWorker {
  worker: Worker;
  close(): Promise<void>;
}

/** Builds a worker for a config and connection; used by main() and by tests. */
export async function createAuditWorker(config: AuditflowConfig, connection: NativeConnection, namespace: string, opts: { workflowBundlePath?: string } = {}): Promise<AuditWorker> {
  const transport = createMailTransport(config);
  const activities = createActivities({
    transport,
    evidence: createFileEvidenceStore(config.evidenceDir),
    ledgerDir: path.join(config.dataDir, 'mail', 'ledger'),
    reportsDir: config.reportsDir,
    triageLogDir: triageLogDir(config.dataDir),
    secret: loadSecret(config),
    replyDomain: config.replyDomain,
    replyLocalPart: config.replyLocalPart,
  });
  const bundle = opts.workflowBundlePath ?? process.env.AUDITFLOW_WORKFLOW_BUNDLE;
  const worker = await Worker.create({
    connection,
    namespace,
    taskQueue: config.taskQueue,
    workflowBundle: bundle ? { codePath: bundle } : await bundleWorkflows(),
    activities,
    // Parked demands wait for weeks: keeping every one in memory costs ~2 MB each (2.2 GB for 1,000 in the
    // benchmark); evicted ones replay their short history when a timer or a reply wakes them.
    maxCachedWorkflows: config.workflowCache,
    shutdownGraceTime: '5s',
  });
  return { worker, close: async () => transport.close() };
}

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  loadSecretOrExit(config);
  let target: TemporalTarget;
  try {
    target = loadTemporalTarget(process.env, `localhost:${config.temporalPort}`);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(2);
  }
  Runtime.install({ logger: new DefaultLogger(config.logLevel) });
  if (process.env.AUDITFLOW_EXIT_WITH_PARENT === '1') {
    // Started by npm start: never outlive it, even if it was killed without a chance to stop us.
    const parent = process.ppid;
    setInterval(() => process.ppid !== parent && process.kill(process.pid, 'SIGTERM'), 1000).unref();
  }
  const log = Runtime.instance().logger;
  const connection = await connectWithRetry(target, 120_000);
  const { worker, close } = await createAuditWorker(config, connection, target.namespace);
  log.info(`worker ready: task queue ${config.taskQueue} on ${target.description}; mail via ${redactSmtpUrl(config.smtpUrl)}; data in ${config.dataDir}`);
  try {
    await worker.run();
  } finally {
    await close();
    await connection.close();
  }
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`worker failed: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  });
}
