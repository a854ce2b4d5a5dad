/**
 * Unit tests of the daily digest's pure rules: the extract of a demand (domain/digest.ts), who gets a digest
 * when (workflows/digest-model.ts), its text (activities/templates/digest.ts, as render.ts sends it) and the
 * schedule's settings. The out-of-office section is built here from a hand-made state: the workflow fills in
 * `pastDeadline` with issue 14 point 5.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderMail } from '../../activities/templates/render';
import { digestDemandOf, isQuiet, type DigestSources } from '../../domain/digest';
import type { DemandState } from '../../domain/state';
import { DIGEST_SCHEDULE_ID, digestScheduleId, digestScheduleOptions } from '../../platform/digest-schedule';
import {
  buildDigests,
  digestMailInput,
  digestMailKey,
  escalationsSince,
  isDigestTime,
} from '../../workflows/digest-model';
import { OWNER, PAT, ms, stateOf } from './demand-state';

const WEEKDAYS = {
  businessDays: [1, 2, 3, 4, 5],
  holidays: ['2027-06-08'],
  sendWindow: { from: '08:00', to: '18:00' },
};

/** The sample demand, owned by Dana (Dublin), with Pat out of office past the deadline of xbox and psn. */
function awayState(): DemandState {
  const state = stateOf();
  state.decisions.push(
    { at: '2027-06-02T09:00:00.000Z', kind: 'out-of-office', by: PAT, itemIds: [], returnDate: '2027-06-10' },
    {
      at: '2027-06-03T09:00:00.000Z',
      kind: 'out-of-office',
      by: PAT,
      itemIds: [],
      returnDate: '2027-06-20',
      pastDeadline: ['xbox', 'psn'],
    },
  );
  state.items.find((i) => i.id === 'psn')!.phase = 'closed';
  return state;
}

describe('daily digest: the extract of a demand', () => {
  it('keeps the latest out-of-office past a deadline, with only the items still open', () => {
    const d = digestDemandOf(awayState(), ms('2027-06-09T08:00:00Z'))!;
    assert.deepEqual(d.outOfOffice, [
      { from: PAT, at: '2027-06-03T09:00:00.000Z', returnDate: '2027-06-20', itemIds: ['xbox'] },
    ]);
    assert.deepEqual(d.owners, [{ name: 'Dana Owner', address: OWNER, zone: 'Europe/Dublin' }]);
    assert.equal(isQuiet(d), false);
    assert.equal(isQuiet(digestDemandOf(stateOf(), ms('2027-06-09T08:00:00Z'))!), true);
  });

  it('owners are the requester people with the role owner and an address, each on their own clock if they have one', () => {
    const state = stateOf();
    state.spec.requester.people = [
      { name: 'Dana Owner', roles: ['owner'] },
      { name: 'Kai Owner', address: 'kai@platform.example.com', roles: ['owner'], timezone: 'Asia/Kathmandu' },
      { name: 'Chris Counsel', address: 'counsel@platform.example.com', roles: ['counsel'] },
    ];
    assert.deepEqual(digestDemandOf(state, 0)!.owners, [
      { name: 'Kai Owner', address: 'kai@platform.example.com', zone: 'Asia/Kathmandu' },
    ]);
    state.spec.requester.people = state.spec.requester.people.filter((p) => p.name !== 'Kai Owner');
    assert.equal(digestDemandOf(state, 0), undefined);
  });
});

describe('daily digest: when it is due', () => {
  it('09:00 to 10:00 on a business day of the calendar, on the owner clock; not on a holiday or a weekend', () => {
    const dublin = 'Europe/Dublin';
    assert.equal(isDigestTime(ms('2027-06-09T08:00:00Z'), dublin, WEEKDAYS), true, 'Wed 09:00 IST');
    assert.equal(isDigestTime(ms('2027-06-09T08:59:59Z'), dublin, WEEKDAYS), true, 'Wed 09:59 IST');
    assert.equal(isDigestTime(ms('2027-06-09T07:59:59Z'), dublin, WEEKDAYS), false, 'Wed 08:59 IST');
    assert.equal(isDigestTime(ms('2027-06-09T09:00:00Z'), dublin, WEEKDAYS), false, 'Wed 10:00 IST');
    assert.equal(isDigestTime(ms('2027-06-08T08:00:00Z'), dublin, WEEKDAYS), false, 'Tue 8 Jun: a holiday');
    assert.equal(isDigestTime(ms('2027-06-12T08:00:00Z'), dublin, WEEKDAYS), false, 'Saturday');
    // Kathmandu is UTC+05:45: its 09:00 is 03:15Z, the start of a quarter hour like every zone's.
    assert.equal(isDigestTime(ms('2027-06-09T03:15:00Z'), 'Asia/Kathmandu', WEEKDAYS), true);
    assert.equal(isDigestTime(ms('2027-06-09T03:00:00Z'), 'Asia/Kathmandu', WEEKDAYS), false);
  });

  it("escalations count from the previous business day's 09:00: Friday's on a Monday, before a holiday after it", () => {
    const dublin = 'Europe/Dublin';
    const since = (iso: string) => new Date(escalationsSince(ms(iso), dublin, WEEKDAYS)).toISOString();
    assert.equal(since('2027-06-07T08:00:00Z'), '2027-06-04T08:00:00.000Z', 'Mon 7 Jun: since Fri 4 Jun 09:00');
    assert.equal(since('2027-06-10T08:00:00Z'), '2027-06-09T08:00:00.000Z', 'Thu: since Wed');
    assert.equal(since('2027-06-09T08:00:00Z'), '2027-06-07T08:00:00.000Z', 'Wed after the Tue holiday: since Mon');
  });
});

