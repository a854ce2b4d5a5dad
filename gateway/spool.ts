/**
 * The gateway's side of the inbound spool (domain/spool.ts, AUDITFLOW_GATEWAY_ACCEPT=spooled). `accept`
 * signals the message to its spool workflow (the 250 waits for that signal, so a 250 means the message is in
 * the evidence store and in Temporal); the message is then recorded here at once (a few at a time) and
 * reported done in batches. `sweep`, at start and every sweep interval, claims from every shard what no
 * gateway reported done within the grace period (a gateway died after its 250, Temporal or a worker was
 * down) and records it the same way. Recording is idempotent (a reply recorded twice is a duplicate), so a
 * message handled twice costs time, never a second answer.
 */
import { WorkflowNotFoundError } from '@temporalio/common';
import {
  spoolAcceptedSignal,
  spoolClaimUpdate,
  spoolDoneSignal,
  spoolWorkflowId,
  spoolWorkflowIds,
  SPOOL_LAST_CLAIM,
  type ClaimedEntry,
  type SpoolEntry,
  type SpoolEnvelope,
} from '../domain/spool';
import type { EvidenceRef } from '../domain/state';
import { oneLine } from '../platform/text';
import { Deferred, processInbound, temporal, TemporalUnavailable, type IntakeDeps, type IntakeOutcome } from './intake';
import { createSlots } from './slots';

/** At most this many messages in one accepted signal (a few hundred KiB of payload). */
const MAX_BATCH = 100;

/** Recording waits until no message has been accepted for this long (see maxYieldMs). */
const LULL_MS = 100;

export interface SpoolOptions {
  /** This gateway's name in the spool (who accepted, who claimed). */
  gateway: string;
  /**
   * A message not reported done this long after its 250 is claimed by the next sweep (default 60 s); a claim
   * holds twice as long (recording it, then the batched done report, must fit in it).
   */
  graceMs?: number;
  /** How often this gateway sweeps (default: the grace period). */
  sweepMs?: number;
  /** Messages accepted and not yet recorded by this gateway; past it the gateway answers 451 (default 500). */
  backlog?: number;
  /** The longest recording waits for a lull in accepting before it goes on anyway (default 2 s). */
  maxYieldMs?: number;
  /** Recorded at once, in parallel (default 1: recording must not starve accepting). */
  concurrency?: number;
  /** Where the spool says what it did (the gateway's log); otherwise the intake's log. */
  log?: (line: string) => void;
  /** Each outcome, once recorded (logs, metrics, tests). */
  onOutcome?: (entry: SpoolEntry, outcome: IntakeOutcome | { result: 'deferred'; reason: string }) => void;
}

export interface Spool {
  /** Signals the message to the spool; resolves once Temporal has it. Throws TemporalUnavailable or Deferred. */
  accept(ref: EvidenceRef, envelope: SpoolEnvelope): Promise<void>;
  /** Claims and records what waited past the grace period; resolves with how many it claimed. */
  sweep(): Promise<number>;
  /** Stops sweeping and waits for what this gateway is recording, and for the last done report. */
  close(): Promise<void>;
}

