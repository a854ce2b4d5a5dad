/**
 * What a demand does with an inbound reply, and what it refuses. Pure: the handlers call these with the
 * time. The refusal rules run in the `recordReply` update's validator, so the gateway learns before it
 * answers 250 that a reply will not be recorded, and keeps it for triage instead.
 */
import { INBOUND_LIMITS, ACK_LIMITS } from '../domain/limits';
import { replyLimitProblem } from '../domain/inbound';
import type { InboundReply, RecordReplyResult } from '../domain/messages';
import { contactZone, itemContacts } from '../domain/schedule';
import type { DemandState, ExtensionRequest, ItemState, MessageRecord, ProblemRecord } from '../domain/state';
import {
  applyAnswer,
  recordDecision,
  findItem,
  isAwaiting,
  isFinished,
  isOpen,
  queueInternal,
  queueMail,
} from './model';
import { isoInstant, parseDeadline } from '../domain/time';

/** Keeps a problem, or counts it once INBOUND_LIMITS.problems are kept. */
export function addProblem(state: DemandState, problem: ProblemRecord): void {
  if (state.problems.length < INBOUND_LIMITS.problems) state.problems.push(problem);
  else state.problemsDropped = (state.problemsDropped ?? 0) + 1;
}

function seenEntry(state: DemandState, reply: InboundReply): string | undefined {
  return state.seenMessageIds.find((s) => s === reply.messageId || s.startsWith(`${reply.messageId}|`));
}

/** The message of ours a delivery report is about: sent by this demand, to the recipient the report names. */
export function bouncedMessage(
  state: DemandState,
  reply: Pick<InboundReply, 'originalMessageId' | 'failedRecipient'>,
): MessageRecord | undefined {
  if (!reply.originalMessageId || !reply.failedRecipient) return undefined;
  return state.messages.find(
    (m) => m.direction === 'out' && m.messageId === reply.originalMessageId && m.to.includes(reply.failedRecipient!),
  );
}

/** The items an answer lands on: the ones it names, else the only open item. */
function answerTargets(state: DemandState, known: string[]): ItemState[] {
  const items = known.map((id) => findItem(state, id)!);
  if (items.length) return items;
  const open = state.items.filter(isOpen);
  return open.length === 1 ? open : [];
}

/**
 * Why the demand would not record this reply, or undefined when it would (a redelivery of a recorded
 * message is accepted and counted once). The reasons are for the triage inbox, read by ops.
 */
export function replyRefusal(state: DemandState, reply: InboundReply): string | undefined {
  const L = INBOUND_LIMITS;
  if (isFinished(state)) return `demand ${state.demandId} has ended (${state.status})`;
  const over = replyLimitProblem(reply);
  if (over) return `the message is over a limit: ${over}`;
  const seen = seenEntry(state, reply);
  if (seen)
    return seen.includes('|') && seen !== `${reply.messageId}|${reply.digest}`
      ? `a different message with the Message-ID ${reply.messageId} was recorded already; this one is not recorded in its place`
      : undefined;
  if (reply.kind === 'bounce') {
    if (!reply.failedRecipient || !reply.originalMessageId)
      return 'a delivery report must name the failed recipient and the message of ours it reports on';
    if (!bouncedMessage(state, reply))
      return `the message it references (${reply.originalMessageId}) was never sent to ${reply.failedRecipient} by demand ${state.demandId}`;
  }
  const inbound = state.messages.filter((m) => m.direction === 'in').length;
  if (inbound >= L.messagesPerDemand)
    return `demand ${state.demandId} has recorded ${inbound} messages, the most one demand keeps; assign this one if it matters (README, "Limits")`;
  const known = reply.itemIds.filter((id) => findItem(state, id));
  if (reply.kind === 'answer') {
    const full = answerTargets(state, known).find((i) => i.answers.length >= L.answersPerItem);
    if (full)
      return `item ${full.id} has ${full.answers.length} answers recorded, the most one item keeps; assign this one if it matters (README, "Limits")`;
  }
  if (reply.kind === 'extension-request') {
    const pending = state.extensionRequests.filter((r) => r.status === 'pending').length;
    if (pending >= L.pendingExtensionRequests)
      return `demand ${state.demandId} has ${pending} extension requests waiting for a decision; decide them first (auditflow extend --request)`;
  }
  const growth = JSON.stringify(reply).length * (2 + known.length);
  const size = JSON.stringify(state).length;
  if (size + growth > L.stateBytes)
    return `demand ${state.demandId} holds ${Math.round(size / 1024)} KB of state, close to the ${L.stateBytes / 1024} KB it may keep in Temporal (README, "Limits")`;
  return undefined;
}

