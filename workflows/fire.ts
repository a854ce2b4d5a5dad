/**
 * Fires every schedule action that is due: reminders, deadline transitions, overdue notices and
 * escalation steps, in order, each exactly once, and queues the mail they send (one message per
 * recipient, listing every item concerned).
 */
import type { PlannedAction } from '../domain/schedule';
import { contactZone, resolveRef } from '../domain/schedule';
import type { DemandState, ItemState } from '../domain/state';
import { closeItem, recordDecision, isAwaiting, itemPlan, queueMail, queueToItemContacts, refreshPhase } from './model';
import { isoInstant } from '../domain/time';

interface Batch {
  action: PlannedAction;
  itemIds: string[];
}

function batchKey(a: PlannedAction): string {
  return `${a.kind}${a.index}/${isoInstant(a.at)}`;
}

/** Marks due actions of one item as fired and returns those that send mail. */
function fireItem(state: DemandState, item: ItemState, now: number, force: boolean): PlannedAction[] {
  const plan = itemPlan(state, item);
  const pending = plan.filter((a) => !item.firedKeys.includes(a.key));
  const sending: PlannedAction[] = [];
  // A hard bounce moves the item to its next escalation step at once.
  const forced = force ? pending.find((a) => a.kind === 'escalation' && !a.skipped) : undefined;
  const due = pending.filter((a) => a.skipped || a.at <= now || a === forced);
  const reminders = due.filter((a) => a.kind === 'reminder' && !a.skipped);
  for (const a of due) {
    item.firedKeys.push(a.key);
    if (a.skipped) continue;
    if (a.kind === 'reminder') {
      // After downtime several reminders may be due at once: one message, the latest, is enough.
      if (a !== reminders[reminders.length - 1]) {
        recordDecision(
          state,
          {
            kind: 'reminder-superseded',
            itemIds: [item.id],
            detail: `reminder ${a.index} superseded by reminder ${reminders[reminders.length - 1]!.index}`,
          },
          now,
        );
        continue;
      }
      item.remindersSent += 1;
      sending.push(a);
    } else if (a.kind === 'overdue-notice') {
      sending.push(a);
    } else if (a.kind === 'escalation') {
      item.escalationLevel = a.index;
      item.maxEscalationLevel = Math.max(item.maxEscalationLevel, a.index);
      recordDecision(
        state,
        {
          kind: a.step?.action === 'refer' ? 'refer' : 'escalation',
          by: 'auditflow',
          itemIds: [item.id],
          detail: `step ${a.index}${a.step?.label ? `: ${a.step.label}` : ''}${a === forced ? ' (brought forward by a bounce)' : ''}`,
        },
        now,
      );
      sending.push(a);
      if (a.step?.action === 'refer') {
        closeItem(
          state,
          item,
          'referred',
          now,
          'auditflow',
          `escalation step ${a.index} refers the demand for legal action`,
        );
        break;
      }
    }
  }
  refreshPhase(item, state.spec, now);
  // Ladder exhausted without a referral (or no ladder at all): the item is closed as a gap.
  const left = plan.filter((a) => !a.skipped && !item.firedKeys.includes(a.key));
  if (isAwaiting(item) && left.length === 0 && now >= Date.parse(item.dueAt)) {
    closeItem(
      state,
      item,
      'unanswered',
      now,
      'auditflow',
      state.spec.escalation.length
        ? 'escalation ladder exhausted without an answer'
        : 'deadline passed without an answer and the spec has no escalation ladder',
    );
  }
  return sending;
}

/**
 * Reminders of different numbers due at the same instant (items whose deadlines differ) become one
 * reminder per recipient, speaking as the latest (its number and note). Escalation steps stay apart:
 * each has its own recipients and message.
 */
