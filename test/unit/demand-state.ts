/** Demand states for the pure-rule unit tests: a validated sample spec, its fresh state, and "sending" what is queued. */
import { checkDemand, type DemandSpec, type DemandSpecInput } from '../../domain/demand';
import type { DemandState, PendingMail } from '../../domain/state';
import { initialState, queueRequests } from '../../workflows/model';
import { sampleSpec } from '../../dev/support/specs';

/** Mon 3 May 2027, 09:00 in Los Angeles: five weeks before the sample deadline. */
export const START = Date.parse('2027-05-03T16:00:00Z');

/** The sample demand's schedule (see test/helpers/specs.ts), as the workflow computes it. */
export const SAMPLE = {
  reminder1: '2027-06-01T00:00:00.000Z',
  // P1D before Mon 7 Jun is a Sunday: moved back to Fri 4 Jun 18:00 PDT.
  reminder2: '2027-06-05T01:00:00.000Z',
  dueDay: '2027-06-07T07:00:00.000Z',
  deadline: '2027-06-08T00:00:00.000Z',
  step1: '2027-06-09T00:00:00.000Z',
  step2: '2027-06-11T00:00:00.000Z',
  // The referral goes to Dublin, where Thu 17 Jun 17:00 PDT is 01:00: moved to Fri 08:00 IST.
  step3: '2027-06-18T07:00:00.000Z',
} as const;

export const PAT = 'pat@acme.example';
export const ERIN = 'erin@acme.example';
export const OWNER = 'owner@platform.example.com';
export const COUNSEL = 'counsel@platform.example.com';

/** The sample spec with overrides, validated (defaults filled in) as the workflow receives it. */
export function specOf(over: Partial<DemandSpecInput> = {}): DemandSpec {
  const checked = checkDemand(sampleSpec('acme', over));
  if (!checked.ok) throw new Error(checked.problems.map((p) => `${p.path}: ${p.message}`).join('; '));
  return checked.spec;
}

/** A fresh state at `now`; with `requested` the requests are queued and sent, as the workflow's first turn does. */
export function stateOf(
  over: Partial<DemandSpecInput> = {},
  opts: { now?: number; requested?: boolean } = {},
): DemandState {
  const now = opts.now ?? START;
  const state = initialState(specOf(over), 'audit:acme', 'test', now);
  if (opts.requested ?? true) {
    queueRequests(state, now);
    sendOutbox(state);
  }
  return state;
}

/** Moves the outbox into the timeline as sent messages (Message-ID made from the key), like the main loop; returns what was sent. */
export function sendOutbox(state: DemandState): PendingMail[] {
  const sent = state.outbox;
  for (const mail of sent) {
    const messageId = `<${mail.key.replace(/[^a-z0-9.-]/gi, '.')}@test.invalid>`;
    state.messages.push({
      direction: 'out',
      kind: mail.kind,
      messageId,
      at: mail.at,
      to: [mail.to.address],
      itemIds: mail.itemIds,
      key: mail.key,
      status: 'sent',
    });
    if (mail.kind === 'request') state.threadRoots[mail.to.address] = messageId;
  }
  state.outbox = [];
  return sent;
}

/** What a test asserts of a queued message: kind, recipient, items and key. */
export function mailRow(m: PendingMail): { kind: string; to: string; itemIds: string[]; key: string } {
  return { kind: m.kind, to: m.to.address, itemIds: m.itemIds, key: m.key };
}

export const ms = (iso: string): number => Date.parse(iso);
