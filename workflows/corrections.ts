/**
 * Corrections to a running demand: a contact who left or bounced, an item that belongs to someone else,
 * an item forgotten, cancelled, a question to reword, a closed item to reopen. Each is an update whose
 * validator refuses, with the reason, what makes no sense (nothing changes then); each applied correction
 * records who and why in the timeline and tells the counterparty what changed for them. The spec kept in
 * the state is corrected too, so the schedule, the reply rules (the memo) and the report follow it.
 */
import type { Contact } from '../domain/demand';
import { applyOffset, itemContacts } from '../domain/schedule';
import {
  AddContactInput,
  AddItemInput,
  CancelItemInput,
  ChangeQuestionInput,
  ReassignItemInput,
  RemoveContactInput,
  ReopenItemInput,
  ReplaceContactInput,
  addContactUpdate,
  addItemUpdate,
  cancelItemUpdate,
  changeQuestionUpdate,
  reassignItemUpdate,
  removeContactUpdate,
  reopenItemUpdate,
  replaceContactUpdate,
  type UpdateResult,
} from '../domain/messages';
import type { DemandState, ItemState, PendingMail } from '../domain/state';
import { formatLocal, formatUtc, isoInstant, parseDeadline } from '../domain/time';
import { INBOUND_LIMITS } from '../domain/limits';
import {
  closeItem,
  findItem,
  gateOf,
  isAwaiting,
  isOpen,
  inSendingHours,
  isOpenGate,
  newItemState,
  queueToItemContacts,
  recordDecision,
  refreshPhase,
} from './model';
import { startRequests } from './sign-off';
import { parseOrReject, requireItems, requireRunning } from './validate';

/** One correction: its update, its validator (throws the refusal) and what it does. */
export interface Correction<I = unknown> {
  def: { name: string };
  validate(state: DemandState, raw: unknown, now: number): I;
  apply(state: DemandState, input: I, now: number): UpdateResult;
}

/**
 * Every correction is refused once the state is at its size limit (the same bound replies have), so that
 * corrections cannot grow a history past what Temporal accepts.
 */
const define = <I>(c: Correction<I>): Correction<unknown> =>
  ({
    ...c,
    validate(state: DemandState, raw: unknown, now: number) {
      if (JSON.stringify(state).length > INBOUND_LIMITS.stateBytes)
        throw new Error(
          `the demand's state is at its size limit (${INBOUND_LIMITS.stateBytes} bytes); it cannot take more corrections`,
        );
      return c.validate(state, raw, now);
    },
  }) as unknown as Correction<unknown>;

const contacts = (state: DemandState) => state.spec.counterparty.contacts;

function contactByAddress(state: DemandState, address: string): Contact {
  const found = contacts(state).find((c) => c.address === address);
  if (!found)
    throw new Error(
      `${address} is not a counterparty contact of demand ${state.demandId} (contacts: ${contacts(state)
        .flatMap((c) => (c.address ? [c.address] : []))
        .join(', ')})`,
    );
  return found;
}

/** A contact of the demand whose mail has not bounced: the only kind an item may be given to. */
function requireReachable(state: DemandState, address: string, field = ''): void {
  contactByAddress(state, address);
  if (state.undeliverable.includes(address))
    throw new Error(`${field}${address} is marked undeliverable (mail to it bounced); replace that contact first`);
}

function requireNewAddress(state: DemandState, address: string): void {
  const existing = contacts(state).find((c) => c.address === address);
  if (existing)
    throw new Error(
      `${address} is already a counterparty contact (${existing.name}); to give them items use: auditflow item reassign`,
    );
  if (state.undeliverable.includes(address))
    throw new Error(`${address} is marked undeliverable (mail to it bounced or was refused); give a working address`);
}

/** A sign-off gate holding an item's request: corrections that would write to it wait for the decision. */
function requireRequestSent(state: DemandState, item: ItemState, what: string): void {
  const gate = gateOf(state, item.id);
  if (gate && gate.step === 0)
    throw new Error(
      `item "${item.id}" waits for sign-off of its request (${gate.id}); approve or hold it first, then ${what}`,
    );
}

/** A warning for a contact whose replies the spec's domains would send to triage. */
function domainWarning(state: DemandState, address: string): string {
  const domains = state.spec.counterparty.domains;
  const domain = address.split('@')[1] ?? '';
  return domains.length && !domains.some((d) => domain === d || domain.endsWith(`.${d}`))
    ? ` Warning: ${domain} is not one of counterparty.domains (${domains.join(', ')}), so replies from ${address} go to triage.`
    : '';
}

