/**
 * Pure state transitions of a demand: what the workflow's handlers and main loop call. No Temporal
 * APIs here (time is passed in), so every rule can be read, and tested, on its own.
 */
import type { DemandSpec, Item } from '../domain/demand';
import type { ActionKind, PlannedAction } from '../domain/schedule';
import {
  calendarRules,
  initialDeadline,
  itemContacts,
  contactZone,
  planItemRound,
  resolveRef,
} from '../domain/schedule';
import type {
  AnswerRecord,
  DecisionRecord,
  DemandState,
  DemandStatus,
  GateStatus,
  ItemClosure,
  ItemState,
  MailKind,
  PendingMail,
  SignOffGate,
} from '../domain/state';
import { TERMINAL_STATUSES } from '../domain/state';
import { earliestInWindow, startOfLocalDay, isoInstant } from '../domain/time';

const ms = (isoText: string) => Date.parse(isoText);

/** A fresh state for a validated spec, before anything is sent. */
export function initialState(spec: DemandSpec, workflowId: string, startedBy: string, now: number): DemandState {
  return {
    demandId: spec.id,
    workflowId,
    spec,
    status: 'starting',
    startedAt: isoInstant(now),
    startedBy,
    pausedTotalMs: 0,
    items: spec.items.map((item) => newItemState(item, initialDeadline(spec, item.id), now)),
    messages: [],
    decisions: [{ at: isoInstant(now), kind: 'start', by: startedBy, itemIds: spec.items.map((i) => i.id) }],
    extensionRequests: [],
    problems: [],
    seenMessageIds: [],
    duplicatesIgnored: 0,
    threadRoots: {},
    outbox: [],
    undeliverable: [],
    escalateNow: [],
    runs: 1,
  };
}

/** An item before its request goes out: round 0, due at `dueAt`, planned from `now`. */
export function newItemState(item: Pick<Item, 'id' | 'name' | 'questions'>, dueAt: number, now: number): ItemState {
  const due = isoInstant(dueAt);
  return {
    id: item.id,
    name: item.name,
    phase: 'requested',
    round: 0,
    rounds: [{ round: 0, questions: item.questions, dueAt: due }],
    dueAt: due,
    plannedAt: isoInstant(now),
    firedKeys: [],
    escalationLevel: 0,
    maxEscalationLevel: 0,
    remindersSent: 0,
    answers: [],
    reviews: [],
  };
}

/** True for items that still wait for an answer (the clock runs for them). */
export function isAwaiting(item: ItemState): boolean {
  return item.phase !== 'closed' && item.phase !== 'in-review';
}

/** True for items not closed. */
export function isOpen(item: ItemState): boolean {
  return item.phase !== 'closed';
}

export function findItem(state: DemandState, itemId: string): ItemState | undefined {
  return state.items.find((i) => i.id === itemId);
}

/** The item's current schedule. */
export function itemPlan(state: DemandState, item: ItemState): PlannedAction[] {
  return planItemRound({
    spec: state.spec,
    itemId: item.id,
    round: item.round,
    dueAt: ms(item.dueAt),
    plannedAt: ms(item.plannedAt),
    ...(item.ladderShifts?.length ? { shifts: item.ladderShifts } : {}),
  });
}

/** Recomputes an open item's phase from the clock and its escalation level. */
export function refreshPhase(item: ItemState, spec: DemandSpec, now: number): void {
  if (!isAwaiting(item)) return;
  const due = ms(item.dueAt);
  if (item.escalationLevel > 0) item.phase = 'escalated';
  else if (now >= due) item.phase = 'overdue';
  else if (now >= startOfLocalDay(due, spec.counterparty.timezone)) item.phase = 'due';
  else item.phase = 'awaiting';
}

/** The demand's phase, derived from its items. */
export function demandStatus(state: DemandState): DemandStatus {
  if (state.withdrawn) return 'withdrawn';
  const open = state.items.filter(isOpen);
  if (open.length === 0) {
    const closures = state.items.map((i) => i.closure);
    if (closures.includes('referred')) return 'referred';
    if (closures.some((c) => c === 'rejected' || c === 'unanswered')) return 'completed-with-gaps';
    return 'completed';
  }
  if (state.paused) return 'paused';
  const phases = open.map((i) => i.phase);
  if (phases.includes('escalated')) return 'escalated';
  if (phases.includes('overdue')) return 'overdue';
  if (phases.includes('due')) return 'due';
  if (phases.every((p) => p === 'in-review')) return 'in-review';
  return state.status === 'starting' && phases.every((p) => p === 'requested') ? 'starting' : 'active';
}

export function isFinished(state: DemandState): boolean {
  return TERMINAL_STATUSES.includes(state.status);
}

