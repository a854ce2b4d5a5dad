/**
 * The one local SMTP server of every tool that receives auditflow's mail: the `npm start` mail catcher
 * (each message stored as an `.eml` file, so by default nothing leaves the machine), the tests' sink
 * (each message kept, parsed, so tests assert on the email that actually arrived), and the benchmark's
 * sinks (headers read, or the bare floor that only drains). Waits are on conditions, never sleeps.
 */
import fs from 'node:fs';
import path from 'node:path';
import { SMTPServer } from 'smtp-server';
import { simpleParser, type ParsedMail } from 'mailparser';
import { writeDurably } from '../../platform/storage-file';

/** One message as the sink received it. */
export interface ReceivedMail {
  raw: Buffer;
  /** Parsed by mailparser (only when the sink keeps parsed messages, as tests do). */
  parsed: ParsedMail;
  envelope: { from: string; to: string[] };
  /** Value of a header (name in any case), unfolded. */
  header(name: string): string | undefined;
  /** The `.eml` file it was stored as, when the sink stores files. */
  file?: string;
}

export interface SmtpSinkOptions {
  host?: string;
  /** 0 or omitted picks a free port. */
  port?: number;
  /** Biggest message accepted, in bytes (552 above it). */
  maxBytes?: number;
  banner?: string;
  /** Store each message durably as `<stamp>-<n>-<message-id>.eml` in this folder (the mail catcher). */
  dir?: string;
  /** `parsed` (default): keep every message in memory, parsed; `none`: keep nothing (listeners still hear of each). */
  keep?: 'parsed' | 'none';
  log?: (line: string) => void;
}

export interface SmtpSink {
  host: string;
  port: number;
  url: string;
  /** Every message kept so far (with `keep: 'parsed'`). */
  messages: ReceivedMail[];
  /** How many messages were accepted. */
  readonly count: number;
  /** Called with each accepted message, in arrival order. */
  onMail(listener: (mail: ReceivedMail) => void): void;
  /** Waits until `predicate(messages)` holds, or throws after `timeoutMs` with what was received. */
  waitFor(predicate: (m: ReceivedMail[]) => boolean, what: string, timeoutMs?: number): Promise<ReceivedMail[]>;
  /** Makes the next N deliveries fail with this SMTP code (4xx or 5xx). */
  failNext(count: number, code: number): void;
  close(): Promise<void>;
}

/** A header of a raw message, read without a MIME parser (the first occurrence, unfolded). */
export function rawHeader(raw: Buffer, name: string): string | undefined {
  const end = raw.indexOf('\r\n\r\n');
  const head = raw.subarray(0, end === -1 ? Math.min(raw.length, 64 * 1024) : end).toString('latin1');
  const m = new RegExp(`^${name}:[ \\t]*(.*(?:\\r?\\n[ \\t].*)*)`, 'im').exec(head);
  return m?.[1]?.replace(/\r?\n[ \t]+/g, ' ').trim();
}

const smtpError = (code: number, message: string) => Object.assign(new Error(message), { responseCode: code });

/** Starts a sink; resolves once it listens. */
export async function startSmtpSink(opts: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const keep = opts.keep ?? 'parsed';
  const maxBytes = opts.maxBytes ?? 50 * 1024 * 1024;
  const messages: ReceivedMail[] = [];
  const listeners: ((m: ReceivedMail) => void)[] = [];
  const waiters: (() => void)[] = [];
  let failures = { count: 0, code: 451 };
  let count = 0;
  if (opts.dir) fs.mkdirSync(opts.dir, { recursive: true });

  const store = (raw: Buffer): string | undefined => {
    if (!opts.dir) return undefined;
    const safeId = (rawHeader(raw, 'Message-ID') ?? 'no-message-id')
      .replace(/^<|>$/g, '')
      .replace(/[^A-Za-z0-9._@+-]/g, '_')
      .slice(0, 120);
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const file = path.join(opts.dir, `${stamp}-${String(count).padStart(4, '0')}-${safeId}.eml`);
    writeDurably(file, raw);
    return file;
  };

  const server = new SMTPServer({
    // A local sink on loopback: no TLS, no AUTH, nothing relayed anywhere.
    disabledCommands: ['STARTTLS', 'AUTH'],
    authOptional: true,
    size: maxBytes,
    logger: false,
    ...(opts.banner ? { banner: opts.banner } : {}),
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => {
        if (keep === 'parsed' || opts.dir || listeners.length) chunks.push(c);
      });
      stream.on('end', () => {
        if (stream.sizeExceeded) return callback(smtpError(552, `message exceeds ${maxBytes} bytes`));
        if (failures.count > 0) {
          failures.count -= 1;
          return callback(smtpError(failures.code, `test sink refuses with ${failures.code}`));
        }
        const raw = Buffer.concat(chunks);
        const envelope = {
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
        };
        const deliver = (parsed: ParsedMail | undefined) => {
          count += 1;
          let file: string | undefined;
          try {
            file = store(raw);
          } catch (err) {
            // A disk problem is transient from the sender's point of view: it must retry, not bounce.
            return callback(smtpError(451, `could not store message: ${(err as Error).message}`));
          }
          const mail: ReceivedMail = {
            raw,
            parsed: parsed as ParsedMail,
            envelope,
            header: (name) => rawHeader(raw, name),
            ...(file ? { file } : {}),
          };
          if (keep === 'parsed') messages.push(mail);
          if (file) opts.log?.(`stored ${path.basename(file)} to ${envelope.to.join(', ')}`);
          callback();
          for (const l of listeners) l(mail);
          for (const w of waiters.splice(0)) w();
        };
        if (keep === 'parsed') simpleParser(raw).then(deliver, (err) => callback(err as Error));
        else deliver(undefined);
      });
    },
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => opts.log?.(`error: ${err.message}`));
  const addr = server.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : (opts.port ?? 0);
  return {
    host,
    port,
    url: `smtp://${host}:${port}`,
    messages,
    get count() {
      return count;
    },
    onMail: (l) => listeners.push(l),
    async waitFor(predicate, what, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(messages)) {
        const left = deadline - Date.now();
        if (left <= 0) {
          throw new Error(
            `timed out waiting for ${what}; received ${messages.length}: ${messages.map((m) => `${m.header('x-auditflow-kind')} -> ${m.envelope.to.join(',')} "${m.parsed?.subject}"`).join(' | ')}`,
          );
        }
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, Math.min(left, 250));
          waiters.push(() => {
            clearTimeout(t);
            resolve();
          });
        });
      }
      return messages;
    },
    failNext(n, code) {
      failures = { count: n, code };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
