/**
 * The one pipeline every inbound message goes through, from SMTP or IMAP: store the raw bytes (fsync),
 * parse within limits, classify, route, check the sender, store text and attachments, then signal the
 * demand, or keep the message in the triage inbox with the reason. Returns only once the outcome is
 * durably recorded in Temporal; when Temporal cannot be reached it throws TemporalUnavailable so the
 * sender retries (SMTP 451) or the message stays in the mailbox (IMAP).
 */
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import type { EvidenceStore } from '../activities/evidence';
import { sha256Hex } from '../activities/evidence';
import { demandWorkflowId, recipientTag, type Hmac } from '../domain/ids';
import { INBOUND_MEMO_KEY, type InboundProfile } from '../domain/inbound';
import { replyReceivedSignal, type InboundReply } from '../domain/messages';
import type { EvidenceRef } from '../domain/state';
import { parseDeadline } from '../domain/time';
import { inboxWorkflowId, triageAddedSignal, type TriageEntry } from '../domain/triage';
import { checkSender, type DnsResolver } from './auth';
import { classify } from './classify';
import { parseInbound, UnparseableMessage, type ParsedInbound } from './parse';
import { attributeItems, routeMessage } from './route';

/** Temporal could not be reached: nothing was recorded, the sender must try again later. */
export class TemporalUnavailable extends Error {
  constructor(cause: unknown) {
    super(`Temporal is unavailable: ${(cause as Error).message?.split('\n')[0] ?? cause}`, { cause });
    this.name = 'TemporalUnavailable';
  }
}

export interface IntakeDeps {
  client: Client;
  evidence: EvidenceStore;
  hmac: Hmac;
  replyDomain: string;
  replyLocalPart: string;
  /** Task queue of the inbox workflow when it has to be started. */
  taskQueue: string;
  /** Our host name in Authentication-Results. */
  mta: string;
  resolver?: DnsResolver;
  /** `enforce`: a failed authentication sends the message to triage. `report`: it is recorded with the verdict. */
  authMode: 'enforce' | 'report';
  /** Forwarders (domains) whose ARC seal may vouch for the DMARC pass they saw. */
  trustedArcSealers?: string[];
  /** How long one Temporal call may take before the message is refused with 451 (default 10 s). */
  rpcTimeoutMs?: number;
  now?: () => Date;
  log?: (message: string, fields?: Record<string, unknown>) => void;
}

export interface InboundEnvelope {
  channel: 'smtp' | 'imap';
  mailFrom?: string;
  rcptTo: string[];
  remoteAddress?: string;
  helo?: string;
}

export type IntakeOutcome =
  | { result: 'recorded'; demandId: string; itemIds: string[]; kind: InboundReply['kind']; messageId: string; auth?: string }
  | { result: 'triaged'; id: string; reason: string };

function isConnectivity(err: unknown): boolean {
  const e = err as { code?: number; name?: string; message?: string };
  return e.name === 'ServiceError' || e.code === 14 || e.code === 4 || /UNAVAILABLE|DEADLINE_EXCEEDED|ECONNREFUSED|No connection established/i.test(e.message ?? '');
}

/** A Temporal call with a deadline: a sender waits at most this long before hearing 451. */
async function temporal<T>(deps: IntakeDeps, fn: () => Promise<T>): Promise<T> {
  try {
    return await deps.client.withDeadline(Date.now() + (deps.rpcTimeoutMs ?? 10_000), fn);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw err;
    if (isConnectivity(err)) throw new TemporalUnavailable(err);
    throw err;
  }
}

