/**
 * The state of one demand as the workflow keeps it and the `status` query returns it. Everything is
 * plain JSON (ISO strings for instants) so it can be carried through continue-as-new unchanged.
 */
import type { AttachmentRef } from './attachments';
import type { DemandSpec } from './demand';

/** Where an item stands. `closed` items carry a `closure`. */
export type ItemPhase = 'requested' | 'awaiting' | 'due' | 'overdue' | 'escalated' | 'in-review' | 'closed';
/** How an item ended. */
export type ItemClosure = 'accepted' | 'rejected' | 'referred' | 'unanswered' | 'withdrawn';
/** The demand's phase, also the `AuditStatus` search attribute. */
export type DemandStatus =
  | 'starting'
  | 'active'
  | 'due'
  | 'overdue'
  | 'escalated'
  | 'in-review'
  | 'paused'
  | 'completed'
  | 'completed-with-gaps'
  | 'referred'
  | 'withdrawn';
export const TERMINAL_STATUSES: readonly DemandStatus[] = ['completed', 'completed-with-gaps', 'referred', 'withdrawn'];

/** A stored object (raw .eml, attachment, note): its content hash and how to find it again. */
export interface EvidenceRef {
  sha256: string;
  size: number;
  contentType?: string;
  filename?: string;
}

/** One answer to an item, however it arrived. */
export interface AnswerRecord {
  id: string;
  round: number;
  receivedAt: string;
  channel: 'email' | 'post' | 'portal' | 'call' | 'other';
  from?: string;
  messageId?: string;
  summary?: string;
  late: boolean;
  /** How late, in ms, when late. */
  lateByMs?: number;
  /** Received after the item had closed: kept, but it does not reopen the item. */
  afterClose?: boolean;
  attachments: EvidenceRef[];
  /** When the attachments were too many to list in history: the stored list (see README, "Limits"). */
  attachmentManifest?: { sha256: string; size: number; count: number; bytes: number };
  raw?: EvidenceRef;
  recordedBy?: string;
  /** Sender authentication verdicts recorded by the gateway (spf, dkim, dmarc, arc, policy, decision). */
  auth?: Record<string, string>;
}

/** A review decision on an item. */
export interface ReviewRecord {
  round: number;
  decision: 'accept' | 'more-info' | 'reject';
  reason?: string;
  by: string;
  at: string;
  questions?: string[];
  dueAt?: string;
}

/** One round of questions: the first request (round 0) or a follow-up. */
export interface RoundRecord {
  round: number;
  questions: string[];
  requestedAt?: string;
  dueAt: string;
  answeredAt?: string;
}

/** An item's full state. */
export interface ItemState {
  id: string;
  name: string;
  phase: ItemPhase;
  closure?: ItemClosure;
  closedAt?: string;
  round: number;
  rounds: RoundRecord[];
  /** The current round's deadline. */
  dueAt: string;
  /** When the current schedule was made (request, extension, resume); earlier actions are skipped. */
  plannedAt: string;
  /** Keys of schedule actions already handled (fired, superseded or skipped). */
  firedKeys: string[];
  /** Highest escalation step fired in the current round (0 = none). */
  escalationLevel: number;
  /** Highest step ever fired, across rounds and deadlines. */
  maxEscalationLevel: number;
  remindersSent: number;
  answers: AnswerRecord[];
  reviews: ReviewRecord[];
  lastMessage?: { direction: 'out' | 'in'; kind: string; at: string };
  /**
   * How long sign-offs held the ladder back in the current schedule: the steps after `afterStep` fire
   * `ms` later (absent in older states; cleared when the deadline or the round changes).
   */
  ladderShifts?: { afterStep: number; ms: number }[];
}

/** Every message sent or received, by reference. */
export interface MessageRecord {
  direction: 'out' | 'in';
  kind: string;
  messageId?: string;
  at: string;
  from?: string;
  to: string[];
  itemIds: string[];
  subject?: string;
  /** Outgoing: the idempotency key. */
  key?: string;
  status?: 'sent' | 'rejected' | 'duplicate' | 'recorded';
  detail?: string;
  raw?: EvidenceRef;
}

/** Every decision or event that changed the course of the demand, with who and why. */
export interface DecisionRecord {
  at: string;
  kind:
    | 'start'
    | 'extend'
    | 'extension-requested'
    | 'extension-denied'
    | 'pause'
    | 'resume'
    | 'review'
    | 'record-response'
    | 'withdraw'
    | 'escalation'
    | 'refer'
    | 'reminder-superseded'
    | 'out-of-office'
    | 'bounce'
    | 'undeliverable'
    | 'closed'
    | 'continue-as-new'
    | 'sign-off-requested'
    | 'signed-off'
    | 'sign-off-held'
    | 'sign-off-timeout'
    | 'sign-off-cancelled'
    | 'contact-added'
    | 'contact-replaced'
    | 'contact-removed'
    | 'item-reassigned'
    | 'item-added'
    | 'item-cancelled'
    | 'question-changed'
    | 'item-reopened';
  by?: string;
  reason?: string;
  itemIds: string[];
  detail?: string;
  /** `out-of-office`: the return date the reply gave, as written or as YYYY-MM-DD (absent in older states). */
  returnDate?: string;
  /** `out-of-office`: the items whose deadline comes before the writer is back (absent in older states). */
  pastDeadline?: string[];
}

