/**
 * All activities, built from their I/O clients: `createActivities(deps)`. Tests pass a real transport
 * pointed at a test SMTP server and a store in a temporary folder.
 */
import type { Transporter } from 'nodemailer';
import { createDigestActivities } from './digest';
import { createEmailActivities } from './email';
import type { EvidenceStore } from '../platform/evidence';
import type { Storage } from '../platform/storage';
import { createReportActivities } from './write-report';
import { createTriageActivities } from './triage';
import type { SendMetrics } from '../platform/metrics';

export interface ActivityDeps {
  transport: Transporter;
  evidence: EvidenceStore;
  /** The shared storage: send ledger, reports, triage log (and, through `evidence`, the evidence). */
  storage: Storage;
  secret: string;
  replyDomain: string;
  replyLocalPart: string;
  /** Where sends are counted (the worker's Prometheus endpoint). */
  metrics?: SendMetrics;
}

/** Every activity the worker registers. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createEmailActivities(deps),
    ...createReportActivities(deps),
    ...createTriageActivities(deps),
    ...createDigestActivities(),
  };
}

/** The activity interface, as workflows import it (`import type`). */
export type Activities = ReturnType<typeof createActivities>;
