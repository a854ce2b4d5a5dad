/**
 * The local outbound mail catcher: a real SMTP server that stores every message it receives as an
 * `.eml` file, so that by default nothing auditflow sends ever leaves the machine.
 */
import fs from 'node:fs';
import path from 'node:path';
import { SMTPServer } from 'smtp-server';

export interface MailCatcherOptions {
  /** Folder for the `.eml` files (created if missing). */
  dir: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Biggest message accepted, in bytes (552 above it). */
  maxBytes?: number;
  log?: (line: string) => void;
}

export interface CaughtMail {
  file: string;
  messageId?: string;
  envelope: { from: string; to: string[] };
}

export interface MailCatcher {
  host: string;
  port: number;
  dir: string;
  /** Resolves with each stored message, in arrival order. */
  onStored(listener: (mail: CaughtMail) => void): void;
  close(): Promise<void>;
}

/** Writes a file durably: temp file, fsync, rename, so a reader never sees half a message. */
export function writeFileDurably(file: string, data: Buffer): void {
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, 'w', 0o600);
  try {
    fs.writeSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

function headerValue(raw: Buffer, name: string): string | undefined {
  const end = raw.indexOf('\r\n\r\n');
  const head = raw.subarray(0, end === -1 ? Math.min(raw.length, 64 * 1024) : end).toString('latin1');
  const m = new RegExp(`^${name}:[ \\t]*(.*(?:\\r\\n[ \\t].*)*)`, 'im').exec(head);
  return m?.[1]?.replace(/\r\n[ \t]+/g, ' ').trim();
}

/** Starts the catcher; the returned object knows the bound port. */
export async function startMailCatcher(opts: MailCatcherOptions): Promise<MailCatcher> {
  fs.mkdirSync(opts.dir, { recursive: true });
  const maxBytes = opts.maxBytes ?? 50 * 1024 * 1024;
  const listeners: ((m: CaughtMail) => void)[] = [];
  let seq = 0;
  const server = new SMTPServer({
    // A local catcher on loopback: no TLS, no AUTH, nothing relayed anywhere.
    disabledCommands: ['STARTTLS', 'AUTH'],
    authOptional: true,
    size: maxBytes,
    logger: false,
    banner: 'auditflow mail catcher (stores, never relays)',
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        if (stream.sizeExceeded) {
          const err = Object.assign(new Error(`message exceeds ${maxBytes} bytes`), { responseCode: 552 });
          return callback(err);
        }
        try {
          const raw = Buffer.concat(chunks);
          const messageId = headerValue(raw, 'Message-ID');
          const safeId = (messageId ?? 'no-message-id').replace(/^<|>$/g, '').replace(/[^A-Za-z0-9._@+-]/g, '_').slice(0, 120);
          const stamp = new Date().toISOString().replace(/[:.]/g, '-');
          const file = path.join(opts.dir, `${stamp}-${String(++seq).padStart(4, '0')}-${safeId}.eml`);
          writeFileDurably(file, raw);
          const mail: CaughtMail = {
            file,
            messageId,
            envelope: {
              from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
              to: session.envelope.rcptTo.map((r) => r.address),
            },
          };
          opts.log?.(`stored ${path.basename(file)} to ${mail.envelope.to.join(', ')}`);
          for (const l of listeners) l(mail);
          callback();
        } catch (err) {
          // A disk problem is transient from the sender's point of view: it must retry, not bounce.
          callback(Object.assign(new Error(`could not store message: ${(err as Error).message}`), { responseCode: 451 }));
        }
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
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : (opts.port ?? 0);
  return {
    host,
    port,
    dir: opts.dir,
    onStored: (l) => listeners.push(l),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
