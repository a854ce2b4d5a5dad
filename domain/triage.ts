/**
 * The triage inbox: messages the gateway could not turn into a recorded answer (unmatched,
 * unauthenticated, ambiguous, malformed), kept with the reason in a long-running Temporal workflow
 * until ops assign or discard them. Nothing is dropped.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { z } from 'zod';
import { INBOUND_LIMITS, TRIAGE_LIMITS } from './limits';
import type { AttachmentManifestRef, InboundReply } from './messages';
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
  /** The attachments, listed once (at most INBOUND_LIMITS.inlineAttachments; more are in the manifest). */
  attachments: EvidenceRef[];
  attachmentManifest?: AttachmentManifestRef;
  /** What routing found before it stopped: demand and items, if any. */
  hint?: { demandId?: string; itemIds?: string[] };
  /** The reply, ready to be signalled once ops say where it belongs; its attachments are the entry's. */
  reply?: Omit<InboundReply, 'itemIds' | 'kind' | 'attachments' | 'attachmentManifest'> & {
    kind?: InboundReply['kind'];
    attachments?: EvidenceRef[];
  };
  status: 'open' | 'assigned' | 'discarded';
  decidedBy?: string;
  decidedAt?: string;
  decision?: string;
  /** How many times the same message arrived. */
  deliveries: number;
}

export interface InboxState {
  /** Messages waiting for ops (and, in histories from before pruning, decided ones). */
  entries: TriageEntry[];
  runs: number;
  /** Ids of decided messages, newest last (a redelivery of one is counted, not kept again); absent before pruning. */
  handledIds?: string[];
  /** Decided messages so far; each is in the triage log in storage. */
  handled?: number;
  /** Redeliveries of decided messages, counted. */
  redeliveredAfterDecision?: number;
}

/** Why the inbox cannot take one more message (then the gateway answers 451: the sender tries again later). */
export function inboxFullReason(state: InboxState, entry: TriageEntry): string | undefined {
  const open = state.entries.filter((e) => e.status === 'open').length;
  if (open >= TRIAGE_LIMITS.openEntries)
    return `the triage inbox is full: ${open} messages wait for review (limit ${TRIAGE_LIMITS.openEntries}); discard or assign some (auditflow inbox)`;
  const bytes = JSON.stringify(state).length + JSON.stringify(entry).length;
  if (bytes > TRIAGE_LIMITS.stateBytes)
    return `the triage inbox is full: it holds ${Math.round(bytes / 1024)} KB (limit ${TRIAGE_LIMITS.stateBytes / 1024} KB); discard or assign some (auditflow inbox)`;
  return undefined;
}

/** Checks that an entry is within the sizes the inbox keeps (the gateway builds entries to fit). */
export function triageEntryProblem(e: TriageEntry): string | undefined {
  if (!/^[0-9a-f]{16}$/.test(e.id)) return 'id must be 16 hex digits';
  if (e.reason.length > TRIAGE_LIMITS.reasonChars)
    return `reason has ${e.reason.length} characters (limit ${TRIAGE_LIMITS.reasonChars})`;
  if ((e.subject?.length ?? 0) > INBOUND_LIMITS.subjectChars)
    return `subject has ${e.subject!.length} characters (limit ${INBOUND_LIMITS.subjectChars})`;
  if ((e.messageId?.length ?? 0) > INBOUND_LIMITS.messageIdChars)
    return `Message-ID has ${e.messageId!.length} characters (limit ${INBOUND_LIMITS.messageIdChars})`;
  if (e.envelope.to.length > TRIAGE_LIMITS.envelopeRecipients)
    return `${e.envelope.to.length} envelope recipients (limit ${TRIAGE_LIMITS.envelopeRecipients})`;
  if (e.attachments.length > INBOUND_LIMITS.inlineAttachments || (e.reply?.attachments?.length ?? 0) > 0)
    return 'attachments must be listed once, at most ' + INBOUND_LIMITS.inlineAttachments + ' inline';
  return undefined;
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

/** How the inbox took a message: a new entry, or another delivery of one it has (open or decided). */
export interface AddTriageResult {
  id: string;
  deliveries: number;
  /** `decided`: it was assigned or discarded before; nothing new is kept. */
  status: 'open' | 'decided';
}

/** The gateway's way into the inbox before the entry limits existed; kept so older histories replay. */
export const triageAddedSignal = defineSignal<[TriageEntry]>('triageAdded');
/** Keep a message for ops; refused (and the gateway answers 451) when the inbox is full. */
export const addTriageUpdate = defineUpdate<AddTriageResult, [TriageEntry]>('addTriage');
export const inboxQuery = defineQuery<InboxState>('inbox');
export const assignTriageUpdate = defineUpdate<TriageEntry, [AssignTriageInput]>('assignTriage');
export const discardTriageUpdate = defineUpdate<TriageEntry, [DiscardTriageInput]>('discardTriage');