/** Closes an item with a reason recorded in the timeline. */
export function closeItem(
  state: DemandState,
  item: ItemState,
  closure: ItemClosure,
  now: number,
  by: string,
  reason?: string,
): void {
  item.phase = 'closed';
  item.closure = closure;
  item.closedAt = isoInstant(now);
  state.decisions.push({
    at: isoInstant(now),
    kind: 'closed',
    by,
    itemIds: [item.id],
    detail: closure,
    ...(reason ? { reason } : {}),
  });
}

export function recordDecision(state: DemandState, d: Omit<DecisionRecord, 'at'>, now: number): void {
  state.decisions.push({ at: isoInstant(now), ...d });
}

/**
 * What firing an escalation step does to its item: the level, the decision and, for a referral, the
 * closure. Returns false when the item is closed by it (nothing fires after a referral).
 */
export function applyEscalation(
  state: DemandState,
  item: ItemState,
  a: PlannedAction,
  now: number,
  detail: string = '',
): boolean {
  item.escalationLevel = a.index;
  item.maxEscalationLevel = Math.max(item.maxEscalationLevel, a.index);
  recordDecision(
    state,
    {
      kind: a.step?.action === 'refer' ? 'refer' : 'escalation',
      by: 'auditflow',
      itemIds: [item.id],
      detail: `step ${a.index}${a.step?.label ? `: ${a.step.label}` : ''}${detail}`,
    },
    now,
  );
  if (a.step?.action !== 'refer') return true;
  closeItem(state, item, 'referred', now, 'auditflow', `escalation step ${a.index} refers the demand for legal action`);
  return false;
}

/** Ladder exhausted without a referral (or no ladder at all): the item is closed as a gap. */
export function closeIfExhausted(state: DemandState, item: ItemState, plan: PlannedAction[], now: number): void {
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
}

/** Records an answer on an item: stops its ladder; closes it or puts it in review. */
export function applyAnswer(
  state: DemandState,
  item: ItemState,
  answer: Omit<AnswerRecord, 'late' | 'round' | 'lateByMs'>,
  now: number,
): AnswerRecord {
  const received = ms(answer.receivedAt);
  const lateBy = received - ms(item.dueAt);
  const record: AnswerRecord = {
    ...answer,
    round: item.round,
    late: lateBy > 0,
    ...(lateBy > 0 ? { lateByMs: lateBy } : {}),
  };
  if (item.phase === 'closed') {
    record.afterClose = true;
    item.answers.push(record);
    return record;
  }
  item.answers.push(record);
  const round = item.rounds[item.round];
  if (round && !round.answeredAt) round.answeredAt = answer.receivedAt;
  if (state.spec.review.required) item.phase = 'in-review';
  else closeItem(state, item, 'accepted', now, 'auditflow', 'answer received; the spec does not require review');
  return record;
}

/**
 * A counterparty message due at `mail.at` in its recipient's sending hours (their zone, the spec's window,
 * business days and holidays): unchanged when it falls inside them or when the state predates the rule,
 * else moved to the next sending hour with `dueAt` saying when it was due. Internal notices go at once
 * (our own people want to know now), and acknowledgements too when the spec says `acknowledgeAtOnce`.
 */
export function inSendingHours(state: DemandState, mail: PendingMail): PendingMail {
  if (!state.sendHours || mail.audience !== 'counterparty') return mail;
  if (mail.kind === 'acknowledgement' && state.spec.options.acknowledgeAtOnce) return mail;
  const due = ms(mail.at);
  const at = earliestInWindow(due, mail.to.zone, calendarRules(state.spec));
  return at === due ? mail : { ...mail, at: isoInstant(at), dueAt: mail.at };
}

/** The messages whose time has come (all of them in states before sending hours). */
export function mailDue(state: DemandState, now: number): PendingMail[] {
  return state.outbox.filter((m) => ms(m.at) <= now);
}

/** When the first message waiting for its recipient's sending hours may go (none waits: undefined). */
export function heldMailFirst(state: DemandState, now: number): number | undefined {
  const later = state.outbox.map((m) => ms(m.at)).filter((t) => t > now);
  return later.length ? Math.min(...later) : undefined;
}

/** One message per recipient address; the key is stable across retries, runs and continue-as-new. */
export function queueMail(state: DemandState, mail: Omit<PendingMail, 'key'> & { keyPart: string }): void {
  const { keyPart, ...rest } = mail;
  const key = `${state.workflowId}/${keyPart}/${mail.to.address}`;
  if (state.outbox.some((m) => m.key === key) || state.messages.some((m) => m.key === key)) return;
  state.outbox.push(inSendingHours(state, { ...rest, key }));
}

