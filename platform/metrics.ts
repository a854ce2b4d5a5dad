/**
 * What the worker's and the gateway's metrics share: the instruments activities report sends to (the
 * worker implements them on the SDK runtime's meter) and the storage-latency histogram's name and buckets.
 */
import type { MailKind } from '../domain/state';

/** How a send attempt ended: `failed` is a transient error (the activity retries). */
export type SendOutcome = 'sent' | 'rejected' | 'already-sent' | 'failed';

/** Where the sendEmail activity counts its attempts. */
export interface SendMetrics {
  emailSent(kind: MailKind | 'unknown', outcome: SendOutcome): void;
  /** An attempt after the first. */
  sendRetry(kind: MailKind | 'unknown'): void;
}

/** One histogram name for storage writes in every process, so a dashboard can sum them by job. */
export const STORAGE_WRITE_HISTOGRAM = 'auditflow_storage_write_seconds';

/** Storage writes take milliseconds on a local disk and up to seconds on a distant S3. */
export const STORAGE_WRITE_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
