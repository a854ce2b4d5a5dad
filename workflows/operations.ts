/**
 * What each accepted operation does to the state: already validated, so these never refuse. Each
 * records a decision (who, why) and queues the messages the counterparty or the owner must get.
 */
import type { RecordResponseInput, ReviewInput, UpdateResult } from '../domain/messages';
import type { DemandState, ExtensionRequest, ItemState } from '../domain/state';
import { formatLocal, isoInstant } from '../domain/time';
import {
  applyAnswer,
  closeItem,
  recordDecision,
  findItem,
  isAwaiting,
  isOpen,
  queueInternal,
  queueMail,
  queueToItemContacts,
  refreshPhase,
} from './model';

function itemsResult(items: ItemState[]): UpdateResult['items'] {
  return items.map((i) => ({ itemId: i.id, dueAt: i.dueAt, phase: i.phase }));
}

/** Moves deadlines later; reminders and the ladder are planned again from the new deadline. */
export function extend(
  state: DemandState,
  targets: { item: ItemState; dueAt: number }[],
  d: { reason: string; by: string; requestId?: string },
  now: number,
): UpdateResult {
  for (const { item, dueAt } of targets) {
    item.dueAt = isoInstant(dueAt);
    const round = item.rounds[item.round];
    if (round) round.dueAt = item.dueAt;
    item.plannedAt = isoInstant(now);
    item.escalationLevel = 0;
    // A new deadline plans a new ladder: what sign-offs held back of the old one no longer applies.
    delete item.ladderShifts;
    refreshPhase(item, state.spec, now);
  }
  const itemIds = targets.map((t) => t.item.id);
  if (d.requestId) {
    const request = state.extensionRequests.find((r) => r.id === d.requestId);
    if (request) Object.assign(request, { status: 'approved', decidedBy: d.by, decidedAt: isoInstant(now) });
  }
  recordDecision(
    state,
    {
      kind: 'extend',
      by: d.by,
      reason: d.reason,
      itemIds,
      detail: targets.map((t) => `${t.item.id} -> ${t.item.dueAt}`).join(', '),
    },
    now,
  );
  queueToItemContacts(state, itemIds, 'deadline-update', `extension/${state.decisions.length}`, now, {
    context: { event: 'extension', reason: d.reason },
  });
  const shown = targets[0] ? formatLocal(targets[0].dueAt, state.spec.counterparty.timezone) : '';
  return {
    ok: true,
    message: `deadline of ${itemIds.join(', ')} moved to ${shown}${targets.length > 1 && new Set(targets.map((t) => t.dueAt)).size > 1 ? ' (and later for some)' : ''}`,
    items: itemsResult(targets.map((t) => t.item)),
  };
}

/** Records the refusal of an emailed request for more time, and tells the person who asked. */
export function denyExtension(
  state: DemandState,
  request: ExtensionRequest,
  reason: string,
  by: string,
  now: number,
): UpdateResult {
  Object.assign(request, { status: 'denied', decidedBy: by, decidedAt: isoInstant(now) });
  recordDecision(state, { kind: 'extension-denied', by, reason, itemIds: request.itemIds, detail: request.id }, now);
  const itemIds = request.itemIds.length ? request.itemIds : state.items.filter(isAwaiting).map((i) => i.id);
  queueToItemContacts(state, itemIds, 'deadline-update', `extension-denied/${request.id}`, now, {
    context: { event: 'extension-denied', reason },
  });
  return { ok: true, message: `extension request ${request.id} denied; deadlines unchanged` };
}

/** Stops the clock: no reminder or escalation fires until resume. */
export function pause(state: DemandState, reason: string, by: string, now: number): UpdateResult {
  state.paused = { since: isoInstant(now), by, reason };
  recordDecision(state, { kind: 'pause', by, reason, itemIds: state.items.filter(isAwaiting).map((i) => i.id) }, now);
  const itemIds = state.items.filter(isAwaiting).map((i) => i.id);
  queueToItemContacts(state, itemIds, 'deadline-update', `pause/${state.decisions.length}`, now, {
    context: { event: 'paused', reason },
  });
  return { ok: true, message: `clock stopped for ${itemIds.length} open item(s)` };
}

/** Restarts the clock: the time paused is added to every pending deadline. */
export function resume(state: DemandState, by: string, reason: string | undefined, now: number): UpdateResult {
  const since = Date.parse(state.paused!.since);
  // Rounded to the nearest minute: deadlines stay on whole minutes, as people wrote them.
  const pausedMs = Math.round((now - since) / 60_000) * 60_000;
  delete state.paused;
  state.pausedTotalMs += pausedMs;
  const moved = state.items.filter(isAwaiting);
  for (const item of moved) {
    item.dueAt = isoInstant(Date.parse(item.dueAt) + pausedMs);
    const round = item.rounds[item.round];
    if (round) round.dueAt = item.dueAt;
    item.plannedAt = isoInstant(now);
    refreshPhase(item, state.spec, now);
  }
  recordDecision(
    state,
    {
      kind: 'resume',
      by,
      itemIds: moved.map((i) => i.id),
      detail: `paused for ${Math.round(pausedMs / 60000)} min; deadlines moved by the same`,
      ...(reason ? { reason } : {}),
    },
    now,
  );
  queueToItemContacts(
    state,
    moved.map((i) => i.id),
    'deadline-update',
    `resume/${state.decisions.length}`,
    now,
    { context: { event: 'resumed', pausedMs } },
  );
  return {
    ok: true,
    message: `clock restarted; ${moved.length} deadline(s) moved by ${Math.round(pausedMs / 60000)} min`,
    items: itemsResult(moved),
  };
}

