/**
 * The inbound SMTP gateway (smtp-server): accepts mail only for the reply domain, refuses unknown or
 * forged reply addresses at RCPT (550), enforces the size limit (552, stream drained), and answers 250
 * only once the message is recorded in Temporal (as an answer, or kept in triage), or, spooled, once the
 * spool has it (gateway/spool.ts). The message is
 * streamed to the evidence store as it arrives (bounded memory per message, whatever its size); one
 * client address may hold only a few connections, and idle ones are closed, so nobody can starve the
 * rest. When Temporal cannot be reached, or the message cannot be handled now (parsing ran out of
 * time, the review inbox is full), it answers 451, so the sending server retries; it never answers
 * 5xx for a transient fault.
 */
import fs from 'node:fs';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import { checkRecipient } from './route';
import { Deferred, processInbound, TemporalUnavailable, type IntakeDeps } from './intake';
import { StorageUnavailable } from '../platform/storage';
import type { Spool } from './spool';

export interface SmtpGatewayOptions {
  host: string;
  port: number;
  maxBytes: number;
  tls?: { key: string; cert: string };
  name: string;
  intake: IntakeDeps;
  log: (line: string) => void;
  /** Connections at once, in all and from one client address (defaults 200 and 20). */
  maxClients?: number;
  maxClientsPerAddress?: number;
  /** A connection idle this long is closed (default 60 s). */
  idleTimeoutMs?: number;
  /** Spooled acceptance (AUDITFLOW_GATEWAY_ACCEPT=spooled): 250 once the spool has the message. */
  spool?: Spool;
  /** Called after each message with its SMTP answer (tests, benchmarks). */
  onAnswered?: (answer: { code: number; message: string; session: string }) => void;
}

export interface SmtpGateway {
  port: number;
  close(): Promise<void>;
}

const smtpError = (code: number, message: string) => Object.assign(new Error(message), { responseCode: code });

