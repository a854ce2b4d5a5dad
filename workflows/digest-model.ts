/**
 * Who gets a digest now and what it says: pure, from the sources the digest activity read. The digest
 * workflow runs it; `auditflow digest --dry-run` runs it too, so the dry run shows what would be sent.
 */
import type { SendEmailInput } from '../domain/contracts';
import type { Digest, DigestDemand, DigestOwner, DigestSources, DigestTriage } from '../domain/digest';
import { DIGEST_ROUTE_ID } from '../domain/digest';
import {
  addBusinessDays,
  fromWall,
  isBusinessDay,
  isoInstant,
  localDate,
  toWall,
  type CalendarRules,
} from '../domain/time';
import { isOpenGate } from './model';

/** The local hour the digest goes out: the first run in [09:00, 10:00) on a business day sends it. */
export const DIGEST_HOUR = 9;
/**
 * How often the schedule runs the digest: every quarter hour, so that 09:00 comes in every zone (offsets
 * such as +05:45 or +12:45 are whole quarter hours). Runs are dated at the start of their quarter hour.
 */
export const DIGEST_SLOT_MS = 15 * 60_000;

/** `scheduled`: owners at 09:00 on a business day; `now`: every owner with something to do, whatever the hour. */
export interface DigestOptions {
  mode: 'scheduled' | 'now';
  /** Only this owner (an address). */
  owner?: string;
}

/**
 * True when the digest is due on this clock: a business day (holidays excluded) between 09:00 and 10:00.
 * The whole hour, not one quarter: a run that waited for a worker that was down still sends it before 10:00,
 * and the send ledger keeps it to one a day.
 */
export function isDigestTime(now: number, zone: string, cal: CalendarRules): boolean {
  const w = toWall(now, zone);
  return w.hour === DIGEST_HOUR && isBusinessDay(w, cal);
}

/** Escalations are news from the previous business day's 09:00 (on a Monday: Friday's). */
export function escalationsSince(now: number, zone: string, cal: CalendarRules): number {
  const nine = fromWall({ ...toWall(now, zone), hour: DIGEST_HOUR, minute: 0, second: 0 }, zone);
  return addBusinessDays(nine, 1, zone, cal, -1);
}

interface OwnerEntry {
  owner: DigestOwner;
  /** The owner's clock: zone and calendar of their earliest-started demand. */
  calendar: CalendarRules;
  from: DigestDemand['from'];
  demands: DigestDemand[];
}

function byOwner(demands: DigestDemand[], only?: string): OwnerEntry[] {
  const owners = new Map<string, OwnerEntry>();
  const ordered = [...demands].sort(
    (a, b) => a.startedAt.localeCompare(b.startedAt) || a.demandId.localeCompare(b.demandId),
  );
  for (const d of ordered)
    for (const owner of d.owners) {
      const address = owner.address.toLowerCase();
      if (only && address !== only.toLowerCase()) continue;
      const entry = owners.get(address) ?? { owner, calendar: d.calendar, from: d.from, demands: [] };
      if (!entry.demands.includes(d)) entry.demands.push(d);
      owners.set(address, entry);
    }
  return [...owners.values()].sort((a, b) => a.owner.address.localeCompare(b.owner.address));
}

/** One digest per owner who has something to do (and, when scheduled, for whom it is 09:00 on a business day). */
export function buildDigests(sources: DigestSources, now: number, opts: DigestOptions): Digest[] {
  const running = new Set(sources.demands.map((d) => d.demandId));
  const claimed = (t: DigestTriage) => t.demandId !== undefined && running.has(t.demandId);
  // A message that routing tied to no running demand concerns every owner: somebody must look at it.
  const unassigned = sources.triage.filter((t) => !claimed(t));
  const digests: Digest[] = [];
  for (const entry of byOwner(sources.demands, opts.owner)) {
    const zone = entry.owner.zone;
    if (opts.mode === 'scheduled' && !isDigestTime(now, zone, entry.calendar)) continue;
    const since = escalationsSince(now, zone, entry.calendar);
    const demands = entry.demands
      .map((d) => ({
        demandId: d.demandId,
        title: d.title,
        counterparty: d.counterparty,
        inReview: d.inReview,
        extensionRequests: d.extensionRequests,
        gates: d.gates.filter((g) => isOpenGate({ ...g, mails: [] })),
        outOfOffice: d.outOfOffice,
        escalations: d.escalations.filter((e) => Date.parse(e.at) >= since && Date.parse(e.at) <= now),
        triage: sources.triage.filter((t) => t.demandId === d.demandId),
      }))
      .map((d) => ({
        d,
        count:
          d.inReview.length +
          d.extensionRequests.length +
          d.gates.length +
          d.outOfOffice.length +
          d.escalations.length +
          d.triage.length,
      }))
      .filter((x) => x.count > 0);
    const count = demands.reduce((n, x) => n + x.count, 0) + unassigned.length;
    if (count === 0) continue;
    digests.push({
      owner: entry.owner,
      localDate: localDate(toWall(now, zone)),
      at: isoInstant(now),
      since: isoInstant(since),
      from: entry.from,
      demands: demands.map((x) => x.d),
      unassigned,
      count,
    });
  }
  return digests;
}

/**
 * The digest's idempotency key: one scheduled digest per owner and local day, however often the schedule
 * fires or the send is retried; `digest --now` is a request of its own (its run's workflow id).
 */
export function digestMailKey(d: Digest, mode: DigestOptions['mode'], workflowId: string): string {
  const base = `digest/${d.owner.address.toLowerCase()}/${d.localDate}`;
  return mode === 'scheduled' ? base : `${base}/now/${workflowId}`;
}

/** The digest as the sendEmail activity takes it (and as `--dry-run` renders it). */
export function digestMailInput(d: Digest, key: string): SendEmailInput {
  return {
    mail: {
      key,
      kind: 'internal',
      at: d.at,
      itemIds: [],
      to: d.owner,
      audience: 'internal',
      context: { event: 'digest' },
      expectsReply: false,
    },
    // The digest covers several demands; its route names none (no demand has this id), so a bounce goes to triage.
    demand: {
      id: DIGEST_ROUTE_ID,
      title: 'Daily digest',
      basis: '',
      requesterOrg: d.from.name,
      counterpartyOrg: '',
      from: d.from,
    },
    items: [],
    digest: d,
  };
}
