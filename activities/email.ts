/**
 * Sending mail idempotently. The message is built deterministically from its idempotency key (same
 * Message-ID, Date and MIME boundaries on every attempt), stored as evidence, claimed in the send
 * ledger, then submitted. The ledger lives in the shared storage and is written with conditional
 * writes (create with If-None-Match, update with If-Match on the ETag), so two workers on two machines
 * attempting the same send at the same moment cannot both claim it: the one that loses the race waits
 * for the other's result (a retry) instead of sending. A claim carries a lease that the attempt renews
 * while it lives (activities/send-lease.ts): a retry may take it over only once it has lapsed, that is
 * soon after its attempt died, and an attempt submits only while its own lease holds.
 * A retry after a recorded success sends nothing; a retry inside the ambiguous window (submitted, not
 * yet recorded: the worker died after the server's 250) sends an identical copy with the same Message-ID.
 */
import crypto from 'node:crypto';
import os from 'node:os';
import { Context, log } from '@temporalio/activity';
import type { Transporter } from 'nodemailer';
import MailComposer from 'nodemailer/lib/mail-composer';
import {
  demandWorkflowId,
  encodeReplyToken,
  outgoingMessageId,
  recipientTag,
  replyAddress,
  type Hmac,
  type ReplyRoute,
} from '../domain/ids';
import type { EvidenceRef, MailKind, PendingMail } from '../domain/state';
import type { EvidenceStore } from '../platform/evidence';
import { makeHmac, sha256Hex } from '../platform/hash';
import { STORAGE_KEYS, type Storage } from '../platform/storage';
import type { SendEmailInput, SendEmailRequest, SendEmailResult } from '../domain/contracts';
import { outgoingMailQuery } from '../domain/messages';
import { fileList, readAttachments, type AttachmentReader } from './attachments';
import { attemptCancelled, holdClaim, leaseFor, startPulse, type HeldClaim, type Pulse } from './send-lease';
import { renderMail } from './templates/render';
import type { SendMetrics, SendOutcome } from '../platform/metrics';

export interface EmailDeps {
  transport: Transporter;
  evidence: EvidenceStore;
  /** The shared storage holding the send ledger (one small JSON record per idempotency key). */
  storage: Storage;
  secret: string;
  replyDomain: string;
  replyLocalPart: string;
  metrics?: SendMetrics;
}

interface LedgerRecord {
  key: string;
  messageId: string;
  sha256: string;
  status: 'sending' | 'sent' | 'rejected';
  attempts: number;
  /** Which activity attempt holds the claim, and until when (epoch ms); a released claim has 0. */
  owner?: string;
  leaseUntil?: number;
  result?: SendEmailResult & SmtpTransaction;
}

/** What the SMTP server said: kept in the ledger record as evidence of the submission. */
interface SmtpTransaction {
  accepted: string[];
  rejected: string[];
  response?: string;
}

/** The workflow's part of a ledger result (histories hold no more than the workflow records). */
function forWorkflow(r: SendEmailResult & SmtpTransaction): SendEmailResult {
  return {
    messageId: r.messageId,
    status: r.status,
    ...(r.status === 'rejected' && r.response !== undefined ? { response: r.response } : {}),
    raw: r.raw,
    subject: r.subject,
  };
}

/** Another worker holds a live claim on this send: retried by Temporal until it has finished (or its lease lapsed). */
export class SendInProgress extends Error {
  constructor(key: string, owner: string, until: number) {
    super(
      `another worker (${owner}) is sending ${key} until ${new Date(until).toISOString()} at the latest; retrying later`,
    );
    this.name = 'SendInProgress';
  }
}

/** The routing data a reply to this message will carry back. */
export function routeFor(mail: PendingMail, demandId: string, hmac: Hmac, expiresDay?: number): ReplyRoute {
  return {
    demandId,
    ...(mail.itemIds.length === 1 ? { itemId: mail.itemIds[0] } : {}),
    recipientTag: recipientTag(mail.to.address, hmac),
    ...(expiresDay !== undefined ? { expiresDay } : {}),
  };
}