/** The open items a contact answers for now. */
function itemsOf(state: DemandState, address: string): ItemState[] {
  return state.items.filter((i) => isOpen(i) && itemContacts(state.spec, i.id).some((c) => c.address === address));
}

/** Sends the current round's request of these items to these addresses (items waiting at a gate excepted). */
function sendRequestTo(state: DemandState, items: ItemState[], addresses: string[], now: number): string[] {
  // A request still waiting in the outbox (for sending hours) already covers its items.
  const pending = (id: string) =>
    state.outbox.some((m) => m.kind === 'request' && addresses.includes(m.to.address) && m.itemIds.includes(id));
  const ids = items.filter((i) => isAwaiting(i) && !gateOf(state, i.id) && !pending(i.id)).map((i) => i.id);
  if (ids.length)
    queueToItemContacts(state, ids, 'request', `request/correction-${state.decisions.length}`, now, {
      only: addresses,
    });
  return ids;
}

/** The item's contact list written out in the spec (an item that relied on the primary contacts names them). */
function materializeItemContacts(state: DemandState, itemId: string): string[] {
  const spec = state.spec.items.find((i) => i.id === itemId)!;
  spec.contacts ??= itemContacts(state.spec, itemId).flatMap((c) => (c.address ? [c.address] : []));
  return spec.contacts;
}

const addContact = define({
  def: addContactUpdate,
  validate(state, raw) {
    requireRunning(state);
    const input = parseOrReject(AddContactInput, raw);
    requireNewAddress(state, input.contact.address);
    if (contacts(state).length >= 200) throw new Error('the demand already has 200 counterparty contacts');
    const items = input.itemIds
      ? requireItems(state, input.itemIds, (i) =>
          isOpen(i) ? undefined : `is closed (${i.closure}); reopen it first (auditflow item reopen)`,
        )
      : [];
    for (const item of items) requireRequestSent(state, item, 'add the contact to it');
    return { input, items };
  },
  apply(state, { input, items }, now) {
    const { contact } = input;
    for (const item of items) materializeItemContacts(state, item.id).push(contact.address);
    contacts(state).push(contact);
    const sent = sendRequestTo(state, items, [contact.address], now);
    recordDecision(
      state,
      {
        kind: 'contact-added',
        by: input.by,
        reason: input.reason,
        itemIds: items.map((i) => i.id),
        detail: `${contact.name} <${contact.address}> (${contact.roles.join(', ')})${items.length ? ` answers for ${items.map((i) => i.id).join(', ')}` : ''}`,
      },
      now,
    );
    return {
      ok: true,
      message: `added ${contact.name} <${contact.address}> as ${contact.roles.join(', ')}${sent.length ? `; the request for ${sent.join(', ')} goes to them now` : ''}.${domainWarning(state, contact.address)}`,
    };
  },
});

const replaceContact = define({
  def: replaceContactUpdate,
  validate(state, raw) {
    requireRunning(state);
    const input = parseOrReject(ReplaceContactInput, raw);
    const old = contactByAddress(state, input.address);
    if (input.with.address === input.address)
      throw new Error('the new address is the same as the old one; to change only the name, add the contact anew');
    requireNewAddress(state, input.with.address);
    return { input, old };
  },
  apply(state, { input, old }, now) {
    const address = input.with.address;
    const fresh: Contact = {
      name: input.with.name,
      address: input.with.address,
      roles: input.with.roles ?? old.roles,
      ...(input.with.title ? { title: input.with.title } : {}),
      ...((input.with.timezone ?? old.timezone) ? { timezone: input.with.timezone ?? old.timezone } : {}),
      ...((input.with.language ?? old.language) ? { language: input.with.language ?? old.language } : {}),
    };
    const items = itemsOf(state, input.address);
    const bounced = state.undeliverable.includes(input.address);
    contacts(state).splice(contacts(state).indexOf(old), 1, fresh);
    for (const item of state.spec.items)
      if (item.contacts) item.contacts = item.contacts.map((a) => (a === input.address ? address : a));
    // Messages a sign-off gate keeps, or that wait for sending hours, for the old address go to the new one.
    const readdress = ({ dueAt, ...m }: PendingMail): PendingMail =>
      m.to.address === input.address
        ? inSendingHours(state, {
            ...m,
            at: dueAt ?? m.at,
            key: `${m.key.slice(0, -input.address.length)}${address}`,
            to: { ...m.to, name: fresh.name, address, ...(fresh.timezone ? { zone: fresh.timezone } : {}) },
          })
        : { ...m, ...(dueAt ? { dueAt } : {}) };
    state.outbox = state.outbox.map((m) => (Date.parse(m.at) > now ? readdress(m) : m));
    for (const gate of state.gates ?? []) {
      if (!isOpenGate(gate)) continue;
      gate.mails = gate.mails.map(readdress);
    }
    const sent = sendRequestTo(state, items, [address], now);
    recordDecision(
      state,
      {
        kind: 'contact-replaced',
        by: input.by,
        reason: input.reason,
        itemIds: items.map((i) => i.id),
        detail: `${old.name} <${input.address}>${bounced ? ' (undeliverable)' : ''} -> ${fresh.name} <${address}> (${fresh.roles.join(', ')})${sent.length ? `; request re-sent for ${sent.join(', ')}` : ''}`,
      },
      now,
    );
    return {
      ok: true,
      message: `${fresh.name} <${address}> replaces ${old.name} <${input.address}>${sent.length ? `; the request for ${sent.join(', ')} goes to them now, and the ladder goes on` : ''}.${domainWarning(state, address)}`,
    };
  },
});