/**
 * Whether an answer may be acknowledged: a listed contact (a reply address never goes to a stranger),
 * not an automatic or list message (RFC 3834), and within ACK_LIMITS per sender, so that two automatic
 * responders cannot keep each other busy.
 */
export function mayAcknowledge(state: DemandState, reply: InboundReply, now: number): boolean {
  if (!state.spec.options.acknowledgeReplies || reply.noAutoReply) return false;
  if (!state.spec.counterparty.contacts.some((c) => c.address === reply.from)) return false;
  const acks = [...state.messages, ...state.outbox.map((m) => ({ ...m, to: [m.to.address] }))]
    .filter((m) => m.kind === 'acknowledgement' && m.to.includes(reply.from))
    .map((m) => Date.parse(m.at));
  if (acks.filter((at) => now - at < 3_600_000).length >= ACK_LIMITS.perHour) return false;
  return acks.filter((at) => now - at < 86_400_000).length < ACK_LIMITS.perDay;
}

/** A delivery report that proved itself: the recipient is undeliverable; after the deadline the items of that message move on. */
function recordBounce(state: DemandState, reply: InboundReply, original: MessageRecord, now: number): void {
  const failed = reply.failedRecipient!;
  if (!state.undeliverable.includes(failed)) state.undeliverable.push(failed);
  const awaiting = original.itemIds
    .map((id) => findItem(state, id))
    .filter((i): i is ItemState => i !== undefined && isAwaiting(i));
  // The ladder never fires before the deadline because of a bounce: it is evidence of a bad address, not of silence.
  const due = original.kind === 'internal' ? [] : awaiting.filter((i) => now >= Date.parse(i.dueAt));
  const waiting = awaiting.filter((i) => !due.includes(i));
  for (const i of due) if (!state.escalateNow.includes(i.id)) state.escalateNow.push(i.id);
  const parts = [`${failed} is undeliverable (the ${original.kind} ${original.messageId} bounced)`];
  if (due.length) parts.push(`${due.map((i) => i.id).join(', ')} move to their next escalation step`);
  if (waiting.length) parts.push(`the ladder of ${waiting.map((i) => i.id).join(', ')} waits for the deadline`);
  recordDecision(state, { kind: 'bounce', itemIds: original.itemIds, detail: parts.join('; ') }, now);
  queueInternal(
    state,
    ['owner'],
    `bounce/${reply.digest.slice(0, 16)}`,
    original.itemIds,
    { event: 'bounce', failedRecipient: failed },
    now,
  );
}

/** The bounce handling of histories recorded before reports had to prove themselves (kept so they replay). */
function recordBounceUnverified(state: DemandState, reply: InboundReply, known: string[], now: number): void {
  const failed = reply.failedRecipient;
  if (failed && !state.undeliverable.includes(failed)) state.undeliverable.push(failed);
  const affected = known.length
    ? known
    : state.items
        .filter(
          (i) =>
            isAwaiting(i) && failed !== undefined && itemContacts(state.spec, i.id).some((c) => c.address === failed),
        )
        .map((i) => i.id);
  for (const id of affected) if (!state.escalateNow.includes(id)) state.escalateNow.push(id);
  recordDecision(
    state,
    { kind: 'bounce', itemIds: known, detail: `${failed ?? 'unknown recipient'} is undeliverable` },
    now,
  );
  queueInternal(
    state,
    ['owner'],
    `bounce/${reply.digest.slice(0, 16)}`,
    known,
    { event: 'bounce', failedRecipient: failed },
    now,
  );
}