/** Builds the exact bytes of a message; the same input always gives the same bytes. */
export async function composeMessage(
  input: SendEmailInput,
  deps: Pick<EmailDeps, 'secret' | 'replyDomain' | 'replyLocalPart'> & { readAttachment?: AttachmentReader },
): Promise<{ raw: Buffer; messageId: string; subject: string; text: string; envelopeFrom: string }> {
  const hmac = makeHmac(deps.secret);
  const { mail, demand } = input;
  const route = routeFor(mail, demand.id, hmac, input.replyExpiresDay);
  const messageId = outgoingMessageId(mail.key, route, deps.replyDomain, hmac);
  const signed = (r: ReplyRoute) => replyAddress(deps.replyLocalPart, encodeReplyToken(r, hmac), deps.replyDomain);
  // Bounces come back to the same signed address (VERP), so a failed delivery routes to its demand and recipient.
  const signedAddress = signed(route);
  const reply = mail.expectsReply ? signedAddress : undefined;
  // A sign-off request carries the messages it holds, rendered exactly as they will go out.
  const previews = input.previews?.map((p) => {
    const pReply = p.mail.expectsReply ? signed(routeFor(p.mail, p.demand.id, hmac, p.replyExpiresDay)) : undefined;
    const r = renderMail({
      mail: p.mail,
      demand: p.demand,
      items: p.items,
      ...(pReply ? { replyAddress: pReply } : {}),
      ...(p.language ? { language: p.language } : {}),
      ...(p.templates ? { templates: p.templates } : {}),
      // The approver sees which files the held message will carry.
      ...fileList(p),
    });
    return { to: p.mail.to.name ? `${p.mail.to.name} <${p.mail.to.address}>` : p.mail.to.address, ...r };
  });
  // The text lists the files (`attachments`); the parts themselves are added below.
  const rendered = renderMail({
    mail,
    demand,
    items: input.items,
    ...(reply ? { replyAddress: reply } : {}),
    ...(previews ? { previews } : {}),
    ...(input.digest ? { digest: input.digest } : {}),
    ...(input.language ? { language: input.language } : {}),
    ...(input.templates ? { templates: input.templates } : {}),
    ...fileList(input),
  });
  const attachments = await readAttachments(input.attachments ?? [], deps.readAttachment);
  const composer = new MailComposer({
    from: { name: demand.from.name, address: demand.from.address },
    to: [{ name: mail.to.name ?? '', address: mail.to.address }],
    ...(reply ? { replyTo: { name: `${demand.requesterOrg} audit replies`, address: reply } } : {}),
    subject: rendered.subject,
    text: rendered.text,
    html: rendered.html,
    messageId,
    date: new Date(mail.at),
    ...(input.inReplyTo ? { inReplyTo: input.inReplyTo, references: [input.inReplyTo] } : {}),
    headers: {
      // A digest covers several demands: it names its owner's day instead of one demand.
      ...(input.digest ? { 'X-Auditflow-Digest': input.digest.localDate } : { 'X-Auditflow-Demand': demand.id }),
      'X-Auditflow-Kind': mail.kind,
      ...(mail.itemIds.length ? { 'X-Auditflow-Items': mail.itemIds.join(',') } : {}),
      // The instant the schedule meant; Date is when the workflow actually queued the message.
      ...(mail.context?.scheduledAt ? { 'X-Auditflow-Scheduled-At': String(mail.context.scheduledAt) } : {}),
      // Internal notices are machine-made; tell auto-responders not to answer them.
      ...(mail.audience === 'internal' ? { 'Auto-Submitted': 'auto-generated' } : {}),
      // An acknowledgement answers a message automatically (RFC 3834): marked so, no responder answers it,
      // and X-Loop lets our gateway recognise one that comes back.
      ...(mail.kind === 'acknowledgement'
        ? {
            'Auto-Submitted': 'auto-replied',
            'X-Auto-Response-Suppress': 'All',
            'X-Loop': `${deps.replyLocalPart}@${deps.replyDomain}`,
          }
        : {}),
    },
    ...(attachments.length ? { attachments } : {}),
    baseBoundary: sha256Hex(mail.key).slice(0, 24),
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  const built = (await composer.compile().build()).toString('latin1');
  // RFC 5322 lines end in CRLF, and SMTP would convert bare LFs and add a final CRLF on the way: doing it
  // here keeps the stored evidence byte-identical to what the receiving server gets.
  const normalised = built.replace(/\r?\n/g, '\r\n');
  const raw = Buffer.from(normalised.endsWith('\r\n') ? normalised : `${normalised}\r\n`, 'latin1');
  return { raw, messageId, subject: rendered.subject, text: rendered.text, envelopeFrom: signedAddress };
}

function isPermanent(err: unknown): boolean {
  const code = (err as { responseCode?: number }).responseCode;
  return typeof code === 'number' && code >= 500 && code < 600;
}

/**
 * The message a request names: the input itself (histories recorded before `send-by-reference`), or the
 * input the workflow fixed when it scheduled this send, read through its outgoingMail query.
 */
async function resolveInput(request: SendEmailRequest): Promise<SendEmailInput> {
  if ('mail' in request) return request;
  const found = await Context.current()
    .client.workflow.getHandle(demandWorkflowId(request.demandId))
    .query(outgoingMailQuery, request.key);
  // Retried, not failed: the workflow always has the message while its send runs, so this is a fault to see in the UI.
  if (!found) throw new Error(`demand ${request.demandId} has no message ${request.key} in flight`);
  return found;
}

/** The activity attempt running now, and the lease its claim gets. */
function currentAttempt(instance: string): { owner: string } & ReturnType<typeof leaseFor> {
  try {
    const info = Context.current().info;
    return {
      owner: `${instance}/${info.workflowExecution?.workflowId ?? '-'}/${info.activityId}#${info.attempt}`,
      ...leaseFor(info),
    };
  } catch {
    return { owner: `${instance}/${crypto.randomUUID()}`, ...leaseFor(undefined) };
  }
}

/** Creates the sendEmail activity with its I/O clients. */
export function createEmailActivities(deps: EmailDeps) {
  // This worker process, as named in claims (for the people reading a ledger record).
  const instance = `${os.hostname()}:${process.pid}:${crypto.randomBytes(3).toString('hex')}`;
  const read = async (key: string) => {
    const found = await deps.storage.get(key);
    return found && { record: JSON.parse(found.body.toString('utf8')) as LedgerRecord, etag: found.etag };
  };
  const body = (r: LedgerRecord) => Buffer.from(JSON.stringify(r));
  const json = { contentType: 'application/json' };
  // Raw bytes as stored (not evidence.get, which throws a retryable error on a mismatch): composeMessage checks them.
  const readAttachment: AttachmentReader = async (ref) => (await deps.storage.get(deps.evidence.key(ref.sha256)))?.body;

  /**
   * Claims a send: creates its ledger record, or takes over one whose claim was released or lapsed.
   * Returns the finished record instead when the message was already sent (or refused). `fresh` builds
   * the claim's record, and is called only when there is something to claim.
   */
  const claim = async (
    key: string,
    owner: string,
    fresh: () => Promise<Omit<LedgerRecord, 'attempts'>>,
  ): Promise<{ done: LedgerRecord } | { etag: string; attempts: number }> => {
    for (;;) {
      const current = await read(key);
      if (!current) {
        const r = await deps.storage.put(key, body({ ...(await fresh()), attempts: 1 }), {
          ...json,
          ifNoneMatch: true,
        });
        if (r.ok) return { etag: r.etag, attempts: 1 };
        continue; // another worker created it a moment ago: read what it wrote
      }
      const { record, etag } = current;
      if (record.result && (record.status === 'sent' || record.status === 'rejected')) return { done: record };
      if (
        record.status === 'sending' &&
        record.owner &&
        record.owner !== owner &&
        (record.leaseUntil ?? 0) > Date.now()
      )
        throw new SendInProgress(record.key, record.owner, record.leaseUntil!);
      const attempts = record.attempts + 1;
      const r = await deps.storage.put(key, body({ ...(await fresh()), attempts }), { ...json, ifMatch: etag });
      if (r.ok) return { etag: r.etag, attempts };
    }
  };

  /** Writes the claim's last state, provided nobody took it over meanwhile (then theirs stands, and is logged). */
  const settle = async (held: HeldClaim, next: LedgerRecord): Promise<void> => {
    if (!(await held.settle(next)))
      log.warn("send ledger record changed under this attempt; keeping the other writer's record", { key: next.key });
  };

  /** One attempt at a send, with its heartbeat running; `seen.kind` is set as soon as the message's kind is known (a reference names none). */
  const sendOnce = async (
    request: SendEmailRequest,
    { owner, leaseMs }: ReturnType<typeof currentAttempt>,
    pulse: Pulse,
    seen: { kind?: MailKind },
  ): Promise<SendEmailResult> => {
    const key = 'mail' in request ? request.mail.key : request.key;
    const ledgerKey = STORAGE_KEYS.ledger(sha256Hex(key));
    // Read, built and stored as evidence only when it is to be sent: a retry after a recorded success does none of it.
    let prepared:
      | Promise<{ input: SendEmailInput; built: Awaited<ReturnType<typeof composeMessage>>; stored: EvidenceRef }>
      | undefined;
    const prepare = () =>
      (prepared ??= resolveInput(request).then(async (input) => {
        const built = await composeMessage(input, { ...deps, readAttachment });
        return {
          input,
          built,
          stored: await deps.evidence.put(built.raw, {
            contentType: 'message/rfc822',
            filename: `${built.messageId.replace(/[<>]/g, '')}.eml`,
          }),
        };
      }));
    let claimedUntil = 0;
    const claimed = await claim(ledgerKey, owner, async () => {
      const { built, stored } = await prepare();
      const record = { key, messageId: built.messageId, sha256: stored.sha256, owner };
      claimedUntil = Date.now() + leaseMs;
      return { ...record, status: 'sending', leaseUntil: claimedUntil };
    });
    if ('done' in claimed) {
      log.info('message already sent; not sending again', {
        key,
        messageId: claimed.done.messageId,
      });
      return { ...forWorkflow(claimed.done.result!), alreadySent: true };
    }
    const {
      input,
      built: { raw, messageId, subject, envelopeFrom },
      stored,
    } = await prepare();
    seen.kind = input.mail.kind;
    const base = { key, messageId, sha256: stored.sha256, owner };
    const { etag, attempts } = claimed;
    const held = holdClaim(
      deps.storage,
      ledgerKey,
      { etag, leaseUntil: claimedUntil },
      {
        leaseMs,
        record: (leaseUntil) => ({ ...base, status: 'sending', attempts, leaseUntil }),
      },
    );
    // Temporal has given up on this attempt (a retry may be running) or another took the claim: do not submit.
    if (attemptCancelled() || !(await held.live())) {
      await settle(held, { ...base, status: 'sending', attempts, leaseUntil: 0 }).catch(() => undefined);
      throw new Error(`this attempt lost its claim on ${key} before submitting it; a retry sends it`);
    }
    pulse.claim = held;
    pulse.enter('smtp');
    let result: SendEmailResult & SmtpTransaction;
    try {
      const info = await deps.transport.sendMail({
        envelope: { from: envelopeFrom, to: [input.mail.to.address] },
        raw,
      });
      result = {
        messageId,
        status: 'sent',
        accepted: (info.accepted ?? []).map(String),
        rejected: (info.rejected ?? []).map(String),
        response: info.response,
        raw: stored,
        subject,
      };
    } catch (err) {
      if (!isPermanent(err)) {
        // Not sent: let go of the claim so the retry (on any worker) need not wait for the lease.
        await settle(held, { ...base, status: 'sending', attempts, leaseUntil: 0 }).catch(() => undefined);
        throw err;
      }
      const e = err as { responseCode?: number; response?: string; message: string };
      log.warn('message refused permanently', {
        key,
        responseCode: e.responseCode,
        response: e.response,
      });
      result = {
        messageId,
        status: 'rejected',
        accepted: [],
        rejected: [input.mail.to.address],
        response: e.response ?? e.message,
        raw: stored,
        subject,
      };
    }
    await settle(held, { ...base, status: result.status, attempts, leaseUntil: 0, result });
    log.info('message sent', {
      key,
      messageId,
      kind: input.mail.kind,
      to: input.mail.to.address,
      attempts,
      status: result.status,
    });
    return forWorkflow(result);
  };

  return {
    /** Sends one logical message at most once (see the module comment for the one ambiguous window). */
    async sendEmail(request: SendEmailRequest): Promise<SendEmailResult> {
      const seen: { kind?: MailKind } = 'mail' in request ? { kind: request.mail.kind } : {};
      let outcome: SendOutcome = 'failed';
      const attempt = currentAttempt(instance);
      const pulse = startPulse(attempt.renewEveryMs);
      try {
        const result = await sendOnce(request, attempt, pulse, seen);
        outcome = result.alreadySent ? 'already-sent' : result.status;
        return result;
      } finally {
        pulse.stop();
        deps.metrics?.emailSent(seen.kind ?? 'unknown', outcome);
        if (attemptNumber() > 1) deps.metrics?.sendRetry(seen.kind ?? 'unknown');
      }
    },
  };
}

/** The activity's attempt (1 outside an activity). */
function attemptNumber(): number {
  try {
    return Context.current().info.attempt;
  } catch {
    return 1;
  }
}
