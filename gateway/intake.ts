/**
 * The one pipeline every inbound message goes through, from SMTP or IMAP, once its raw bytes are in the
 * evidence store: parse within limits (a few at a time), classify, route, check the sender (a listed
 * contact, authenticated) or the delivery report's proof, then hand it to the demand with the
 * `recordReply` update, whose validator applies the demand's own rules, or keep it in the triage inbox
 * with the reason. Returns only once the outcome is durably recorded in Temporal; when Temporal (or a
 * worker) cannot answer it throws TemporalUnavailable, and when the message cannot be handled now
 * (parsing ran out of time, the inbox is full) it throws Deferred: the sender retries (SMTP 451) or the
 * message stays in the mailbox (IMAP).
 */
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { WorkflowUpdateFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import type { EvidenceStore } from '../platform/evidence';
import { EmailAddress } from '../domain/demand';
import { demandWorkflowId, type Verifiers } from '../domain/ids';
import { INBOUND_MEMO_KEY, replyLimitProblem, type InboundProfile } from '../domain/inbound';
import { INBOUND_LIMITS, TRIAGE_LIMITS } from '../domain/limits';
import { recordReplyUpdate, statusQuery, type InboundReply } from '../domain/messages';
import type { EvidenceRef } from '../domain/state';
import { addTriageUpdate, inboxWorkflowId, type TriageEntry } from '../domain/triage';
import { checkSender, type DnsResolver } from './auth';
import { verifyBounce } from './bounce-proof';
import { autoReplyBlock, classify } from './classify';
import { oneLine } from '../platform/text';
import { parseStored, ParseTimeout, UnparseableMessage, type ParsedInbound } from './parse';
import { replyTimes, type DemandClock } from './reply-times';
import { attributeItems, routeMessage } from './route';
import { createSlots, type Slots } from './slots';
import type { GatewayMetrics } from './metrics';

/** Temporal could not be reached: nothing was recorded, the sender must try again later. */
export class TemporalUnavailable extends Error {
  constructor(cause: unknown) {
    super(`Temporal is unavailable: ${(cause as Error).message?.split('\n')[0] ?? cause}`, { cause });
    this.name = 'TemporalUnavailable';
  }
}

/** The message cannot be handled now (not judged): SMTP answers 451 with `smtpText`, IMAP leaves it in place. */
export class Deferred extends Error {
  constructor(
    message: string,
    readonly smtpText: string,
  ) {
    super(message);
    this.name = 'Deferred';
  }
}

export interface IntakeDeps {
  client: Client;
  evidence: EvidenceStore;
  /** The current reply-token key first, then earlier ones still accepted (AUDITFLOW_SECRET_PREVIOUS). */
  hmac: Verifiers;
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
  /**
   * Recently read inbound profiles (the memo), so a burst of replies to one demand costs one describe.
   * A demand that ended meanwhile is still caught: its update fails and the message is kept for triage.
   */
  profiles?: ProfileCache;
  /** Messages parsed at once (the others wait their turn), and how long one parse may take. */
  parseSlots?: Slots;
  parseMs?: number;
  now?: () => Date;
  log?: (message: string, fields?: Record<string, unknown>) => void;
  /** Where outcomes, latencies and authentication verdicts are counted (the gateway's Prometheus endpoint). */
  metrics?: Pick<GatewayMetrics, 'inbound' | 'authVerdict' | 'rcptRefused'>;
}

export interface InboundEnvelope {
  channel: 'smtp' | 'imap';
  mailFrom?: string;
  rcptTo: string[];
  remoteAddress?: string;
  helo?: string;
}

export type IntakeOutcome =
  | {
      result: 'recorded';
      demandId: string;
      itemIds: string[];
      kind: InboundReply['kind'];
      messageId: string;
      duplicate: boolean;
      auth?: string;
    }
  | { result: 'triaged'; id: string; reason: string };

function isConnectivity(err: unknown): boolean {
  const e = err as { code?: number; name?: string; message?: string };
  return (
    e.name === 'ServiceError' ||
    e.code === 14 ||
    e.code === 4 ||
    /UNAVAILABLE|DEADLINE_EXCEEDED|ECONNREFUSED|No connection established/i.test(e.message ?? '')
  );
}

/** A Temporal call with a deadline: a sender waits at most this long before hearing 451. */
export async function temporal<T>(deps: Pick<IntakeDeps, 'client' | 'rpcTimeoutMs'>, fn: () => Promise<T>): Promise<T> {
  try {
    return await deps.client.withDeadline(Date.now() + (deps.rpcTimeoutMs ?? 10_000), fn);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError || err instanceof WorkflowUpdateFailedError) throw err;
    if (isConnectivity(err)) throw new TemporalUnavailable(err);
    throw err;
  }
}

