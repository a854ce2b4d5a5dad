/**
 * A demand compressed to seconds, for the demo, the fault drills and the benchmark: the deadline
 * `deadlineIn` seconds after `startMs`, one reminder half way, each step of the spec's own ladder a quarter
 * of that after the one before, every day a business day and mail allowed all day (nothing waits for office
 * hours), and replies accepted without sender authentication (these counterparties cannot sign as the
 * example's domains). The result still goes through checkDemand.
 */

export interface CompressOptions {
  startMs: number;
  deadlineIn: number;
  /** The counterparty's zone, and the requester's (default the same). */
  zone: string;
  requesterZone?: string;
  reminderNote?: string;
}

type Loose = Record<string, unknown>;

/** Every day a business day, mail allowed all day: for demands that must send at any hour. */
export const ALL_DAY_CALENDAR = {
  businessDays: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as (
    'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun'
  )[],
  holidays: [] as string[],
  sendWindow: { from: '00:00', to: '23:59' },
};

/** The spec with its timings compressed (see the module comment); the other fields as given. */
export function compressTimings(spec: Loose, o: CompressOptions): Loose {
  const s = (fraction: number) => `PT${Math.max(1, Math.round(o.deadlineIn * fraction))}S`;
  const steps = Array.isArray(spec.escalation) ? (spec.escalation as Loose[]) : [];
  return {
    ...spec,
    counterparty: { ...(spec.counterparty as Loose), timezone: o.zone },
    requester: { ...(spec.requester as Loose), timezone: o.requesterZone ?? o.zone },
    deadline: new Date(o.startMs + o.deadlineIn * 1000).toISOString(),
    reminders: [{ before: s(0.5), ...(o.reminderNote ? { note: o.reminderNote } : {}) }],
    escalation: steps.map((step, i) => ({ ...step, after: s(0.25 * (i + 1)) })),
    calendar: ALL_DAY_CALENDAR,
    inbound: { authentication: 'none' },
  };
}
