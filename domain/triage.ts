/**
 * The triage inbox: messages the gateway could not turn into a recorded answer (unmatched,
 * unauthenticated, ambiguous, malformed), kept with the reason in a long-running Temporal workflow
 * until ops assign or discard them. Nothing is dropped.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { z } from 'zod';
import type { InboundReply } from './messages';
import type { EvidenceRef } from './state';

/** One inbox per task queue, so that it always runs on the workers that serve its demands. */
export function inboxWorkflowId(taskQueue: string): string {
  return `auditflow-inbox:${taskQueue}`;
}

/** One kept message. */
export interface TriageEntry {
  /** First 16 hex digits of the message's SHA-256: a redelivery is the same entry. */
  id: string;
  receivedAt: string;
  channel: 'smtp' | 'imap';
  reason: string;
  from?: string;
  subject?: string;
  messageId?: string;
  envelope: { from?: string; to: string[]; remoteAddress?: string };
  raw: EvidenceRef;
  attachments: EvidenceRef[];
  /** What routing found before it stopped: demand and items, if any. */
  hint?: { demandId?: string; itemIds?: string[] };
  /** The reply, ready to be signalled once ops say where it belongs. */
  reply?: Omit<InboundReply, 'itemIds' | 'kind'> & { kind?: InboundReply['kind'] };
  status: 'open' | 'assigned' | 'discarded';
  decidedBy?: string;
  decidedAt?: string;
  decision?: string;
  /** How many times the same message arrived. */
  deliveries: number;
}

export interface InboxState {
  entries: TriageEntry[];
  runs: number;
}

const who = z.string().trim().min(1, 'must say who').max(200);

/** Assign a kept message to a demand (and items): it is recorded there as an answer. */
export const AssignTriageInput = z.strictObject({
  id: z.string().min(1, 'must name the message (see auditflow inbox)'),
  demandId: z.string().min(1, 'must name the demand'),
  itemIds: z.array(z.string().min(1)).min(1, 'must name at least one item'),
  by: who,
});
export type AssignTriageInput = z.infer<typeof AssignTriageInput>;

/** Discard a kept message, with the reason (the evidence stays in the store). */
export const DiscardTriageInput = z.strictObject({
  id: z.string().min(1, 'must name the message (see auditflow inbox)'),
  reason: z.string().trim().min(1, 'must give a reason').max(2000),
  by: who,
});
export type DiscardTriageInput = z.infer<typeof DiscardTriageInput>;

export const triageAddedSignal = defineSignal<[TriageEntry]>('triageAdded');
export const inboxQuery = defineQuery<InboxState>('inbox');
export const assignTriageUpdate = defineUpdate<TriageEntry, [AssignTriageInput]>('assignTriage');
export const discardTriageUpdate = defineUpdate<TriageEntry, [DiscardTriageInput]>('discardTriage');
