/**
 * Inbound mail parsing from the evidence store, with bounded memory: the raw message is already stored
 * (streamed there by the SMTP gateway), the cheap structural limits are checked on a stream, then
 * mailparser reads it as a stream and every attachment is streamed into the evidence store as it is
 * decoded. Only the text parts are held in memory. The raw message is never changed; this only reads it.
 */
import { Transform, type Readable } from 'node:stream';
import { MailParser, type AddressObject, type HeaderValue } from 'mailparser';
import type { EvidenceStore } from '../platform/evidence';
import { StorageUnavailable } from '../platform/storage';
import { INBOUND_LIMITS } from '../domain/limits';
import type { EvidenceRef } from '../domain/state';
import { checkAddressCount, checkDepth, headerBlock, MIME_LIMITS, UnparseableMessage } from './mime-limits';
import { oneLine } from '../platform/text';
import { newTextOf, REPLY_SPLIT_LIMITS } from './reply-text';

export { UnparseableMessage } from './mime-limits';

export const LIMITS = {
  ...MIME_LIMITS,
  ...REPLY_SPLIT_LIMITS,
  attachments: INBOUND_LIMITS.attachmentsPerMessage,
  /** Time a parse may take once it has a parsing slot; past it the message is deferred (451), never triaged. */
  parseMs: 15_000,
  /** What is read of a delivery-status part or of the returned headers of a bounce. */
  reportPartBytes: 64 * 1024,
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
  /** Every attachment, stored in the evidence store (name cleaned and cut to INBOUND_LIMITS.fileNameChars). */
  attachments: EvidenceRef[];
  /** The machine-readable part of a delivery status notification, if any. */
  deliveryStatus?: string;
  /** Headers of the returned message inside a bounce (text/rfc822-headers or message/rfc822). */
  returnedHeaders?: string;
}