const defaultSlots = createSlots(2);

/** A small time-bounded cache of inbound profiles by demand id. */
export interface ProfileCache {
  get(demandId: string): InboundProfile | undefined;
  set(demandId: string, profile: InboundProfile): void;
}

/** Profiles kept for `ttlMs` (default 30 s), at most `max` of them (the oldest go first). */
export function createProfileCache(opts: { ttlMs?: number; max?: number; now?: () => number } = {}): ProfileCache {
  const ttl = opts.ttlMs ?? 30_000;
  const max = opts.max ?? 1000;
  const now = opts.now ?? Date.now;
  const entries = new Map<string, { until: number; profile: InboundProfile }>();
  return {
    get(demandId) {
      const hit = entries.get(demandId);
      if (hit && hit.until > now()) return hit.profile;
      entries.delete(demandId);
      return undefined;
    },
    set(demandId, profile) {
      if (entries.size >= max) entries.delete(entries.keys().next().value!);
      entries.set(demandId, { until: now() + ttl, profile });
    },
  };
}

/** Lists a message's attachments for history: inline when few, else as a stored manifest referenced by hash. */
async function listAttachments(
  store: EvidenceStore,
  attachments: EvidenceRef[],
): Promise<Pick<InboundReply, 'attachments' | 'attachmentManifest'>> {
  if (attachments.length <= INBOUND_LIMITS.inlineAttachments) return { attachments };
  const manifest = Buffer.from(
    `${JSON.stringify({ format: 'auditflow-attachments', version: 1, attachments }, null, 1)}\n`,
  );
  const ref = await store.put(manifest, { contentType: 'application/json', filename: 'attachments.json' });
  return {
    attachments: [],
    attachmentManifest: {
      sha256: ref.sha256,
      size: ref.size,
      count: attachments.length,
      bytes: attachments.reduce((n, a) => n + a.size, 0),
    },
  };
}

/**
 * Runs one stored message through the pipeline; any error means "not recorded, try again later". Its
 * ReceiveMail span (a no-op unless the gateway traces) is the parent of the recordReply or addTriage update.
 */
export async function processInbound(
  raw: EvidenceRef,
  env: InboundEnvelope,
  deps: IntakeDeps,
  opts: IntakeAttempt = {},
): Promise<IntakeOutcome> {
  const started = performance.now();
  const seconds = () => (performance.now() - started) / 1000;
  const attributes = { 'auditflow.channel': env.channel, 'auditflow.evidence_sha256': raw.sha256 };
  return trace
    .getTracer('auditflow-gateway')
    .startActiveSpan('ReceiveMail', { kind: SpanKind.SERVER, attributes }, async (span) => {
      try {
        const outcome = await intake(raw, env, deps, opts);
        span.setAttribute('auditflow.outcome', outcome.result);
        if (outcome.result === 'triaged') deps.metrics?.inbound(env.channel, 'triaged', seconds(), outcome.reason);
        else deps.metrics?.inbound(env.channel, outcome.duplicate ? 'duplicate' : 'recorded', seconds());
        return outcome;
      } catch (err) {
        deps.metrics?.inbound(env.channel, 'deferred', seconds());
        span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
        throw err;
      } finally {
        span.end();
      }
    });
}

