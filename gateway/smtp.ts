/**
 * The inbound SMTP gateway (smtp-server): accepts mail only for the reply domain, refuses unknown or
 * forged reply addresses at RCPT (550), enforces the size limit (552, stream drained), and answers 250
 * only once the message is recorded in Temporal (as an answer, or kept in triage). When Temporal cannot
 * be reached it answers 451, so the sending server retries; it never answers 5xx for a transient fault.
 */
import fs from 'node:fs';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import { checkRecipient } from './route';
import { processInbound, TemporalUnavailable, type IntakeDeps } from './intake';

export interface SmtpGatewayOptions {
  host: string;
  port: number;
  maxBytes: number;
  tls?: { key: string; cert: string };
  name: string;
  intake: IntakeDeps;
  log: (line: string) => void;
  /** Called after each message with its SMTP answer (tests, benchmarks). */
  onAnswered?: (answer: { code: number; message: string; session: string }) => void;
}

export interface SmtpGateway {
  port: number;
  close(): Promise<void>;
}

const smtpError = (code: number, message: string) => Object.assign(new Error(message), { responseCode: code });

function readAll(stream: SMTPServerDataStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => {
      // Past the limit the bytes are read and dropped (the stream must be drained), never kept.
      if (!stream.sizeExceeded) chunks.push(c);
    });
    stream.once('end', () => resolve(Buffer.concat(chunks)));
    stream.once('error', reject);
  });
}

/** Starts the gateway; resolves once it listens. */
export async function startSmtpGateway(opts: SmtpGatewayOptions): Promise<SmtpGateway> {
  const recipientSettings = () => ({ hmac: opts.intake.hmac, replyDomain: opts.intake.replyDomain, replyLocalPart: opts.intake.replyLocalPart, now: Date.now() });
  const server = new SMTPServer({
    name: opts.name,
    banner: 'auditflow reply gateway',
    size: opts.maxBytes,
    authOptional: true,
    disabledCommands: opts.tls ? ['AUTH'] : ['AUTH', 'STARTTLS'],
    ...(opts.tls ? { key: fs.readFileSync(opts.tls.key), cert: fs.readFileSync(opts.tls.cert) } : {}),
    maxClients: 100,
    socketTimeout: 120_000,
    logger: false,
    disableReverseLookup: true,
    onRcptTo(address, session, callback) {
      if (session.envelope.rcptTo.length >= 20) return callback(smtpError(452, '4.5.3 Too many recipients'));
      const check = checkRecipient(address.address, recipientSettings());
      if (check.ok) return callback();
      const code = check.problem === 'foreign' ? '5.7.1 Relaying denied' : '5.1.1 Mailbox unavailable';
      opts.log(`refused RCPT ${address.address.slice(0, 200)} from ${session.remoteAddress}: ${check.reason}`);
      return callback(smtpError(550, `${code}: ${check.reason}`));
    },
    onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback) {
      readAll(stream).then(
        async (raw) => {
          const answer = (code: number, message: string, err?: Error) => {
            opts.onAnswered?.({ code, message, session: session.id });
            callback(err ?? null, code === 250 ? message : undefined);
          };
          if (stream.sizeExceeded) {
            opts.log(`refused a message over ${opts.maxBytes} bytes from ${session.remoteAddress}`);
            return answer(552, '5.3.4 Message too big', smtpError(552, `5.3.4 Message exceeds the limit of ${opts.maxBytes} bytes`));
          }
          try {
            const outcome = await processInbound(
              raw,
              {
                channel: 'smtp',
                ...(session.envelope.mailFrom ? { mailFrom: session.envelope.mailFrom.address } : {}),
                rcptTo: session.envelope.rcptTo.map((r) => r.address),
                remoteAddress: session.remoteAddress,
                helo: session.hostNameAppearsAs,
              },
              opts.intake,
            );
            const text = outcome.result === 'recorded' ? `2.0.0 Recorded for ${outcome.demandId} (${outcome.kind})` : `2.0.0 Kept for review (${outcome.id})`;
            opts.log(`${outcome.result === 'recorded' ? 'recorded' : 'kept for triage'} message from ${session.remoteAddress}: ${outcome.result === 'recorded' ? `${outcome.demandId} ${outcome.itemIds.join(',')} ${outcome.kind}` : outcome.reason}`);
            answer(250, text);
          } catch (err) {
            // Anything unexpected is transient for the sender: it must retry, we must not lose it.
            const why = err instanceof TemporalUnavailable ? err.message : `internal error: ${(err as Error).message}`;
            opts.log(`451 to ${session.remoteAddress}: ${why}`);
            answer(451, why, smtpError(451, '4.3.0 Temporarily unable to record the message; please try again later'));
          }
        },
        (err: Error) => callback(smtpError(451, `4.3.0 ${err.message}`)),
      );
    },
  });
  server.on('error', (err) => opts.log(`error: ${err.message}`));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const addr = server.server.address();
  return { port: typeof addr === 'object' && addr ? addr.port : opts.port, close: () => new Promise<void>((r) => server.close(() => r())) };
}