/** An answer received outside email. */
export function recordResponse(state: DemandState, input: RecordResponseInput, now: number): UpdateResult {
  const receivedAt = input.receivedAt ?? isoInstant(now);
  const items = input.itemIds.map((id) => findItem(state, id)!);
  for (const item of items) {
    applyAnswer(
      state,
      item,
      {
        id: `manual-${state.decisions.length}-${item.id}`,
        receivedAt,
        channel: input.channel,
        summary: input.summary,
        attachments: input.attachments.map(({ ref: _ref, ...a }) => a),
        recordedBy: input.by,
      },
      now,
    );
    item.lastMessage = { direction: 'in', kind: `response (${input.channel})`, at: receivedAt };
  }
  recordDecision(
    state,
    {
      kind: 'record-response',
      by: input.by,
      itemIds: input.itemIds,
      detail: `${input.channel}: ${input.summary.slice(0, 200)}`,
    },
    now,
  );
  return { ok: true, message: `response recorded for ${input.itemIds.join(', ')}`, items: itemsResult(items) };
}

/** Accept, ask for more (a follow-up round with its own deadline), or reject. */
export function review(
  state: DemandState,
  item: ItemState,
  input: ReviewInput,
  dueAt: number | undefined,
  now: number,
): UpdateResult {
  item.reviews.push({
    round: item.round,
    decision: input.decision,
    by: input.by,
    at: isoInstant(now),
    ...(input.reason ? { reason: input.reason } : {}),
    ...(input.questions ? { questions: input.questions } : {}),
    ...(dueAt ? { dueAt: isoInstant(dueAt) } : {}),
  });
  recordDecision(
    state,
    {
      kind: 'review',
      by: input.by,
      itemIds: [item.id],
      detail: input.decision,
      ...(input.reason ? { reason: input.reason } : {}),
    },
    now,
  );
  if (input.decision === 'accept') closeItem(state, item, 'accepted', now, input.by, input.reason);
  else if (input.decision === 'reject') closeItem(state, item, 'rejected', now, input.by, input.reason);
  else {
    item.round += 1;
    item.rounds.push({
      round: item.round,
      questions: input.questions!,
      dueAt: isoInstant(dueAt!),
      requestedAt: isoInstant(now),
    });
    item.dueAt = isoInstant(dueAt!);
    item.plannedAt = isoInstant(now);
    item.escalationLevel = 0;
    delete item.ladderShifts;
    item.phase = 'awaiting';
    refreshPhase(item, state.spec, now);
    queueToItemContacts(state, [item.id], 'follow-up', `follow-up/${item.id}/${item.round}`, now, {
      context: { round: item.round, ...(input.reason ? { reason: input.reason } : {}) },
    });
  }
  return {
    ok: true,
    message: `${item.id}: ${input.decision}${input.decision === 'more-info' ? ` (follow-up round ${item.round}, due ${item.dueAt})` : ''}`,
    items: itemsResult([item]),
  };
}

/** Cancels the demand: open items close as withdrawn, the counterparty and the owner are told. */
export function withdraw(state: DemandState, reason: string, by: string, now: number): UpdateResult {
  state.withdrawn = { at: isoInstant(now), by, reason };
  const open = state.items.filter(isOpen);
  recordDecision(state, { kind: 'withdraw', by, reason, itemIds: open.map((i) => i.id) }, now);
  for (const item of open) closeItem(state, item, 'withdrawn', now, by, reason);
  queueToItemContacts(
    state,
    state.items.map((i) => i.id),
    'withdrawal',
    'withdrawal',
    now,
    { context: { reason }, expectsReply: false },
  );
  // Everyone on their side we wrote to (escalation contacts included) learns it is over.
  const told = new Set(state.outbox.filter((m) => m.kind === 'withdrawal').map((m) => m.to.address));
  for (const m of state.messages) {
    const address = m.to[0];
    if (
      m.direction !== 'out' ||
      !address ||
      told.has(address) ||
      m.kind === 'internal' ||
      state.undeliverable.includes(address)
    )
      continue;
    const contact = state.spec.counterparty.contacts.find((c) => c.address === address);
    if (!contact) continue;
    told.add(address);
    queueMail(state, {
      keyPart: 'withdrawal',
      kind: 'withdrawal',
      at: isoInstant(now),
      itemIds: state.items.map((i) => i.id),
      to: { name: contact.name, address, zone: contact.timezone ?? state.spec.counterparty.timezone },
      audience: 'counterparty',
      expectsReply: false,
      context: { reason },
    });
  }
  queueInternal(
    state,
    ['owner'],
    'withdrawal',
    open.map((i) => i.id),
    { event: 'withdrawal', reason, by },
    now,
  );
  return { ok: true, message: `demand ${state.demandId} withdrawn; ${open.length} open item(s) closed` };
}