const removeContact = define({
  def: removeContactUpdate,
  validate(state, raw) {
    requireRunning(state);
    const input = parseOrReject(RemoveContactInput, raw);
    const old = contactByAddress(state, input.address);
    const reachable = (c: Contact) =>
      c.address && c.address !== input.address && !state.undeliverable.includes(c.address);
    const orphans = itemsOf(state, input.address).filter((i) => !itemContacts(state.spec, i.id).some(reachable));
    if (orphans.length)
      throw new Error(
        `${input.address} is the only reachable contact of ${orphans.map((i) => i.id).join(', ')}; replace the contact (auditflow contact replace) or reassign the item first`,
      );
    for (const [i, step] of state.spec.escalation.entries()) {
      for (const ref of step.notify.filter((r) => r.startsWith('counterparty:'))) {
        const role = ref.slice('counterparty:'.length);
        if (old.roles.includes(role) && !contacts(state).some((c) => c.roles.includes(role) && reachable(c)))
          throw new Error(
            `escalation step ${i + 1} notifies ${ref} and ${input.address} is the only reachable contact with that role; replace the contact (auditflow contact replace) or add another with the role first`,
          );
      }
    }
    return { input, old };
  },
  apply(state, { input, old }, now) {
    const items = itemsOf(state, input.address);
    contacts(state).splice(contacts(state).indexOf(old), 1);
    // What still waits for their sending hours is not sent to them any more.
    const dropped = state.outbox.filter((m) => m.to.address === input.address && Date.parse(m.at) > now);
    state.outbox = state.outbox.filter((m) => !dropped.includes(m));
    for (const item of state.spec.items)
      if (item.contacts) item.contacts = item.contacts.filter((a) => a !== input.address);
    recordDecision(
      state,
      {
        kind: 'contact-removed',
        by: input.by,
        reason: input.reason,
        itemIds: items.map((i) => i.id),
        detail: `${old.name} <${input.address}>${dropped.length ? `; ${dropped.length} message(s) waiting for their sending hours not sent (${dropped.map((m) => m.kind).join(', ')})` : ''}`,
      },
      now,
    );
    return { ok: true, message: `removed ${old.name} <${input.address}>; nothing more is sent to them` };
  },
});

const reassignItem = define({
  def: reassignItemUpdate,
  validate(state, raw) {
    requireRunning(state);
    const input = parseOrReject(ReassignItemInput, raw);
    const [item] = requireItems(state, [input.itemId], (i) =>
      isOpen(i) ? undefined : `is closed (${i.closure}); reopen it first (auditflow item reopen)`,
    );
    requireRequestSent(state, item!, 'reassign it');
    const wanted = [...new Set(input.contacts)];
    for (const address of wanted) requireReachable(state, address);
    const current = itemContacts(state.spec, item!.id).flatMap((c) => (c.address ? [c.address] : []));
    if (wanted.length === current.length && wanted.every((a) => current.includes(a)))
      throw new Error(`item "${item!.id}" already goes to ${current.join(', ')}`);
    return { input, item: item!, wanted, current };
  },
  apply(state, { input, item, wanted, current }, now) {
    state.spec.items.find((i) => i.id === item.id)!.contacts = wanted;
    const sent = sendRequestTo(
      state,
      [item],
      wanted.filter((a) => !current.includes(a)),
      now,
    );
    recordDecision(
      state,
      {
        kind: 'item-reassigned',
        by: input.by,
        reason: input.reason,
        itemIds: [item.id],
        detail: `${current.join(', ')} -> ${wanted.join(', ')}`,
      },
      now,
    );
    return {
      ok: true,
      message: `item ${item.id} now goes to ${wanted.join(', ')}${sent.length ? '; the new contacts get its request now' : ''}`,
    };
  },
});

