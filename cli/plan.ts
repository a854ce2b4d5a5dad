/**
 * `auditflow plan`'s view of a demand: the workflow's own dry run (workflows/dry-run.ts) turned into
 * schedule entries (one per instant, message, items and zone, listing who receives it) and warnings.
 */
import type { DemandSpec, EscalationStep } from '../domain/demand';
import { demandWorkflowId } from '../domain/ids';
import type { MoveReason, PlannedAction } from '../domain/schedule';
import { calendarRules, outsideWindowReason } from '../domain/schedule';
import type { DemandState, DemandStatus, MailKind, PendingMail } from '../domain/state';
import { formatLocal, isoInstant } from '../domain/time';
import { dryRunUnanswered } from '../workflows/dry-run';
import { itemPlan } from '../workflows/model';
import { localAndUtc } from './output';

/** What in the schedule sends a message. */
export type PlanTrigger =
  'request' | 'reminder' | 'overdue-notice' | 'escalation' | 'referral' | 'demand-ended' | 'sign-off';

/** One person a message goes to, and the role that put them on it. */
export interface PlanRecipient {
  side: 'counterparty' | 'requester';
  role: string;
  name: string;
  address: string;
}

/** Messages sent at one instant, of one kind, about the same items, to recipients reading in one zone. */
export interface PlanEntry {
  at: string;
  local: string;
  zone: string;
  kind: MailKind;
  trigger: PlanTrigger;
  reminder?: number;
  step?: { index: number; label?: string; action: EscalationStep['action'] };
  recipients: PlanRecipient[];
  itemIds: string[];
  moved?: { from: string; reason: MoveReason };
  /** Due outside its recipients' sending hours (their zone): held from `from` to `at`. */
  held?: { from: string; reason: MoveReason };
  /** A sign-off request to the approvers, or the notice that its time ran out. */
  signOff?: { gate: string; label: string; timedOut: boolean };
}

/** Something in the schedule people should know before starting the demand. */
export interface PlanWarning {
  code:
    | 'reminder-moved'
    | 'notice-moved'
    | 'step-held-back'
    | 'reminder-skipped'
    | 'already-past'
    | 'reminder-superseded'
    | 'no-address'
    | 'after-referral'
    | 'never-ends'
    | 'sign-off'
    | 'held-to-sending-hours';
  /** When it bites: the instant of the action concerned (the start for the spec's own problems). */
  at: string;
  message: string;
  itemIds?: string[];
}

/** The whole dry run: `plan --json` prints exactly this. */
export interface DemandPlan {
  demandId: string;
  workflowId: string;
  startAt: string;
  outcome: DemandStatus | 'waiting';
  endsAt?: string;
  deadlines: { at: string; local: string; zone: string; itemIds: string[] }[];
  entries: PlanEntry[];
  warnings: PlanWarning[];
}

const ACTION_OF: Partial<Record<PlanTrigger, PlannedAction['kind']>> = {
  reminder: 'reminder',
  'overdue-notice': 'overdue-notice',
  escalation: 'escalation',
  referral: 'escalation',
};
const REASON_TEXT: Record<MoveReason, (spec: DemandSpec) => string> = {
  holiday: () => 'a holiday',
  'non-business-day': () => 'a non-business day',
  'outside-send-window': (spec) =>
    `outside sending hours ${spec.calendar.sendWindow.from}-${spec.calendar.sendWindow.to}`,
  'ladder-order': () => 'before the step above it',
};

function triggerOf(mail: PendingMail): PlanTrigger {
  const event = mail.context?.event;
  if (event === 'final') return 'demand-ended';
  if (event === 'referral' || event === 'escalation') return event;
  if (event === 'sign-off' || event === 'sign-off-timeout') return 'sign-off';
  return mail.kind === 'reminder' ? 'reminder' : mail.kind === 'overdue' ? 'overdue-notice' : 'request';
}

/** "reminder 2", "overdue notice", "escalation step 1 (notice to deputy GC)". */
function actionName(a: PlannedAction): string {
  if (a.kind === 'reminder') return `reminder ${a.index}`;
  if (a.kind === 'escalation') return `escalation step ${a.index}${a.step?.label ? ` (${a.step.label})` : ''}`;
  return a.kind === 'overdue-notice' ? 'overdue notice' : a.kind;
}