/** Starts the gateway; resolves once it listens. */
export async function startSmtpGateway(opts: SmtpGatewayOptions): Promise<SmtpGateway> {
  const recipientSettings = () => ({
    hmac: opts.intake.hmac,
    replyDomain: opts.intake.replyDomain,
    replyLocalPart: opts.intake.replyLocalPart,
    now: Date.now(),
  });
  const perAddress = new Map<string, number>();
  const maxPerAddress = opts.maxClientsPerAddress ?? 20;
  const server = new SMTPServer({
    name: opts.name,
    banner: 'auditflow reply gateway',
    size: opts.maxBytes,
    authOptional: true,
    disabledCommands: opts.tls ? ['AUTH'] : ['AUTH', 'STARTTLS'],
    ...(opts.tls ? { key: fs.readFileSync(opts.tls.key), cert: fs.readFileSync(opts.tls.cert) } : {}),
    maxClients: opts.maxClients ?? 200,
    socketTimeout: opts.idleTimeoutMs ?? 60_000,
    logger: false,
    disableReverseLookup: true,
    onConnect(session, callback) {
      const n = (perAddress.get(session.remoteAddress) ?? 0) + 1;
      if (n > maxPerAddress) {
        opts.log(`421 to ${session.remoteAddress}: ${n - 1} connections already open from that address`);
        return callback(smtpError(421, `4.7.0 Too many connections from ${session.remoteAddress}; try again later`));
      }
      perAddress.set(session.remoteAddress, n);
      (session as SMTPServerSession & { counted?: boolean }).counted = true;
      return callback();
    },
    onClose(session) {
      if (!(session as SMTPServerSession & { counted?: boolean }).counted) return;
      const n = (perAddress.get(session.remoteAddress) ?? 1) - 1;
      if (n <= 0) perAddress.delete(session.remoteAddress);
      else perAddress.set(session.remoteAddress, n);
    },
    onRcptTo(address, session, callback) {
      if (session.envelope.rcptTo.length >= 20) {
        opts.intake.metrics?.rcptRefused('too-many');
        return callback(smtpError(452, '4.5.3 Too many recipients'));
      }
      const check = checkRecipient(address.address, recipientSettings());
      if (check.ok) return callback();
      const code = check.problem === 'foreign' ? '5.7.1 Relaying denied' : '5.1.1 Mailbox unavailable';
      opts.intake.metrics?.rcptRefused(check.problem);
      opts.log(`refused RCPT ${address.address.slice(0, 200)} from ${session.remoteAddress}: ${check.reason}`);
      return callback(smtpError(550, `${code}: ${check.reason}`));
    },
    onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback) {
      const answer = (code: number, message: string, err?: Error) => {
        opts.onAnswered?.({ code, message, session: session.id });
        callback(err ?? null, code === 250 ? message : undefined);
      };
      const handle = async () => {
        // Streamed to the evidence store as it arrives; past the limit the rest is read and dropped.
        const stored = await opts.intake.evidence.putStream(
          stream,
          { contentType: 'message/rfc822' },
          { maxBytes: opts.maxBytes },
        );
        if (stored.exceeded || stream.sizeExceeded || !stored.ref) {
          opts.log(`refused a message over ${opts.maxBytes} bytes from ${session.remoteAddress}`);
          opts.intake.metrics?.inbound('smtp', 'too-big');
          return answer(
            552,
            '5.3.4 Message too big',
            smtpError(552, `5.3.4 Message exceeds the limit of ${opts.maxBytes} bytes`),
          );
        }
        const envelope = {
          channel: 'smtp' as const,
          ...(session.envelope.mailFrom ? { mailFrom: session.envelope.mailFrom.address } : {}),
          rcptTo: session.envelope.rcptTo.map((r) => r.address),
          remoteAddress: session.remoteAddress,
          helo: session.hostNameAppearsAs,
        };
        if (opts.spool) {
          // Spooled: in the evidence store and in Temporal is enough for the 250; recording follows (gateway/spool.ts).
          await opts.spool.accept(stored.ref, envelope).catch((err: unknown) => {
            opts.intake.metrics?.inbound('smtp', 'deferred');
            throw err;
          });
          opts.intake.metrics?.inbound('smtp', 'spooled');
          opts.log(`accepted message ${stored.ref.sha256.slice(0, 12)} from ${session.remoteAddress} into the spool`);
          return answer(250, `2.0.0 Accepted for recording (${stored.ref.sha256.slice(0, 12)})`);
        }
        const outcome = await processInbound(stored.ref, envelope, opts.intake);
        const text =
          outcome.result === 'triaged'
            ? `2.0.0 Kept for review (${outcome.id})`
            : outcome.duplicate
              ? `2.0.0 Already recorded for ${outcome.demandId} (${outcome.kind})`
              : `2.0.0 Recorded for ${outcome.demandId} (${outcome.kind})`;
        opts.log(
          `${outcome.result === 'recorded' ? 'recorded' : 'kept for triage'} message from ${session.remoteAddress}: ` +
            `${outcome.result === 'recorded' ? `${outcome.demandId} ${outcome.itemIds.join(',')} ${outcome.kind}` : outcome.reason}`,
        );
        answer(250, text);
      };
      handle().catch((err: Error) => {
        // Anything unexpected is transient for the sender: it must retry, we must not lose it.
        const why =
          err instanceof TemporalUnavailable || err instanceof Deferred || err instanceof StorageUnavailable
            ? err.message
            : `internal error: ${err.message}`;
        opts.log(`451 to ${session.remoteAddress}: ${why}`);
        const text =
          err instanceof Deferred
            ? err.smtpText
            : err instanceof StorageUnavailable
              ? '4.3.0 Storage temporarily unavailable; the message was not recorded, please try again later'
              : '4.3.0 Temporarily unable to record the message; please try again later';
        answer(451, why, smtpError(451, text));
      });
    },
  });
  server.on('error', (err) => opts.log(`error: ${err.message}`));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const addr = server.server.address();
  return {
    port: typeof addr === 'object' && addr ? addr.port : opts.port,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