describe('daily digest: who gets what', () => {
  const now = ms('2027-06-09T08:00:00Z');
  const sources = (): DigestSources => ({ demands: [digestDemandOf(awayState(), now)!], triage: [] });

  it('the out-of-office section names who is away, until when, and the items, with the command to act', () => {
    const [d] = buildDigests(sources(), now, { mode: 'scheduled' });
    assert.equal(d!.count, 1);
    const input = digestMailInput(d!, digestMailKey(d!, 'scheduled', 'wf'));
    assert.equal(input.mail.key, 'digest/owner@platform.example.com/2027-06-09');
    assert.equal(input.mail.kind, 'internal');
    const { subject, text } = renderMail({ mail: input.mail, demand: input.demand, items: [], digest: d! });
    assert.equal(subject, '[auditflow] Daily digest, Wed 9 Jun 2027: 1 thing to do');
    assert.match(
      text,
      /Contacts out of office past a deadline \(1\):\n\n {2}pat@acme\.example is back on 2027-06-20, after the deadline of xbox \(replied Thu 3 Jun 2027, 10:00 GMT\+1\)\n {2}Act: npx auditflow extend acme --item <item> --for P7D --reason "\.\.\."/,
    );
  });

  it('nothing at 10:00 when scheduled; --now ignores the hour; --owner picks one owner; a quiet owner gets nothing', () => {
    const ten = ms('2027-06-09T09:00:00Z');
    assert.deepEqual(buildDigests(sources(), ten, { mode: 'scheduled' }), []);
    assert.equal(buildDigests(sources(), ten, { mode: 'now' }).length, 1);
    assert.equal(buildDigests(sources(), ten, { mode: 'now', owner: 'OWNER@platform.example.com' }).length, 1);
    assert.deepEqual(buildDigests(sources(), ten, { mode: 'now', owner: 'someone@platform.example.com' }), []);
    const quiet = { demands: [digestDemandOf(stateOf(), now)!], triage: [] };
    assert.deepEqual(buildDigests(quiet, now, { mode: 'now' }), []);
  });

  it('a triage message no running demand claims goes to every owner; one a demand claims, to its owners only', () => {
    const quiet = digestDemandOf(stateOf(), now)!;
    const triage = [
      { id: '00000000000000c3', receivedAt: '2027-06-08T10:00:00Z', reason: 'unmatched' },
      { id: '00000000000000d4', receivedAt: '2027-06-08T11:00:00Z', reason: 'ambiguous', demandId: 'acme' },
      { id: '00000000000000e5', receivedAt: '2027-06-08T12:00:00Z', reason: 'late', demandId: 'ended-long-ago' },
    ];
    const [d] = buildDigests({ demands: [quiet], triage }, now, { mode: 'scheduled' });
    assert.deepEqual(
      d!.unassigned.map((t) => t.id),
      ['00000000000000c3', '00000000000000e5'],
    );
    assert.deepEqual(
      d!.demands.map((m) => [m.demandId, m.triage.map((t) => t.id)]),
      [['acme', ['00000000000000d4']]],
    );
    assert.equal(d!.count, 3);
  });
});

describe('daily digest: the text', () => {
  it('a long section lists 20 lines and says how many more there are, and where to see them', () => {
    const now = ms('2027-06-09T08:00:00Z');
    const triage = Array.from({ length: 25 }, (_, i) => ({
      id: `0000000000000${String(100 + i)}`,
      receivedAt: '2027-06-08T10:00:00Z',
      reason: 'unmatched',
    }));
    const [d] = buildDigests({ demands: [digestDemandOf(stateOf(), now)!], triage }, now, { mode: 'now' });
    const { mail, demand } = digestMailInput(d!, digestMailKey(d!, 'now', 'wf-1'));
    assert.equal(mail.key, 'digest/owner@platform.example.com/2027-06-09/now/wf-1');
    const { text } = renderMail({ mail, demand, items: [], digest: d! });
    assert.match(text, /^Dana Owner, 25 things wait for you in the triage inbox\./);
    assert.equal(text.match(/^ {2}0{13}1\d\d from /gm)?.length, 20);
    assert.match(
      text,
      /\n {2}0000000000000119 from an unknown sender, received .*\n {2}\.\.\. and 5 more: npx auditflow inbox\n/,
    );
  });
});

describe('daily digest: the schedule', () => {
  it('is auditflow-digest for the default task queue, every 15 minutes, overlap skip, catch-up one hour', () => {
    assert.equal(digestScheduleId('audit-demands'), DIGEST_SCHEDULE_ID);
    assert.equal(DIGEST_SCHEDULE_ID, 'auditflow-digest');
    assert.equal(digestScheduleId('tq-1'), 'auditflow-digest:tq-1');
    const o = digestScheduleOptions('audit-demands');
    assert.deepEqual(o.spec, { intervals: [{ every: '15 minutes' }] });
    assert.deepEqual(o.policies, { overlap: 'SKIP', catchupWindow: '1 hour', pauseOnFailure: false });
    assert.equal(o.action.workflowType, 'digestWorkflow');
    assert.equal(o.action.taskQueue, 'audit-demands');
    assert.deepEqual(o.action.args, [{ mode: 'scheduled' }]);
  });
});
