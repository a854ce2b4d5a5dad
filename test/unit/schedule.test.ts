/** Unit tests of domain/schedule.ts: when each reminder, notice and step falls, moved into the send window, by business days and zones. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DemandSpecInput } from '../../domain/demand';
import {
  applyOffset,
  describeOffset,
  initialDeadline,
  itemContacts,
  planItemRound,
  resolveRef,
  type PlannedAction,
} from '../../domain/schedule';
import { PAT, SAMPLE, START, ms, specOf } from './demand-state';

const iso = (t: number) => new Date(t).toISOString();
const row = (a: PlannedAction) =>
  [`${a.kind}${a.index || ''}`, iso(a.at), a.moveReason, a.skipped && 'skipped'].filter(Boolean).join(' ');
const plan = (over: Partial<DemandSpecInput> = {}, plannedAt = START, itemId = 'xbox') => {
  const spec = specOf(over);
  return planItemRound({ spec, itemId, round: 0, dueAt: initialDeadline(spec, itemId), plannedAt });
};
const step = (after: string | { businessDays: number }, ref = 'counterparty:escalation') => ({ after, notify: [ref] });

describe('planItemRound', () => {
  it('plans the sample: reminders, the deadline day, the deadline, the notice and three steps, with stable keys', () => {
    const actions = plan();
    assert.deepEqual(actions.map(row), [
      `reminder1 ${SAMPLE.reminder1}`,
      `reminder2 ${SAMPLE.reminder2} non-business-day`,
      `due ${SAMPLE.dueDay}`,
      `overdue ${SAMPLE.deadline}`,
      `overdue-notice ${SAMPLE.deadline}`,
      `escalation1 ${SAMPLE.step1}`,
      `escalation2 ${SAMPLE.step2}`,
      `escalation3 ${SAMPLE.step3} outside-send-window`,
    ]);
    assert.deepEqual(
      actions.map((a) => a.key.replace(`xbox/r0/${SAMPLE.deadline}/`, '')),
      ['reminder1', 'reminder2', 'due', 'overdue', 'overdue-notice', 'escalation1', 'escalation2', 'escalation3'],
    );
    assert.equal(actions[1]!.note, 'moved earlier: falls on a non-business day');
    assert.equal(iso(actions[1]!.nominalAt), '2027-06-07T00:00:00.000Z');
    assert.deepEqual(
      [actions[7]!.zone, actions[7]!.note, iso(actions[7]!.nominalAt)],
      ['Europe/Dublin', 'moved later: falls outside sending hours 08:00-18:00 local', '2027-06-18T00:00:00.000Z'],
    );
  });

  it("a reminder before sending hours moves earlier to the last business day's close, one after them to the same day's close", () => {
    assert.deepEqual(
      plan({ reminders: [{ before: 'PT12H' }], escalation: [] })
        .filter((a) => a.kind === 'reminder')
        .map((a) => [row(a), a.note]),
      [
        // Mon 7 Jun 05:00 PDT: back to Fri 4 Jun 18:00 PDT.
        [
          'reminder1 2027-06-05T01:00:00.000Z outside-send-window',
          'moved earlier: falls outside sending hours 08:00-18:00 local',
        ],
      ],
    );
    const evening = plan({ deadline: '2027-06-08T10:00', reminders: [{ before: 'PT15H' }], escalation: [] });
    assert.equal(
      row(evening[0]!),
      'reminder1 2027-06-08T01:00:00.000Z outside-send-window',
      'Mon 19:00 PDT back to Mon 18:00',
    );
  });

  it('a reminder on a holiday moves earlier, off the holiday', () => {
    const [first] = plan({ calendar: { holidays: ['2027-05-31'] } });
    assert.deepEqual(
      [row(first!), first!.note],
      ['reminder1 2027-05-29T01:00:00.000Z holiday', 'moved earlier: falls on a holiday'],
    );
  });

  it('a notice or a step that would fall outside sending hours moves later, never earlier', () => {
    // Fri 4 Jun 20:00 PDT: the deadline itself is not moved, the mail about it is.
    const actions = plan({ deadline: '2027-06-04T20:00', reminders: [], escalation: [step('P1D'), step('P3D')] });
    assert.deepEqual(actions.map(row), [
      'due 2027-06-04T07:00:00.000Z',
      'overdue 2027-06-05T03:00:00.000Z',
      'overdue-notice 2027-06-07T15:00:00.000Z outside-send-window',
      'escalation1 2027-06-07T15:00:00.000Z non-business-day',
      'escalation2 2027-06-08T15:00:00.000Z outside-send-window',
    ]);
    assert.equal(actions[3]!.note, 'moved later: falls on a non-business day');
  });

  it('counts business days over weekends and holidays, keeping the time of day', () => {
    const actions = plan({
      calendar: { holidays: ['2027-06-02', '2027-06-10'] },
      reminders: [{ before: { businessDays: 3 } }],
      escalation: [step({ businessDays: 5 })],
    });
    // Back from Mon 7 Jun: Fri, Thu, (Wed holiday), Tue 1 Jun. On from it: Tue, Wed, (Thu holiday), Fri, Mon, Tue 15 Jun.
    assert.deepEqual(actions.filter((a) => a.kind === 'reminder' || a.kind === 'escalation').map(row), [
      'reminder1 2027-06-02T00:00:00.000Z',
      'escalation1 2027-06-16T00:00:00.000Z',
    ]);
  });

  it('holds a step back behind the one above it, and says why', () => {
    const actions = plan({ reminders: [], escalation: [step('P3D'), step('P1D')] }).filter(
      (a) => a.kind === 'escalation',
    );
    assert.deepEqual(actions.map(row), [
      'escalation1 2027-06-11T00:00:00.000Z',
      'escalation2 2027-06-11T00:00:00.000Z ladder-order',
    ]);
    assert.equal(actions[1]!.note, 'held back to keep the ladder in order (its offset would put it before step 1)');
  });

  it('marks actions already past when the schedule is made as skipped, keeping why they moved', () => {
    const actions = plan({}, ms('2027-06-05T01:00:00Z'));
    assert.deepEqual(actions.slice(0, 3).map(row), [
      `reminder1 ${SAMPLE.reminder1} skipped`,
      `reminder2 ${SAMPLE.reminder2} non-business-day skipped`,
      `due ${SAMPLE.dueDay}`,
    ]);
    assert.deepEqual(
      actions.slice(0, 2).map((a) => a.note),
      ['already past when planned', 'moved earlier: falls on a non-business day; already past when planned'],
    );
  });

  it('sends no overdue notice when the spec turns it off', () => {
    assert.deepEqual(plan({ options: { overdueNotice: false }, reminders: [], escalation: [] }).map(row), [
      `due ${SAMPLE.dueDay}`,
      `overdue ${SAMPLE.deadline}`,
    ]);
  });

  it("places a step in the send window of its counterparty recipient's own zone", () => {
    const contacts = [
      { name: 'Pat Primary', address: PAT, roles: ['primary'] },
      { name: 'Erin Deputy GC', address: 'erin@acme.example', roles: ['escalation'], timezone: 'Europe/London' },
    ];
    const [step1] = plan({
      counterparty: { organisation: 'Acme', timezone: 'America/Los_Angeles', domains: ['acme.example'], contacts },
      reminders: [],
      escalation: [step('P1D')],
    }).filter((a) => a.kind === 'escalation');
    // Tue 8 Jun 17:00 PDT is Wed 01:00 in London: it waits for 08:00 BST.
    assert.deepEqual(
      [row(step1!), step1!.zone],
      ['escalation1 2027-06-09T07:00:00.000Z outside-send-window', 'Europe/London'],
    );
  });
});

describe('offsets, deadlines and recipients', () => {
  const spec = specOf();

  it('calendar days keep the local hour across a daylight-saving change; hours are exact', () => {
    // Mon 15 Mar 2027 17:00 PDT; the clocks went forward on Sun 14 Mar.
    const due = ms('2027-03-16T00:00:00Z');
    assert.equal(iso(applyOffset(due, 'P2D', spec, -1)), '2027-03-14T01:00:00.000Z', 'Sat 13 Mar 17:00 PST');
    assert.equal(iso(applyOffset(due, 'PT48H', spec, -1)), '2027-03-14T00:00:00.000Z', 'Sat 13 Mar 16:00 PST');
  });

  it('a business-day offset from a weekend starts at the nearest business day in the direction of travel', () => {
    const saturdayNoon = ms('2027-06-05T19:00:00Z');
    assert.equal(iso(applyOffset(saturdayNoon, { businessDays: 1 }, spec, 1)), '2027-06-07T19:00:00.000Z');
    assert.equal(iso(applyOffset(saturdayNoon, { businessDays: 1 }, spec, -1)), '2027-06-04T19:00:00.000Z');
    assert.deepEqual(
      [describeOffset({ businessDays: 1 }), describeOffset({ businessDays: 3 }), describeOffset('P7D')],
      ['1 business day', '3 business days', 'P7D'],
    );
  });

  it("an item's own deadline wins over the demand's; an ISO instant is taken as written", () => {
    const own = specOf({
      deadline: '2027-06-08T00:00:00Z',
      items: [
        { id: 'xbox', name: 'Xbox', questions: ['q'], deadline: '2027-06-14T17:00' },
        { id: 'psn', name: 'PSN', questions: ['q'] },
      ],
    });
    assert.deepEqual(
      [iso(initialDeadline(own, 'xbox')), iso(initialDeadline(own, 'psn'))],
      ['2027-06-15T00:00:00.000Z', SAMPLE.deadline],
    );
  });

  it('an item is answered for by its own contacts, else by the primary contacts; a reference names every holder of the role', () => {
    const own = specOf({
      items: [
        { id: 'xbox', name: 'Xbox', questions: ['q'], contacts: ['erin@acme.example'] },
        { id: 'psn', name: 'PSN', questions: ['q'] },
      ],
    });
    assert.deepEqual(
      [itemContacts(own, 'xbox').map((c) => c.address), itemContacts(own, 'psn').map((c) => c.address)],
      [['erin@acme.example'], [PAT]],
    );
    assert.deepEqual(
      resolveRef(spec, 'requester:counsel').map((c) => c.address),
      ['counsel@platform.example.com'],
    );
    assert.deepEqual(resolveRef(spec, 'counterparty:nobody'), []);
  });
});
