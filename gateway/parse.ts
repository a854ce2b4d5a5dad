/**
 * Inbound mail parsing with limits checked before the MIME parser sees the message: header block size,
 * address count and multipart nesting, then mailparser, then the new text split from quotes and
 * signature (email-reply-parser). The raw message is always kept; this only reads it.
 */
import { simpleParser, type AddressObject, type ParsedMail } from 'mailparser';
import EmailReplyParser from 'email-reply-parser';

export const LIMITS = {
  headerBytes: 256 * 1024,
  addresses: 1000,
  multipartDepth: 30,
  parseMs: 15_000,
} as const;

/** What the pipeline uses of a message. */
export interface ParsedInbound {
  messageId?: string;
  inReplyTo?: string;
  references: string[];
  subject: string;
  from?: { address: string; name?: string };
  to: string[];
  cc: string[];
  date?: Date;
  headers: Map<string, string>;
  text: string;
  /** The new text of a reply: quoted text and signature removed. */
  newText: string;
  attachments: { filename?: string; contentType: string; content: Buffer }[];
  /** The machine-readable part of a delivery status notification, if any. */
  deliveryStatus?: string;
  /** Headers of the returned message inside a bounce (text/rfc822-headers or message/rfc822). */
  returnedHeaders?: string;
}

/** Why a message could not be parsed safely (it goes to triage with this reason). */
export class UnparseableMessage extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'UnparseableMessage';
  }
}

function headerBlock(raw: Buffer): string {
  const crlf = raw.indexOf('\r\n\r\n');
  const lf = raw.indexOf('\n\n');
  const end = crlf === -1 ? lf : lf === -1 ? crlf : Math.min(crlf, lf);
  if (end === -1 && raw.length > LIMITS.headerBytes) throw new UnparseableMessage(`header block larger than ${LIMITS.headerBytes} bytes`);
  if (end > LIMITS.headerBytes) throw new UnparseableMessage(`header block of ${end} bytes is larger than ${LIMITS.headerBytes}`);
  return raw.subarray(0, end === -1 ? raw.length : end).toString('latin1');
}

/** Cheap checks on the raw bytes: a huge header, 10,000 addresses or 100 nested parts never reach the parser. */
export function checkLimits(raw: Buffer): void {
  const head = headerBlock(raw);
  const addressHeaders = head.match(/^(to|cc|bcc|from|reply-to):.*(?:\r?\n[ \t].*)*/gim) ?? [];
  const addressCount = addressHeaders.reduce((n, h) => n + (h.match(/@/g)?.length ?? 0), 0);
  if (addressCount > LIMITS.addresses) throw new UnparseableMessage(`${addressCount} addresses in the headers (limit ${LIMITS.addresses})`);
  const boundaries = raw.toString('latin1').match(/boundary\s*=/gi)?.length ?? 0;
  if (boundaries > LIMITS.multipartDepth) throw new UnparseableMessage(`${boundaries} nested multipart parts (limit ${LIMITS.multipartDepth})`);
}

function addresses(a: AddressObject | AddressObject[] | undefined): string[] {
  const list = Array.isArray(a) ? a : a ? [a] : [];
  return list.flatMap((o) => o.value.flatMap((v) => (v.address ? [v.address.toLowerCase()] : [])));
}

function headerText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && 'value' in v) return String((v as { value: unknown }).value);
  return v === undefined ? '' : String(v);
}

function newTextOf(text: string): string {
  try {
    return new EmailReplyParser().read(text).getVisibleText().trim();
  } catch {
    return text.trim();
  }
}

/** Parses a raw message; throws UnparseableMessage when a limit is hit or the parser fails. */
export async function parseInbound(raw: Buffer): Promise<ParsedInbound> {
  checkLimits(raw);
  let mail: ParsedMail;
  let timer: NodeJS.Timeout | undefined;
  try {
    mail = await Promise.race([
      simpleParser(raw, { keepDeliveryStatus: true, skipHtmlToText: false, skipTextLinks: true, skipImageLinks: true, maxHtmlLengthToParse: 2 * 1024 * 1024 }),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new UnparseableMessage(`parsing took longer than ${LIMITS.parseMs} ms`)), LIMITS.parseMs))),
    ]);
  } catch (err) {
    throw err instanceof UnparseableMessage ? err : new UnparseableMessage(`the MIME parser failed: ${(err as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
  const headers = new Map<string, string>();
  for (const [k, v] of mail.headers) headers.set(k.toLowerCase(), headerText(v));
  const refs = mail.references === undefined ? [] : Array.isArray(mail.references) ? mail.references : mail.references.split(/\s+/);
  const from = mail.from?.value[0];
  const text = mail.text ?? '';
  const deliveryStatus = mail.attachments.find((a) => a.contentType === 'message/delivery-status')?.content.toString('utf8');
  const returned = mail.attachments.find((a) => a.contentType === 'text/rfc822-headers' || a.contentType === 'message/rfc822' || a.contentType === 'message/rfc822-headers')?.content.toString('utf8');
  return {
    ...(mail.messageId ? { messageId: mail.messageId } : {}),
    ...(mail.inReplyTo ? { inReplyTo: mail.inReplyTo } : {}),
    references: refs.filter(Boolean),
    subject: mail.subject ?? '',
    ...(from?.address ? { from: { address: from.address.toLowerCase(), ...(from.name ? { name: from.name.replace(/[\r\n]+/g, ' ').slice(0, 200) } : {}) } } : {}),
    to: addresses(mail.to),
    cc: addresses(mail.cc),
    ...(mail.date ? { date: mail.date } : {}),
    headers,
    text,
    newText: newTextOf(text),
    attachments: mail.attachments
      .filter((a) => !['message/delivery-status', 'text/rfc822-headers'].includes(a.contentType))
      .map((a) => ({ ...(a.filename ? { filename: a.filename.replace(/[\r\n/\\]+/g, '_').slice(0, 255) } : {}), contentType: a.contentType, content: a.content })),
    ...(deliveryStatus ? { deliveryStatus } : {}),
    ...(returned ? { returnedHeaders: returned } : {}),
  };
}
