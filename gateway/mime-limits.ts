/**
 * Cheap structural checks on a stored message before the MIME parser sees it: the size of the header
 * block, the number of addresses in it, and how deep multipart parts nest. They read the message as a
 * stream, line by line, so a 25 MB message costs a few KB of memory here.
 */
import readline from 'node:readline';
import type { Readable } from 'node:stream';

export const MIME_LIMITS = {
  headerBytes: 256 * 1024,
  addresses: 1000,
  multipartDepth: 30,
} as const;

/** Why a message could not be parsed safely (it goes to triage with this reason). */
export class UnparseableMessage extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'UnparseableMessage';
  }
}

/** The header block from the first bytes of a message (`prefix`, at least headerBytes + 4 long unless the message is shorter). */
export function headerBlock(prefix: Buffer, totalSize: number): string {
  const crlf = prefix.indexOf('\r\n\r\n');
  const lf = prefix.indexOf('\n\n');
  const end = crlf === -1 ? lf : lf === -1 ? crlf : Math.min(crlf, lf);
  if (end === -1 && totalSize > MIME_LIMITS.headerBytes)
    throw new UnparseableMessage(`header block larger than ${MIME_LIMITS.headerBytes} bytes`);
  if (end > MIME_LIMITS.headerBytes)
    throw new UnparseableMessage(`header block of ${end} bytes is larger than ${MIME_LIMITS.headerBytes}`);
  return prefix.subarray(0, end === -1 ? prefix.length : end).toString('latin1');
}

/** Throws when the header block names more addresses than MIME_LIMITS.addresses. */
export function checkAddressCount(head: string): void {
  const addressHeaders = head.match(/^(to|cc|bcc|from|reply-to):.*(?:\r?\n[ \t].*)*/gim) ?? [];
  const addressCount = addressHeaders.reduce((n, h) => n + (h.match(/@/g)?.length ?? 0), 0);
  if (addressCount > MIME_LIMITS.addresses)
    throw new UnparseableMessage(`${addressCount} addresses in the headers (limit ${MIME_LIMITS.addresses})`);
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
 * nesting attack. Fed one line at a time.
 */
export class DepthScanner {
  max = 0;
  private readonly open: string[] = [];
  private inHeaders = true;
  private current = '';
  private boundary: string | undefined;
  private isMessage = false;

  private endHeader(): void {
    // A header line that is absurdly long is cut: the Content-Type parameters that matter come early.
    const ct = /^content-type:\s*([^;\s]+)([\s\S]*)$/i.exec(this.current.slice(0, 8192));
    if (ct) {
      this.isMessage = /^message\/(rfc822|global)$/i.test(ct[1]!);
      this.boundary = /^multipart\//i.test(ct[1]!) ? boundaryParam(ct[2]!) : undefined;
    }
    this.current = '';
  }

  line(line: string): void {
    if (this.inHeaders) {
      if (/^[ \t]/.test(line) && this.current) {
        if (this.current.length < 8192) this.current += line;
        return;
      }
      this.endHeader();
      if (line !== '') {
        this.current = line;
        return;
      }
      // The blank line after a header block: a multipart opens a level, a message/rfc822 body is headers again.
      if (this.boundary) {
        this.open.push(this.boundary);
        this.max = Math.max(this.max, this.open.length);
      }
      this.inHeaders = !this.boundary && this.isMessage;
      this.boundary = undefined;
      this.isMessage = false;
      return;
    }
    if (!line.startsWith('--')) return;
    // A delimiter may end in spaces and tabs (RFC 2046 5.1.1), nothing else.
    const delimiter = line.replace(/[ \t]+$/, '');
    for (let i = this.open.length - 1; i >= 0; i--) {
      const b = this.open[i]!;
      if (delimiter === `--${b}--`) {
        this.open.length = i;
        break;
      }
      if (delimiter === `--${b}`) {
        this.open.length = i + 1;
        this.inHeaders = true;
        break;
      }
    }
  }
}

/** The nesting depth of a message held as text (tests and small inputs). */
export function multipartDepth(raw: string, stopAbove: number = MIME_LIMITS.multipartDepth): number {
  const scanner = new DepthScanner();
  for (const line of raw.split(/\r?\n/)) {
    scanner.line(line);
    if (scanner.max > stopAbove) break;
  }
  return scanner.max;
}

/** Streams a message through the depth scanner; throws as soon as it nests deeper than the limit. */
export async function checkDepth(source: Readable): Promise<void> {
  source.setEncoding('latin1');
  const lines = readline.createInterface({ input: source, crlfDelay: Infinity });
  const scanner = new DepthScanner();
  try {
    for await (const line of lines) {
      scanner.line(line);
      if (scanner.max > MIME_LIMITS.multipartDepth)
        throw new UnparseableMessage(`multipart parts nested more than ${MIME_LIMITS.multipartDepth} levels deep`);
    }
  } finally {
    lines.close();
    source.destroy();
  }
}