export function startSpool(deps: IntakeDeps, opts: SpoolOptions): Spool {
  const graceMs = opts.graceMs ?? 60_000;
  const maxYieldMs = opts.maxYieldMs ?? 2000;
  const backlog = opts.backlog ?? 500;
  const slots = createSlots(opts.concurrency ?? 1);
  const log = (message: string, fields: Record<string, unknown>) =>
    opts.log ? opts.log(`${message} ${JSON.stringify(fields)}`) : deps.log?.(message, fields);
  let pending = 0;
  let accepting = 0;
  let lastAccept = 0;
  let closed = false;
  const working = new Set<Promise<void>>();
  const done = new Map<string, string[]>();
  let flushing: Promise<void> = Promise.resolve();
  let flushTimer: NodeJS.Timeout | undefined;

  const flush = () => {
    flushTimer = undefined;
    const batches = [...done.entries()];
    done.clear();
    flushing = flushing.then(async () => {
      for (const [workflowId, shas] of batches) {
        try {
          await temporal(deps, () => deps.client.workflow.getHandle(workflowId).signal(spoolDoneSignal, shas));
        } catch (err) {
          // Not lost: the spool still holds them, and a sweep records them again (a duplicate, at worst).
          log('could not report spooled messages done; a sweep will see them again', {
            workflowId,
            count: shas.length,
            why: (err as Error).message,
          });
        }
      }
    });
  };
  const markDone = (sha256: string) => {
    const id = spoolWorkflowId(deps.taskQueue, sha256);
    const shas = done.get(id) ?? [];
    if (!shas.length) done.set(id, shas);
    shas.push(sha256);
    flushTimer ??= setTimeout(flush, 1000);
  };

  // Accepting comes first: a burst is taken with 250s while recording waits for a lull (at most
  // maxYieldMs at a time, so a steady stream is still recorded and the backlog answers 451 when full).
  const lull = async () => {
    const since = Date.now();
    while (!closed && (accepting > 0 || Date.now() - lastAccept < LULL_MS) && Date.now() - since < maxYieldMs)
      await new Promise((resolve) => setTimeout(resolve, LULL_MS));
  };

  const record = (entry: SpoolEntry, claims = 0) => {
    pending += 1;
    const run = slots
      .run(async () => {
        await lull();
        try {
          const lastTry = claims >= SPOOL_LAST_CLAIM ? { lastTry: { tries: claims + 1 } } : {};
          const outcome = await processInbound(entry.ref, entry.envelope, deps, lastTry);
          markDone(entry.ref.sha256);
          opts.onOutcome?.(entry, outcome);
        } catch (err) {
          // Left in the spool: the next sweep after the grace period tries again.
          const reason = oneLine(
            err instanceof Deferred || err instanceof TemporalUnavailable ? err.message : String(err),
          );
          log('spooled message not recorded yet; a sweep will try again', { sha256: entry.ref.sha256, reason });
          opts.onOutcome?.(entry, { result: 'deferred', reason });
        }
      })
      .finally(() => {
        pending -= 1;
        working.delete(run);
      });
    working.add(run);
  };

  const sweep = async (): Promise<number> => {
    let claimed = 0;
    for (const workflowId of spoolWorkflowIds(deps.taskQueue)) {
      let entries: ClaimedEntry[];
      try {
        entries = await temporal(deps, () =>
          deps.client.workflow.getHandle(workflowId).executeUpdate(spoolClaimUpdate, {
            args: [{ olderThanMs: graceMs, leaseMs: 2 * graceMs, claimant: opts.gateway, max: 100 }],
          }),
        );
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) continue;
        log('could not sweep the spool', { workflowId, why: (err as Error).message });
        continue;
      }
      if (entries.length)
        log('claimed spooled messages no gateway recorded in time', { workflowId, count: entries.length });
      for (const e of entries) record(e, e.claims);
      claimed += entries.length;
    }
    return claimed;
  };

  // Group commit: one signal per shard in flight; what arrives meanwhile goes, together, in the next one.
  // Every session in a batch waits for its signal, so each 250 still means Temporal has that message.
  const forming = new Map<string, SpoolEntry[]>();
  const lastSignal = new Map<string, Promise<void>>();
  const signalBatch = (workflowId: string, entries: SpoolEntry[]) =>
    temporal(deps, () =>
      deps.client.workflow
        .getHandle(workflowId)
        .signal(spoolAcceptedSignal, entries)
        .catch((err: unknown) => {
          // A shard runs for good once started: a plain signal, and a start only the first time.
          if (!(err instanceof WorkflowNotFoundError)) throw err;
          return deps.client.workflow.signalWithStart('inboundSpoolWorkflow', {
            workflowId,
            taskQueue: deps.taskQueue,
            args: [{}],
            signal: spoolAcceptedSignal,
            signalArgs: [entries],
            staticSummary: 'auditflow inbound spool: replies accepted with 250, waiting to be recorded',
          });
        }),
    ).then(() => undefined);
  const signalAccepted = (workflowId: string, entry: SpoolEntry): Promise<void> => {
    const batch = forming.get(workflowId);
    if (batch && batch.length < MAX_BATCH) {
      batch.push(entry);
      return lastSignal.get(workflowId)!;
    }
    const entries = [entry];
    forming.set(workflowId, entries);
    const sent = (lastSignal.get(workflowId) ?? Promise.resolve())
      .catch(() => undefined)
      .then(() => {
        forming.delete(workflowId);
        return signalBatch(workflowId, entries);
      });
    lastSignal.set(workflowId, sent);
    return sent;
  };

  let sweepTimer: NodeJS.Timeout | undefined;
  let sweeping: Promise<unknown> = Promise.resolve();
  const tick = () => {
    sweeping = sweep().finally(() => {
      if (!closed) sweepTimer = setTimeout(tick, opts.sweepMs ?? graceMs);
    });
  };
  tick();

  return {
    async accept(ref, envelope) {
      if (pending >= backlog)
        throw new Deferred(
          `the spool backlog is full (${pending} messages accepted and not yet recorded here)`,
          '4.3.2 Too many messages waiting to be recorded; please try again later',
        );
      const entry: SpoolEntry = { ref, envelope, acceptedAt: new Date().toISOString(), gateway: opts.gateway };
      accepting += 1;
      lastAccept = Date.now();
      await signalAccepted(spoolWorkflowId(deps.taskQueue, ref.sha256), entry).finally(() => {
        accepting -= 1;
        lastAccept = Date.now();
      });
      record(entry);
    },
    sweep,
    async close() {
      closed = true;
      clearTimeout(sweepTimer);
      await sweeping;
      while (working.size) await Promise.all([...working]);
      clearTimeout(flushTimer);
      flush();
      await flushing;
    },
  };
}
