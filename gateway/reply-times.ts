/**
 * The instants a reply names: the deadline it asks for (a date, or a duration added to the current deadline
 * of the items it is about) and an out-of-office return date, read in the writer's zone. The demand's state
 * (from the status query) carries what the inbound memo does not: each contact's own zone, the calendar for
 * business days, and the deadlines as they stand after any extension.
 */
import type { InboundProfile } from '../domain/inbound';
import type { Offset } from '../domain/demand';
import { applyOffset } from '../domain/schedule';
import type { DemandState } from '../domain/state';
import { parseDeadline } from '../domain/time';
import { classify, type Classification } from './classify';
import type { ParsedInbound } from './parse';
import type { RequestedDuration } from './reply-dates';

/** What of the demand's state the reading needs. */
export type DemandClock = Pick<DemandState, 'spec' | 'items'>;

/** The writer's zone: the contact's own when the spec gives one, else the counterparty's. */
export function writerZone(profile: InboundProfile, from: string, state?: DemandClock): string {
  const contact = state?.spec.counterparty.contacts.find((c) => c.address?.toLowerCase() === from.toLowerCase());
  return contact?.timezone ?? state?.spec.counterparty.timezone ?? profile.timezone;
}

function offsetOf(d: RequestedDuration): Offset {
  if (d.unit === 'business-day') return { businessDays: d.amount };
  return `P${d.amount}${d.unit === 'week' ? 'W' : d.unit === 'month' ? 'M' : 'D'}`;
}

/**
 * The current deadline a duration counts from: the latest deadline among the items the reply is about that
 * still wait for an answer (all waiting items when it names none), so that the deadline asked for is later
 * than each of them and one grant can apply to all.
 */
function baseDeadline(state: DemandClock, itemIds: string[]): number | undefined {
  // Waiting for an answer, as workflows/model.ts isAwaiting says (the gateway may not import workflow code).
  const waiting = state.items.filter(
    (i) => i.phase !== 'closed' && i.phase !== 'in-review' && (itemIds.length === 0 || itemIds.includes(i.id)),
  );
  const dues = waiting.map((i) => Date.parse(i.dueAt)).filter((ms) => !Number.isNaN(ms));
  return dues.length ? Math.max(...dues) : undefined;
}

/** What the reply asks for and says, with its dates as instants (ISO) read in the writer's zone. */
export interface ReplyTimes {
  requestedDeadline?: string;
  returnDate?: string;
}

/**
 * Reads a reply's dates for the demand. A date asked for becomes that day at the demand's deadline time in
 * the writer's zone; a duration is added to the current deadline (see baseDeadline) in the counterparty's
 * calendar. Without the demand's state a duration gives no deadline: the request is recorded without one.
 */
export function replyTimes(
  p: ParsedInbound,
  now: Date,
  reply: { from: string; itemIds: string[]; kind: Classification['kind'] },
  profile: InboundProfile,
  state: DemandClock | undefined,
): ReplyTimes {
  if (reply.kind !== 'extension-request' && reply.kind !== 'out-of-office') return {};
  const zone = writerZone(profile, reply.from, state);
  const c = classify(p, now, { zone });
  if (reply.kind === 'out-of-office') return c.returnDate ? { returnDate: c.returnDate.slice(0, 100) } : {};
  if (c.requestedDate) {
    const parsed = parseDeadline(`${c.requestedDate}T${profile.deadlineTime}`, zone);
    return 'ms' in parsed ? { requestedDeadline: new Date(parsed.ms).toISOString() } : {};
  }
  const base = state ? baseDeadline(state, reply.itemIds) : undefined;
  if (!c.requestedDuration || base === undefined || !state) return {};
  return { requestedDeadline: new Date(applyOffset(base, offsetOf(c.requestedDuration), state.spec, 1)).toISOString() };
}