/** Queues a message to each counterparty contact of the given items, one per address, listing their items. */
export function queueToItemContacts(
  state: DemandState,
  itemIds: string[],
  kind: MailKind,
  keyPart: string,
  now: number,
  opts: { context?: PendingMail['context']; expectsReply?: boolean; only?: string[] } = {},
): void {
  const byAddress = new Map<string, { name: string; zone: string; items: string[] }>();
  for (const itemId of itemIds) {
    for (const c of itemContacts(state.spec, itemId)) {
      if (!c.address || state.undeliverable.includes(c.address)) continue;
      if (opts.only && !opts.only.includes(c.address)) continue;
      const entry = byAddress.get(c.address) ?? {
        name: c.name,
        zone: contactZone(state.spec, c, 'counterparty'),
        items: [],
      };
      entry.items.push(itemId);
      byAddress.set(c.address, entry);
    }
  }
  for (const [address, e] of byAddress) {
    queueMail(state, {
      keyPart,
      kind,
      at: isoInstant(now),
      itemIds: e.items,
      to: { name: e.name, address, zone: e.zone },
      audience: 'counterparty',
      expectsReply: opts.expectsReply ?? true,
      ...(opts.context ? { context: opts.context } : {}),
    });
  }
}

/** Queues an internal notice to everyone with one of the requester roles (default: owner). */
export function queueInternal(
  state: DemandState,
  roles: string[],
  keyPart: string,
  itemIds: string[],
  context: PendingMail['context'],
  now: number,
): void {
  const seen = new Set<string>();
  for (const role of roles) {
    for (const p of resolveRef(state.spec, `requester:${role}`)) {
      if (!p.address || seen.has(p.address)) continue;
      seen.add(p.address);
      queueMail(state, {
        keyPart,
        kind: 'internal',
        at: isoInstant(now),
        itemIds,
        to: { name: p.name, address: p.address, zone: contactZone(state.spec, p, 'requester') },
        audience: 'internal',
        expectsReply: false,
        ...(context ? { context } : {}),
      });
    }
  }
}

/**
 * The first request: one message per counterparty contact, listing the items they answer for (all items
 * at the start; an item added to the running demand gets its own, under its own key).
 */
export function queueRequests(
  state: DemandState,
  now: number,
  itemIds: string[] = state.items.map((i) => i.id),
  keyPart = 'request',
): void {
  queueToItemContacts(state, itemIds, 'request', keyPart, now);
  for (const item of state.items.filter((i) => itemIds.includes(i.id))) {
    if (item.rounds[0]) item.rounds[0].requestedAt = isoInstant(now);
    refreshPhase(item, state.spec, now);
  }
}

const OPEN_GATE: readonly GateStatus[] = ['waiting', 'held', 'held-on-timeout'];

/** A sign-off gate still keeping its messages (waiting or held). */
export function isOpenGate(gate: SignOffGate): boolean {
  return OPEN_GATE.includes(gate.status);
}

/** The open sign-off gate an item waits at, if any: its schedule waits there too. */
export function gateOf(state: DemandState, itemId: string): SignOffGate | undefined {
  return state.gates?.find((g) => isOpenGate(g) && g.itemIds.includes(itemId));
}

/** The next pending action of each awaiting item (none for an item waiting at a sign-off gate). */
function pendingHeads(state: DemandState): PlannedAction[] {
  const heads: PlannedAction[] = [];
  for (const item of state.items.filter(isAwaiting)) {
    if (gateOf(state, item.id)) continue;
    const next = itemPlan(state, item).find((a) => !a.skipped && !item.firedKeys.includes(a.key));
    if (next) heads.push(next);
  }
  return heads;
}

/** The earliest pending action of all awaiting items (none while paused). */
export function nextAction(state: DemandState): PlannedAction | undefined {
  if (state.paused || isFinished(state)) return undefined;
  return pendingHeads(state).reduce<PlannedAction | undefined>(
    (best, a) => (!best || a.at < best.at ? a : best),
    undefined,
  );
}

/** The next action and every item it concerns (items sharing a deadline share their schedule). */
export function nextActionGroup(state: DemandState): { action: PlannedAction; itemIds: string[] } | undefined {
  const first = nextAction(state);
  if (!first) return undefined;
  const same = pendingHeads(state).filter((a) => a.at === first.at && a.kind === first.kind && a.index === first.index);
  return { action: first, itemIds: same.map((a) => a.itemId) };
}

const ACTION_LABEL: Record<ActionKind, string> = {
  reminder: 'reminder',
  due: 'due today',
  overdue: 'deadline passes',
  'overdue-notice': 'overdue notice',
  escalation: 'escalation step',
};

/** "reminder 2 for xbox", "escalation step 1: notice to deputy GC for 8 items (atlas, beacon, ...)". */
export function describeAction(a: PlannedAction, itemIds: string[] = [a.itemId]): string {
  const n = a.kind === 'reminder' || a.kind === 'escalation' ? ` ${a.index}` : '';
  const label = a.step?.label ? `: ${a.step.label}` : a.step?.action === 'refer' ? ': referral for legal action' : '';
  const items =
    itemIds.length === 1
      ? itemIds[0]
      : `${itemIds.length} items (${itemIds.slice(0, 3).join(', ')}${itemIds.length > 3 ? ', ...' : ''})`;
  return `${ACTION_LABEL[a.kind]}${n}${label} for ${items}`;
}
