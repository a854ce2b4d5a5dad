/**
 * A shard of the inbound spool (domain/spool.ts): holds what a gateway accepted with 250 until a gateway
 * reports it recorded (or kept for triage). It runs no activity: gateways claim what waits too long through
 * its spoolClaim update and record it themselves. Continues as new when the server suggests it, carrying
 * what still waits.
 */
import { allHandlersFinished, condition, continueAsNew, setHandler, workflowInfo } from '@temporalio/workflow';
import {
  spoolAcceptedSignal,
  spoolClaimUpdate,
  spoolDoneSignal,
  spoolQuery,
  type ClaimedEntry,
  type SpoolState,
} from '../domain/spool';

export interface SpoolInput {
  carried?: SpoolState;
}

export async function inboundSpoolWorkflow(input: SpoolInput = {}): Promise<void> {
  const state: SpoolState = input.carried ?? { entries: [], done: 0 };
  const index = new Map(state.entries.map((e) => [e.ref.sha256, e]));
  setHandler(spoolAcceptedSignal, (entries) => {
    for (const entry of entries) {
      // The same bytes accepted twice (a sender's retry after a lost 250) wait once.
      if (index.has(entry.ref.sha256)) continue;
      const kept = { ...entry, claims: 0 };
      state.entries.push(kept);
      index.set(entry.ref.sha256, kept);
    }
  });
  setHandler(spoolDoneSignal, (shas) => {
    const gone = new Set(shas.filter((s) => index.delete(s)));
    if (gone.size === 0) return;
    state.entries = state.entries.filter((e) => !gone.has(e.ref.sha256));
    state.done += gone.size;
  });
  setHandler(spoolClaimUpdate, (claim): ClaimedEntry[] => {
    const now = Date.now();
    const out: ClaimedEntry[] = [];
    for (const e of state.entries) {
      if (out.length >= claim.max) break;
      const since = Date.parse(e.claimedAt ?? e.acceptedAt);
      const wait = e.claimedAt ? claim.leaseMs : claim.olderThanMs;
      if (now - since < wait) continue;
      e.claimedAt = new Date(now).toISOString();
      e.claims += 1;
      out.push({ ref: e.ref, envelope: e.envelope, acceptedAt: e.acceptedAt, gateway: e.gateway, claims: e.claims });
    }
    return out;
  });
  setHandler(spoolQuery, () => ({
    waiting: state.entries.map((e) => ({
      sha256: e.ref.sha256,
      acceptedAt: e.acceptedAt,
      gateway: e.gateway,
      claims: e.claims,
    })),
    done: state.done,
  }));
  await condition(() => workflowInfo().continueAsNewSuggested);
  await condition(allHandlersFinished);
  await continueAsNew<typeof inboundSpoolWorkflow>({ carried: state });
}
