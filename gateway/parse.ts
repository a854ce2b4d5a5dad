/**
 * Inbound mail parsing with limits checked before the MIME parser sees the message: header block size,
 * address count and multipart nesting, then mailparser, then the new text split from quotes and
 * signature (email-reply-parser, in a worker thread with a deadline for long texts, because its patterns
 * can be made to backtrack for minutes). The raw message is always kept; this only reads it.
 */
import { Worker } from 'node:worker_threads';
import { simpleParser, type AddressObject, type ParsedMail } from 'mailparser';
import EmailReplyParser from 'email-reply-parser';

export const LIMITS = {
  headerBytes: 256 * 1024,
  addresses: 1000,
  multipartDepth: 30,
  parseMs: 15_000,
  /** email-reply-parser's patterns backtrack cubically on crafted text: it gets this long, off the event loop. */
  replySplitMs: 2_000,
  /** Up to this many characters the split runs inline: even the worst case stays in the milliseconds. */
  replySplitInlineChars: 2048,
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

/** The boundary parameter of a Content-Type, also when split into RFC 2231 continuations (boundary*0, boundary*1). */
function boundaryParam(params: string): string | undefined {
  const pieces: [number, string][] = [];
  for (const m of params.matchAll(/;\s*boundary(?:\*(\d+))?\*?\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))/gi)) {
    pieces.push([m[1] === undefined ? 0 : Number(m[1]), (m[2] ?? m[3] ?? '').replace(/\\(.)/g, '$1')]);
  }
  const value = pieces
    .sort((a, b) => a[0] - b[0])
    .map((p) => p[1])
    .join('')
    .trimEnd();
  return value || undefined;
}

/**
 * How deep multipart parts nest, following the boundaries a message actually opens: part headers after
 * each delimiter, message/rfc822 parts whose body is another message. Counting `boundary=` alone would
 * take a quoted MIME source in a text part, or a reply with 40 forwarded emails side by side, for a
 * nesting attack. Stops counting once `stopAbove` is exceeded.
 */
export function multipartDepth(raw: string, stopAbove: number = LIMITS.multipartDepth): number {
  const open: string[] = [];
  let max = 0;
  let inHeaders = true;
  let current = '';
  let boundary: string | undefined;
  let isMessage = false;
  const endHeader = () => {
    const ct = /^content-type:\s*([^;\s]+)([\s\S]*)$/i.exec(current);
    if (ct) {
      isMessage = /^message\/(rfc822|global)$/i.test(ct[1]!);
      boundary = /^multipart\//i.test(ct[1]!) ? boundaryParam(ct[2]!) : undefined;
    }
    current = '';
  };
  for (const line of raw.split(/\r?\n/)) {
    if (inHeaders) {
      if (/^[ \t]/.test(line) && current) {
        current += line;
        continue;
      }
      endHeader();
      if (line !== '') {
        current = line;
        continue;
      }
      // The blank line after a header block: a multipart opens a level, a message/rfc822 body is headers again.
      if (boundary) {
        open.push(boundary);
        max = Math.max(max, open.length);
        if (max > stopAbove) return max;
      }
      inHeaders = !boundary && isMessage;
      boundary = undefined;
      isMessage = false;
      continue;
    }
    if (!line.startsWith('--')) continue;
    // A delimiter may end in spaces and tabs (RFC 2046 5.1.1), nothing else.
    const delimiter = line.replace(/[ \t]+$/, '');
    for (let i = open.length - 1; i >= 0; i--) {
      const b = open[i]!;
      if (delimiter === `--${b}--`) {
        open.length = i;
        break;
      }
      if (delimiter === `--${b}`) {
        open.length = i + 1;
        inHeaders = true;
        break;
      }
    }
  }
  return max;
}