/** Runs one message through the pipeline. */
export async function processInbound(raw: Buffer, env: InboundEnvelope, deps: IntakeDeps): Promise<IntakeOutcome> {
  const now = deps.now?.() ?? new Date();
  const digest = sha256Hex(raw);
  const rawRef = await deps.evidence.put(raw, { contentType: 'message/rfc822' });
  const base = { receivedAt: now.toISOString(), channel: env.channel, envelope: { ...(env.mailFrom ? { from: env.mailFrom } : {}), to: env.rcptTo, ...(env.remoteAddress ? { remoteAddress: env.remoteAddress } : {}) }, raw: rawRef };

  const triage = async (reason: string, extra: Partial<TriageEntry> = {}): Promise<IntakeOutcome> => {
    const entry: TriageEntry = { id: digest.slice(0, 16), ...base, attachments: [], reason, status: 'open', deliveries: 1, ...extra };
    await temporal(deps, () => deps.client.workflow.signalWithStart('inboxWorkflow', { workflowId: inboxWorkflowId(deps.taskQueue), taskQueue: deps.taskQueue, args: [{}], signal: triageAddedSignal, signalArgs: [entry], staticSummary: 'auditflow triage inbox: replies kept for ops to assign or discard' }));
    deps.log?.('kept for triage', { id: entry.id, reason });
    return { result: 'triaged', id: entry.id, reason };
  };

  let p: ParsedInbound;
  try {
    p = await parseInbound(raw);
  } catch (err) {
    if (err instanceof UnparseableMessage) return triage(`malformed: ${err.reason}`);
    throw err;
  }
  const messageId = p.messageId ?? `<${digest}@no-message-id.invalid>`;
  const c = classify(p, now);
  const settings = { hmac: deps.hmac, replyDomain: deps.replyDomain, replyLocalPart: deps.replyLocalPart, now: now.getTime() };
  let routed = routeMessage(p, env.rcptTo, settings);
  if (!routed.ok && c.kind === 'bounce' && c.returnedMessageIds.length) routed = routeMessage({ ...p, inReplyTo: c.returnedMessageIds[0], references: c.returnedMessageIds }, [], settings);

  // What a triaged message needs so that ops can assign it later.
  const textRef = p.newText ? await deps.evidence.put(Buffer.from(p.newText, 'utf8'), { contentType: 'text/plain', filename: 'new-text.txt' }) : undefined;
  const attachments: EvidenceRef[] = [];
  for (const a of p.attachments) attachments.push(await deps.evidence.put(a.content, { contentType: a.contentType, ...(a.filename ? { filename: a.filename } : {}) }));
  const reply: Omit<InboundReply, 'itemIds' | 'kind'> | undefined = p.from
    ? {
        messageId,
        receivedAt: now.toISOString(),
        from: p.from.address,
        ...(p.from.name ? { fromName: p.from.name } : {}),
        subject: p.subject.slice(0, 998),
        digest,
        raw: rawRef,
        ...(textRef ? { text: textRef } : {}),
        attachments,
        excerpt: p.newText.slice(0, 500),
      }
    : undefined;
  const keep = (reason: string, hint?: TriageEntry['hint']) =>
    triage(reason, { ...(p.from ? { from: p.from.address } : {}), subject: p.subject.slice(0, 300), messageId, attachments, ...(hint ? { hint } : {}), ...(reply ? { reply: { ...reply, kind: c.kind === 'extension-request' ? 'extension-request' : 'answer' } } : {}) });

  if (!routed.ok) return keep(`unmatched: ${routed.reason}`);
  const route = routed.route;
  const handle = deps.client.workflow.getHandle(demandWorkflowId(route.demandId));
  let profile: InboundProfile | undefined;
  try {
    const desc = await temporal(deps, () => handle.describe());
    if (desc.status.name !== 'RUNNING') return keep(`demand ${route.demandId} has ended (${desc.status.name.toLowerCase()})`, { demandId: route.demandId });
    profile = desc.memo?.[INBOUND_MEMO_KEY] as InboundProfile | undefined;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return keep(`no demand ${route.demandId} on this Temporal namespace`, { demandId: route.demandId });
    throw err;
  }
  if (!profile) return keep(`demand ${route.demandId} has not published its inbound profile yet`, { demandId: route.demandId });
  if (!reply) return keep('no From address', { demandId: route.demandId });

  let auth: Record<string, string> | undefined;
  if (c.kind !== 'bounce') {
    const from = reply.from;
    const allowed = profile.contacts.includes(from) || profile.domains.includes(from.split('@')[1] ?? '');
    if (!allowed) return keep(`sender ${from} is not a counterparty contact or domain of demand ${route.demandId}`, { demandId: route.demandId });
    const verdict = await checkSender(raw, { ...(env.remoteAddress ? { ip: env.remoteAddress } : {}), ...(env.helo ? { helo: env.helo } : {}), ...(env.mailFrom ? { mailFrom: env.mailFrom } : {}), mta: deps.mta, ...(deps.resolver ? { resolver: deps.resolver } : {}), trustedArcSealers: deps.trustedArcSealers ?? [] }, profile, from);
    auth = { ...verdict, mode: deps.authMode, routedBy: routed.via };
    if (verdict.decision === 'fail' && deps.authMode === 'enforce') return keep(`unauthenticated: ${verdict.detail} (spf=${verdict.spf}, dkim=${verdict.dkim}, dmarc=${verdict.dmarc}, arc=${verdict.arc})`, { demandId: route.demandId });
  } else if (routed.via !== 'recipient') {
    return keep('a delivery report that does not come back to a signed bounce address', { demandId: route.demandId });
  }
  // A bounce address is issued per recipient: a report naming someone else (an escalation contact, our
  // counsel) must not mark them undeliverable, or anyone holding one address could silence the ladder.
  const failedRecipient = c.kind === 'bounce' ? c.reportedRecipients?.find((r) => recipientTag(r, deps.hmac) === route.recipientTag) : undefined;
  if (c.kind === 'bounce' && c.permanent && c.failedRecipient && !failedRecipient) {
    return keep(`a delivery report for ${c.failedRecipient} that came back to the bounce address of another recipient`, { demandId: route.demandId });
  }

  const itemIds = route.itemId ? [route.itemId] : attributeItems(p, profile);
  if (c.kind === 'answer' && itemIds.length === 0 && profile.items.length > 1) {
    return keep(`ambiguous: a reply to demand ${route.demandId} that names no item (tag the subject with [item-id] or assign it)`, { demandId: route.demandId });
  }
  const requested = c.requestedDate ? parseDeadline(`${c.requestedDate}T${profile.deadlineTime}`, profile.timezone) : undefined;
  const payload: InboundReply = {
    ...reply,
    kind: c.kind,
    itemIds,
    ...(requested && 'ms' in requested ? { requestedDeadline: new Date(requested.ms).toISOString() } : {}),
    ...(c.returnDate ? { returnDate: c.returnDate } : {}),
    ...(failedRecipient && c.permanent ? { failedRecipient } : {}),
    ...(auth ? { auth } : {}),
  };
  if (c.kind === 'bounce' && !c.permanent) return keep(`a temporary delivery delay report for ${c.failedRecipient ?? 'a recipient'}; nothing to do unless it becomes permanent`, { demandId: route.demandId });
  try {
    await temporal(deps, () => handle.signal(replyReceivedSignal, payload));
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return keep(`demand ${route.demandId} ended while the message was being recorded`, { demandId: route.demandId });
    throw err;
  }
  deps.log?.('recorded', { demandId: route.demandId, itemIds, kind: c.kind, messageId, auth: auth?.decision });
  return { result: 'recorded', demandId: route.demandId, itemIds, kind: c.kind, messageId, ...(auth ? { auth: auth.decision } : {}) };
}
