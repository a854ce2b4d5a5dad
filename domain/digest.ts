/**
 * The owners' daily digest: what it knows of each demand (a slim extract of the status query, so that the
 * digest workflow's history stays small) and the digest it builds per owner. Pure: the digest workflow, its
 * activity and `auditflow digest --dry-run` share it. The text is activities/templates/digest.ts.
 */
import { z } from 'zod';
import { EmailAddress } from './demand';
import { calendarRules } from './schedule';
import type { DemandState, SignOffGate } from './state';
import type { CalendarRules } from './time';

/** What starts a digest run: the schedule (`scheduled`), or `auditflow digest --now` (`now`, optionally one owner). */
export const DigestInput = z.strictObject({
  mode: z.enum(['scheduled', 'now'], { error: 'must be scheduled or now' }).default('scheduled'),
  owner: EmailAddress.optional(),
});
export type DigestInput = z.input<typeof DigestInput>;

/** What a digest run did: each digest it sent (or found already sent today), by owner. */
export interface DigestResult {
  at: string;
  mode: 'scheduled' | 'now';
  sent: { owner: string; subject: string; count: number; messageId: string; alreadySent: boolean }[];
}

/**
 * The demand id a digest's reply route carries: it names no demand (a spec id cannot end with a dash), so
 * a bounce of a digest is kept in the triage inbox instead of reaching some demand.
 */
export const DIGEST_ROUTE_ID = 'digest-';

/** A requester person with the role `owner` and an address: who gets a digest, and on whose clock. */
export interface DigestOwner {
  name: string;
  address: string;
  zone: string;
}

/** What one running demand has waiting for its owners (empty lists: nothing of that kind). */
export interface DigestDemand {
  demandId: string;
  title: string;
  counterparty: string;
  startedAt: string;
  /** The requester's sender, used as the digest's From. */
  from: { name: string; address: string };
  owners: DigestOwner[];
  calendar: CalendarRules;
  /** Answers waiting for review: items in phase `in-review`. */
  inReview: { itemId: string; name: string; answeredAt?: string }[];
  /** Requests for more time waiting for a decision. */
  extensionRequests: { id: string; itemIds: string[]; receivedAt: string; from?: string; until?: string }[];
  /** Sign-off gates without the messages they hold (the workflow keeps the open ones: model.ts isOpenGate). */
  gates: Omit<SignOffGate, 'mails'>[];
  /** Contacts out of office past a deadline, with the items still open. */
  outOfOffice: { from: string; at: string; returnDate?: string; itemIds: string[] }[];
  /** Escalation steps and referrals recorded recently (the digest keeps those since the previous one). */
  escalations: { at: string; kind: 'escalation' | 'refer'; itemIds: string[]; detail?: string }[];
}

/** A message waiting in the triage inbox; `demandId` when routing named a running demand. */
export interface DigestTriage {
  id: string;
  receivedAt: string;
  from?: string;
  subject?: string;
  reason: string;
  demandId?: string;
}

/** Everything the digest reads: the running demands that have something waiting, and the triage inbox. */
export interface DigestSources {
  demands: DigestDemand[];
  triage: DigestTriage[];
}

/** One owner's digest: their demands with something to do, and the triage messages no demand claims. */
export interface Digest {
  owner: DigestOwner;
  /** The owner's local date it is for (YYYY-MM-DD), part of its idempotency key. */
  localDate: string;
  /** The instant it is dated. */
  at: string;
  /** Escalations are listed from this instant (the previous business day's 09:00 on the owner's clock). */
  since: string;
  from: { name: string; address: string };
  demands: (Omit<DigestDemand, 'owners' | 'calendar' | 'from' | 'startedAt'> & { triage: DigestTriage[] })[];
  unassigned: DigestTriage[];
  /** How many things wait, all sections together. */
  count: number;
}

/** How far back escalations are kept in the extract: more than any previous business day can be. */
const ESCALATIONS_KEPT_MS = 31 * 86_400_000;

/** The requester people with the role `owner` and an address, each on their own clock (else the requester's). */
export function ownersOf(state: DemandState): DigestOwner[] {
  const { people, timezone } = state.spec.requester;
  return people
    .filter((p) => p.roles.includes('owner') && p.address)
    .map((p) => ({ name: p.name, address: p.address!, zone: p.timezone ?? timezone }));
}

/** Recent escalation steps and referrals, one entry per step fired at one instant (the state records one per item). */
function escalationsOf(state: DemandState, now: number): DigestDemand['escalations'] {
  const out: DigestDemand['escalations'] = [];
  for (const d of state.decisions) {
    if ((d.kind !== 'escalation' && d.kind !== 'refer') || Date.parse(d.at) < now - ESCALATIONS_KEPT_MS) continue;
    const same = out.find((e) => e.at === d.at && e.kind === d.kind && e.detail === d.detail);
    if (same) same.itemIds.push(...d.itemIds.filter((id) => !same.itemIds.includes(id)));
    else out.push({ at: d.at, kind: d.kind, itemIds: [...d.itemIds], ...(d.detail ? { detail: d.detail } : {}) });
  }
  return out;
}

/** What the digest needs of a demand's state at `now`, or undefined when no owner could get a digest. */
export function digestDemandOf(state: DemandState, now: number): DigestDemand | undefined {
  const owners = ownersOf(state);
  if (owners.length === 0) return undefined;
  const open = new Set(state.items.filter((i) => i.phase !== 'closed').map((i) => i.id));
  const latestOutOfOffice = new Map<string, DigestDemand['outOfOffice'][number]>();
  for (const d of state.decisions) {
    if (d.kind !== 'out-of-office' || !d.pastDeadline?.length) continue;
    const itemIds = d.pastDeadline.filter((id) => open.has(id));
    const from = d.by ?? 'a counterparty contact';
    // A later out-of-office from the same person replaces the earlier one (a new return date, say).
    latestOutOfOffice.delete(from);
    if (itemIds.length)
      latestOutOfOffice.set(from, { from, at: d.at, itemIds, ...(d.returnDate ? { returnDate: d.returnDate } : {}) });
  }
  const extract: DigestDemand = {
    demandId: state.demandId,
    title: state.spec.title,
    counterparty: state.spec.counterparty.organisation,
    startedAt: state.startedAt,
    from: state.spec.requester.from,
    owners,
    calendar: calendarRules(state.spec),
    inReview: state.items
      .filter((i) => i.phase === 'in-review')
      .map((i) => {
        const answeredAt = i.answers.at(-1)?.receivedAt;
        return { itemId: i.id, name: i.name, ...(answeredAt ? { answeredAt } : {}) };
      }),
    extensionRequests: state.extensionRequests
      .filter((r) => r.status === 'pending')
      .map((r) => ({
        id: r.id,
        itemIds: r.itemIds,
        receivedAt: r.receivedAt,
        ...(r.from ? { from: r.from } : {}),
        ...(r.requestedDeadline ? { until: r.requestedDeadline } : {}),
      })),
    gates: (state.gates ?? []).map(({ mails: _held, ...gate }) => gate),
    outOfOffice: [...latestOutOfOffice.values()],
    escalations: escalationsOf(state, now),
  };
  return extract;
}

/** True when the extract lists nothing at all (a gate of any status, a review, a request, an absence, an escalation). */
export function isQuiet(d: DigestDemand): boolean {
  return (
    d.inReview.length + d.extensionRequests.length + d.gates.length + d.outOfOffice.length + d.escalations.length === 0
  );
}
