/**
 * What kind of message arrived: an answer, a request for more time, an automatic reply (out of office),
 * or a delivery failure. Automatic messages are never answers and never get an acknowledgement.
 */
import type { ParsedInbound } from './parse';
import { findDuration, replyLanguage, type DateReading, type RequestedDuration } from './reply-dates';
import { answersQuestions, asksForTime, cuedDate, OOO_SUBJECT, OOO_TEXT } from './reply-phrases';

export type InboundKind = 'answer' | 'extension-request' | 'out-of-office' | 'bounce';

export interface Classification {
  kind: InboundKind;
  /** For bounces: the address that failed and whether the failure is permanent. */
  failedRecipient?: string;
  /** For bounces: every address the report names (Final-Recipient, then Original-Recipient). */
  reportedRecipients?: string[];
  permanent?: boolean;
  /** For out-of-office replies: the return date (YYYY-MM-DD in the writer's calendar), else the words as written. */
  returnDate?: string;
  /** For extension requests: the date asked for, if one could be read (YYYY-MM-DD, the writer's calendar). */
  requestedDate?: string;
  /** For extension requests without a date: the length of time asked for, added to the item's deadline. */
  requestedDuration?: RequestedDuration;
  /** Message-IDs named inside a bounce (the message that failed). */
  returnedMessageIds: string[];
}

/** RFC 3834 and the de-facto headers of auto-responders and bulk mail. */
export function isAutomatic(h: Map<string, string>): boolean {
  const auto = (h.get('auto-submitted') ?? '').trim().toLowerCase();
  if (auto && auto !== 'no') return true;
  if (h.has('x-autoreply') || h.has('x-autorespond') || h.has('x-autoresponse')) return true;
  if (/^(bulk|auto_reply|junk|list)$/i.test((h.get('precedence') ?? '').trim())) return true;
  return false;
}

/** The envelope and headers that RFC 3834 looks at: was the message automatic, from a list, or already ours? */
export interface AutoReplyFacts {
  channel: 'smtp' | 'imap';
  /** The envelope sender; empty for the null sender (SMTP only). */
  mailFrom?: string;
  /** Our reply address's domain, to recognise our own X-Loop. */
  replyDomain: string;
}

/**
 * Why no automatic answer (an acknowledgement) may go back to this message, per RFC 3834 and the
 * de-facto headers, or undefined when one may: automatic messages, null return paths, mailing lists,
 * and anything that has been through auditflow before (X-Loop).
 */
export function autoReplyBlock(h: Map<string, string>, f: AutoReplyFacts): string | undefined {
  if (f.channel === 'smtp' && !f.mailFrom) return 'the envelope sender is empty (null return path)';
  const returnPath = h.get('return-path');
  if (f.channel === 'imap' && returnPath !== undefined && /^\s*<?\s*>?\s*$/.test(returnPath))
    return 'Return-Path is empty (null return path)';
  const auto = (h.get('auto-submitted') ?? '').trim().toLowerCase();
  if (auto && auto !== 'no') return `Auto-Submitted: ${auto.slice(0, 40)}`;
  if (h.has('x-autoreply') || h.has('x-autorespond') || h.has('x-autoresponse'))
    return 'an automatic reply (X-Autoreply)';
  const precedence = (h.get('precedence') ?? '').trim().toLowerCase();
  if (/^(bulk|list|junk|auto_reply)$/.test(precedence)) return `Precedence: ${precedence}`;
  // mailparser gathers every List-* header under one key, `list`.
  if (['list', 'list-id', 'list-unsubscribe', 'list-post', 'list-help'].some((k) => h.has(k)))
    return 'a mailing-list message (List-* headers)';
  if ((h.get('x-loop') ?? '').toLowerCase().includes(f.replyDomain.toLowerCase()))
    return 'it has been through auditflow before (X-Loop)';
  return undefined;
}

function dsnField(status: string, name: string): string[] {
  return [...status.matchAll(new RegExp(`^${name}:\\s*(.+)$`, 'gim'))].map((m) => m[1]!.trim());
}

