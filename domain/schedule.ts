/**
 * Pure schedule code: demand + item deadline + clock -> when each reminder, deadline transition and
 * escalation step is due. The workflow and `auditflow plan` both call it, so they cannot disagree.
 */
import type { Contact, DemandSpec, EscalationStep, Offset, RecipientRef } from './demand';
import {
  addBusinessDays,
  addDuration,
  earliestInWindow,
  isBusinessDay,
  latestInWindow,
  localDate,
  parseDeadline,
  parseDuration,
  startOfLocalDay,
  toWall,
  type CalendarRules,
} from './time';

/** What a scheduled action does. `due` and `overdue` only change state; the others send mail. */
export type ActionKind = 'reminder' | 'due' | 'overdue' | 'overdue-notice' | 'escalation';

/** Why an action does not fire at its offset: the offset lands outside sending, or before the rung above. */
export type MoveReason = 'holiday' | 'non-business-day' | 'outside-send-window' | 'ladder-order';

/** One scheduled action for one item in one round. */
export interface PlannedAction {
  /** Stable identity: item, round, deadline and rung; a new deadline gives new keys. */
  key: string;
  itemId: string;
  round: number;
  kind: ActionKind;
  /** 1-based: reminder number in time order, or escalation step number. */
  index: number;
  /** When it fires, after moving it into the recipient's send window. */
  at: number;
  /** When the offset alone would put it. */
  nominalAt: number;
  /** The zone whose calendar and sending hours placed it. */
  zone: string;
  /** Why `at` differs from `nominalAt`, or why the action will not fire. */
  note?: string;
  /** Why `at` differs from `nominalAt`, as a code (`note` says it in words). */
  moveReason?: MoveReason;
  /** Not fired: it was already in the past when this schedule was made. */
  skipped?: boolean;
  /** Who is told: the item's contacts, or the step's recipients. */
  recipients: RecipientRef[] | 'item-contacts';
  step?: EscalationStep;
  /** The spec's extra sentence for this reminder or step. */
  text?: string;
}

const WEEKDAY_INDEX: Record<string, number> = { mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6, sun: 7 };

/** The spec's calendar as the time functions want it. */
export function calendarRules(spec: DemandSpec): CalendarRules {
  return {
    businessDays: spec.calendar.businessDays.map((d) => WEEKDAY_INDEX[d] ?? 0),
    holidays: spec.calendar.holidays,
    sendWindow: spec.calendar.sendWindow,
  };
}

/** Applies an offset to an instant in the counterparty's zone (sign -1 = before). */
export function applyOffset(ms: number, offset: Offset, spec: DemandSpec, sign: 1 | -1): number {
  const zone = spec.counterparty.timezone;
  if (typeof offset === 'string') return addDuration(ms, parseDuration(offset)!, zone, sign);
  return addBusinessDays(ms, offset.businessDays, zone, calendarRules(spec), sign);
}

/** "P7D" / "3 business days", for people. */
export function describeOffset(offset: Offset): string {
  return typeof offset === 'string'
    ? offset
    : `${offset.businessDays} business day${offset.businessDays === 1 ? '' : 's'}`;
}

/** The item's first deadline as written in the spec (its own, else the demand's). */
export function initialDeadline(spec: DemandSpec, itemId: string): number {
  const item = spec.items.find((i) => i.id === itemId);
  const parsed = parseDeadline(item?.deadline ?? spec.deadline, spec.counterparty.timezone);
  if ('error' in parsed) throw new Error(`deadline of ${itemId}: ${parsed.error}`);
  return parsed.ms;
}

/** The counterparty contacts who answer for an item (its own list, else the primary contacts). */
export function itemContacts(spec: DemandSpec, itemId: string): Contact[] {
  const item = spec.items.find((i) => i.id === itemId);
  const withAddress = spec.counterparty.contacts.filter((c) => c.address);
  if (item?.contacts) return withAddress.filter((c) => item.contacts!.includes(c.address!));
  return withAddress.filter((c) => c.roles.includes('primary'));
}

/** Everyone a recipient reference names, with or without an address. */
export function resolveRef(spec: DemandSpec, ref: RecipientRef): Contact[] {
  const [side, role] = ref.split(':') as ['counterparty' | 'requester', string];
  const pool = side === 'counterparty' ? spec.counterparty.contacts : spec.requester.people;
  return pool.filter((c) => c.roles.includes(role));
}

/** The zone a contact reads mail in. */
export function contactZone(spec: DemandSpec, contact: Contact, side: 'counterparty' | 'requester'): string {
  return contact.timezone ?? (side === 'counterparty' ? spec.counterparty.timezone : spec.requester.timezone);
}

function sendZoneForStep(spec: DemandSpec, step: EscalationStep): string {
  const cp = step.notify.find((r) => r.startsWith('counterparty:'));
  if (cp) {
    const first = resolveRef(spec, cp)[0];
    return first ? contactZone(spec, first, 'counterparty') : spec.counterparty.timezone;
  }
  const first = resolveRef(spec, step.notify[0]!)[0];
  return first ? contactZone(spec, first, 'requester') : spec.requester.timezone;
}

