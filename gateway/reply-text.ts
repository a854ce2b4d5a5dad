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

/** A linear fallback: the text above the first quoted line, "On ... wrote:" line or forwarded-message marker. */
function textAboveQuote(text: string): string {
  const lines = text.split(/\r?\n/);
  const quote = lines.findIndex(
    (l) =>
      /^\s*>/.test(l) ||
      /^-{2,}\s*(Original|Forwarded) Message\s*-{2,}\s*$/i.test(l) ||
      (l.length <= 400 && /^On .+ wrote:?\s*$/.test(l)),
  );
  return (quote === -1 ? lines : lines.slice(0, quote)).join('\n');
}

/** The new text of a reply, trimmed. */
export async function newTextOf(text: string): Promise<string> {
  const visible =
    text.length <= REPLY_SPLIT_LIMITS.replySplitInlineChars ? splitInline(text) : await splitInWorker(text);
  return (visible ?? textAboveQuote(text)).trim();
}
