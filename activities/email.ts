/**
 * Sending mail idempotently. The message is built deterministically from its idempotency key (same
 * Message-ID, Date and MIME boundaries on every attempt), stored as evidence, recorded in a send
 * ledger, then submitted. A retry after a recorded success sends nothing; a retry inside the
 * ambiguous window (submitted, not yet recorded) sends an identical copy with the same Message-ID.
 */
import fs from 'node:fs';
import path from 'node:path';
import { log } from '@temporalio/activity';
import type { Transporter } from 'nodemailer';
import MailComposer from 'nodemailer/lib/mail-composer';
import {
  encodeReplyToken,
  outgoingMessageId,
  recipientTag,
  replyAddress,
  type Hmac,
  type ReplyRoute,
} from '../domain/ids';
import type { PendingMail } from '../domain/state';
import { writeDurably, type EvidenceStore } from '../platform/evidence';
import { makeHmac, sha256Hex } from '../platform/hash';
import type { SendEmailInput, SendEmailResult } from '../domain/contracts';
import { renderMail } from './templates/render';

export interface EmailDeps {
  transport: Transporter;
  evidence: EvidenceStore;
  /** Folder of the send ledger (one small JSON record per idempotency key). */
  ledgerDir: string;
  secret: string;
  replyDomain: string;
  replyLocalPart: string;
}

interface LedgerRecord {
  key: string;
  messageId: string;
  sha256: string;
  status: 'sending' | 'sent' | 'rejected';
  attempts: number;
  result?: SendEmailResult;
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
  deps: Pick<EmailDeps, 'secret' | 'replyDomain' | 'replyLocalPart'>,
): Promise<{ raw: Buffer; messageId: string; subject: string; envelopeFrom: string }> {
  const hmac = makeHmac(deps.secret);
  const { mail, demand } = input;
  const route = routeFor(mail, demand.id, hmac, input.replyExpiresDay);
  const messageId = outgoingMessageId(mail.key, route, deps.replyDomain, hmac);
  // Bounces come back to the same signed address (VERP), so a failed delivery routes to its demand and recipient.
  const signedAddress = replyAddress(deps.replyLocalPart, encodeReplyToken(route, hmac), deps.replyDomain);
  const reply = mail.expectsReply ? signedAddress : undefined;
  const rendered = renderMail({ ...input, ...(reply ? { replyAddress: reply } : {}) });
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
      'X-Auditflow-Demand': demand.id,
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
    baseBoundary: sha256Hex(mail.key).slice(0, 24),
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  const built = (await composer.compile().build()).toString('latin1');
  // RFC 5322 lines end in CRLF, and SMTP would convert bare LFs and add a final CRLF on the way: doing it
  // here keeps the stored evidence byte-identical to what the receiving server gets.
  const normalised = built.replace(/\r?\n/g, '\r\n');
  const raw = Buffer.from(normalised.endsWith('\r\n') ? normalised : `${normalised}\r\n`, 'latin1');
  return { raw, messageId, subject: rendered.subject, envelopeFrom: signedAddress };
}

function readLedger(file: string): LedgerRecord | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as LedgerRecord;
  } catch {
    return undefined;
  }
}

function isPermanent(err: unknown): boolean {
  const code = (err as { responseCode?: number }).responseCode;
  return typeof code === 'number' && code >= 500 && code < 600;
}

/** Creates the sendEmail activity with its I/O clients. */
export function createEmailActivities(deps: EmailDeps) {
  return {
    /** Sends one logical message at most once (see the module comment for the one ambiguous window). */
    async sendEmail(input: SendEmailInput): Promise<SendEmailResult> {
      const ledgerFile = path.join(deps.ledgerDir, `${sha256Hex(input.mail.key)}.json`);
      const previous = readLedger(ledgerFile);
      if (previous?.result && (previous.status === 'sent' || previous.status === 'rejected')) {
        log.info('message already sent; not sending again', { key: input.mail.key, messageId: previous.messageId });
        return { ...previous.result, alreadySent: true };
      }
      const { raw, messageId, subject, envelopeFrom } = await composeMessage(input, deps);
      const stored = await deps.evidence.put(raw, {
        contentType: 'message/rfc822',
        filename: `${messageId.replace(/[<>]/g, '')}.eml`,
      });
      const attempts = (previous?.attempts ?? 0) + 1;
      const ledger = (status: LedgerRecord['status'], result?: SendEmailResult) =>
        writeDurably(
          ledgerFile,
          JSON.stringify({
            key: input.mail.key,
            messageId,
            sha256: stored.sha256,
            status,
            attempts,
            ...(result ? { result } : {}),
          } satisfies LedgerRecord),
        );
      ledger('sending');
      let result: SendEmailResult;
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
        if (!isPermanent(err)) throw err;
        const e = err as { responseCode?: number; response?: string; message: string };
        log.warn('message refused permanently', {
          key: input.mail.key,
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
      ledger(result.status, result);
      log.info('message sent', {
        key: input.mail.key,
        messageId,
        kind: input.mail.kind,
        to: input.mail.to.address,
        attempts,
        status: result.status,
      });
      return result;
    },
  };
}
