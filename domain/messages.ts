/**
 * Signals, queries and updates of the demand workflow, with zod schemas for their inputs. The workflow,
 * the gateway and the CLI all use these objects; the strings never change once shipped.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { z } from 'zod';
import { Contact, EmailAddress, Item } from './demand';
import { STATUS_QUERY_NAME } from './ids';
import type { SendEmailInput } from './contracts';
import type { DemandStatusView } from './state';

const who = z
  .string({ error: 'must say who (a name or address)' })
  .trim()
  .min(1, 'must say who (a name or address)')
  .max(200, 'must be at most 200 characters');
const reason = z
  .string({ error: 'must give a reason' })
  .trim()
  .min(1, 'must give a reason')
  .max(2000, 'must be at most 2000 characters');
const itemIds = z.array(z.string().min(1)).min(1, 'must name at least one item');
const instant = z.iso.datetime({ offset: true, error: 'must be an ISO instant such as 2027-06-08T00:00:00Z' });

/** A stored object referenced from a signal or update (never the bytes). */
export const EvidenceRefInput = z.strictObject({
  sha256: z.string().regex(/^[a-f0-9]{64}$/, 'must be a sha256 hex digest'),
  size: z.int().min(0),
  contentType: z.string().max(200).optional(),
  filename: z.string().max(300).optional(),
});

/** A stored list of a message's attachments (JSON in the evidence store), referenced when they are too many to list. */
export const AttachmentManifestRef = z.strictObject({
  sha256: z.string().regex(/^[a-f0-9]{64}$/, 'must be a sha256 hex digest'),
  size: z.int().min(0),
  /** How many attachments it lists, and their total size in bytes. */
  count: z.int().min(0),
  bytes: z.int().min(0),
});
export type AttachmentManifestRef = z.infer<typeof AttachmentManifestRef>;

/** A reply that the inbound gateway has stored, authenticated and routed. */
export const InboundReply = z.strictObject({
  messageId: z.string().min(3).max(998),
  receivedAt: instant,
  from: EmailAddress,
  fromName: z.string().max(200).optional(),
  subject: z.string().max(998).optional(),
  /** Items the reply was routed to; empty when it concerns the demand as a whole. */
  itemIds: z.array(z.string()).default([]),
  kind: z.enum(['answer', 'extension-request', 'out-of-office', 'bounce']),
  /** SHA-256 of the raw message, to tell a redelivery from a different message with the same id. */
  digest: z.string().regex(/^[a-f0-9]{64}$/),
  raw: EvidenceRefInput,
  text: EvidenceRefInput.optional(),
  attachments: z.array(EvidenceRefInput).max(500).default([]),
  /** Set when the attachments are too many to list here: all of them, stored (then `attachments` is empty). */
  attachmentManifest: AttachmentManifestRef.optional(),
  /** The first lines of the new text (quotes and signature removed), for the timeline. */
  excerpt: z.string().max(1000).optional(),
  requestedDeadline: instant.optional(),
  returnDate: z.string().max(100).optional(),
  /** For bounces: the address that could not be reached. */
  failedRecipient: EmailAddress.optional(),
  /** For bounces: the Message-ID of the message of ours that failed (the report references it). */
  originalMessageId: z.string().min(3).max(998).optional(),
  /** Why no automatic answer may go back (RFC 3834: an automatic message, a list, a null return path, a loop). */
  noAutoReply: z.string().max(200).optional(),
  auth: z.record(z.string(), z.string()).optional(),
});
export type InboundReply = z.infer<typeof InboundReply>;

/** Move a deadline later: for some items, or all open ones. */
export const ExtendDeadlineInput = z
  .strictObject({
    itemIds: itemIds.optional(),
    /** New deadline: local to the counterparty (2027-06-21T17:00) or an ISO instant. */
    newDeadline: z.string().trim().min(1).optional(),
    /** Or: how much later, as an ISO 8601 duration (P7D). */
    by: z.string().trim().min(1).optional(),
    reason,
    approvedBy: who,
    /** The counterparty's emailed request this approves, if any. */
    requestId: z.string().optional(),
  })
  .refine((v) => (v.newDeadline === undefined) !== (v.by === undefined), {
    message: 'give exactly one of newDeadline or by',
    path: ['newDeadline'],
  });
export type ExtendDeadlineInput = z.infer<typeof ExtendDeadlineInput>;

/** Approve or deny a counterparty's emailed request for more time. */
export const DecideExtensionInput = z.strictObject({
  requestId: z.string().min(1, 'must name the request (see `auditflow show`)'),
  approve: z.boolean(),
  newDeadline: z.string().trim().min(1).optional(),
  by: z.string().trim().min(1).optional(),
  reason,
  decidedBy: who,
});
export type DecideExtensionInput = z.infer<typeof DecideExtensionInput>;

