/**
 * The contracts between the workflows, their activities and the clients that read their results: what
 * goes into and comes out of each activity. Types only, so workflow code imports them freely.
 */
import type { AttachmentRef } from './attachments';
import type { Language } from './time';
import type { Digest } from './digest';
import type { DemandState, EvidenceRef, PendingMail } from './state';
import type { TriageEntry } from './triage';

/** The demand facts a message needs. */
export interface MailDemandContext {
  id: string;
  title: string;
  basis: string;
  requesterOrg: string;
  counterpartyOrg: string;
  from: { name: string; address: string };
}

/** The item facts a message needs (the current round's questions and deadline). */
export interface MailItemContext {
  id: string;
  name: string;
  description?: string;
  questions: string[];
  dueAt: string;
  round: number;
  phase: string;
  closure?: string;
}

/** One message to send, with the facts its template needs. */
export interface SendEmailInput {
  mail: PendingMail;
  demand: MailDemandContext;
  items: MailItemContext[];
  /** Message-ID of the request this message follows up (threading). */
  inReplyTo?: string;
  /** Day number (days since 1970-01-01) after which the reply address stops working. */
  replyExpiresDay?: number;
  /** A sign-off request: the messages waiting for it, rendered into it exactly as they would go out. */
  previews?: SendEmailInput[];
  /** An owner's daily digest (mail kind `internal`, event `digest`): what the message lists. */
  digest?: Digest;
  /** Files the message carries (a request, a final notice): references, read from the evidence store by sha256. */
  attachments?: AttachmentRef[];
  /** The recipient's language (omitted: English). */
  language?: Language;
  /** The demand's own template files (spec `templateFiles`), over the shipped ones. */
  templates?: Record<string, string>;
}

/**
 * The sendEmail activity's input since `send-by-reference`: which demand and which queued message. The
 * activity reads the message and its facts through the workflow's `outgoingMail` query, which answers with
 * the SendEmailInput the workflow fixed when it scheduled the send, so history holds two identifiers
 * instead of the spec's text.
 */
export interface SendEmailReference {
  demandId: string;
  key: string;
}

/** What the sendEmail activity accepts: a reference, or (histories recorded before `send-by-reference`) the whole input. */
export type SendEmailRequest = SendEmailInput | SendEmailReference;

/**
 * What happened to the message, as the workflow records it. `rejected` = permanent (5xx) refusal; it is not
 * retried. The whole SMTP transaction (accepted and refused recipients, the server's reply) is in the send
 * ledger's record, not in history.
 */
export interface SendEmailResult {
  messageId: string;
  status: 'sent' | 'rejected';
  /** The server's refusal (only when `rejected`). */
  response?: string;
  raw: EvidenceRef;
  subject: string;
  /** True when the ledger showed an earlier attempt already delivered it (nothing was sent now). */
  alreadySent?: boolean;
}

/**
 * The writeReport activity's input: the demand's id (the activity reads the state from the workflow's
 * status query: the workflow is waiting on it, so it is the same state), or, in histories recorded before
 * `report-by-reference`, the whole state.
 */
export type WriteReportInput = { state: DemandState } | { demandId: string };

/** Where the report files were written. */
export interface WriteReportResult {
  /** The Markdown report. */
  path: string;
  jsonPath: string;
  htmlPath: string;
  /** sha256 of the Markdown report. */
  sha256: string;
  /** A demand that ended `referred`: how many evidence objects were put under legal hold (0 where the storage has no Object Lock). */
  legalHolds?: number;
}

/** The logTriageDecision activity's input: a decided triage entry. */
export interface LogTriageDecisionInput {
  entry: TriageEntry;
}

/** The readDigestSources activity's input: the instant the digest is for (escalations are kept from a month before it). */
export interface ReadDigestSourcesInput {
  at: string;
}