/** The zone a counterparty writer reads mail in: their own when they are a contact, else the counterparty's. */
function senderZone(state: DemandState, address: string): string {
  const contact = state.spec.counterparty.contacts.find((c) => c.address === address);
  return contact ? contactZone(state.spec, contact, 'counterparty') : state.spec.counterparty.timezone;
}

/**
 * An out-of-office reply: recorded with its return date and the items whose deadline comes before the
 * writer is back (the owner's digest lists them). The spec may also tell the owner at once, and copy the
 * next reminder of those items to the counterparty's escalation contacts.
 */
function recordOutOfOffice(state: DemandState, reply: InboundReply, known: string[], now: number): void {
  const zone = senderZone(state, reply.from);
  const back = /^\d{4}-\d{2}-\d{2}$/.test(reply.returnDate ?? '')
    ? parseDeadline(`${reply.returnDate}T00:00`, zone)
    : undefined;
  const backMs = back && 'ms' in back ? back.ms : undefined;
  // The items the writer answers for when the reply names none.
  const theirs = known.length
    ? known
    : state.items.filter((i) => itemContacts(state.spec, i.id).some((c) => c.address === reply.from)).map((i) => i.id);
  const pastDeadline =
    backMs === undefined
      ? []
      : theirs.filter((id) => {
          const item = findItem(state, id);
          return item !== undefined && isAwaiting(item) && backMs > Date.parse(item.dueAt);
        });
  recordDecision(
    state,
    {
      kind: 'out-of-office',
      by: reply.from,
      itemIds: known,
      detail: reply.returnDate ? `back on ${reply.returnDate}` : 'no return date given',
      ...(reply.returnDate ? { returnDate: reply.returnDate } : {}),
      ...(pastDeadline.length ? { pastDeadline } : {}),
    },
    now,
  );
  if (pastDeadline.length === 0) return;
  const because = `${reply.fromName ?? reply.from} is out of office until ${reply.returnDate}, after the deadline`;
  const policy = state.spec.options.outOfOffice;
  if (policy.tellOwner === 'at-once')
    queueInternal(
      state,
      ['owner'],
      `out-of-office/${reply.digest.slice(0, 16)}`,
      pastDeadline,
      { event: 'out-of-office', from: reply.from, returnDate: reply.returnDate },
      now,
    );
  if (policy.copyNextReminder) {
    const copies = (state.copyToEscalation ??= []);
    for (const itemId of pastDeadline) if (!copies.some((c) => c.itemId === itemId)) copies.push({ itemId, because });
  }
}

/**
 * Records an inbound reply (an answer, a request for time, an out-of-office or a bounce); duplicates
 * count once. `bounded` selects today's rules (acknowledgements limited, bounces verified); histories
 * recorded before them replay with `bounded` false.
 */