/** Stop the clock. */
export const PauseInput = z.strictObject({ reason, by: who });
export type PauseInput = z.infer<typeof PauseInput>;

/** Restart the clock; the time paused is added to every pending deadline. */
export const ResumeInput = z.strictObject({ by: who, reason: reason.optional() });
export type ResumeInput = z.infer<typeof ResumeInput>;

/** An answer received outside email (post, portal, call). */
export const RecordResponseInput = z.strictObject({
  itemIds,
  channel: z.enum(['post', 'portal', 'call', 'email', 'other'], {
    error: 'must be post, portal, call, email or other',
  }),
  summary: z.string().trim().min(1, 'must summarise the answer').max(4000),
  receivedAt: instant.optional(),
  attachments: z
    .array(EvidenceRefInput.extend({ ref: z.string().max(500).optional() }))
    .max(100)
    .default([]),
  by: who,
});
export type RecordResponseInput = z.infer<typeof RecordResponseInput>;

/** A reviewer's decision on an answered item. */
export const ReviewInput = z
  .strictObject({
    itemId: z.string().min(1, 'must name the item'),
    decision: z.enum(['accept', 'more-info', 'reject'], { error: 'must be accept, more-info or reject' }),
    reason: reason.optional(),
    questions: z.array(z.string().trim().min(1).max(2000)).max(100).optional(),
    /** Due date of the follow-up round (local or instant); default: review.followUpPeriod from now. */
    dueAt: z.string().trim().min(1).optional(),
    by: who,
  })
  .refine((v) => v.decision !== 'reject' || v.reason !== undefined, {
    message: 'a rejection needs a reason',
    path: ['reason'],
  })
  .refine((v) => v.decision !== 'more-info' || (v.questions?.length ?? 0) > 0, {
    message: 'asking for more information needs at least one question',
    path: ['questions'],
  });
export type ReviewInput = z.infer<typeof ReviewInput>;

/** Which step waiting for sign-off: a gate id (g2), `request`, a step number (2) or a step label. */
const gateRef = z
  .string({ error: 'must name the step: a gate id (g1), request, a step number or its label' })
  .trim()
  .min(1, 'must name the step: a gate id (g1), request, a step number or its label')
  .max(200);

/** Sign off a step that waits for it: its messages go out now (with the note replaced, if given). */
export const ApproveStepInput = z.strictObject({
  step: gateRef,
  by: who,
  /** Replaces the step's note in the messages (the spec's `note`), as the approver edited it. */
  note: z.string().trim().min(1, 'must not be empty').max(1000, 'must be at most 1000 characters').optional(),
  reason: reason.optional(),
});
export type ApproveStepInput = z.infer<typeof ApproveStepInput>;

/** Hold a step that waits for sign-off: nothing goes out for its items until someone approves it. */
export const HoldStepInput = z.strictObject({ step: gateRef, by: who, reason });
export type HoldStepInput = z.infer<typeof HoldStepInput>;

/** Cancel the demand; a withdrawal notice is sent. */
export const WithdrawInput = z.strictObject({ reason, by: who });
export type WithdrawInput = z.infer<typeof WithdrawInput>;

/** Who corrects the demand and why: every correction records both. */
const corrected = { by: who, reason };

/** A counterparty contact as a correction gives it: like the spec's, but an address is required. */
const NewContact = Contact.extend({ address: EmailAddress });

/** Add a counterparty contact (optionally answering for some items from now on). */
export const AddContactInput = z.strictObject({
  contact: NewContact,
  /** Items the contact answers for from now on (they get each open item's request). */
  itemIds: itemIds.optional(),
  ...corrected,
});
export type AddContactInput = z.infer<typeof AddContactInput>;

/**
 * Replace a counterparty contact (someone who left, an address that bounced): the new one takes the old
 * one's roles and items, and gets the request for every item still waiting for an answer.
 */
export const ReplaceContactInput = z.strictObject({
  address: EmailAddress,
  with: Contact.extend({ address: EmailAddress, roles: Contact.shape.roles.optional() }),
  ...corrected,
});
export type ReplaceContactInput = z.infer<typeof ReplaceContactInput>;

/** Remove a counterparty contact; refused while an open item or a step would be left with nobody to write to. */
export const RemoveContactInput = z.strictObject({ address: EmailAddress, ...corrected });
export type RemoveContactInput = z.infer<typeof RemoveContactInput>;

/** Give an item to other counterparty contacts; the ones new to it get its request. */
export const ReassignItemInput = z.strictObject({
  itemId: z.string().min(1, 'must name the item'),
  contacts: z.array(EmailAddress).min(1, 'must name at least one contact address'),
  ...corrected,
});
export type ReassignItemInput = z.infer<typeof ReassignItemInput>;