/** "its request goes out now", or when it goes when it waits for its recipients' sending hours. */
function requestWhen(state: DemandState, itemId: string, now: number): string {
  const held = state.outbox.filter((m) => m.kind === 'request' && m.itemIds.includes(itemId) && Date.parse(m.at) > now);
  if (held.length === 0) return 'its request goes out now';
  return `its request waits for sending hours: ${held.map((m) => `${m.to.address} at ${formatLocal(Date.parse(m.at), m.to.zone)}`).join(', ')}`;
}

const addItem = define({
  def: addItemUpdate,
  validate(state, raw, now) {
    requireRunning(state);
    const input = parseOrReject(AddItemInput, raw);
    const { item } = input;
    if (findItem(state, item.id))
      throw new Error(`item id "${item.id}" is already used in this demand; choose another`);
    if (state.items.length >= 500) throw new Error('the demand already has 500 items (the limit)');
    if (state.paused) throw new Error('the clock is stopped; resume it first (auditflow resume), then add the item');
    for (const address of item.contacts ?? []) requireReachable(state, address, 'item.contacts: ');
    const zone = state.spec.counterparty.timezone;
    const parsed = parseDeadline(item.deadline ?? state.spec.deadline, zone);
    if ('error' in parsed) throw new Error(`item.deadline: ${parsed.error}`);
    if (parsed.ms <= now)
      throw new Error(
        item.deadline
          ? `item.deadline ${formatLocal(parsed.ms, zone)} (${formatUtc(parsed.ms)}) is in the past`
          : `the demand's deadline (${formatLocal(parsed.ms, zone)}) has passed; give the item its own deadline`,
      );
    return { input, dueAt: parsed.ms };
  },
  apply(state, { input, dueAt }, now) {
    const { item } = input;
    state.spec.items.push(item);
    const fresh = newItemState(item, dueAt, now);
    state.items.push(fresh);
    startRequests(state, now, [item.id], `request/${item.id}`);
    recordDecision(
      state,
      {
        kind: 'item-added',
        by: input.by,
        reason: input.reason,
        itemIds: [item.id],
        detail: `${item.name}: ${item.questions.length} question(s), due ${fresh.dueAt}`,
      },
      now,
    );
    return {
      ok: true,
      message: `added item ${item.id}, due ${formatLocal(dueAt, state.spec.counterparty.timezone)}; ${gateOf(state, item.id) ? 'its request waits for sign-off' : requestWhen(state, item.id, now)}`,
      items: [{ itemId: fresh.id, dueAt: fresh.dueAt, phase: fresh.phase }],
    };
  },
});

const cancelItem = define({
  def: cancelItemUpdate,
  validate(state, raw) {
    requireRunning(state);
    const input = parseOrReject(CancelItemInput, raw);
    const [item] = requireItems(state, [input.itemId], (i) =>
      isOpen(i) ? undefined : `is already closed (${i.closure})`,
    );
    if (state.items.filter(isOpen).length === 1)
      throw new Error(
        `item "${item!.id}" is the last open item; to end the whole demand withdraw it: auditflow withdraw ${state.demandId} --reason "..."`,
      );
    return { input, item: item! };
  },
  apply(state, { input, item }, now) {
    const told = item.rounds[item.round]?.requestedAt !== undefined;
    closeItem(state, item, 'withdrawn', now, input.by, input.reason);
    recordDecision(state, { kind: 'item-cancelled', by: input.by, reason: input.reason, itemIds: [item.id] }, now);
    if (told)
      queueToItemContacts(state, [item.id], 'withdrawal', `cancel/${item.id}`, now, {
        context: { scope: 'item', reason: input.reason },
        expectsReply: false,
      });
    return {
      ok: true,
      message: `item ${item.id} cancelled${told ? '; its contacts are told no answer is needed' : ''}`,
      items: [{ itemId: item.id, phase: item.phase }],
    };
  },
});

