/** Unit tests of workflows/fire.ts: reminders, notices and ladder steps fired once each, merged per recipient, and how an item closes. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fireDueActions } from '../../workflows/fire';
import { demandStatus } from '../../workflows/model';
import { COUNSEL, ERIN, OWNER, PAT, SAMPLE, mailRow, ms, sendOutbox, stateOf } from './demand-state';

const ALL = ['xbox', 'psn', 'stadia'];
const fire = (state: ReturnType<typeof stateOf>, at: string, forced: string[] = [], merge = () => true) =>
  fireDueActions(state, ms(at), new Set(forced), merge);

describe('reminders', () => {
  it('sends reminder 1 once, as one message per recipient naming every item', () => {
    const state = stateOf();
    assert.equal(fire(state, '2027-05-31T23:59:59.999Z'), false, 'nothing is due a millisecond early');
    assert.equal(fire(state, SAMPLE.reminder1), true);
    const [mail, ...rest] = sendOutbox(state);
    assert.equal(rest.length, 0);
    assert.deepEqual(mailRow(mail!), {
      kind: 'reminder',
      to: PAT,
      itemIds: ALL,
      key: `audit:acme/reminder1/${SAMPLE.reminder1}/${PAT}`,
    });
    assert.deepEqual(mail!.context, { index: 1, scheduledAt: SAMPLE.reminder1 });
    assert.equal(fire(state, SAMPLE.reminder1), false, 'fired once');
    assert.deepEqual(
      state.items.map((i) => i.remindersSent),
      [1, 1, 1],
    );
  });

  it('after downtime, of several reminders due at once only the latest is sent; the others are recorded as superseded', () => {
    const state = stateOf();
    fire(state, '2027-06-06T00:00:00.000Z');
    assert.deepEqual(sendOutbox(state).map(mailRow), [
      { kind: 'reminder', to: PAT, itemIds: ALL, key: `audit:acme/reminder2/${SAMPLE.reminder2}/${PAT}` },
    ]);
    assert.deepEqual(
      state.decisions.filter((d) => d.kind === 'reminder-superseded').map((d) => [d.itemIds, d.detail, d.at]),
      ALL.map((id) => [[id], 'reminder 1 superseded by reminder 2', '2027-06-06T00:00:00.000Z']),
    );
    assert.deepEqual(
      state.items.map((i) => [i.remindersSent, i.firedKeys.length, i.phase]),
      Array(3).fill([1, 2, 'awaiting']),
    );
  });

  it('two reminders moved onto one instant (Sat and Sun both go back to Friday 18:00) are one message, the later one', () => {
    const state = stateOf({
      items: [{ id: 'xbox', name: 'Xbox companion app', questions: ['q'] }],
      reminders: [{ before: 'P7D' }, { before: 'P2D' }, { before: 'P1D' }],
    });
    fire(state, SAMPLE.reminder1);
    sendOutbox(state);
    fire(state, SAMPLE.reminder2);
    assert.deepEqual(sendOutbox(state).map(mailRow), [
      { kind: 'reminder', to: PAT, itemIds: ['xbox'], key: `audit:acme/reminder3/${SAMPLE.reminder2}/${PAT}` },
    ]);
    assert.equal(state.decisions.at(-1)!.detail, 'reminder 2 superseded by reminder 3');
  });

  // Items with different deadlines: psn's reminder 2 (P1D before Tue 1 Jun) and the others' reminder 1 (P7D before Mon 7 Jun) coincide.
  const staggered = () => {
    const items = [
      { id: 'xbox', name: 'Xbox companion app', questions: ['q'] },
      { id: 'psn', name: 'PSN bridge', questions: ['q'], deadline: '2027-06-01T17:00' },
      { id: 'stadia', name: 'Stadia overlay', questions: ['q'] },
    ];
    const state = stateOf({ items });
    fire(state, '2027-05-26T00:00:00.000Z');
    assert.deepEqual(
      sendOutbox(state).map((m) => [m.itemIds, m.context?.index]),
      [[['psn'], 1]],
    );
    return state;
  };

  it('reminders of different numbers to one recipient at one instant become one message speaking as the latest (merge allowed)', () => {
    const state = staggered();
    let asked = 0;
    fire(state, SAMPLE.reminder1, [], () => ++asked > 0);
    assert.equal(asked, 1);
    const sent = sendOutbox(state);
    assert.deepEqual(sent.map(mailRow), [
      {
        kind: 'reminder',
        to: PAT,
        itemIds: ['psn', 'xbox', 'stadia'],
        key: `audit:acme/reminder2/${SAMPLE.reminder1}/${PAT}`,
      },
    ]);
    assert.equal(sent[0]!.context?.index, 2);
  });

  it('without the merge (histories recorded before it), they stay two messages', () => {
    const state = staggered();
    fire(state, SAMPLE.reminder1, [], () => false);
    assert.deepEqual(sendOutbox(state).map(mailRow), [
      {
        kind: 'reminder',
        to: PAT,
        itemIds: ['xbox', 'stadia'],
        key: `audit:acme/reminder1/${SAMPLE.reminder1}/${PAT}`,
      },
      { kind: 'reminder', to: PAT, itemIds: ['psn'], key: `audit:acme/reminder2/${SAMPLE.reminder1}/${PAT}` },
    ]);
  });

  it('does not ask whether it may merge when there is nothing to merge (the workflow asks patched(), which marks history)', () => {
    const state = stateOf();
    let asked = 0;
    fire(state, SAMPLE.reminder1, [], () => ++asked > 0);
    assert.equal(asked, 0);
  });
});

describe('the deadline and the ladder', () => {
  const atDeadline = () => {
    const state = stateOf();
    fire(state, SAMPLE.reminder1);
    fire(state, SAMPLE.reminder2);
    sendOutbox(state);
    return state;
  };

  it('the deadline day makes items due; the deadline sends the overdue notice and makes them overdue', () => {
    const state = atDeadline();
    fire(state, SAMPLE.dueDay);
    assert.deepEqual(
      [state.items.map((i) => i.phase), state.outbox.length, demandStatus(state)],
      [['due', 'due', 'due'], 0, 'due'],
    );
    fire(state, SAMPLE.deadline);
    assert.deepEqual(sendOutbox(state).map(mailRow), [
      { kind: 'overdue', to: PAT, itemIds: ALL, key: `audit:acme/overdue-notice0/${SAMPLE.deadline}/${PAT}` },
    ]);
    assert.equal(demandStatus(state), 'overdue');
  });

  it('each step fires once, in order, to its own recipients; the referral closes every item referred', () => {
    const state = atDeadline();
    fire(state, SAMPLE.deadline);
    sendOutbox(state);
    fire(state, SAMPLE.step1);
    const step1 = sendOutbox(state);
    assert.deepEqual(step1.map(mailRow), [
      { kind: 'escalation', to: ERIN, itemIds: ALL, key: `audit:acme/escalation1/${SAMPLE.step1}/${ERIN}` },
    ]);
    assert.deepEqual(step1[0]!.context, {
      index: 1,
      scheduledAt: SAMPLE.step1,
      label: 'notice to deputy GC',
      event: 'escalation',
      total: 3,
    });
    assert.deepEqual(
      state.items.map((i) => [i.phase, i.escalationLevel]),
      Array(3).fill(['escalated', 1]),
    );
    assert.equal(fire(state, SAMPLE.step1), false);

    fire(state, SAMPLE.step2);
    assert.deepEqual(
      sendOutbox(state).map((m) => [m.kind, m.to.address, m.expectsReply]),
      [
        ['final-notice', ERIN, true],
        ['internal', COUNSEL, false],
      ],
    );
    fire(state, '2027-06-18T06:59:59.999Z');
    assert.equal(state.outbox.length, 0, 'the referral waits for 08:00 in Dublin');
    fire(state, SAMPLE.step3);
    assert.deepEqual(
      sendOutbox(state).map((m) => [mailRow(m), m.context?.event]),
      [
        [
          { kind: 'internal', to: COUNSEL, itemIds: ALL, key: `audit:acme/escalation3/${SAMPLE.step3}/${COUNSEL}` },
          'referral',
        ],
        [
          { kind: 'internal', to: OWNER, itemIds: ALL, key: `audit:acme/escalation3/${SAMPLE.step3}/${OWNER}` },
          'referral',
        ],
      ],
    );
    assert.deepEqual(
      state.items.map((i) => [i.closure, i.closedAt, i.maxEscalationLevel]),
      Array(3).fill(['referred', SAMPLE.step3, 3]),
    );
    assert.deepEqual(
      state.decisions.filter((d) => d.kind === 'refer').map((d) => [d.itemIds, d.detail]),
      ALL.map((id) => [[id], 'step 3: referral']),
    );
    assert.equal(demandStatus(state), 'referred');
  });

  it('a ladder exhausted without a referral closes the item unanswered, at the last step', () => {
    const state = stateOf({ escalation: [{ after: 'P1D', notify: ['counterparty:escalation'] }] });
    fire(state, SAMPLE.deadline);
    assert.equal(state.items[0]!.phase, 'overdue');
    fire(state, SAMPLE.step1);
    assert.deepEqual(
      state.items.map((i) => [i.closure, i.closedAt]),
      Array(3).fill(['unanswered', SAMPLE.step1]),
    );
    assert.equal(state.decisions.at(-1)!.reason, 'escalation ladder exhausted without an answer');
    assert.equal(demandStatus(state), 'completed-with-gaps');
  });

  it('without a ladder the deadline itself closes the item unanswered', () => {
    const state = stateOf({ escalation: [] });
    fire(state, SAMPLE.deadline);
    assert.deepEqual(
      state.items.map((i) => i.closure),
      ['unanswered', 'unanswered', 'unanswered'],
    );
    assert.equal(
      state.decisions.at(-1)!.reason,
      'deadline passed without an answer and the spec has no escalation ladder',
    );
  });

  it('a step whose contact is undeliverable records that instead of sending; nothing fires while paused', () => {
    const state = atDeadline();
    fire(state, SAMPLE.deadline);
    sendOutbox(state);
    state.undeliverable.push(ERIN);
    fire(state, SAMPLE.step1);
    assert.equal(state.outbox.length, 0);
    assert.equal(
      state.decisions.at(-1)!.detail,
      `counterparty:escalation: Erin Deputy GC (${ERIN}) is marked undeliverable; step 1 could not reach them`,
    );
    state.paused = { since: SAMPLE.step1, by: 'ops', reason: 'r' };
    assert.equal(fire(state, SAMPLE.step3), false);
    assert.deepEqual(
      state.items.map((i) => i.escalationLevel),
      [1, 1, 1],
    );
  });
});

describe('items forced up the ladder (a bounce or a refused send)', () => {
  const forcedXbox = () => {
    const state = stateOf();
    fire(state, SAMPLE.deadline);
    sendOutbox(state);
    fire(state, '2027-06-08T01:00:00.000Z', ['xbox']);
    return state;
  };

  it('moves only the forced item to its next step now, and says so', () => {
    const state = forcedXbox();
    assert.deepEqual(sendOutbox(state).map(mailRow), [
      {
        kind: 'escalation',
        to: ERIN,
        itemIds: ['xbox'],
        key: `audit:acme/escalation1/${SAMPLE.step1}/early/2027-06-08T01:00:00.000Z/${ERIN}`,
      },
    ]);
    assert.deepEqual(
      state.items.map((i) => i.escalationLevel),
      [1, 0, 0],
    );
    assert.equal(state.decisions.at(-1)!.detail, 'step 1: notice to deputy GC (brought forward by a bounce)');
  });

  it("still tells the step's recipients about the other items when their step 1 comes (a step brought forward has a key of its own)", () => {
    const state = forcedXbox();
    sendOutbox(state);
    fire(state, SAMPLE.step1);
    assert.deepEqual(
      state.outbox.map((m) => [m.kind, m.to.address, m.itemIds]),
      [['escalation', ERIN, ['psn', 'stadia']]],
    );
  });
});
