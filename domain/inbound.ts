/**
 * What the inbound gateway needs to know about a demand without a worker: kept in the workflow's memo
 * (readable with DescribeWorkflowExecution), set by the workflow itself at the start of every run.
 */
import type { DemandSpec } from './demand';
import { INBOUND_LIMITS } from './limits';
import type { InboundReply } from './messages';

export const INBOUND_MEMO_KEY = 'auditflowInbound';

/** The memo: who may answer, how replies must authenticate, which items exist. */
export interface InboundProfile {
  v: 1;
  demandId: string;
  contacts: string[];
  domains: string[];
  authentication: DemandSpec['inbound']['authentication'];
  warnDomains: string[];
  items: { id: string; name: string }[];
  /** The counterparty's zone and the local time of day of the deadline, to read a date asked for by email. */
  timezone: string;
  deadlineTime: string;
}

export function inboundProfile(spec: DemandSpec): InboundProfile {
  return {
    v: 1,
    demandId: spec.id,
    contacts: spec.counterparty.contacts.flatMap((c) => (c.address ? [c.address.toLowerCase()] : [])),
    domains: spec.counterparty.domains,
    authentication: spec.inbound.authentication,
    warnDomains: spec.inbound.warnDomains,
    items: spec.items.map((i) => ({ id: i.id, name: i.name })),
    timezone: spec.counterparty.timezone,
    deadlineTime: /T(\d\d:\d\d)/.exec(spec.deadline)?.[1] ?? '17:00',
  };
}

/**
 * The per-message limits a reply must meet before it may reach a demand's history (the schema's own
 * bounds are wider, for histories recorded before these limits). Undefined when it meets them.
 */
export function replyLimitProblem(
  reply: Pick<
    InboundReply,
    'messageId' | 'subject' | 'excerpt' | 'fromName' | 'attachments' | 'auth' | 'attachmentManifest'
  >,
): string | undefined {
  const L = INBOUND_LIMITS;
  if (reply.messageId.length > L.messageIdChars)
    return `its Message-ID has ${reply.messageId.length} characters (limit ${L.messageIdChars})`;
  if ((reply.subject?.length ?? 0) > L.subjectChars)
    return `its subject has ${reply.subject!.length} characters (limit ${L.subjectChars})`;
  if ((reply.excerpt?.length ?? 0) > L.excerptChars)
    return `its excerpt has ${reply.excerpt!.length} characters (limit ${L.excerptChars})`;
  if ((reply.fromName?.length ?? 0) > L.fromNameChars)
    return `its sender name has ${reply.fromName!.length} characters (limit ${L.fromNameChars})`;
  if (reply.attachments.length > L.inlineAttachments)
    return `it lists ${reply.attachments.length} attachments inline (limit ${L.inlineAttachments}; more go in a stored manifest)`;
  const long = reply.attachments.find((a) => (a.filename?.length ?? 0) > L.fileNameChars);
  if (long) return `an attachment name has ${long.filename!.length} characters (limit ${L.fileNameChars})`;
  const count = reply.attachmentManifest?.count ?? reply.attachments.length;
  if (count > L.attachmentsPerMessage) return `it has ${count} attachments (limit ${L.attachmentsPerMessage})`;
  const auth = Object.entries(reply.auth ?? {});
  if (auth.length > L.authFields || auth.some(([k, v]) => k.length > 40 || v.length > L.authValueChars))
    return 'its authentication record is larger than the limits';
  return undefined;
}
