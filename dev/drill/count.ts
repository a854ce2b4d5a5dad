/**
 * Counting lost and duplicated email after a drill, from three independent sources: what the demand
 * should have sent (the workflow's own dry run for an unanswered demand, the same code `auditflow plan`
 * uses, plus every message the workflow recorded), the send ledger (idempotency key -> deterministic
 * Message-ID), and what actually arrived at the real SMTP sink.
 *
 * - lost: an expected logical email (idempotency key) whose Message-ID never arrived.
 * - duplicated: extra arrivals of one Message-ID (allowed only as byte-identical copies).
 * - differing: a Message-ID that arrived twice with different bytes (never allowed).
 * - unexpected: an arrival no expected key accounts for (a second logical email for one step).
 */
import type { DemandStatusView } from '../../domain/state';
import type { ReceivedMail } from '../support/smtp-sink';
import { dryRunUnanswered } from '../../workflows/dry-run';
import type { DrillDemand } from './stack';
import type { Storage } from '../../platform/storage';

export interface Tally {
  expected: number;
  arrived: number;
  lost: number;
  duplicated: number;
  differing: number;
  unexpected: number;
  /** A few examples of what went wrong, for the report. */
  examples: string[];
}

/** idempotency key -> Message-ID, from the send ledger's records in the storage. */
export async function readLedger(storage: Storage): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const key of await storage.list('mail/ledger/')) {
    if (!key.endsWith('.json')) continue;
    try {
      const r = JSON.parse((await storage.get(key))!.body.toString('utf8')) as { key: string; messageId: string };
      out.set(r.key, r.messageId);
    } catch {
      // A torn record would be a ledger bug; the key then counts as lost unless the workflow recorded it.
    }
  }
  return out;
}

/** Counts against the sink. `finals` are the demands' last status views (their recorded messages). */
export function tally(
  demands: DrillDemand[],
  finals: Map<string, DemandStatusView>,
  ledger: Map<string, string>,
  arrivals: ReceivedMail[],
): Tally {
  const expected = new Map<string, string | undefined>(); // key -> Message-ID when known
  const notes: string[] = [];
  for (const d of demands) {
    const recorded = (finals.get(d.workflowId)?.messages ?? []).filter(
      (m) => m.direction === 'out' && m.key && m.status !== 'rejected',
    );
    for (const m of recorded) expected.set(m.key!, m.messageId ?? ledger.get(m.key!));
    if (!d.answered && d.startAt) {
      // A step fired late (after downtime) may carry another key than planned: match it by what it is.
      const planned = dryRunUnanswered({ spec: d.spec, workflowId: d.workflowId, startAt: d.startAt }).mails;
      const plannedKeys = new Set(planned.map((p) => p.key));
      const spare = recorded.filter((m) => !plannedKeys.has(m.key!));
      for (const mail of planned) {
        if (expected.has(mail.key)) continue;
        const i = spare.findIndex(
          (m) => m.kind === mail.kind && m.to[0] === mail.to.address && m.itemIds.join(',') === mail.itemIds.join(','),
        );
        if (i >= 0) {
          if (notes.length < 3) notes.push(`planned ${mail.key} was sent as ${spare[i]!.key}`);
          spare.splice(i, 1);
        } else expected.set(mail.key, ledger.get(mail.key));
      }
    }
  }
  const byId = new Map<string, ReceivedMail[]>();
  for (const m of arrivals) {
    const id = m.parsed.messageId ?? `<no Message-ID ${byId.size}>`;
    byId.set(id, [...(byId.get(id) ?? []), m]);
  }
  const examples: string[] = [...notes];
  let lost = 0;
  const expectedIds = new Set<string>();
  for (const [key, id] of expected) {
    if (id) expectedIds.add(id);
    if (!id || !byId.has(id)) {
      lost += 1;
      if (examples.length < 5) examples.push(`lost: ${key}${id ? ` (${id})` : ' (never sent)'}`);
    }
  }
  let duplicated = 0;
  let differing = 0;
  let unexpected = 0;
  for (const [id, copies] of byId) {
    duplicated += copies.length - 1;
    const different = copies.filter((c) => !c.raw.equals(copies[0]!.raw)).length;
    differing += different;
    if (different && examples.length < 5)
      examples.push(`${id} arrived ${copies.length} times, ${different} not byte-identical`);
    if (!expectedIds.has(id)) {
      unexpected += 1;
      if (examples.length < 5)
        examples.push(
          `unexpected: ${id} (${copies[0]!.header('x-auditflow-kind')} to ${copies[0]!.envelope.to.join(',')})`,
        );
    }
  }
  return { expected: expected.size, arrived: arrivals.length, lost, duplicated, differing, unexpected, examples };
}