function mergeReminders(batches: Map<string, Batch>, allowed: () => boolean): Map<string, Batch> {
  const reminders = [...batches.entries()].filter(([, b]) => b.action.kind === 'reminder');
  const instants = new Set(reminders.map(([, b]) => b.action.at));
  if (instants.size === reminders.length || !allowed()) return batches;
  const merged = new Map([...batches].filter(([, b]) => b.action.kind !== 'reminder'));
  for (const at of instants) {
    const same = reminders
      .filter(([, b]) => b.action.at === at)
      .sort(([, a], [, b]) => b.action.index - a.action.index);
    const [key, latest] = same[0]!;
    merged.set(key, { action: latest.action, itemIds: same.flatMap(([, b]) => b.itemIds) });
  }
  return merged;
}

/**
 * Fires everything due at `now` for every awaiting item; returns true when anything changed.
 * `mergeAllowed` says whether reminders at one instant may be merged, and `earlyKeysAllowed` whether a
 * step brought forward gets a key of its own (the workflow asks `patched()` for each, so that histories
 * recorded before them replay unchanged).
 */
export function fireDueActions(
  state: DemandState,
  now: number,
  forcedItems: Set<string> = new Set(),
  mergeAllowed: () => boolean = () => true,
  earlyKeysAllowed: () => boolean = () => true,
): boolean {
  if (state.paused) return false;
  const batches = new Map<string, Batch>();
  const before = state.decisions.length + state.items.reduce((n, i) => n + i.firedKeys.length, 0);
  for (const item of state.items.filter(isAwaiting)) {
    for (const a of fireItem(state, item, now, forcedItems.has(item.id))) {
      // A step brought forward gets a key of its own: the other items still reach it at its time, and their
      // mail to the same recipients must not be taken for this one (histories before this replay unchanged).
      const k = a.at > now && earlyKeysAllowed() ? `${batchKey(a)}/early/${isoInstant(now)}` : batchKey(a);
      const batch = batches.get(k) ?? { action: a, itemIds: [] };
      batch.itemIds.push(item.id);
      batches.set(k, batch);
    }
  }
  for (const [k, { action, itemIds }] of mergeReminders(batches, mergeAllowed))
    queueForAction(state, action, itemIds, k, now);
  const after = state.decisions.length + state.items.reduce((n, i) => n + i.firedKeys.length, 0);
  return after !== before;
}

function queueForAction(state: DemandState, a: PlannedAction, itemIds: string[], keyPart: string, now: number): void {
  const context = {
    index: a.index,
    scheduledAt: isoInstant(a.at),
    ...(a.step?.label ? { label: a.step.label } : {}),
    ...(a.text ? { note: a.text } : {}),
  };
  if (a.kind === 'reminder') {
    queueToItemContacts(state, itemIds, 'reminder', keyPart, now, { context });
    return;
  }
  if (a.kind === 'overdue-notice') {
    queueToItemContacts(state, itemIds, 'overdue', keyPart, now, { context });
    return;
  }
  const step = a.step!;
  const refer = step.action === 'refer';
  for (const ref of step.notify) {
    const side = ref.startsWith('counterparty:') ? 'counterparty' : 'requester';
    for (const person of resolveRef(state.spec, ref)) {
      if (!person.address || state.undeliverable.includes(person.address)) {
        recordDecision(
          state,
          {
            kind: 'undeliverable',
            itemIds,
            detail: `${ref}: ${person.name} ${person.address ? `(${person.address}) is marked undeliverable` : 'has no address'}; step ${a.index} could not reach them`,
          },
          now,
        );
        continue;
      }
      queueMail(state, {
        keyPart,
        kind: side === 'counterparty' ? step.message : 'internal',
        at: isoInstant(now),
        itemIds,
        to: { name: person.name, address: person.address, zone: contactZone(state.spec, person, side) },
        audience: side === 'counterparty' ? 'counterparty' : 'internal',
        expectsReply: side === 'counterparty',
        context: { ...context, event: refer ? 'referral' : 'escalation', total: state.spec.escalation.length },
      });
    }
  }
}
