/**
 * A real SMTP server for tests (smtp-server on port 0): keeps every message it receives, raw and
 * parsed, so tests assert on the email that actually arrived. Waits are on conditions, never sleeps.
 */
import { SMTPServer } from 'smtp-server';
import { simpleParser, type ParsedMail } from 'mailparser';

export interface ReceivedMail {
  raw: Buffer;
  parsed: ParsedMail;
  envelope: { from: string; to: string[] };
  /** Value of a header, lower-cased name. */
  header(name: string): string | undefined;
}

export interface SmtpSink {
  port: number;
  url: string;
  messages: ReceivedMail[];
  /** Waits until `predicate(messages)` holds, or throws after `timeoutMs` with what was received. */
  waitFor(predicate: (m: ReceivedMail[]) => boolean, what: string, timeoutMs?: number): Promise<ReceivedMail[]>;
  /** Makes the next N deliveries fail with this SMTP code (4xx or 5xx). */
  failNext(count: number, code: number): void;
  close(): Promise<void>;
}

export async function startSmtpSink(): Promise<SmtpSink> {
  const messages: ReceivedMail[] = [];
  const waiters: (() => void)[] = [];
  let failures = { count: 0, code: 451 };
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS', 'AUTH'],
    authOptional: true,
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        if (failures.count > 0) {
          failures.count -= 1;
          return callback(Object.assign(new Error(`test sink refuses with ${failures.code}`), { responseCode: failures.code }));
        }
        const raw = Buffer.concat(chunks);
        simpleParser(raw).then(
          (parsed) => {
            messages.push({
              raw,
              parsed,
              envelope: { from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address) },
              header: (name: string) => {
                const v = parsed.headers.get(name.toLowerCase());
                return v === undefined ? undefined : typeof v === 'string' ? v : JSON.stringify(v);
              },
            });
            callback();
            for (const w of waiters.splice(0)) w();
          },
          (err) => callback(err as Error),
        );
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    messages,
    async waitFor(predicate, what, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(messages)) {
        const left = deadline - Date.now();
        if (left <= 0) {
          throw new Error(`timed out waiting for ${what}; received ${messages.length}: ${messages.map((m) => `${m.header('x-auditflow-kind')} -> ${m.envelope.to.join(',')} "${m.parsed.subject}"`).join(' | ')}`);
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
    failNext(count, code) {
      failures = { count, code };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
