/**
 * The new text of a reply: quoted text and signature removed by email-reply-parser, in a worker thread
 * with a deadline for long texts, because its patterns can be made to backtrack for minutes on crafted
 * input; a linear fallback when it fails or runs out of time.
 */
import { Worker } from 'node:worker_threads';
import EmailReplyParser from 'email-reply-parser';

export const REPLY_SPLIT_LIMITS = {
  /** email-reply-parser's patterns backtrack cubically on crafted text: it gets this long, off the event loop. */
  replySplitMs: 2_000,
  /** Up to this many characters the split runs inline: even the worst case stays in the milliseconds. */
  replySplitInlineChars: 2048,
} as const;

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

/** email-reply-parser in a worker thread, terminated after REPLY_SPLIT_LIMITS.replySplitMs; undefined when it fails or runs out of time. */
function splitInWorker(text: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const worker = new Worker(SPLIT_WORKER, {
      eval: true,
      execArgv: [],
      workerData: { text, module: require.resolve('email-reply-parser') },
      resourceLimits: { maxOldGenerationSizeMb: 256 },
    });
    const done = (value: string | undefined) => {
      clearTimeout(timer);
      resolve(value);
      void worker.terminate();
    };
    const timer = setTimeout(() => done(undefined), REPLY_SPLIT_LIMITS.replySplitMs);
    worker.once('message', (v: unknown) => done(typeof v === 'string' ? v : undefined));
    worker.once('error', () => done(undefined));
    worker.once('exit', () => done(undefined));
  });
}

const FORWARD_MARKER =
  /^\s*-{2,}\s*(Original Message|Forwarded Message|Message d'origine|Message original|Message transféré)\s*-{2,}\s*$/i;
const ATTRIBUTION = /^\s*(On|Le)\s.{0,300}\b(wrote|a écrit)\s*:?\s*$/;
const HEADER_FROM = /^\s*\*?(From|De)\s*:\*?\s*\S/;
const HEADER_SENT = /^\s*\*?(Sent|Envoyé|Date)\s*:\*?\s*\S/;

/**
 * Where the quoted original starts, in English or French: "On ... wrote:" / "Le ... a écrit :" (on one line
 * or wrapped onto a second, as Gmail does), an Outlook "From: / Sent:" or "De : / Envoyé :" block (after its
 * rule of underscores, if any), or an "Original Message" marker. -1 when there is none.
 */
function quoteHeaderLine(lines: string[]): number {
  return lines.findIndex((l, i) => {
    if (l.length > 400) return false;
    if (FORWARD_MARKER.test(l) || ATTRIBUTION.test(l)) return true;
    if (/^\s*(On|Le)\s/.test(l) && ATTRIBUTION.test(`${l} ${(lines[i + 1] ?? '').slice(0, 400)}`)) return true;
    if (/^\s*_{10,}\s*$/.test(l) && HEADER_FROM.test(lines[i + 1] ?? '')) return true;
    return HEADER_FROM.test(l) && lines.slice(i + 1, i + 4).some((n) => HEADER_SENT.test(n));
  });
}

/** The text above the quoted original's header, when it has one (quoted lines with ">" are left to the parser). */
function cutAtQuoteHeader(text: string): string {
  const lines = text.split(/\r?\n/);
  const at = quoteHeaderLine(lines);
  return at === -1 ? text : lines.slice(0, at).join('\n');
}

/** A linear fallback: the text above the first quoted line. */
function textAboveQuote(text: string): string {
  const lines = text.split(/\r?\n/);
  const quote = lines.findIndex((l) => /^\s*>/.test(l));
  return (quote === -1 ? lines : lines.slice(0, quote)).join('\n');
}

/** The new text of a reply, trimmed: the quoted original's header and all below it cut first (both languages). */
export async function newTextOf(full: string): Promise<string> {
  const text = cutAtQuoteHeader(full);
  const visible =
    text.length <= REPLY_SPLIT_LIMITS.replySplitInlineChars ? splitInline(text) : await splitInWorker(text);
  return (visible ?? textAboveQuote(text)).trim();
}
