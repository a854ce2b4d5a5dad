/**
 * The auditflow worker: connects to Temporal through envconfig, builds the mail transport and the
 * evidence store, and runs the demand workflows and their activities on the `audit-demands` queue.
 */
import path from 'node:path';
import { Client } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import { createEvidenceStore } from '../platform/evidence';
import type { Storage } from '../platform/storage';
import { openStorage } from '../platform/storage-open';
import type { DataConverter } from '@temporalio/common';
import { dataConverterFor } from '../platform/codec';
import { loadEncryptionKeys, loadSecret, type AuditflowConfig } from '../platform/config';
import { checkStorageOrExit, connectWithRetry, exitWithParent, loadProcessSettings } from '../platform/process';
import { timedStorage } from '../platform/storage-timed';
import { createMailTransport, redactSmtpUrl } from '../platform/transport';
import { DIST_DIR, PROJECT_ROOT, RUNNING_COMPILED } from '../platform/paths';
import { startTracing, workerTracing, workflowTracingModule, type Tracing } from '../platform/tracing';
import { installWorkerRuntime, startDemandGauges, workerMetrics, type WorkerMetrics } from './metrics';

/** The workflow bundle `npm run build` writes; the compiled worker runs it unless told otherwise. */
export const PREBUILT_WORKFLOW_BUNDLE = path.join(DIST_DIR, 'workflow-bundle.js');

/** Bundles the workflow code, with the tracing interceptor, without webpack's per-module chatter in the log. */
export async function bundleWorkflows(): Promise<{ code: string }> {
  return bundleWorkflowCode({
    workflowsPath: path.join(PROJECT_ROOT, 'workflows', 'index.ts'),
    workflowInterceptorModules: [workflowTracingModule()],
    logger: new DefaultLogger('WARN'),
  });
}

/** A worker plus what must be closed with it. */
export interface AuditWorker {
  worker: Worker;
  close(): Promise<void>;
}

/** Builds a worker for a config and connection; used by main() and by tests. */
export async function createAuditWorker(
  config: AuditflowConfig,
  connection: NativeConnection,
  namespace: string,
  opts: {
    workflowBundlePath?: string;
    storage?: Storage;
    dataConverter?: DataConverter;
    metrics?: WorkerMetrics;
    tracing?: Tracing;
  } = {},
): Promise<AuditWorker> {
  const transport = createMailTransport(config);
  // The runtime's meter publishes on the worker's Prometheus endpoint (a no-op exporter when it has none).
  const metrics = opts.metrics ?? workerMetrics(Runtime.instance().metricMeter);
  const storage = timedStorage(opts.storage ?? openStorage(config), metrics.storageWrite);
  const activities = createActivities({
    metrics,
    transport,
    evidence: createEvidenceStore(storage),
    storage,
    secret: loadSecret(config),
    replyDomain: config.replyDomain,
    replyLocalPart: config.replyLocalPart,
  });
  const bundle = opts.workflowBundlePath ?? process.env.AUDITFLOW_WORKFLOW_BUNDLE;
  const tracing = await workerTracing(opts.tracing);
  const worker = await Worker.create({
    connection,
    namespace,
    taskQueue: config.taskQueue,
    workflowBundle: bundle ? { codePath: bundle } : await bundleWorkflows(),
    activities,
    sinks: tracing.sinks,
    interceptors: { activity: tracing.activity },
    // Payloads encrypted before they reach Temporal (platform/codec.ts); a local default: the data folder's key.
    dataConverter: opts.dataConverter ?? dataConverterFor(loadEncryptionKeys(config, { remote: false })),
    // Parked demands wait for weeks and cost ~2 MB each in memory; evicted ones replay their short
    // history when a timer or a reply wakes them.
    maxCachedWorkflows: config.workflowCache,
    // A demand's next workflow task waits this long for the worker that has it cached before any worker
    // may take it (default 10 s). Short, because while it waits a query can reach another worker, which
    // answers by replaying the history, new events included, and keeps that run cached: the SDK core then
    // completed the next task from that state with a stale clock (the workflow now trusts its fired
    // timers, patch timer-fired-is-due; README "Fault drills"). A killed worker's demands move on in 2 s.
    stickyQueueScheduleToStartTimeout: '2s',
    shutdownGraceTime: '5s',
  });
  return { worker, close: async () => transport.close() };
}

async function main(): Promise<void> {
  const { config, target, dataConverter } = loadProcessSettings();
  const metricsUrl = await installWorkerRuntime(config.logLevel, config.metrics.worker);
  exitWithParent();
  const log = Runtime.instance().logger;
  const storage = openStorage(config);
  await checkStorageOrExit(storage, (line) => log.info(line));
  const connection = await connectWithRetry(() => NativeConnection.connect(target.connectionOptions), target, {
    timeoutMs: 120_000,
  });
  const metrics = workerMetrics(Runtime.instance().metricMeter);
  const tracing = config.tracing ? await startTracing(config.tracing, 'auditflow-worker') : undefined;
  // Production (the compiled worker) loads the bundle built with it, checked fresh at start; from the
  // sources through tsx the workflows are bundled now, so a change to them is what runs.
  const workflowBundlePath =
    process.env.AUDITFLOW_WORKFLOW_BUNDLE ?? (RUNNING_COMPILED ? PREBUILT_WORKFLOW_BUNDLE : undefined);
  const { worker, close } = await createAuditWorker(config, connection, target.namespace, {
    storage,
    dataConverter,
    metrics,
    ...(tracing ? { tracing } : {}),
    ...(workflowBundlePath ? { workflowBundlePath } : {}),
  });
  const gauges = metricsUrl
    ? startDemandGauges(
        new Client({ connection, namespace: target.namespace, ...(dataConverter ? { dataConverter } : {}) }),
        config.taskQueue,
        metrics,
        { intervalMs: config.metrics.pollSeconds * 1000, warn: (m) => log.warn(m) },
      )
    : undefined;
  log.info(
    `worker ready: task queue ${config.taskQueue} on ${target.description}; ` +
      `mail via ${redactSmtpUrl(config.smtpUrl)}; ` +
      `records in ${storage.description}${metricsUrl ? `; metrics on ${metricsUrl}` : ''}${config.tracing ? `; traces to ${config.tracing.endpoint}` : ''}; ` +
      `workflows ${workflowBundlePath ? `from ${path.relative(PROJECT_ROOT, workflowBundlePath)}` : 'bundled at start'}`,
  );
  try {
    await worker.run();
  } finally {
    await gauges?.stop();
    await close();
    await connection.close();
    await tracing?.shutdown();
  }
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`worker failed: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  });
}
