/**
 * Sign-off gates: a step the spec says must be signed off (an escalation step's `signOff`, or the
 * request's `requestSignOff`) does not send when it falls due. Its messages are kept in a gate, the
 * approvers get the exact messages by email, and the items wait there (their later steps too) until
 * someone approves (the messages go out then, later steps move by the time waited), holds it, or the
 * time runs out (then: hold, or send as it is). Pure state transitions like model.ts.
 */
import type { Contact, SignOff } from '../domain/demand';
import { applyOffset, calendarRules, resolveRef } from '../domain/schedule';
import type { DemandState, PendingMail, SignOffGate } from '../domain/state';
import { earliestInWindow, formatLocal, isoInstant } from '../domain/time';
import {
  applyEscalation,
  closeIfExhausted,
  describeAction,
  findItem,
  heldMailFirst,
  inSendingHours,
  isAwaiting,
  isOpenGate,
  isOpen,
  itemPlan,
  nextActionGroup,
  queueInternal,
  queueRequests,
  recordDecision,
  refreshPhase,
} from './model';

/** Runs `queue` and takes back the mail it put in the outbox (for a gate to keep). */
export function withheld(state: DemandState, queue: () => void): PendingMail[] {
  const before = state.outbox.length;
  queue();
  return state.outbox.splice(before);
}

function outcomeText(onTimeout: SignOff['onTimeout']): string {
  return onTimeout === 'send' ? 'sent as it is' : 'held (nothing further goes out for these items until approved)';
}

/** Opens a gate on messages a step would send, and asks its approvers. */
export function openGate(
  state: DemandState,
  p: {
    step: number;
    label: string;
    signOff: SignOff;
    itemIds: string[];
    actionKeys: Record<string, string>;
    scheduledAt: number;
    mails: PendingMail[];
  },
  now: number,
): SignOffGate {
  const gates = (state.gates ??= []);
  // The time to decide runs from when the step fell due (or from now, when the gate opens late). A gate
  // that sends at its timeout times out inside the sending hours of the first counterparty it writes to.
  const from = now - p.scheduledAt < 60_000 ? p.scheduledAt : now;
  const decided = applyOffset(from, p.signOff.within, state.spec, 1);
  const reader = p.mails.find((m) => m.audience === 'counterparty')?.to.zone;
  const expiresAt =
    p.signOff.onTimeout === 'send' && reader ? earliestInWindow(decided, reader, calendarRules(state.spec)) : decided;
  const gate: SignOffGate = {
    id: `g${gates.length + 1}`,
    step: p.step,
    label: p.label,
    itemIds: p.itemIds,
    actionKeys: p.actionKeys,
    scheduledAt: isoInstant(p.scheduledAt),
    openedAt: isoInstant(now),
    expiresAt: isoInstant(expiresAt),
    approverRole: p.signOff.by,
    onTimeout: p.signOff.onTimeout,
    mails: p.mails,
    status: 'waiting',
  };
  gates.push(gate);
  recordDecision(
    state,
    {
      kind: 'sign-off-requested',
      by: 'auditflow',
      itemIds: gate.itemIds,
      detail: `${gate.id}: ${gate.label} waits for sign-off by ${gate.approverRole} until ${gate.expiresAt}; then ${outcomeText(gate.onTimeout)}`,
    },
    now,
  );
  queueInternal(state, [gate.approverRole], `sign-off/${gate.id}`, gate.itemIds, signOffContext(gate), now);
  return gate;
}

function signOffContext(gate: SignOffGate, event = 'sign-off'): PendingMail['context'] {
  return {
    event,
    gate: gate.id,
    label: gate.label,
    role: gate.approverRole,
    expiresAt: gate.expiresAt,
    onTimeout: gate.onTimeout,
    status: gate.status,
  };
}

/** The first request, or, when the spec wants it signed off, a gate holding it. */
export function startRequests(
  state: DemandState,
  now: number,
  itemIds: string[] = state.items.map((i) => i.id),
  keyPart = 'request',
): void {
  const signOff = state.spec.requestSignOff;
  if (!signOff) {
    queueRequests(state, now, itemIds, keyPart);
    return;
  }
  const mails = withheld(state, () => queueRequests(state, now, itemIds, keyPart));
  for (const item of state.items.filter((i) => itemIds.includes(i.id))) delete item.rounds[0]?.requestedAt;
  openGate(
    state,
    {
      step: 0,
      label: keyPart === 'request' ? 'the request' : `the request for ${itemIds.join(', ')}`,
      signOff,
      itemIds,
      actionKeys: {},
      scheduledAt: now,
      mails,
    },
    now,
  );
}

