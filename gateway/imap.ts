/**
 * The IMAP mailbox poller (imapflow): watches a folder (IDLE, with a polling fallback), runs each
 * message through the same pipeline as SMTP, and moves it to `Processed` (recorded) or `Quarantine`
 * (kept in triage) only after the outcome is recorded in Temporal. A crash in between leaves the message
 * in the folder; it is processed again and the demand counts the duplicate once. A lost connection is
 * re-opened on the next pass.
 */
import { ImapFlow } from 'imapflow';
import { Deferred, processInbound, TemporalUnavailable, type IntakeDeps } from './intake';
import { StorageUnavailable } from '../platform/storage';

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

/** What one or more passes did: moved after recording, moved after triage, left for Temporal, left after an error. */
export interface PassCounts {
  recorded: number;
  triaged: number;
  deferred: number;
  failed: number;
}

export interface ImapPoller {
  /** Runs one pass now (also runs on IDLE notifications and every pollSeconds). */
  poll(): Promise<PassCounts>;
  close(): Promise<void>;
}

function recipientsFromHeaders(raw: Buffer): string[] {
  const end = raw.indexOf('\r\n\r\n');
  const head = raw.subarray(0, end === -1 ? Math.min(raw.length, 64 * 1024) : end).toString('latin1');
  return [...head.matchAll(/^(?:delivered-to|x-original-to|envelope-to):\s*<?([^>\s]+)>?/gim)].map((m) =>
    m[1]!.toLowerCase(),
  );
}

function responseText(err: unknown): string {
  return String((err as { responseText?: string }).responseText ?? (err as Error).message);
}

const add = (a: PassCounts, b: PassCounts): PassCounts => ({
  recorded: a.recorded + b.recorded,
  triaged: a.triaged + b.triaged,
  deferred: a.deferred + b.deferred,
  failed: a.failed + b.failed,
});

/** Connects, makes sure the destination folders exist, and starts watching. */
export async function startImapPoller(opts: ImapPollerOptions): Promise<ImapPoller> {
  const u = new URL(opts.url);
  const secure = u.protocol === 'imaps:';
  let client: ImapFlow | undefined;
  let running: Promise<PassCounts> | undefined;
  let again = false;
  let closed = false;
  // Messages whose outcome is recorded but whose move failed: only the move is retried, so a stuck
  // move does not signal the demand again on every pass. Keyed by UIDVALIDITY and UID.
  const unmoved = new Map<string, string>();

  const ensureFolder = async (c: ImapFlow, folder: string) => {
    try {
      await c.mailboxCreate(folder);
    } catch (err) {
      // Already there is fine; anything else shows when a message is moved there.
      if (!/exist/i.test(responseText(err))) opts.log(`IMAP: could not create ${folder}: ${responseText(err)}`);
    }
  };

  const connect = async (): Promise<ImapFlow> => {
    const c = new ImapFlow({
      host: u.hostname,
      port: Number(u.port || (secure ? 993 : 143)),
      secure,
      auth: { user: decodeURIComponent(u.username), pass: decodeURIComponent(u.password) },
      logger: false,
      // Start IDLE a second after each pass instead of imapflow's 15 s, so new mail is seen at once.
      autoIdleDelay: 1000,
      ...(opts.insecureTls ? { tls: { rejectUnauthorized: false } } : {}),
    });
    c.on('exists', tick);
    c.on('error', (err: Error) => opts.log(`IMAP error: ${err.message}`));
    c.on('close', () => {
      if (client !== c) return;
      // imapflow never reconnects by itself: the next pass opens a new connection.
      client = undefined;
      if (!closed) {
        opts.log('IMAP connection closed; reconnecting');
        setTimeout(tick, 1000).unref();
      }
    });
    await c.connect();
    for (const folder of [opts.processed, opts.quarantine]) await ensureFolder(c, folder);
    client = c;
    return c;
  };

  /** Moves one message; a destination deleted since startup is created again. */
  const move = async (c: ImapFlow, uid: number, destination: string): Promise<boolean> => {
    if (await c.messageMove(String(uid), destination, { uid: true })) return true;
    if (!c.usable) return false;
    await ensureFolder(c, destination);
    return Boolean(await c.messageMove(String(uid), destination, { uid: true }));
  };

  const pass = async (): Promise<PassCounts> => {
    const counts: PassCounts = { recorded: 0, triaged: 0, deferred: 0, failed: 0 };
    const c = client ?? (await connect());
    const lock = await c.getMailboxLock(opts.folder);
    try {
      const validity = c.mailbox ? String(c.mailbox.uidValidity) : '';
      const uids = (await c.search({ all: true }, { uid: true })) || [];
      for (const uid of uids) {
        if (closed || !c.usable) break;
        const key = `${validity}:${uid}`;
        let destination = unmoved.get(key);
        let done: string;
        if (destination) {
          done = 'recorded earlier';
        } else {
          const msg = await c.fetchOne(String(uid), { source: true }, { uid: true });
          if (!msg || !msg.source) continue;
          try {
            const raw = await opts.intake.evidence.put(msg.source, { contentType: 'message/rfc822' });
            const outcome = await processInbound(
              raw,
              { channel: 'imap', rcptTo: recipientsFromHeaders(msg.source) },
              opts.intake,
            );
            destination = outcome.result === 'recorded' ? opts.processed : opts.quarantine;
            done =
              outcome.result === 'recorded' ? `recorded for ${outcome.demandId}` : `kept for triage: ${outcome.reason}`;
          } catch (err) {
            if (err instanceof TemporalUnavailable || err instanceof Deferred || err instanceof StorageUnavailable) {
              counts.deferred += 1;
              opts.log(`IMAP uid ${uid}: left in ${opts.folder}, ${err.message}`);
              break;
            }
            // One message that cannot be processed must not hold up the ones behind it.
            counts.failed += 1;
            opts.log(`IMAP uid ${uid}: left in ${opts.folder}, processing failed: ${(err as Error).message}`);
            continue;
          }
        }
        // Only now, with the outcome recorded in Temporal, does the message leave the folder.
        if (await move(c, uid, destination)) {
          unmoved.delete(key);
          counts[destination === opts.processed ? 'recorded' : 'triaged'] += 1;
          opts.log(`IMAP uid ${uid}: ${done}, moved to ${destination}`);
        } else {
          unmoved.set(key, destination);
          counts.failed += 1;
          opts.log(
            `IMAP uid ${uid}: ${done}, but the move to ${destination} failed; it stays in ${opts.folder} until a move succeeds`,
          );
        }
      }
    } finally {
      lock.release();
    }
    return counts;
  };

  const poll = async (): Promise<PassCounts> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      let total: PassCounts = { recorded: 0, triaged: 0, deferred: 0, failed: 0 };
      do {
        again = false;
        total = add(total, await pass());
      } while (again && !closed);
      return total;
    })().finally(() => (running = undefined));
    return running;
  };

  function tick(): void {
    if (!closed) poll().catch((err: Error) => opts.log(`IMAP pass failed: ${err.message}`));
  }

  await connect();
  const timer = setInterval(tick, opts.pollSeconds * 1000);
  tick();
  return {
    poll,
    async close() {
      closed = true;
      clearInterval(timer);
      await running?.catch(() => undefined);
      await client?.logout().catch(() => undefined);
    },
  };
}