const changeQuestion = define({
  def: changeQuestionUpdate,
  validate(state, raw) {
    requireRunning(state);
    const input = parseOrReject(ChangeQuestionInput, raw);
    const [item] = requireItems(state, [input.itemId], (i) =>
      i.phase === 'closed'
        ? `is closed (${i.closure}); reopen it with new questions instead (auditflow item reopen)`
        : i.phase === 'in-review'
          ? 'is answered already (in review); ask more with: auditflow review --decision more-info'
          : undefined,
    );
    const questions = item!.rounds[item!.round]?.questions ?? [];
    if (input.number !== undefined && input.number > questions.length)
      throw new Error(
        `item "${item!.id}" has ${questions.length} question(s) in round ${item!.round}; number must be 1-${questions.length}, or omit it to add a question`,
      );
    if (input.number === undefined && questions.length >= 100)
      throw new Error(`item "${item!.id}" already has 100 questions (the limit)`);
    if (input.number !== undefined && questions[input.number - 1] === input.text)
      throw new Error(`question ${input.number} of "${item!.id}" already says that`);
    return { input, item: item! };
  },
  apply(state, { input, item }, now) {
    const round = item.rounds[item.round]!;
    const number = input.number ?? round.questions.length + 1;
    const previous = round.questions[number - 1];
    round.questions = [...round.questions];
    round.questions[number - 1] = input.text;
    const told = round.requestedAt !== undefined;
    recordDecision(
      state,
      {
        kind: 'question-changed',
        by: input.by,
        reason: input.reason,
        itemIds: [item.id],
        detail: `round ${item.round}, question ${number}${previous !== undefined ? ' changed' : ' added'}: ${input.text.slice(0, 200)}`,
      },
      now,
    );
    if (told)
      queueToItemContacts(state, [item.id], 'question-update', `question/${item.id}/${state.decisions.length}`, now, {
        context: { number, change: previous !== undefined ? 'changed' : 'added', reason: input.reason },
      });
    return {
      ok: true,
      message: `question ${number} of ${item.id} ${previous !== undefined ? 'changed' : 'added'}${told ? '; its contacts get the update now' : ' (the request has not gone out yet: it will carry the new text)'}`,
    };
  },
});

const reopenItem = define({
  def: reopenItemUpdate,
  validate(state, raw, now) {
    requireRunning(state);
    const input = parseOrReject(ReopenItemInput, raw);
    const [item] = requireItems(state, [input.itemId], (i) =>
      i.phase === 'closed' ? undefined : `is not closed (${i.phase}); only a closed item can be reopened`,
    );
    if (state.paused) throw new Error('the clock is stopped; resume it first (auditflow resume), then reopen the item');
    let dueAt: number;
    if (input.dueAt !== undefined) {
      const parsed = parseDeadline(input.dueAt, state.spec.counterparty.timezone);
      if ('error' in parsed) throw new Error(`dueAt: ${parsed.error}`);
      dueAt = parsed.ms;
    } else dueAt = applyOffset(now, state.spec.review.followUpPeriod, state.spec, 1);
    if (dueAt <= now)
      throw new Error(
        `dueAt ${formatLocal(dueAt, state.spec.counterparty.timezone)} (${formatUtc(dueAt)}) is in the past`,
      );
    return { input, item: item!, dueAt };
  },
  apply(state, { input, item, dueAt }, now) {
    const closure = item.closure;
    const questions = input.questions ?? item.rounds[item.round]?.questions ?? [];
    delete item.closure;
    delete item.closedAt;
    item.round += 1;
    item.rounds.push({ round: item.round, questions, dueAt: isoInstant(dueAt), requestedAt: isoInstant(now) });
    item.dueAt = isoInstant(dueAt);
    item.plannedAt = isoInstant(now);
    item.escalationLevel = 0;
    delete item.ladderShifts;
    item.phase = 'awaiting';
    refreshPhase(item, state.spec, now);
    recordDecision(
      state,
      {
        kind: 'item-reopened',
        by: input.by,
        reason: input.reason,
        itemIds: [item.id],
        detail: `was ${closure}; round ${item.round}, due ${item.dueAt}`,
      },
      now,
    );
    queueToItemContacts(state, [item.id], 'follow-up', `reopen/${item.id}/${item.round}`, now, {
      context: { round: item.round, event: 'reopened', reason: input.reason },
    });
    return {
      ok: true,
      message: `${item.id} reopened (was ${closure}): round ${item.round}, due ${formatLocal(dueAt, state.spec.counterparty.timezone)}; its contacts get the questions now`,
      items: [{ itemId: item.id, dueAt: item.dueAt, phase: item.phase }],
    };
  },
});

/** Every correction, as the workflow registers them. */
export const CORRECTIONS: Correction[] = [
  addContact,
  replaceContact,
  removeContact,
  reassignItem,
  addItem,
  cancelItem,
  changeQuestion,
  reopenItem,
];