/** `lastTry`: a message nobody can defer to (the spool's last claim): what would be deferred is kept for triage. */
export interface IntakeAttempt {
  lastTry?: { tries: number };
}

async function intake(
  raw: EvidenceRef,
  env: InboundEnvelope,
  deps: IntakeDeps,
  opts: IntakeAttempt,
): Promise<IntakeOutcome> {
  const now = deps.now?.() ?? new Date();
  const digest = raw.sha256;
  const envelope = {
    ...(env.mailFrom ? { from: env.mailFrom.slice(0, 254) } : {}),
    to: env.rcptTo.slice(0, TRIAGE_LIMITS.envelopeRecipients).map((r) => r.slice(0, 254)),
    ...(env.remoteAddress ? { remoteAddress: env.remoteAddress } : {}),
  };

  const triage = async (reason: string, extra: Partial<TriageEntry> = {}): Promise<IntakeOutcome> => {
    const entry: TriageEntry = {
      id: digest.slice(0, 16),
      receivedAt: now.toISOString(),
      channel: env.channel,
      envelope,
      raw,
      attachments: [],
      ...extra,
      reason: reason.slice(0, TRIAGE_LIMITS.reasonChars),
      status: 'open',
      deliveries: 1,
    };
    const inbox = deps.client.workflow.getHandle(inboxWorkflowId(deps.taskQueue));
    try {
      await temporal(deps, async () => {
        try {
          return await inbox.executeUpdate(addTriageUpdate, { args: [entry] });
        } catch (err) {
          if (!(err instanceof WorkflowNotFoundError)) throw err;
          // The first kept message starts the inbox (a plain start: no Update-with-Start needed on the server).
          await deps.client.workflow.start('inboxWorkflow', {
            workflowId: inbox.workflowId,
            taskQueue: deps.taskQueue,
            args: [{}],
            workflowIdConflictPolicy: 'USE_EXISTING',
            staticSummary: 'auditflow triage inbox: replies kept for ops to assign or discard',
          });
          return await inbox.executeUpdate(addTriageUpdate, { args: [entry] });
        }
      });
    } catch (err) {
      if (!(err instanceof WorkflowUpdateFailedError)) throw err;
      const why = (err.cause as Error | undefined)?.message ?? err.message;
      deps.log?.('triage inbox refused a message', { id: entry.id, why });
      throw new Deferred(why, '4.3.1 The review inbox is full; please try again later');
    }
    deps.log?.('kept for triage', { id: entry.id, reason });
    return { result: 'triaged', id: entry.id, reason: entry.reason };
  };

  let p: ParsedInbound;
  try {
    p = await (deps.parseSlots ?? defaultSlots).run(() => parseStored(raw, deps.evidence, deps.parseMs));
  } catch (err) {
    if (err instanceof UnparseableMessage) return triage(`malformed: ${err.reason}`);
    if (err instanceof ParseTimeout) {
      if (opts.lastTry) return triage(`parsing ran out of time on ${opts.lastTry.tries} tries: ${err.message}`);
      throw new Deferred(err.message, '4.3.0 The message could not be processed in time; please try again later');
    }
    throw err;
  }
  const longId = p.messageId !== undefined && p.messageId.length > INBOUND_LIMITS.messageIdChars;
  // An absurd Message-ID is not carried into history: the message keeps a name made from its hash.
  const messageId = p.messageId && !longId ? p.messageId : `<${digest}@${longId ? 'long' : 'no'}-message-id.invalid>`;
  const c = classify(p, now);
  const settings = {
    hmac: deps.hmac,
    replyDomain: deps.replyDomain,
    replyLocalPart: deps.replyLocalPart,
    now: now.getTime(),
  };
  let routed = routeMessage(p, env.rcptTo, settings);
  if (!routed.ok && c.kind === 'bounce' && c.returnedMessageIds.length)
    routed = routeMessage({ ...p, inReplyTo: c.returnedMessageIds[0], references: c.returnedMessageIds }, [], settings);

  const textRef = p.newText
    ? await deps.evidence.put(Buffer.from(p.newText, 'utf8'), { contentType: 'text/plain', filename: 'new-text.txt' })
    : undefined;
  const listed = await listAttachments(deps.evidence, p.attachments);
  const from = p.from && EmailAddress.safeParse(p.from.address).success ? p.from : undefined;
  const noAutoReply = autoReplyBlock(p.headers, {
    channel: env.channel,
    ...(env.mailFrom !== undefined ? { mailFrom: env.mailFrom } : {}),
    replyDomain: deps.replyDomain,
  });
  const draft = from
    ? {
        messageId,
        receivedAt: now.toISOString(),
        from: from.address,
        ...(from.name ? { fromName: from.name } : {}),
        subject: oneLine(p.subject, INBOUND_LIMITS.subjectChars),
        digest,
        raw,
        ...(textRef ? { text: textRef } : {}),
        excerpt: p.newText.slice(0, INBOUND_LIMITS.excerptChars),
        ...(noAutoReply ? { noAutoReply } : {}),
      }
    : undefined;
  const keep = (reason: string, hint?: TriageEntry['hint']) =>
    triage(reason, {
      ...(from ? { from: from.address } : {}),
      subject: oneLine(p.subject, INBOUND_LIMITS.subjectChars),
      messageId,
      ...listed,
      ...(hint ? { hint } : {}),
      ...(draft ? { reply: { ...draft, kind: c.kind === 'extension-request' ? 'extension-request' : 'answer' } } : {}),
    });

  if (longId)
    return keep(
      `malformed: its Message-ID has ${p.messageId!.length} characters (limit ${INBOUND_LIMITS.messageIdChars})`,
    );
  if (!routed.ok) return keep(`unmatched: ${routed.reason}`);
  const route = routed.route;
  const hint = { demandId: route.demandId };
  const handle = deps.client.workflow.getHandle(demandWorkflowId(route.demandId));
  let profile = deps.profiles?.get(route.demandId);
  if (!profile) {
    try {
      const desc = await temporal(deps, () => handle.describe());
      if (desc.status.name !== 'RUNNING')
        return keep(`demand ${route.demandId} has ended (${desc.status.name.toLowerCase()})`, hint);
      profile = desc.memo?.[INBOUND_MEMO_KEY] as InboundProfile | undefined;
      if (profile) deps.profiles?.set(route.demandId, profile);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError)
        return keep(`no demand ${route.demandId} on this Temporal namespace`, hint);
      throw err;
    }
  }
  if (!profile) return keep(`demand ${route.demandId} has not published its inbound profile yet`, hint);
  if (!draft) return keep('no From address', hint);

  let auth: Record<string, string> | undefined;
  let bounceFacts: Pick<InboundReply, 'failedRecipient' | 'originalMessageId'> = {};
  if (c.kind === 'bounce') {
    // A report comes from the null sender and proves nothing about its From: it must prove itself.
    if (!c.permanent)
      return keep(
        `a temporary delivery delay report for ${c.failedRecipient ?? 'a recipient'}; nothing to do unless it becomes permanent`,
        hint,
      );
    const proof = verifyBounce(p, c, route, routed.via, deps.hmac, deps.replyDomain, now.getTime());
    if (!proof.ok) return keep(`unverifiable delivery report: ${proof.reason}`, hint);
    bounceFacts = { failedRecipient: proof.failedRecipient, originalMessageId: proof.originalMessageId };
  } else {
    // A reply address is bound to its recipient: another listed contact may use it, nobody else.
    if (!profile.contacts.includes(draft.from)) {
      const domain = draft.from.split('@')[1] ?? '';
      const why = profile.domains.includes(domain)
        ? ` (it writes from the counterparty's domain ${domain}; assign it if it answers)`
        : '';
      return keep(`sender ${draft.from} is not a listed contact of demand ${route.demandId}${why}`, hint);
    }
    const verdict = await checkSender(
      await deps.evidence.open(raw.sha256),
      {
        ...(env.remoteAddress ? { ip: env.remoteAddress } : {}),
        ...(env.helo ? { helo: env.helo } : {}),
        ...(env.mailFrom ? { mailFrom: env.mailFrom } : {}),
        mta: deps.mta,
        ...(deps.resolver ? { resolver: deps.resolver } : {}),
        trustedArcSealers: deps.trustedArcSealers ?? [],
      },
      profile,
      draft.from,
    );
    deps.metrics?.authVerdict(verdict.decision);
    auth = Object.fromEntries(
      Object.entries({ ...verdict, mode: deps.authMode, routedBy: routed.via }).map(([k, v]) => [
        k,
        String(v).slice(0, INBOUND_LIMITS.authValueChars),
      ]),
    );
    if (verdict.decision === 'fail' && deps.authMode === 'enforce')
      return keep(
        `unauthenticated: ${verdict.detail} (spf=${verdict.spf}, dkim=${verdict.dkim}, dmarc=${verdict.dmarc}, arc=${verdict.arc})`,
        hint,
      );
  }

  const itemIds = c.kind === 'bounce' ? [] : route.itemId ? [route.itemId] : attributeItems(p, profile);
  if (c.kind === 'answer' && itemIds.length === 0 && profile.items.length > 1) {
    return keep(
      `ambiguous: a reply to demand ${route.demandId} that names no item (tag the subject with [item-id] or assign it)`,
      hint,
    );
  }
  const times = replyTimes(
    p,
    now,
    { from: draft.from, itemIds, kind: c.kind },
    profile,
    c.kind === 'extension-request' || c.kind === 'out-of-office' ? await demandClock(deps, handle) : undefined,
  );
  const payload: InboundReply = {
    ...draft,
    ...listed,
    kind: c.kind,
    itemIds,
    ...times,
    ...bounceFacts,
    ...(auth ? { auth } : {}),
  };
  const over = replyLimitProblem(payload);
  if (over) return keep(`malformed: ${over}`, hint);
  let result;
  try {
    result = await temporal(deps, () => handle.executeUpdate(recordReplyUpdate, { args: [payload] }));
  } catch (err) {
    const why =
      err instanceof WorkflowUpdateFailedError ? ((err.cause as Error | undefined)?.message ?? err.message) : undefined;
    if (why !== undefined)
      return keep(
        c.kind === 'bounce' ? `unverifiable delivery report: ${why}` : `refused by demand ${route.demandId}: ${why}`,
        hint,
      );
    if (err instanceof WorkflowNotFoundError || /already completed|not found/i.test((err as Error).message))
      return keep(`demand ${route.demandId} ended while the message was being recorded`, hint);
    throw err;
  }
  deps.log?.('recorded', {
    demandId: route.demandId,
    itemIds: result.itemIds,
    kind: c.kind,
    messageId,
    auth: auth?.decision,
    duplicate: result.outcome === 'duplicate',
  });
  return {
    result: 'recorded',
    demandId: route.demandId,
    itemIds: result.itemIds,
    kind: c.kind,
    messageId,
    duplicate: result.outcome === 'duplicate',
    ...(auth ? { auth: auth.decision } : {}),
  };
}

/**
 * The demand's state, to read a reply's dates (contact zones, current deadlines); undefined when the query
 * is refused (the reply is then read with the memo alone). A Temporal outage still defers the message.
 */
async function demandClock(deps: IntakeDeps, handle: WorkflowHandle): Promise<DemandClock | undefined> {
  try {
    return await temporal(deps, () => handle.query(statusQuery));
  } catch (err) {
    if (err instanceof TemporalUnavailable) throw err;
    deps.log?.('status query refused; reading the reply with the inbound memo alone', { why: (err as Error).message });
    return undefined;
  }
}