export function recordReply(state: DemandState, reply: InboundReply, now: number, bounded: boolean): RecordReplyResult {
  const seen = seenEntry(state, reply);
  if (seen) {
    if (seen.includes('|') && seen !== `${reply.messageId}|${reply.digest}`) {
      addProblem(state, {
        at: isoInstant(now),
        source: `reply ${reply.messageId}`,
        message:
          'a different message arrived with the Message-ID of one already recorded; kept as evidence, not recorded as an answer',
      });
    } else {
      state.duplicatesIgnored += 1;
    }
    return { outcome: 'duplicate', kind: reply.kind, itemIds: [] };
  }
  state.seenMessageIds.push(`${reply.messageId}|${reply.digest}`);
  const original = bounded && reply.kind === 'bounce' ? bouncedMessage(state, reply) : undefined;
  const named = original ? original.itemIds : reply.itemIds;
  const known = named.filter((id) => findItem(state, id));
  const unknown = named.filter((id) => !findItem(state, id));
  if (unknown.length)
    addProblem(state, {
      at: isoInstant(now),
      source: `reply ${reply.messageId}`,
      message: `names unknown item(s) ${unknown.join(', ')}`,
    });
  state.messages.push({
    direction: 'in',
    kind: reply.kind,
    messageId: reply.messageId,
    at: reply.receivedAt,
    from: reply.from,
    to: [],
    itemIds: known,
    status: 'recorded',
    raw: reply.raw,
    ...(reply.subject ? { subject: reply.subject } : {}),
    ...(reply.excerpt ? { detail: reply.excerpt } : {}),
  });
  const items = known.map((id) => findItem(state, id)!);
  for (const item of items) item.lastMessage = { direction: 'in', kind: reply.kind, at: reply.receivedAt };

  if (reply.kind === 'answer') {
    const targets = answerTargets(state, known);
    if (targets.length === 0) {
      addProblem(state, {
        at: isoInstant(now),
        source: `reply ${reply.messageId}`,
        message: 'an answer that names no item, while several are open: assign it with `auditflow record`',
      });
      return { outcome: 'recorded', kind: reply.kind, itemIds: [] };
    }
    for (const item of targets) {
      applyAnswer(
        state,
        item,
        {
          id: `${reply.messageId}#${item.id}`,
          receivedAt: reply.receivedAt,
          channel: 'email',
          from: reply.from,
          messageId: reply.messageId,
          attachments: reply.attachments,
          ...(reply.attachmentManifest ? { attachmentManifest: reply.attachmentManifest } : {}),
          raw: reply.raw,
          ...(reply.excerpt ? { summary: reply.excerpt } : {}),
          ...(reply.auth ? { auth: reply.auth } : {}),
        },
        now,
      );
    }
    if (bounded ? mayAcknowledge(state, reply, now) : state.spec.options.acknowledgeReplies) {
      queueMail(state, {
        keyPart: `ack/${reply.digest.slice(0, 16)}`,
        kind: 'acknowledgement',
        at: isoInstant(now),
        itemIds: targets.map((i) => i.id),
        to: {
          address: reply.from,
          // Since sending hours, the writer's own zone when they are a contact (it dates and times the message).
          zone: state.sendHours ? senderZone(state, reply.from) : state.spec.counterparty.timezone,
          ...(reply.fromName ? { name: reply.fromName } : {}),
        },
        audience: 'counterparty',
        expectsReply: true,
        context: { receivedAt: reply.receivedAt, subject: reply.subject },
      });
    }
    return { outcome: 'recorded', kind: reply.kind, itemIds: targets.map((i) => i.id) };
  }
  if (reply.kind === 'extension-request') {
    const request: ExtensionRequest = {
      id: `ext-${state.extensionRequests.length + 1}`,
      itemIds: known,
      receivedAt: reply.receivedAt,
      from: reply.from,
      messageId: reply.messageId,
      status: 'pending',
      ...(reply.requestedDeadline ? { requestedDeadline: reply.requestedDeadline } : {}),
      ...(reply.excerpt ? { excerpt: reply.excerpt } : {}),
    };
    state.extensionRequests.push(request);
    recordDecision(
      state,
      {
        kind: 'extension-requested',
        by: reply.from,
        itemIds: known,
        detail: request.id,
        ...(reply.excerpt ? { reason: reply.excerpt } : {}),
      },
      now,
    );
    queueInternal(
      state,
      ['owner'],
      `extension-request/${request.id}`,
      known,
      {
        event: 'extension-request',
        requestId: request.id,
        from: reply.from,
        requestedDeadline: reply.requestedDeadline,
      },
      now,
    );
  } else if (reply.kind === 'out-of-office') {
    recordOutOfOffice(state, reply, known, now);
  } else if (original) {
    recordBounce(state, reply, original, now);
  } else if (!bounded) {
    recordBounceUnverified(state, reply, known, now);
  } else {
    addProblem(state, {
      at: isoInstant(now),
      source: `reply ${reply.messageId}`,
      message:
        'a delivery report that references no message of this demand sent to the recipient it names; kept as evidence, nobody marked undeliverable',
    });
  }
  return { outcome: 'recorded', kind: reply.kind, itemIds: known };
}
