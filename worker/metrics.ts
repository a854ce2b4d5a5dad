/**
 * The worker's Prometheus metrics: the Temporal SDK's own (task slots, schedule-to-start latency, polls,
 * sticky cache) and auditflow's, on one endpoint served by the SDK runtime (AUDITFLOW_WORKER_METRICS).
 * auditflow's go through the runtime's metric meter, so an operator scrapes a single port per worker.
 */
import type { Client } from '@temporalio/client';
import type { MetricMeter } from '@temporalio/common';
import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import type { DemandStatus } from '../domain/state';
import type { ListenAddress } from '../platform/config';
import { collectDigestSources } from '../platform/digest-source';
import { STORAGE_WRITE_BUCKETS, STORAGE_WRITE_HISTOGRAM, type SendMetrics } from '../platform/metrics';
import { hostPort, isPortOpen } from '../platform/net';
import type { WriteObserver } from '../platform/storage-timed';

/** The demand phases a running workflow can be in (the terminal ones are closed workflows). */
const RUNNING_STATUSES: DemandStatus[] = ['starting', 'active', 'due', 'overdue', 'escalated', 'in-review', 'paused'];

/** auditflow's worker-side instruments. */
export interface WorkerMetrics extends SendMetrics {
  storageWrite: WriteObserver;
  demands(status: DemandStatus, count: number): void;
  extensionRequestsWaiting(count: number): void;
  triageOpen(count: number): void;
}

/** The instruments on a meter (the runtime's; the SDK's no-op meter when metrics are off). */
export function workerMetrics(meter: MetricMeter): WorkerMetrics {
  const sent = meter.createCounter('auditflow_emails', '', 'Send attempts that ended, by mail kind and outcome');
  const retries = meter.createCounter('auditflow_email_send_retries', '', 'Send attempts after the first');
  const writes = meter.createHistogram(STORAGE_WRITE_HISTOGRAM, 'float', 's', 'Storage write latency');
  const demands = meter.createGauge('auditflow_demands', 'int', '', 'Running demands by AuditStatus');
  const extensions = meter.createGauge('auditflow_extension_requests_waiting', 'int', '', 'Extension requests');
  const triage = meter.createGauge('auditflow_triage_open', 'int', '', 'Messages waiting in the triage inbox');
  return {
    emailSent: (kind, outcome) => sent.add(1, { kind, outcome }),
    sendRetry: (kind) => retries.add(1, { kind }),
    storageWrite: (seconds, labels) => writes.record(seconds, labels),
    demands: (status, count) => demands.set(count, { status }),
    extensionRequestsWaiting: (count) => extensions.set(count),
    triageOpen: (count) => triage.set(count),
  };
}

/**
 * Installs the SDK runtime, with the Prometheus endpoint when one is configured. A port already taken
 * (a second worker on the machine) leaves this worker without metrics, with a warning, rather than down.
 * Returns the endpoint's URL, if any.
 */
export async function installWorkerRuntime(
  logLevel: LogLevel,
  address: ListenAddress | undefined,
): Promise<string | undefined> {
  const logger = new DefaultLogger(logLevel);
  const where = address && hostPort(address);
  if (!address || !where || (await isPortOpen(address.host, address.port))) {
    Runtime.install({ logger });
    if (where) logger.warn(`metrics off: ${where} is already in use (set AUDITFLOW_WORKER_METRICS to another port)`);
    return undefined;
  }
  Runtime.install({
    logger,
    telemetryOptions: {
      metrics: {
        prometheus: {
          bindAddress: where,
          countersTotalSuffix: true,
          useSecondsForDurations: true,
          histogramBucketOverrides: { [STORAGE_WRITE_HISTOGRAM]: STORAGE_WRITE_BUCKETS },
        },
      },
    },
  });
  return `http://${where}/metrics`;
}

/** A stoppable loop. */
export interface Poller {
  stop(): Promise<void>;
}

/**
 * Counts the task queue's running demands by status (visibility), and the extension requests and triage
 * messages waiting (the digest's reading), every `intervalMs`; the first count is taken at once.
 */
export function startDemandGauges(
  client: Client,
  taskQueue: string,
  metrics: WorkerMetrics,
  opts: { intervalMs: number; warn: (message: string) => void },
): Poller {
  const queue = `TaskQueue = "${taskQueue.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  const once = async () => {
    for (const status of RUNNING_STATUSES) {
      const query = `WorkflowType = "auditDemandWorkflow" AND ExecutionStatus = "Running" AND ${queue} AND AuditStatus = "${status}"`;
      metrics.demands(status, (await client.workflow.count(query)).count);
    }
    const { sources } = await collectDigestSources(client, taskQueue, Date.now());
    metrics.extensionRequestsWaiting(sources.demands.reduce((n, d) => n + d.extensionRequests.length, 0));
    metrics.triageOpen(sources.triage.length);
  };
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const tick = () => {
    running = once()
      .catch((err: Error) => opts.warn(`metrics: could not count demands: ${err.message}`))
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, opts.intervalMs);
      });
  };
  tick();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