/** A counterparty's request for more time, waiting for ops to approve or deny. */
export interface ExtensionRequest {
  id: string;
  itemIds: string[];
  receivedAt: string;
  from?: string;
  messageId?: string;
  requestedDeadline?: string;
  excerpt?: string;
  status: 'pending' | 'approved' | 'denied';
  decidedBy?: string;
  decidedAt?: string;
}

/** Where a sign-off gate stands: still open (waiting, held), or closed (approved, sent on timeout, cancelled). */
export type GateStatus = 'waiting' | 'held' | 'held-on-timeout' | 'approved' | 'sent-on-timeout' | 'cancelled';

/**
 * A step that waits for sign-off: the messages it would send are kept here, not sent, until an approver
 * approves them (then they go out, with the note as edited), holds them, or the time runs out.
 */
export interface SignOffGate {
  /** g1, g2, ... in the order they opened. */
  id: string;
  /** 0 for the request, n for escalation step n. */
  step: number;
  /** "the request", "escalation step 2: final notice". */
  label: string;
  itemIds: string[];
  /** The schedule action each item waits at (escalation steps): a new deadline lets the item go. */
  actionKeys: Record<string, string>;
  /** When the step fell due (it waits from then). */
  scheduledAt: string;
  openedAt: string;
  expiresAt: string;
  /** The requester role whose people may sign it off. */
  approverRole: string;
  onTimeout: 'hold' | 'send';
  /** What would go out, to whom, exactly (sent as is on approval, with the note if edited). */
  mails: PendingMail[];
  status: GateStatus;
  decidedBy?: string;
  decidedAt?: string;
  reason?: string;
  /** The note the approver put in the messages instead of the spec's. */
  note?: string;
}

/** Something wrong with an input that was kept rather than thrown (a bad signal payload, say). */
export interface ProblemRecord {
  at: string;
  source: string;
  message: string;
}

/** A message waiting to be sent by the workflow's main loop. */
export interface PendingMail {
  key: string;
  kind: MailKind;
  /** The instant the message is dated (workflow time when queued). */
  at: string;
  itemIds: string[];
  /** One recipient per message, so that each reply token is bound to the person it was sent to. */
  to: { name?: string; address: string; zone: string };
  audience: 'counterparty' | 'internal';
  /** Step, reason or decision details shown in the message. */
  context?: Record<string, string | number | undefined>;
  /** Whether a reply is expected (then a signed Reply-To is set). */
  expectsReply: boolean;
  /**
   * When it was due, if that fell outside the recipient's sending hours: `at` is then the next sending
   * hour in their zone, and the message waits in the outbox until then.
   */
  dueAt?: string;
}

/** Every kind of message auditflow sends. */
export type MailKind =
  | 'request'
  | 'reminder'
  | 'overdue'
  | 'escalation'
  | 'final-notice'
  | 'follow-up'
  | 'deadline-update'
  | 'withdrawal'
  | 'question-update'
  | 'acknowledgement'
  | 'internal';

/** The whole demand state: what the `status` query returns and continue-as-new carries. */
export interface DemandState {
  demandId: string;
  workflowId: string;
  spec: DemandSpec;
  status: DemandStatus;
  startedAt: string;
  startedBy: string;
  finishedAt?: string;
  paused?: { since: string; by: string; reason: string };
  pausedTotalMs: number;
  withdrawn?: { at: string; by: string; reason: string };
  items: ItemState[];
  messages: MessageRecord[];
  decisions: DecisionRecord[];
  extensionRequests: ExtensionRequest[];
  problems: ProblemRecord[];
  /** Problems beyond INBOUND_LIMITS.problems, counted rather than kept (absent in older states). */
  problemsDropped?: number;
  /** Message-IDs of replies already recorded (duplicates are counted once). */
  seenMessageIds: string[];
  duplicatesIgnored: number;
  /** Message-ID of the request sent to each address, for threading reminders under it. */
  threadRoots: Record<string, string>;
  outbox: PendingMail[];
  undeliverable: string[];
  /** Items a bounce or a refused send moves to their next escalation step at once. */
  escalateNow: string[];
  report?: { path: string; at: string };
  runs: number;
  /** Steps that waited, or wait, for sign-off (absent in older states). */
  gates?: SignOffGate[];
  /**
   * Every counterparty message waits for its recipient's sending hours (set by the workflow since the
   * `send-hours` patch; absent in older states, whose messages go when queued).
   */
  sendHours?: boolean;
  /**
   * Items whose next reminder or overdue notice is copied to the counterparty's escalation contacts, because
   * their contact is out of office past the deadline (`options.outOfOffice.copyNextReminder`), with why.
   */
  copyToEscalation?: { itemId: string; because: string }[];
  /** The files sent with the request and the final notice, as stored by the CLI (absent when none). */
  attachments?: AttachmentRef[];
}

/** The status query's answer: the state plus what happens next. */
export interface DemandStatusView extends DemandState {
  nextAction?: { at: string; kind: string; itemIds: string[]; description: string };
  now: string;
}