/** Cheap checks on the raw bytes: a huge header, 10,000 addresses or 100 nested parts never reach the parser. */
export function checkLimits(raw: Buffer): void {
  const head = headerBlock(raw);
  const addressHeaders = head.match(/^(to|cc|bcc|from|reply-to):.*(?:\r?\n[ \t].*)*/gim) ?? [];
  const addressCount = addressHeaders.reduce((n, h) => n + (h.match(/@/g)?.length ?? 0), 0);
  if (addressCount > LIMITS.addresses) throw new UnparseableMessage(`${addressCount} addresses in the headers (limit ${LIMITS.addresses})`);
  const depth = multipartDepth(raw.toString('latin1'));
  if (depth > LIMITS.multipartDepth) throw new UnparseableMessage(`multipart parts nested more than ${LIMITS.multipartDepth} levels deep`);
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

// C0 controls, DEL, NEL and the Unicode line separators: none belongs in a one-line header value.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const LINE_BREAKING = /[\u0000-\u001f\u007f\u0085\u2028\u2029]+/g;

// eslint-disable-next-line no-control-regex -- a stored file name gets no control characters and no path
const UNSAFE_IN_FILENAME = /[\u0000-\u001f\u007f/\\]+/g;

/**
 * A decoded header value (Subject, display name) as one line: encoded-words can carry CR/LF, which must
 * never reach a header we write, a log line or a terminal.
 */
export function oneLine(value: string, max: number): string {
  return value.replace(LINE_BREAKING, ' ').replace(/ {2,}/g, ' ').trim().slice(0, max);
}

function splitInline(text: string): string | undefined {
  try {
    return new EmailReplyParser().read(text).getVisibleText();
  } catch {
    return undefined;
  }
}

// Plain CommonJS for the worker: it needs neither tsx nor anything of ours.
const SPLIT_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const EmailReplyParser = require(workerData.module);
parentPort.postMessage(new EmailReplyParser().read(workerData.text).getVisibleText());
`;

/** email-reply-parser in a worker thread, terminated after LIMITS.replySplitMs; undefined when it fails or runs out of time. */
function splitInWorker(text: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const worker = new Worker(SPLIT_WORKER, { eval: true, execArgv: [], workerData: { text, module: require.resolve('email-reply-parser') }, resourceLimits: { maxOldGenerationSizeMb: 256 } });
    const done = (value: string | undefined) => {
      clearTimeout(timer);
      resolve(value);
      void worker.terminate();
    };
    const timer = setTimeout(() => done(undefined), LIMITS.replySplitMs);
    worker.once('message', (v: unknown) => done(typeof v === 'string' ? v : undefined));
    worker.once('error', () => done(undefined));
    worker.once('exit', () => done(undefined));
  });
}

/** A linear fallback: the text above the first quoted line, "On ... wrote:" line or forwarded-message marker. */
function textAboveQuote(text: string): string {
  const lines = text.split(/\r?\n/);
  const quote = lines.findIndex((l) => /^\s*>/.test(l) || /^-{2,}\s*(Original|Forwarded) Message\s*-{2,}\s*$/i.test(l) || (l.length <= 400 && /^On .+ wrote:?\s*$/.test(l)));
  return (quote === -1 ? lines : lines.slice(0, quote)).join('\n');
}

async function newTextOf(text: string): Promise<string> {
  const visible = text.length <= LIMITS.replySplitInlineChars ? splitInline(text) : await splitInWorker(text);
  return (visible ?? textAboveQuote(text)).trim();
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
  const fromName = from?.name ? oneLine(from.name, 200) : '';
  const text = mail.text ?? '';
  const deliveryStatus = mail.attachments.find((a) => a.contentType === 'message/delivery-status')?.content.toString('utf8');
  const returned = mail.attachments.find((a) => a.contentType === 'text/rfc822-headers' || a.contentType === 'message/rfc822' || a.contentType === 'message/rfc822-headers')?.content.toString('utf8');
  return {
    ...(mail.messageId ? { messageId: mail.messageId } : {}),
    ...(mail.inReplyTo ? { inReplyTo: mail.inReplyTo } : {}),
    references: refs.filter(Boolean),
    subject: oneLine(mail.subject ?? '', 998),
    ...(from?.address ? { from: { address: from.address.toLowerCase(), ...(fromName ? { name: fromName } : {}) } } : {}),
    to: addresses(mail.to),
    cc: addresses(mail.cc),
    ...(mail.date ? { date: mail.date } : {}),
    headers,
    text,
    newText: await newTextOf(text),
    attachments: mail.attachments
      .filter((a) => !['message/delivery-status', 'text/rfc822-headers'].includes(a.contentType))
      .map((a) => ({ ...(a.filename ? { filename: a.filename.replace(UNSAFE_IN_FILENAME, '_').slice(0, 255) } : {}), contentType: a.contentType, content: a.content })),
    ...(deliveryStatus ? { deliveryStatus } : {}),
    ...(returned ? { returnedHeaders: returned } : {}),
  };
}