/** Add an item to the running demand: its questions and deadline (default: the demand's); its request goes out. */
export const AddItemInput = z.strictObject({ item: Item, ...corrected });
export type AddItemInput = z.infer<typeof AddItemInput>;

/** Cancel one item: it closes as withdrawn and its contacts are told no answer is needed. */
export const CancelItemInput = z.strictObject({ itemId: z.string().min(1, 'must name the item'), ...corrected });
export type CancelItemInput = z.infer<typeof CancelItemInput>;

/** Change (or add) a question of an item's current round before it is answered; its contacts get the update. */
export const ChangeQuestionInput = z.strictObject({
  itemId: z.string().min(1, 'must name the item'),
  /** 1-based number of the question to change; omitted: the question is added at the end. */
  number: z.int('must be a whole number').min(1, 'questions are numbered from 1').optional(),
  text: z.string().trim().min(1, 'must not be empty').max(2000, 'must be at most 2000 characters'),
  ...corrected,
});
export type ChangeQuestionInput = z.infer<typeof ChangeQuestionInput>;

/** Reopen a closed item with a new round of questions and a deadline, while the demand runs. */
export const ReopenItemInput = z.strictObject({
  itemId: z.string().min(1, 'must name the item'),
  /** The new round's questions (default: the last round's). */
  questions: z.array(z.string().trim().min(1).max(2000)).min(1).max(100).optional(),
  /** Its deadline, local or an instant (default: review.followUpPeriod from now). */
  dueAt: z.string().trim().min(1).optional(),
  ...corrected,
});
export type ReopenItemInput = z.infer<typeof ReopenItemInput>;

/** What every update returns: what changed, for the CLI to print. */
export interface UpdateResult {
  ok: true;
  message: string;
  items?: { itemId: string; dueAt?: string; phase?: string }[];
}

/** What the demand did with a reply the gateway gave it. */
export interface RecordReplyResult {
  outcome: 'recorded' | 'duplicate';
  kind: InboundReply['kind'];
  itemIds: string[];
}

/** A reply arrived by email (the gateway has stored it; this carries references only). Kept for the triage inbox and older histories. */
export const replyReceivedSignal = defineSignal<[unknown]>('replyReceived');
/**
 * A reply arrived by email: the gateway's way in. The validator applies every rule the demand has for
 * replies (limits, duplicates, bounce proof), so the gateway hears "refused, because" before it answers
 * 250 and keeps the message for triage instead of dropping it.
 */
export const recordReplyUpdate = defineUpdate<RecordReplyResult, [InboundReply]>('recordReply');
/**
 * A message the workflow is sending now, by its idempotency key: the input it fixed when it scheduled the
 * send (null once the send has finished, or for a key it never queued). The sendEmail activity's way in.
 */
export const outgoingMailQuery = defineQuery<SendEmailInput | null, [string]>('outgoingMail');
/** The whole state plus the next scheduled action. */
export const statusQuery = defineQuery<DemandStatusView>(STATUS_QUERY_NAME);
export const extendDeadlineUpdate = defineUpdate<UpdateResult, [ExtendDeadlineInput]>('extendDeadline');
export const decideExtensionUpdate = defineUpdate<UpdateResult, [DecideExtensionInput]>('decideExtension');
export const pauseUpdate = defineUpdate<UpdateResult, [PauseInput]>('pause');
export const resumeUpdate = defineUpdate<UpdateResult, [ResumeInput]>('resume');
export const recordResponseUpdate = defineUpdate<UpdateResult, [RecordResponseInput]>('recordResponse');
export const reviewUpdate = defineUpdate<UpdateResult, [ReviewInput]>('review');
export const withdrawUpdate = defineUpdate<UpdateResult, [WithdrawInput]>('withdraw');
export const approveStepUpdate = defineUpdate<UpdateResult, [ApproveStepInput]>('approveStep');
export const holdStepUpdate = defineUpdate<UpdateResult, [HoldStepInput]>('holdStep');
export const addContactUpdate = defineUpdate<UpdateResult, [AddContactInput]>('addContact');
export const replaceContactUpdate = defineUpdate<UpdateResult, [ReplaceContactInput]>('replaceContact');
export const removeContactUpdate = defineUpdate<UpdateResult, [RemoveContactInput]>('removeContact');
export const reassignItemUpdate = defineUpdate<UpdateResult, [ReassignItemInput]>('reassignItem');
export const addItemUpdate = defineUpdate<UpdateResult, [AddItemInput]>('addItem');
export const cancelItemUpdate = defineUpdate<UpdateResult, [CancelItemInput]>('cancelItem');
export const changeQuestionUpdate = defineUpdate<UpdateResult, [ChangeQuestionInput]>('changeQuestion');
export const reopenItemUpdate = defineUpdate<UpdateResult, [ReopenItemInput]>('reopenItem');