/** Lets a gate's messages go: approved by someone, or sent when its time ran out. Returns the items released. */
export function releaseGate(
  state: DemandState,
  gate: SignOffGate,
  d: { status: 'approved' | 'sent-on-timeout'; by: string; reason?: string; note?: string },
  now: number,
): string[] {
  const released: string[] = [];
  for (const id of gate.itemIds) {
    const item = findItem(state, id);
    if (!item || !isOpen(item)) continue;
    if (gate.step === 0) {
      // The clock starts now: reminders that fell while the request waited are not sent.
      item.plannedAt = isoInstant(now);
      const round = item.rounds[0];
      if (round) round.requestedAt = isoInstant(now);
      refreshPhase(item, state.spec, now);
      released.push(id);
      continue;
    }
    if (!isAwaiting(item)) continue;
    const plan = itemPlan(state, item);
    const action = plan.find((a) => a.key === gate.actionKeys[id]);
    if (!action || item.firedKeys.includes(action.key)) continue;
    item.firedKeys.push(action.key);
    released.push(id);
    const signed = d.status === 'approved' ? ` (signed off by ${d.by})` : ' (sent without sign-off: time ran out)';
    if (!applyEscalation(state, item, action, now, signed)) continue;
    const waited = now - Date.parse(gate.scheduledAt);
    if (waited > 0) (item.ladderShifts ??= []).push({ afterStep: gate.step, ms: waited });
    refreshPhase(item, state.spec, now);
    closeIfExhausted(state, item, itemPlan(state, item), now);
  }
  Object.assign(gate, {
    status: d.status,
    decidedBy: d.by,
    decidedAt: isoInstant(now),
    ...(d.reason ? { reason: d.reason } : {}),
    ...(d.note ? { note: d.note } : {}),
  });
  recordDecision(
    state,
    {
      kind: d.status === 'approved' ? 'signed-off' : 'sign-off-timeout',
      by: d.by,
      itemIds: released,
      detail: `${gate.id}: ${gate.label}${d.status === 'approved' ? ' signed off' : `: no sign-off by ${gate.expiresAt}, sent as it is`}${d.note ? '; note edited' : ''}`,
      ...(d.reason ? { reason: d.reason } : {}),
    },
    now,
  );
  for (const mail of gate.mails) {
    const itemIds = mail.itemIds.filter((id) => released.includes(id));
    if (itemIds.length === 0 || state.messages.some((m) => m.key === mail.key)) continue;
    const { dueAt: _held, ...kept } = mail;
    state.outbox.push(
      inSendingHours(state, {
        ...kept,
        at: isoInstant(now),
        itemIds,
        ...(d.note ? { context: { ...mail.context, note: d.note } } : {}),
      }),
    );
  }
  if (d.status === 'sent-on-timeout')
    queueInternal(
      state,
      ['owner', gate.approverRole],
      `sign-off-timeout/${gate.id}`,
      released,
      signOffContext(gate, 'sign-off-timeout'),
      now,
    );
  return released;
}

/** Holds a waiting gate: nothing goes out for its items until someone approves it. */
export function holdGate(state: DemandState, gate: SignOffGate, by: string, reason: string, now: number): void {
  Object.assign(gate, { status: 'held', decidedBy: by, decidedAt: isoInstant(now), reason });
  recordDecision(
    state,
    { kind: 'sign-off-held', by, reason, itemIds: gate.itemIds, detail: `${gate.id}: ${gate.label} held` },
    now,
  );
}

/** Gates whose time ran out: held or sent, as their spec says. */
export function expireGates(state: DemandState, now: number): void {
  for (const gate of state.gates ?? []) {
    if (gate.status !== 'waiting' || Date.parse(gate.expiresAt) > now) continue;
    if (gate.onTimeout === 'send') {
      releaseGate(state, gate, { status: 'sent-on-timeout', by: 'auditflow' }, now);
      continue;
    }
    Object.assign(gate, { status: 'held-on-timeout', decidedBy: 'auditflow', decidedAt: isoInstant(now) });
    recordDecision(
      state,
      {
        kind: 'sign-off-timeout',
        by: 'auditflow',
        itemIds: gate.itemIds,
        detail: `${gate.id}: ${gate.label}: no sign-off by ${gate.expiresAt}, held`,
      },
      now,
    );
    queueInternal(
      state,
      ['owner', gate.approverRole],
      `sign-off-timeout/${gate.id}`,
      gate.itemIds,
      signOffContext(gate, 'sign-off-timeout'),
      now,
    );
  }
}

/**
 * Lets items go from open gates they no longer wait at (answered, closed, or given a new deadline, which
 * plans a new ladder); a gate left with no item is cancelled.
 */