const BOUNCE_SUBJECT =
  /\b(undeliver(ed|able)|returned mail|mail delivery (failed|failure)|delivery (status notification|failure)|failure notice|non remis|non distribuable|notification d'état de remise)|échec de (la )?remise/i;

/**
 * A bounce without a delivery-status part (Exim, some gateways): only with X-Failed-Recipients, which those
 * servers set on a permanent failure, and a bounce subject. Never from the words of a message alone, since a
 * counterparty could write them; like any report it must still prove itself (bounce-proof.ts).
 */
function undeliveredWithoutReport(p: ParsedInbound): Classification | undefined {
  const failed = (p.headers.get('x-failed-recipients') ?? '')
    .split(',')
    .map((r) => r.trim().toLowerCase())
    .filter((r) => r.includes('@'));
  if (failed.length === 0 || !BOUNCE_SUBJECT.test(p.subject)) return undefined;
  const returnedMessageIds = [...p.text.matchAll(/^Message-ID:\s*(<[^>]+>)/gim)].map((m) => m[1]!);
  return {
    kind: 'bounce',
    failedRecipient: failed[0]!,
    reportedRecipients: [...new Set(failed)],
    permanent: true,
    returnedMessageIds,
  };
}

/** Reads a delivery status notification (RFC 3464): who failed, and is it permanent (5.x.x). */
function classifyBounce(p: ParsedInbound): Classification | undefined {
  const contentType = (p.headers.get('content-type') ?? '').toLowerCase();
  const isReport = contentType.includes('multipart/report') && contentType.includes('delivery-status');
  if (!isReport && !p.deliveryStatus) return undeliveredWithoutReport(p);
  const status = p.deliveryStatus ?? '';
  const actions = dsnField(status, 'Action').map((a) => a.toLowerCase());
  const codes = dsnField(status, 'Status');
  const recipients = dsnField(status, 'Final-Recipient')
    .concat(dsnField(status, 'Original-Recipient'))
    .map((r) => r.replace(/^rfc822;\s*/i, '').toLowerCase());
  const failed = actions.includes('failed');
  const permanent = failed && codes.some((c) => c.startsWith('5'));
  const returnedMessageIds = [...(p.returnedHeaders ?? '').matchAll(/^Message-ID:\s*(<[^>]+>)/gim)].map((m) => m[1]!);
  return {
    kind: 'bounce',
    ...(recipients[0] ? { failedRecipient: recipients[0] } : {}),
    reportedRecipients: [...new Set(recipients)],
    permanent,
    returnedMessageIds,
  };
}

/** Exchange marks its own automatic replies with X-Auto-Response-Suppress, but so do some ordinary messages. */
function isOutOfOffice(p: ParsedInbound, text: string): boolean {
  if (isAutomatic(p.headers) || OOO_SUBJECT.test(p.subject)) return true;
  return p.headers.has('x-auto-response-suppress') && OOO_TEXT.test(text);
}

/**
 * Classifies a parsed message, in English or French. `zone` is the writer's zone, to read 21/06/2027 (see
 * findDates); without it dates are read in UTC and day first. An answer with attachments, numbered answers,
 * a named question or a long text is never a request for more time, whatever it says about time.
 */
export function classify(p: ParsedInbound, now: Date, writer: { zone?: string } = {}): Classification {
  const bounce = classifyBounce(p);
  if (bounce) return bounce;
  // Typographic apostrophes (Outlook, Apple Mail) are read as plain ones: "jusqu’au" is "jusqu'au".
  // What a human writes above the quote is short; an automatic reply's return date comes early too.
  const text = (p.newText || p.text).slice(0, 20_000).replace(/[\u2018\u2019]/g, "'");
  const reading: DateReading = { now, language: replyLanguage(text), ...(writer.zone ? { zone: writer.zone } : {}) };
  if (isOutOfOffice(p, text)) {
    const date = cuedDate(text, reading, 'return');
    // Without a readable date, what follows "until" or "back" is kept as written ("until Monday").
    const back =
      /(?:\b(?:until|back on|return(?:ing)? on|returns? on|back in the office on|de retour)\b|\bjusqu'(?:au|à)(?=\s))[^.\n]{0,60}/i.exec(
        text,
      );
    return {
      kind: 'out-of-office',
      ...(date ? { returnDate: date.iso } : back ? { returnDate: back[0].trim().slice(0, 80) } : {}),
      returnedMessageIds: [],
    };
  }
  if (p.attachments.length > 0 || answersQuestions(text) || !asksForTime(text, reading))
    return { kind: 'answer', returnedMessageIds: [] };
  const date = cuedDate(text, reading, 'requested');
  const future = date && Date.parse(`${date.iso}T23:59:59Z`) > now.getTime();
  const duration = future ? undefined : findDuration(text);
  return {
    kind: 'extension-request',
    ...(future ? { requestedDate: date.iso } : {}),
    ...(duration ? { requestedDuration: duration } : {}),
    returnedMessageIds: [],
  };
}