/** Parsing took longer than LIMITS.parseMs: the message is deferred (the sender retries), not judged. */
export class ParseTimeout extends Error {
  constructor(ms: number) {
    super(`parsing took longer than ${ms} ms`);
    this.name = 'ParseTimeout';
  }
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

// eslint-disable-next-line no-control-regex -- a stored file name gets no control characters and no path
const UNSAFE_IN_FILENAME = /[\u0000-\u001f\u007f/\\]+/g;

/** A file name safe to keep: no control characters, no path, at most INBOUND_LIMITS.fileNameChars (its end kept). */
export function cleanFileName(name: string): string {
  const cleaned = name.replace(UNSAFE_IN_FILENAME, '_').trim();
  const max = INBOUND_LIMITS.fileNameChars;
  if (cleaned.length <= max) return cleaned;
  // The end of a long name (a number, the extension) tells files apart more often than its middle.
  const tail = 30;
  return `${cleaned.slice(0, max - tail - 1)}~${cleaned.slice(-tail)}`;
}

/** Passes a stream through, keeping a copy of its first `bytes` bytes. */
function capture(bytes: number): Transform & { captured(): string } {
  const chunks: Buffer[] = [];
  let kept = 0;
  const t = new Transform({
    transform(chunk: Buffer, _enc, done) {
      if (kept < bytes) {
        const part = chunk.subarray(0, bytes - kept);
        chunks.push(part);
        kept += part.length;
      }
      done(null, chunk);
    },
  }) as Transform & { captured(): string };
  t.captured = () => Buffer.concat(chunks).toString('utf8');
  return t;
}

interface MimeAttachment {
  type: 'attachment';
  content: Readable;
  contentType: string;
  filename?: string;
  release: (() => void) | null;
}

interface Collected {
  headers?: Map<string, HeaderValue>;
  text?: string;
  html?: string | false;
  attachments: EvidenceRef[];
  count: number;
  deliveryStatus?: string;
  returnedHeaders?: string;
}

const REPORT_TYPES = new Set(['message/delivery-status', 'text/rfc822-headers', 'message/rfc822-headers']);

/** Runs mailparser over the stored message, storing each attachment as it is decoded. */
function runMailParser(source: Readable, store: EvidenceStore, signal: AbortSignal): Promise<Collected> {
  return new Promise((resolve, reject) => {
    const out: Collected = { attachments: [], count: 0 };
    const parser = new MailParser({
      keepDeliveryStatus: true,
      skipHtmlToText: false,
      skipTextToHtml: true,
      skipTextLinks: true,
      skipImageLinks: true,
      maxHtmlLengthToParse: 2 * 1024 * 1024,
      checksumAlgo: false,
    } as never);
    let failed = false;
    const fail = (err: unknown) => {
      if (failed) return;
      failed = true;
      source.destroy();
      parser.destroy();
      reject(err);
    };
    signal.addEventListener('abort', () => fail(signal.reason), { once: true });
    parser.on('error', fail);
    parser.on('headers', (h: Map<string, HeaderValue>) => (out.headers = h));
    let reading = false;
    const onAttachment = async (a: MimeAttachment) => {
      out.count += 1;
      const report = REPORT_TYPES.has(a.contentType) || a.contentType === 'message/rfc822';
      const tap = report ? capture(LIMITS.reportPartBytes) : undefined;
      if (REPORT_TYPES.has(a.contentType) || out.count > LIMITS.attachments) {
        // A report part is read, not kept apart (it is in the raw message); past the limit nothing more is stored.
        const sink = tap ?? new Transform({ transform: (_c, _e, done) => done() });
        a.content.pipe(sink).resume();
        await new Promise<void>((r) => a.content.once('end', () => r()));
      } else {
        const filename = a.filename ? cleanFileName(a.filename) : undefined;
        const stored = await store.putStream(tap ? a.content.pipe(tap) : a.content, {
          contentType: a.contentType.slice(0, 100),
          ...(filename ? { filename } : {}),
        });
        if (stored.ref) out.attachments.push(stored.ref);
      }
      if (a.contentType === 'message/delivery-status') out.deliveryStatus ??= tap!.captured();
      else if (tap && !out.returnedHeaders) out.returnedHeaders = tap.captured();
    };
    const reader = () => {
      reading = true;
      for (;;) {
        const data = parser.read() as { type: string; text?: string; html?: string | false } | MimeAttachment | null;
        if (data === null) {
          reading = false;
          return;
        }
        if (data.type === 'text') {
          const t = data as { text?: string; html?: string | false };
          if (t.text !== undefined) out.text = t.text;
          if (t.html !== undefined) out.html = t.html;
          continue;
        }
        if (data.type === 'attachment') {
          const a = data as MimeAttachment;
          onAttachment(a).then(() => {
            a.release?.();
            reader();
          }, fail);
          return;
        }
      }
    };
    parser.on('readable', () => {
      if (!reading) reader();
    });
    parser.on('end', () => {
      if (!failed) resolve(out);
    });
    source.on('error', fail);
    source.pipe(parser);
  });
}

/**
 * Parses a stored message; throws UnparseableMessage when a limit is hit or the parser fails, and
 * ParseTimeout when it takes longer than `timeoutMs`.
 */
export async function parseStored(
  raw: EvidenceRef,
  store: EvidenceStore,
  timeoutMs: number = LIMITS.parseMs,
): Promise<ParsedInbound> {
  const head = headerBlock(await store.readPrefix(raw.sha256, LIMITS.headerBytes * 2), raw.size);
  checkAddressCount(head);
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(new ParseTimeout(timeoutMs)), timeoutMs);
  let mail: Collected;
  try {
    await Promise.race([
      store.open(raw.sha256).then(checkDepth),
      new Promise<never>((_, reject) =>
        abort.signal.addEventListener('abort', () => reject(abort.signal.reason), { once: true }),
      ),
    ]);
    mail = await runMailParser(await store.open(raw.sha256), store, abort.signal);
  } catch (err) {
    // A storage outage is not the message's fault: it goes back to the sender's retry (451), never to triage.
    if (err instanceof UnparseableMessage || err instanceof ParseTimeout || err instanceof StorageUnavailable)
      throw err;
    if (/Max allowed child nodes/.test((err as Error).message))
      throw new UnparseableMessage("more than 1000 MIME parts (the parser's limit)");
    throw new UnparseableMessage(`the MIME parser failed: ${(err as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
  if (mail.count > LIMITS.attachments)
    throw new UnparseableMessage(`${mail.count} attachments (limit ${LIMITS.attachments})`);
  const h = mail.headers ?? new Map<string, HeaderValue>();
  const headers = new Map<string, string>();
  for (const [k, v] of h) headers.set(k.toLowerCase(), headerText(v));
  const refsValue = h.get('references') as string | string[] | undefined;
  const refs = refsValue === undefined ? [] : Array.isArray(refsValue) ? refsValue : refsValue.split(/\s+/);
  const fromValue = (h.get('from') as AddressObject | undefined)?.value[0];
  const fromName = fromValue?.name ? oneLine(fromValue.name, INBOUND_LIMITS.fromNameChars) : '';
  const text = mail.text ?? '';
  const messageId = h.get('message-id') as string | undefined;
  const inReplyTo = h.get('in-reply-to') as string | undefined;
  const date = h.get('date') as Date | undefined;
  return {
    ...(messageId ? { messageId } : {}),
    ...(inReplyTo ? { inReplyTo } : {}),
    references: refs.filter(Boolean),
    subject: oneLine(String(h.get('subject') ?? ''), 998),
    ...(fromValue?.address
      ? { from: { address: fromValue.address.toLowerCase(), ...(fromName ? { name: fromName } : {}) } }
      : {}),
    to: addresses(h.get('to') as AddressObject | AddressObject[] | undefined),
    cc: addresses(h.get('cc') as AddressObject | AddressObject[] | undefined),
    ...(date instanceof Date && !Number.isNaN(date.getTime()) ? { date } : {}),
    headers,
    text,
    newText: await newTextOf(text),
    attachments: mail.attachments,
    ...(mail.deliveryStatus ? { deliveryStatus: mail.deliveryStatus } : {}),
    ...(mail.returnedHeaders ? { returnedHeaders: mail.returnedHeaders } : {}),
  };
}
