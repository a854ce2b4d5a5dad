/**
 * The inbound spool (gateway setting AUDITFLOW_GATEWAY_ACCEPT=spooled): the gateway answers 250 once a
 * message is in the evidence store and signalled to one of a few spool workflows
 * (`auditflow-spool:<task queue>:<shard>`), then records it at once in the same process and signals it
 * done. A message no gateway reported done within the grace period is claimed by the next gateway that
 * sweeps (every gateway does, periodically and when it starts), so a gateway that dies after its 250
 * loses nothing. Workflow-safe: imported by the workflow bundle.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { EvidenceRef } from './state';

/** How many spool workflows share a task queue's messages (by the message's sha256). */
export const SPOOL_SHARDS = 2;

export interface SpoolEnvelope {
  channel: 'smtp';
  mailFrom?: string;
  rcptTo: string[];
  remoteAddress?: string;
  helo?: string;
}

/** One accepted message: its bytes in the evidence store and what the SMTP session said about it. */
export interface SpoolEntry {
  ref: EvidenceRef;
  envelope: SpoolEnvelope;
  /** When the gateway accepted it (ISO). */
  acceptedAt: string;
  /** The gateway that accepted it. */
  gateway: string;
}

export interface SpoolClaimInput {
  /** Only entries accepted (or last claimed) longer ago than this are handed out. */
  olderThanMs: number;
  /** The claim holds this long; an entry not reported done by then can be claimed again. */
  leaseMs: number;
  claimant: string;
  max: number;
}

export interface SpoolView {
  waiting: { sha256: string; acceptedAt: string; gateway: string; claims: number }[];
  done: number;
}

export interface SpoolState {
  entries: (SpoolEntry & { claimedAt?: string; claims: number })[];
  done: number;
}

/** What a gateway accepted since its last signal to this shard (one or more messages: group commit). */
export const spoolAcceptedSignal = defineSignal<[SpoolEntry[]]>('spoolAccepted');
export const spoolDoneSignal = defineSignal<[string[]]>('spoolDone');
/** A claimed entry says how often it was claimed (this claim included). */
export type ClaimedEntry = SpoolEntry & { claims: number };

/** From this claim on, a message that still cannot be parsed in time is kept for triage instead. */
export const SPOOL_LAST_CLAIM = 5;

export const spoolClaimUpdate = defineUpdate<ClaimedEntry[], [SpoolClaimInput]>('spoolClaim');
export const spoolQuery = defineQuery<SpoolView>('spool');

/** The spool workflow a message goes to: a shard picked by its sha256, so a redelivery lands in the same one. */
export function spoolWorkflowId(taskQueue: string, sha256: string): string {
  return spoolWorkflowIds(taskQueue)[parseInt(sha256.slice(0, 8), 16) % SPOOL_SHARDS]!;
}

export function spoolWorkflowIds(taskQueue: string): string[] {
  return Array.from({ length: SPOOL_SHARDS }, (_, i) => `auditflow-spool:${taskQueue}:${i}`);
}
