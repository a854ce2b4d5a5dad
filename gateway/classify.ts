/**
 * What kind of message arrived: an answer, a request for more time, an automatic reply (out of office),
 * or a delivery failure. Automatic messages are never answers and never get an acknowledgement.
 */
import type { ParsedInbound } from './parse';
import { MONTH_NAMES } from '../domain/time';

export type InboundKind = 'answer' | 'extension-request' | 'out-of-office' | 'bounce';

export interface Classification {
  kind: InboundKind;
  /** For bounces: the address that failed and whether the failure is permanent. */
  failedRecipient?: string;
  /** For bounces: every address the report names (Final-Recipient, then Original-Recipient). */
  reportedRecipients?: string[];
  permanent?: boolean;
  /** For out-of-office replies: the return date as written. */
  returnDate?: string;
  /** For extension requests: the date asked for, if one could be read (YYYY-MM-DD, the writer's calendar). */
  requestedDate?: string;
  /** Message-IDs named inside a bounce (the message that failed). */
  returnedMessageIds: string[];
}

const OOO_SUBJECT =
  /\b(out of (the )?office|automatic reply|auto(matic)?[- ]?reply|autoreply|away from (the )?office|on vacation|abwesenheit|r[ée]ponse automatique|fuera de la oficina)\b/i;
const EXTENSION =
  /\b(extension|more time|additional time|extend the deadline|further time|postpone|push back the deadline)\b/i;

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

/** Finds a date in free text: 2027-06-21, 21 June 2027, June 21, 2027, 21/06/2027 is not guessed (ambiguous). */
export function findDate(text: string): { iso: string; written: string } | undefined {
  const isoDate = /\b(20\d\d)-(\d\d)-(\d\d)\b/.exec(text);
  if (isoDate) return { iso: `${isoDate[1]}-${isoDate[2]}-${isoDate[3]}`, written: isoDate[0] };
  const monthNames = MONTH_NAMES.join('|');
  const dmy = new RegExp(`\\b(\\d{1,2})(?:st|nd|rd|th)?\\s+(${monthNames})\\s+(20\\d\\d)\\b`, 'i').exec(text);
  const mdy = new RegExp(`\\b(${monthNames})\\s+(\\d{1,2})(?:st|nd|rd|th)?,?\\s+(20\\d\\d)\\b`, 'i').exec(text);
  const hit = dmy
    ? { d: dmy[1]!, m: dmy[2]!, y: dmy[3]!, w: dmy[0] }
    : mdy
      ? { d: mdy[2]!, m: mdy[1]!, y: mdy[3]!, w: mdy[0] }
      : undefined;
  if (!hit) return undefined;
  const month = MONTH_NAMES.indexOf(hit.m.toLowerCase() as (typeof MONTH_NAMES)[number]) + 1;
  return { iso: `${hit.y}-${String(month).padStart(2, '0')}-${hit.d.padStart(2, '0')}`, written: hit.w };
}

function dsnField(status: string, name: string): string[] {
  return [...status.matchAll(new RegExp(`^${name}:\\s*(.+)$`, 'gim'))].map((m) => m[1]!.trim());
}

/** Reads a delivery status notification (RFC 3464): who failed, and is it permanent (5.x.x). */
function classifyBounce(p: ParsedInbound): Classification | undefined {
  const contentType = (p.headers.get('content-type') ?? '').toLowerCase();
  const isReport = contentType.includes('multipart/report') && contentType.includes('delivery-status');
  if (!isReport && !p.deliveryStatus) return undefined;
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

/** Classifies a parsed message. */
export function classify(p: ParsedInbound, now: Date): Classification {
  const bounce = classifyBounce(p);
  if (bounce) return bounce;
  if (isAutomatic(p.headers) || OOO_SUBJECT.test(p.subject)) {
    const text = p.newText || p.text;
    // "away from 1 June until 14 June": the return is what follows "until", "back on" and the like; "from" only when nothing else says it.
    const back =
      /\b(?:until|back on|return(?:ing)? on|returns? on|back in the office on)\b[^.\n]{0,60}/i.exec(text) ??
      /\bfrom\b[^.\n]{0,60}/i.exec(text);
    const date = back ? findDate(back[0]) : findDate(text);
    return {
      kind: 'out-of-office',
      ...(date ? { returnDate: date.iso } : back ? { returnDate: back[0].trim().slice(0, 80) } : {}),
      returnedMessageIds: [],
    };
  }
  const text = p.newText || p.text;
  if (EXTENSION.test(text) && p.attachments.length === 0 && text.length < 4000) {
    const date = findDate(text);
    const future = date && Date.parse(`${date.iso}T23:59:59Z`) > now.getTime();
    return { kind: 'extension-request', ...(future ? { requestedDate: date.iso } : {}), returnedMessageIds: [] };
  }
  return { kind: 'answer', returnedMessageIds: [] };
}