export function reconcileGates(state: DemandState, now: number): void {
  for (const gate of state.gates ?? []) {
    if (!isOpenGate(gate)) continue;
    const stays = gate.itemIds.filter((id) => {
      const item = findItem(state, id);
      if (!item || !isOpen(item)) return false;
      if (gate.step === 0) return true;
      return isAwaiting(item) && itemPlan(state, item).some((a) => a.key === gate.actionKeys[id]);
    });
    if (stays.length === gate.itemIds.length) continue;
    const gone = gate.itemIds.filter((id) => !stays.includes(id));
    gate.itemIds = stays;
    if (stays.length > 0) continue;
    Object.assign(gate, { status: 'cancelled', decidedBy: 'auditflow', decidedAt: isoInstant(now) });
    recordDecision(
      state,
      {
        kind: 'sign-off-cancelled',
        by: 'auditflow',
        itemIds: gone,
        detail: `${gate.id}: ${gate.label}: no item waits at it any more (answered, closed or given a new deadline)`,
      },
      now,
    );
  }
}

/** When the next waiting gate times out (ms), if that comes before the next scheduled action `nextAt`. */
export function gateTimeoutFirst(state: DemandState, nextAt: number | undefined): number | undefined {
  const times = (state.gates ?? []).filter((g) => g.status === 'waiting').map((g) => Date.parse(g.expiresAt));
  const first = times.length ? Math.min(...times) : undefined;
  return first !== undefined && (nextAt === undefined || first < nextAt) ? first : undefined;
}

/**
 * What the main loop waits for next, and until when: a message waiting for its recipient's sending hours,
 * a sign-off that times out, or the next schedule action, whichever comes first (nothing: undefined).
 * The workflow's timer and the `plan` dry run both ask it, so they wake at the same instants.
 */
export function nextWake(state: DemandState, now: number): { at: number; summary: string } | undefined {
  const next = nextActionGroup(state);
  const gateAt = gateTimeoutFirst(state, next?.action.at);
  const heldAt = heldMailFirst(state, now);
  if (heldAt !== undefined && heldAt < (gateAt ?? next?.action.at ?? Infinity))
    return { at: heldAt, summary: 'a message waits for sending hours' };
  if (gateAt !== undefined) return { at: gateAt, summary: 'a sign-off times out' };
  if (next) return { at: next.action.at, summary: describeAction(next.action, next.itemIds).slice(0, 190) };
  return undefined;
}

/**
 * The open gates a reference names: a gate id (g2), `request`, a step number (2) or a step label
 * ("final notice"). Throws a message that lists what waits when nothing matches.
 */
export function gatesFor(state: DemandState, ref: string): SignOffGate[] {
  const open = (state.gates ?? []).filter(isOpenGate);
  const r = ref.trim().toLowerCase();
  const found = open.filter(
    (g) =>
      g.id === r ||
      (r === 'request' && g.step === 0) ||
      (/^\d+$/.test(r) && g.step === Number(r) && g.step > 0) ||
      g.label.toLowerCase().replace(/^escalation step \d+: /, '') === r,
  );
  if (found.length) return found;
  const waiting = open.map((g) => `${g.id} (${g.label}, ${g.status})`).join(', ');
  throw new Error(
    `no step waits for sign-off matching "${ref}"${waiting ? `; waiting: ${waiting}` : '; nothing waits for sign-off'}`,
  );
}

/** The requester person `who` names (name or address) if they hold the gate's approver role; else why not. */
export function approverFor(state: DemandState, gate: SignOffGate, who: string): Contact {
  const people = resolveRef(state.spec, `requester:${gate.approverRole}`);
  const w = who.trim().toLowerCase();
  const person = people.find((p) => p.name.toLowerCase() === w || p.address?.toLowerCase() === w);
  if (person) return person;
  throw new Error(
    `${who} may not sign off ${gate.id}: it needs a requester person with the role "${gate.approverRole}" (${people.map((p) => `${p.name}${p.address ? ` <${p.address}>` : ''}`).join(', ')}), named or by address`,
  );
}

/** "g1 escalation step 2: final notice for xbox, psn (counsel) until <local>; then held". */
export function describeGate(gate: SignOffGate, zone: string): string {
  const items = gate.itemIds.length > 3 ? `${gate.itemIds.length} items` : gate.itemIds.join(', ');
  const state =
    gate.status === 'waiting'
      ? `waits for ${gate.approverRole} until ${formatLocal(Date.parse(gate.expiresAt), zone)}; then ${gate.onTimeout === 'send' ? 'sent as it is' : 'held'}`
      : `${gate.status}${gate.decidedBy ? ` by ${gate.decidedBy}` : ''}`;
  return `${gate.id} ${gate.label} for ${items}: ${state}`;
}