function recipientOf(spec: DemandSpec, mail: PendingMail, trigger: PlanTrigger, step?: EscalationStep): PlanRecipient {
  const side = mail.audience === 'internal' ? 'requester' : 'counterparty';
  const pool = side === 'counterparty' ? spec.counterparty.contacts : spec.requester.people;
  const roles = pool.find((c) => c.address === mail.to.address)?.roles ?? [];
  const wanted = step
    ? step.notify.filter((r) => r.startsWith(`${side}:`)).map((r) => r.slice(side.length + 1))
    : [trigger === 'demand-ended' ? 'owner' : trigger === 'sign-off' ? String(mail.context?.role) : 'primary'];
  return {
    side,
    role: wanted.find((r) => roles.includes(r)) ?? roles[0] ?? '',
    name: mail.to.name ?? '',
    address: mail.to.address,
  };
}

/** Groups what several items share into one warning listing them, in the order the schedule meets them. */
class Warnings {
  private readonly byText = new Map<string, PlanWarning>();
  add(code: PlanWarning['code'], at: number | string, message: string, itemIds: string[] = []): void {
    const w = this.byText.get(`${code}|${message}`) ?? {
      code,
      at: new Date(at).toISOString(),
      message,
      ...(itemIds.length ? { itemIds: [] as string[] } : {}),
    };
    for (const id of itemIds) if (!w.itemIds!.includes(id)) w.itemIds!.push(id);
    this.byText.set(`${code}|${message}`, w);
  }
  list(): PlanWarning[] {
    return [...this.byText.values()].sort((a, b) => a.at.localeCompare(b.at));
  }
}

function scheduleWarnings(
  spec: DemandSpec,
  state: DemandState,
  plans: Map<string, PlannedAction[]>,
  sent: Set<string>,
  w: Warnings,
): void {
  const start = localAndUtc(state.startedAt, spec.counterparty.timezone);
  for (const item of state.items) {
    for (const a of plans.get(item.id) ?? []) {
      if (a.kind === 'due' || a.kind === 'overdue') continue;
      const name = actionName(a);
      if (a.skipped)
        w.add(
          a.kind === 'reminder' ? 'reminder-skipped' : 'already-past',
          a.at,
          `${name} would be at ${localAndUtc(a.at, a.zone)}, before the request at ${start}: it is not sent`,
          [item.id],
        );
      else if (item.closure === 'referred' && !item.firedKeys.includes(a.key))
        w.add('after-referral', a.at, `${name} comes after the referral and never fires`, [item.id]);
      else if (sent.has(a.key) && a.moveReason === 'ladder-order')
        w.add(
          'step-held-back',
          a.at,
          `${name}: its offset puts it at ${localAndUtc(a.nominalAt, a.zone)}, before the step above it; held back to ${localAndUtc(a.at, a.zone)}`,
          [item.id],
        );
      else if (sent.has(a.key) && a.moveReason) {
        const direction = a.kind === 'reminder' ? 'earlier' : 'later';
        w.add(
          a.kind === 'reminder' ? 'reminder-moved' : 'notice-moved',
          a.at,
          `${name} would fall on ${localAndUtc(a.nominalAt, a.zone)}, ${REASON_TEXT[a.moveReason](spec)}; moved ${direction} to ${localAndUtc(a.at, a.zone)}`,
          [item.id],
        );
      }
    }
  }
  for (const d of state.decisions) {
    if (d.kind === 'reminder-superseded')
      w.add(
        'reminder-superseded',
        d.at,
        `${d.detail ?? ''}: both fall due at ${localAndUtc(d.at, spec.counterparty.timezone)} and only one reminder is sent`,
        d.itemIds,
      );
    if (d.kind === 'undeliverable') w.add('no-address', d.at, d.detail ?? '', d.itemIds);
  }
  // Nobody signs anything off in a plan: each gate goes as its timeout says.
  for (const g of state.gates ?? []) {
    const zone = spec.counterparty.timezone;
    w.add(
      'sign-off',
      g.openedAt,
      `${g.label} falls due at ${localAndUtc(g.openedAt, zone)} and waits for sign-off by ${g.approverRole} until ${localAndUtc(g.expiresAt, zone)}; ${g.onTimeout === 'send' ? 'without it, it is sent as it is then, and later steps move by the wait' : 'without it, it is held: nothing further goes out for these items until someone approves it'}`,
      g.itemIds,
    );
  }
  const byDefault = spec.items.filter((i) => !i.contacts).map((i) => i.id);
  for (const c of spec.counterparty.contacts.filter((c) => c.roles.includes('primary') && !c.address)) {
    if (byDefault.length)
      w.add(
        'no-address',
        state.startedAt,
        `counterparty:primary: ${c.name} has no address; the request, reminders and notices go to the other primary contacts only`,
        byDefault,
      );
  }
}

/** Runs the demand with nobody answering from `startAt` and describes every message it sends. */
export function planDemand(spec: DemandSpec, startAt: number): DemandPlan {
  return planWithMails(spec, startAt).plan;
}

