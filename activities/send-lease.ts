/**
 * How long a send's claim in the ledger lasts, and keeping it while the attempt lives. A send scheduled
 * with a heartbeat timeout (H) heartbeats while it works and renews its claim's lease (H/2) with every
 * beat, so a live attempt keeps its claim however long SMTP takes, and a dead one's lapses at most H/2
 * after it died. Temporal retries a dead attempt H after the last beat it heard (the SDK sends beats at
 * most 0.8 H apart, so no sooner than 0.2 H after the death) plus the retry's first interval (5 s): by
 * then the claim has lapsed and the retry takes it over at once. A send scheduled without a heartbeat
 * timeout (before it was set) keeps a lease as long as its start-to-close timeout and no renewals, as before.
 */
import { Context, log } from '@temporalio/activity';
import type { Storage } from '../platform/storage';

/** The lease a claim of the running attempt gets, and whether the attempt renews it as it works. */
export function leaseFor(info: { heartbeatTimeoutMs?: number; startToCloseTimeoutMs: number } | undefined): {
  leaseMs: number;
  renewEveryMs?: number;
} {
  const heartbeatMs = info?.heartbeatTimeoutMs ?? 0;
  if (heartbeatMs > 0) return { leaseMs: heartbeatMs / 2, renewEveryMs: heartbeatMs / 6 };
  return { leaseMs: info?.startToCloseTimeoutMs || 120_000 };
}

/** Tells Temporal the attempt is alive and what it is doing (shown as the pending activity's heartbeat details). */
function beat(phase: string): void {
  try {
    Context.current().heartbeat({ phase });
  } catch {
    // Outside an activity (a script calling the function directly) there is nobody to tell.
  }
}

/** Whether Temporal has cancelled this attempt (timed out, so a retry may be running, or the demand cancelled). */
export function attemptCancelled(): boolean {
  try {
    return Context.current().cancellationSignal.aborted;
  } catch {
    return false;
  }
}

/**
 * The attempt's heartbeat: every `everyMs` it beats with the current phase and renews the held claim. It
 * never beats at once: each heartbeat Temporal records is a state transition of the workflow (and an action
 * billed by Temporal Cloud), and most sends end in well under `everyMs`, so they cost none. A worker that
 * dies before its first beat is still caught, since the heartbeat timeout runs from the attempt's start.
 */
export interface Pulse {
  /** Names what the attempt does now (the next beat's details). */
  enter(phase: string): void;
  /** The claim to renew with each beat, once there is one. */
  claim?: HeldClaim;
  stop(): void;
}

/** Starts the attempt's heartbeat; without `everyMs` (no heartbeat timeout) it neither beats nor renews. */
export function startPulse(everyMs: number | undefined): Pulse {
  let phase = 'prepare';
  const timer =
    everyMs &&
    setInterval(() => {
      beat(phase);
      void pulse.claim?.renew();
    }, everyMs);
  const pulse: Pulse = {
    enter(next) {
      phase = next;
    },
    stop: () => {
      if (timer) clearInterval(timer);
    },
  };
  return pulse;
}

/** A ledger record this attempt has claimed: every write is conditional on the last ETag and they go one at a time. */
export interface HeldClaim {
  /** Writes the claim again with a fresh lease (a failed renewal is logged; the lease check catches it). */
  renew(): Promise<void>;
  /** True while the claim is still this attempt's and its lease has not lapsed. */
  live(): Promise<boolean>;
  /** Writes the claim's final state (no renewal follows); false when somebody took the claim over meanwhile. */
  settle(record: object): Promise<boolean>;
}

/** Holds a claim just written with `etag`; `record(leaseUntil)` is what each renewal writes. */
export function holdClaim(
  storage: Storage,
  key: string,
  first: { etag: string; leaseUntil: number },
  o: { leaseMs: number; record: (leaseUntil: number) => object },
): HeldClaim {
  let etag = first.etag;
  let leaseUntil = first.leaseUntil;
  let lost = false;
  let settled = false;
  let queue: Promise<unknown> = Promise.resolve();
  const write = (body: object) =>
    storage.put(key, Buffer.from(JSON.stringify(body)), { contentType: 'application/json', ifMatch: etag });
  const serial = <T>(step: () => Promise<T>): Promise<T> => {
    const next = queue.then(step);
    queue = next.catch(() => undefined);
    return next;
  };
  return {
    renew: () =>
      serial(async () => {
        if (lost || settled) return;
        const until = Date.now() + o.leaseMs;
        try {
          const r = await write(o.record(until));
          if (r.ok) [etag, leaseUntil] = [r.etag, until];
          else lost = true;
        } catch (err) {
          log.warn('could not renew the claim on a send; its lease may lapse', { key, error: String(err) });
        }
      }),
    live: () => serial(async () => !lost && Date.now() < leaseUntil),
    settle: (record) =>
      serial(async () => {
        settled = true;
        if (lost) return false;
        const r = await write(record);
        if (r.ok) etag = r.etag;
        return r.ok;
      }),
  };
}
