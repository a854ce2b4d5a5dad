/**
 * Fires every schedule action that is due: reminders, deadline transitions, overdue notices and
 * escalation steps, in order, each exactly once, and queues the mail they send (one message per
 * recipient, listing every item concerned).
 */
import type { PlannedAction } from '../domain/schedule';
import { contactZone, itemContacts, resolveRef } from '../domain/schedule';
import type { DemandState, ItemState } from '../domain/state';
import {
  applyEscalation,
  closeIfExhausted,
  gateOf,
  recordDecision,
  isAwaiting,
  itemPlan,
  queueMail,
  queueToItemContacts,
  refreshPhase,
} from './model';
import { openGate, withheld } from './sign-off';
import { isoInstant } from '../domain/time';

interface Batch {
  action: PlannedAction;
  itemIds: string[];
}

function batchKey(a: PlannedAction): string {
  return `${a.kind}${a.index}/${isoInstant(a.at)}`;
}

/**
 * Marks due actions of one item as fired and returns those that send mail, and the step that stopped
 * them because it needs a sign-off first (the item then waits at its gate, and so do its later steps).
 */
function fireItem(
  state: DemandState,
  item: ItemState,
  now: number,
  force: boolean,
): { sending: PlannedAction[]; gated?: PlannedAction } {
  if (gateOf(state, item.id)) return { sending: [] };
  const plan = itemPlan(state, item);
  const pending = plan.filter((a) => !item.firedKeys.includes(a.key));
  const sending: PlannedAction[] = [];
  let gated: PlannedAction | undefined;
  // A hard bounce moves the item to its next escalation step at once.
  const forced = force ? pending.find((a) => a.kind === 'escalation' && !a.skipped) : undefined;
  const due = pending.filter((a) => a.skipped || a.at <= now || a === forced);
  const reminders = due.filter((a) => a.kind === 'reminder' && !a.skipped);
  for (const a of due) {
    if (a.kind === 'escalation' && a.step?.signOff && !a.skipped) {
      gated = a;
      break;
    }
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
      sending.push(a);
      if (!applyEscalation(state, item, a, now, a === forced ? ' (brought forward by a bounce)' : '')) break;
    }
  }
  refreshPhase(item, state.spec, now);
  closeIfExhausted(state, item, plan, now);
  return { sending, ...(gated ? { gated } : {}) };
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
  const gatedBatches = new Map<string, Batch>();
  const gatedKeys: Record<string, string> = {};
  const before = state.decisions.length + state.items.reduce((n, i) => n + i.firedKeys.length, 0);
  // A step brought forward gets a key of its own: the other items still reach it at its time, and their
  // mail to the same recipients must not be taken for this one (histories before this replay unchanged).
  const keyOf = (a: PlannedAction) =>
    a.at > now && earlyKeysAllowed() ? `${batchKey(a)}/early/${isoInstant(now)}` : batchKey(a);
  const add = (into: Map<string, Batch>, a: PlannedAction, itemId: string) => {
    const k = keyOf(a);
    const batch = into.get(k) ?? { action: a, itemIds: [] };
    batch.itemIds.push(itemId);
    into.set(k, batch);
  };
  for (const item of state.items.filter(isAwaiting)) {
    const { sending, gated } = fireItem(state, item, now, forcedItems.has(item.id));
    for (const a of sending) add(batches, a, item.id);
    if (gated) {
      add(gatedBatches, gated, item.id);
      gatedKeys[item.id] = gated.key;
    }
  }
  for (const [k, { action, itemIds }] of mergeReminders(batches, mergeAllowed))
    queueForAction(state, action, itemIds, k, now);
  // A step that needs sign-off queues its mail into its gate instead of the outbox.
  for (const [k, { action, itemIds }] of gatedBatches) {
    const mails = withheld(state, () => queueForAction(state, action, itemIds, k, now));
    openGate(
      state,
      {
        step: action.index,
        label: `escalation step ${action.index}${action.step?.label ? `: ${action.step.label}` : ''}`,
        signOff: action.step!.signOff!,
        itemIds,
        actionKeys: Object.fromEntries(itemIds.map((id) => [id, gatedKeys[id]!])),
        scheduledAt: action.at,
        mails,
      },
      now,
    );
  }
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
  if (a.kind === 'reminder' || a.kind === 'overdue-notice') {
    const kind = a.kind === 'reminder' ? 'reminder' : 'overdue';
    queueToItemContacts(state, itemIds, kind, keyPart, now, { context });
    copyToEscalation(state, itemIds, kind, keyPart, context, now);
    return;
  }
  // A ladder step writes to the escalation contacts itself: nothing is left to copy to them.
  if (state.copyToEscalation)
    state.copyToEscalation = state.copyToEscalation.filter((c) => !itemIds.includes(c.itemId));
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

/**
 * The next reminder (or overdue notice) of items whose contact is out of office past the deadline, copied to
 * the counterparty's escalation contacts (`options.outOfOffice.copyNextReminder`): once, saying why.
 */
function copyToEscalation(
  state: DemandState,
  itemIds: string[],
  kind: 'reminder' | 'overdue',
  keyPart: string,
  context: Record<string, string | number>,
  now: number,
): void {
  const copies = (state.copyToEscalation ?? []).filter((c) => itemIds.includes(c.itemId));
  if (copies.length === 0) return;
  state.copyToEscalation = state.copyToEscalation!.filter((c) => !copies.includes(c));
  const copied = copies.map((c) => c.itemId);
  const told = new Set(copied.flatMap((id) => itemContacts(state.spec, id).map((c) => c.address)));
  for (const person of resolveRef(state.spec, 'counterparty:escalation')) {
    if (!person.address || told.has(person.address) || state.undeliverable.includes(person.address)) continue;
    queueMail(state, {
      keyPart: `${keyPart}/copy`,
      kind,
      at: isoInstant(now),
      itemIds: copied,
      to: { name: person.name, address: person.address, zone: contactZone(state.spec, person, 'counterparty') },
      audience: 'counterparty',
      expectsReply: true,
      context: { ...context, copiedBecause: [...new Set(copies.map((c) => c.because))].join('; ') },
    });
  }
}