/**
 * The plan, and each message in the order the plan lists them (entry by entry, recipient by recipient);
 * `onSend` sees the state as it is when each message is sent (`plan --show` renders them from it).
 */
export function planWithMails(
  spec: DemandSpec,
  startAt: number,
  onSend?: (state: DemandState, mail: PendingMail) => void,
): { plan: DemandPlan; mails: PendingMail[] } {
  const workflowId = demandWorkflowId(spec.id);
  const { mails, state, finished } = dryRunUnanswered({ spec, workflowId, startAt, ...(onSend ? { onSend } : {}) });
  const mailsOf = new Map<PlanEntry, PendingMail[]>();
  const plans = new Map(state.items.map((i) => [i.id, itemPlan(state, i)]));
  const sent = new Set<string>();
  const entries = new Map<string, PlanEntry>();
  const w = new Warnings();
  for (const mail of mails) {
    const trigger = triggerOf(mail);
    const index = Number(mail.context?.index ?? 0);
    const actions = mail.itemIds.flatMap(
      (id) =>
        plans
          .get(id)
          ?.find(
            (a) => a.kind === ACTION_OF[trigger] && a.index === index && isoInstant(a.at) === mail.context?.scheduledAt,
          ) ?? [],
    );
    for (const a of actions) sent.add(a.key);
    const step = trigger === 'escalation' || trigger === 'referral' ? spec.escalation[index - 1] : undefined;
    const key = [mail.at, mail.kind, trigger, index, mail.to.zone, mail.itemIds.join(','), mail.context?.event].join(
      '|',
    );
    // A message due outside its recipient's sending hours waits for them (the schedule's own moves aside).
    const held = mail.dueAt
      ? { from: mail.dueAt, reason: outsideWindowReason(Date.parse(mail.dueAt), mail.to.zone, calendarRules(spec)) }
      : undefined;
    if (held)
      w.add(
        'held-to-sending-hours',
        mail.at,
        `${mail.kind === 'internal' ? 'notice' : mail.kind} to ${mail.to.address} would go at ${localAndUtc(held.from, mail.to.zone)}, ${REASON_TEXT[held.reason](spec)} in their zone; held to ${localAndUtc(mail.at, mail.to.zone)}`,
        mail.itemIds,
      );
    const moved = actions.find((a) => a.moveReason);
    const entry = entries.get(key) ?? {
      at: mail.at,
      local: formatLocal(Date.parse(mail.at), mail.to.zone),
      zone: mail.to.zone,
      kind: mail.kind,
      trigger,
      ...(trigger === 'reminder' ? { reminder: index } : {}),
      ...(step ? { step: { index, ...(step.label ? { label: step.label } : {}), action: step.action } } : {}),
      recipients: [],
      itemIds: mail.itemIds,
      ...(moved ? { moved: { from: isoInstant(moved.nominalAt), reason: moved.moveReason! } } : {}),
      ...(held ? { held } : {}),
      ...(trigger === 'sign-off'
        ? {
            signOff: {
              gate: String(mail.context?.gate),
              label: String(mail.context?.label),
              timedOut: mail.context?.event === 'sign-off-timeout',
            },
          }
        : {}),
    };
    entry.recipients.push(recipientOf(spec, mail, trigger, step));
    entries.set(key, entry);
    mailsOf.set(entry, [...(mailsOf.get(entry) ?? []), mail]);
  }
  scheduleWarnings(spec, state, plans, sent, w);
  const last = mails[mails.length - 1]?.at ?? state.startedAt;
  if (!finished)
    w.add(
      'never-ends',
      last,
      `nothing is scheduled after ${localAndUtc(last, spec.counterparty.timezone)}: the demand waits until someone answers, extends or withdraws it`,
    );
  const deadlines = new Map<string, string[]>();
  for (const i of state.items) deadlines.set(i.dueAt, [...(deadlines.get(i.dueAt) ?? []), i.id]);
  const zone = spec.counterparty.timezone;
  const sorted = [...entries.values()].sort((a, b) => a.at.localeCompare(b.at));
  const plan: DemandPlan = {
    demandId: spec.id,
    workflowId,
    startAt: state.startedAt,
    outcome: finished ? state.status : 'waiting',
    ...(state.finishedAt ? { endsAt: state.finishedAt } : {}),
    deadlines: [...deadlines]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([at, itemIds]) => ({ at, local: formatLocal(Date.parse(at), zone), zone, itemIds })),
    entries: sorted,
    warnings: w.list(),
  };
  return { plan, mails: sorted.flatMap((e) => mailsOf.get(e) ?? []) };
}
