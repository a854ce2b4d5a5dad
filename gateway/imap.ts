/**
 * The IMAP mailbox poller (imapflow): watches a folder (IDLE, with a polling fallback), runs each
 * message through the same pipeline as SMTP, and moves it to `Processed` (recorded) or `Quarantine`
 * (kept in triage) only after the outcome is recorded in Temporal. A crash in between leaves the message
 * in the folder; it is processed again and the demand counts the duplicate once.
 */
import { ImapFlow } from 'imapflow';
import { processInbound, TemporalUnavailable, type IntakeDeps } from './intake';

export interface ImapPollerOptions {
  url: string;
  folder: string;
  processed: string;
  quarantine: string;
  pollSeconds: number;
  intake: IntakeDeps;
  log: (line: string) => void;
  /** Accept a self-signed certificate (tests against a local server only). */
  insecureTls?: boolean;
}

export interface ImapPoller {
  /** Runs one pass now (also runs on IDLE notifications and every pollSeconds). */
  poll(): Promise<{ recorded: number; triaged: number; deferred: number }>;
  close(): Promise<void>;
}

function recipientsFromHeaders(raw: Buffer): string[] {
  const end = raw.indexOf('\r\n\r\n');
  const head = raw.subarray(0, end === -1 ? Math.min(raw.length, 64 * 1024) : end).toString('latin1');
  return [...head.matchAll(/^(?:delivered-to|x-original-to|envelope-to):\s*<?([^>\s]+)>?/gim)].map((m) => m[1]!.toLowerCase());
}

/** Connects, makes sure the destination folders exist, and starts watching. */
export async function startImapPoller(opts: ImapPollerOptions): Promise<ImapPoller> {
  const u = new URL(opts.url);
  const secure = u.protocol === 'imaps:';
  const client = new ImapFlow({
    host: u.hostname,
    port: Number(u.port || (secure ? 993 : 143)),
    secure,
    auth: { user: decodeURIComponent(u.username), pass: decodeURIComponent(u.password) },
    logger: false,
    ...(opts.insecureTls ? { tls: { rejectUnauthorized: false } } : {}),
  });
  await client.connect();
  for (const folder of [opts.processed, opts.quarantine]) {
    try {
      await client.mailboxCreate(folder);
    } catch (err) {
      // Already there is fine; anything else will show on the first move.
      if (!/exist/i.test(String((err as { responseText?: string }).responseText ?? (err as Error).message))) opts.log(`IMAP: could not create ${folder}: ${(err as Error).message}`);
    }
  }

  let running: Promise<{ recorded: number; triaged: number; deferred: number }> | undefined;
  let again = false;
  let closed = false;

  const pass = async () => {
    const counts = { recorded: 0, triaged: 0, deferred: 0 };
    const lock = await client.getMailboxLock(opts.folder);
    try {
      const uids = (await client.search({ all: true }, { uid: true })) || [];
      for (const uid of uids) {
        if (closed) break;
        const msg = await client.fetchOne(String(uid), { source: true }, { uid: true });
        if (!msg || !msg.source) continue;
        try {
          const outcome = await processInbound(msg.source, { channel: 'imap', rcptTo: recipientsFromHeaders(msg.source) }, opts.intake);
          // Only now, with the outcome recorded in Temporal, does the message leave the folder.
          await client.messageMove(String(uid), outcome.result === 'recorded' ? opts.processed : opts.quarantine, { uid: true });
          counts[outcome.result === 'recorded' ? 'recorded' : 'triaged'] += 1;
          opts.log(`IMAP uid ${uid}: ${outcome.result === 'recorded' ? `recorded for ${outcome.demandId}` : `kept for triage: ${outcome.reason}`}`);
        } catch (err) {
          if (!(err instanceof TemporalUnavailable)) throw err;
          counts.deferred += 1;
          opts.log(`IMAP uid ${uid}: left in ${opts.folder}, ${err.message}`);
          break;
        }
      }
    } finally {
      lock.release();
    }
    return counts;
  };

  const poll = async (): Promise<{ recorded: number; triaged: number; deferred: number }> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      let total = { recorded: 0, triaged: 0, deferred: 0 };
      do {
        again = false;
        const c = await pass();
        total = { recorded: total.recorded + c.recorded, triaged: total.triaged + c.triaged, deferred: total.deferred + c.deferred };
      } while (again && !closed);
      return total;
    })().finally(() => (running = undefined));
    return running;
  };

  const tick = () => {
    if (!closed) poll().catch((err: Error) => opts.log(`IMAP pass failed: ${err.message}`));
  };
  client.on('exists', tick);
  client.on('error', (err: Error) => opts.log(`IMAP error: ${err.message}`));
  const timer = setInterval(tick, opts.pollSeconds * 1000);
  tick();
  return {
    poll,
    async close() {
      closed = true;
      clearInterval(timer);
      await running?.catch(() => undefined);
      await client.logout().catch(() => undefined);
    },
  };
}