/** Why an instant outside the send window is outside it. */
export function outsideWindowReason(
  nominal: number,
  zone: string,
  cal: CalendarRules,
): Exclude<MoveReason, 'ladder-order'> {
  const w = toWall(nominal, zone);
  if (cal.holidays.includes(localDate(w))) return 'holiday';
  if (!isBusinessDay(w, cal)) return 'non-business-day';
  return 'outside-send-window';
}

function whyMoved(reason: MoveReason, cal: CalendarRules): string {
  if (reason === 'holiday') return 'falls on a holiday';
  if (reason === 'non-business-day') return 'falls on a non-business day';
  return `falls outside sending hours ${cal.sendWindow.from}-${cal.sendWindow.to} local`;
}

export interface PlanItemInput {
  spec: DemandSpec;
  itemId: string;
  /** 0 for the first request, n for the n-th follow-up round. */
  round: number;
  /** The round's deadline (already moved by extensions and pauses). */
  dueAt: number;
  /** When this schedule was made; actions at or before it are marked skipped. */
  plannedAt: number;
  /** Sign-offs that held the ladder back: steps after `afterStep` come `ms` later. */
  shifts?: { afterStep: number; ms: number }[];
}

/** Every action of one item round, in firing order. */
export function planItemRound(input: PlanItemInput): PlannedAction[] {
  const { spec, itemId, round, dueAt, plannedAt, shifts = [] } = input;
  const cal = calendarRules(spec);
  const contacts = itemContacts(spec, itemId);
  const itemZone = contacts[0] ? contactZone(spec, contacts[0], 'counterparty') : spec.counterparty.timezone;
  const base = `${itemId}/r${round}/${new Date(dueAt).toISOString()}`;
  const actions: PlannedAction[] = [];
  const push = (a: Omit<PlannedAction, 'key' | 'itemId' | 'round'>) => {
    const skipped = a.at <= plannedAt;
    actions.push({
      ...a,
      key: `${base}/${a.kind}${a.kind === 'reminder' || a.kind === 'escalation' ? a.index : ''}`,
      itemId,
      round,
      ...(skipped
        ? { skipped, note: a.note ? `${a.note}; already past when planned` : 'already past when planned' }
        : {}),
    });
  };

  const reminders = spec.reminders
    .map((r) => ({ r, nominal: applyOffset(dueAt, r.before, spec, -1) }))
    .sort((a, b) => a.nominal - b.nominal);
  reminders.forEach(({ r, nominal }, i) => {
    const at = latestInWindow(nominal, itemZone, cal);
    const reason = at !== nominal ? outsideWindowReason(nominal, itemZone, cal) : undefined;
    push({
      kind: 'reminder',
      index: i + 1,
      at,
      nominalAt: nominal,
      zone: itemZone,
      recipients: 'item-contacts',
      ...(r.note ? { text: r.note } : {}),
      ...(reason ? { note: `moved earlier: ${whyMoved(reason, cal)}`, moveReason: reason } : {}),
    });
  });

  const dayStart = startOfLocalDay(dueAt, spec.counterparty.timezone);
  push({ kind: 'due', index: 0, at: dayStart, nominalAt: dayStart, zone: spec.counterparty.timezone, recipients: [] });
  push({ kind: 'overdue', index: 0, at: dueAt, nominalAt: dueAt, zone: spec.counterparty.timezone, recipients: [] });
  if (spec.options.overdueNotice) {
    const at = earliestInWindow(dueAt, itemZone, cal);
    const reason = at !== dueAt ? outsideWindowReason(dueAt, itemZone, cal) : undefined;
    push({
      kind: 'overdue-notice',
      index: 0,
      at,
      nominalAt: dueAt,
      zone: itemZone,
      recipients: 'item-contacts',
      ...(reason ? { note: `moved later: ${whyMoved(reason, cal)}`, moveReason: reason } : {}),
    });
  }

  let previous = dueAt;
  spec.escalation.forEach((step, i) => {
    const heldBack = shifts.filter((h) => h.afterStep < i + 1).reduce((sum, h) => sum + h.ms, 0);
    const nominal = applyOffset(dueAt, step.after, spec, 1) + heldBack;
    const zone = sendZoneForStep(spec, step);
    let at = earliestInWindow(nominal, zone, cal);
    let reason: MoveReason | undefined = at !== nominal ? outsideWindowReason(nominal, zone, cal) : undefined;
    let note = reason ? `moved later: ${whyMoved(reason, cal)}` : undefined;
    // Steps fire in order: a step never goes before the one above it.
    if (at < previous) {
      at = previous;
      reason = 'ladder-order';
      note = `held back to keep the ladder in order (its offset would put it before step ${i})`;
    }
    previous = at;
    push({
      kind: 'escalation',
      index: i + 1,
      at,
      nominalAt: nominal,
      zone,
      recipients: step.notify,
      step,
      ...(step.note ? { text: step.note } : {}),
      ...(note ? { note } : {}),
      ...(reason ? { moveReason: reason } : {}),
    });
  });

  return actions.sort((a, b) => a.at - b.at || order(a) - order(b));
}

const KIND_ORDER: Record<ActionKind, number> = { reminder: 0, due: 1, overdue: 2, 'overdue-notice': 3, escalation: 4 };

function order(a: PlannedAction): number {
  return KIND_ORDER[a.kind] * 100 + a.index;
}
