/** Unit tests of workflows/model.ts: the fresh state, phases and the demand's status, answers, mail keys and the next action. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ItemClosure, ItemPhase } from '../../domain/state';
import {
  applyAnswer,
  demandStatus,
  describeAction,
  findItem,
  itemPlan,
  nextAction,
  nextActionGroup,
  queueInternal,
  queueMail,
  queueRequests,
  refreshPhase,
} from '../../workflows/model';
import { OWNER, PAT, SAMPLE, START, mailRow, ms, sendOutbox, stateOf } from './demand-state';

const QUINN = 'quinn@acme.example';
const WITH_QUINN = {
  counterparty: {
    organisation: 'Acme Games Ltd',
    timezone: 'America/Los_Angeles',
    domains: ['acme.example'],
    contacts: [
      { name: 'Pat Primary', address: PAT, roles: ['primary'] },
      { name: 'Erin Deputy GC', address: 'erin@acme.example', roles: ['escalation'] },
      { name: 'Quinn Engineer', address: QUINN, roles: ['engineering'], timezone: 'Europe/Berlin' },
    ],
  },
  items: [
    { id: 'xbox', name: 'Xbox companion app', questions: ['What data did it read?'], contacts: [PAT, QUINN] },
    {
      id: 'psn',
      name: 'PSN bridge',
      questions: ['What data did it read?'],
      contacts: [QUINN],
      deadline: '2027-06-14T17:00',
    },
    { id: 'stadia', name: 'Stadia overlay', questions: ['How long did it run?'] },
  ],
};
const answer = (receivedAt: string) => ({
  id: `a-${receivedAt}`,
  receivedAt,
  channel: 'email' as const,
  from: PAT,
  attachments: [],
});

describe('initialState and queueRequests', () => {
  it("starts every item requested, due at its own deadline or the demand's, with one start decision", () => {
    const state = stateOf(WITH_QUINN, { requested: false });
    assert.equal(state.status, 'starting');
    assert.equal(demandStatus(state), 'starting');
    assert.deepEqual(
      state.items.map((i) => [i.id, i.phase, i.dueAt, i.plannedAt]),
      [
        ['xbox', 'requested', SAMPLE.deadline, '2027-05-03T16:00:00.000Z'],
        ['psn', 'requested', '2027-06-15T00:00:00.000Z', '2027-05-03T16:00:00.000Z'],
        ['stadia', 'requested', SAMPLE.deadline, '2027-05-03T16:00:00.000Z'],
      ],
    );
    assert.deepEqual(state.items[1]!.rounds, [
      { round: 0, questions: ['What data did it read?'], dueAt: '2027-06-15T00:00:00.000Z' },
    ]);
    assert.deepEqual(state.decisions, [
      { at: '2027-05-03T16:00:00.000Z', kind: 'start', by: 'test', itemIds: ['xbox', 'psn', 'stadia'] },
    ]);
  });

  it('queues one request per contact listing the items they answer for, in their own zone, and marks the rounds requested', () => {
    const state = stateOf(WITH_QUINN, { requested: false });
    queueRequests(state, START);
    assert.deepEqual(state.outbox.map(mailRow), [
      { kind: 'request', to: PAT, itemIds: ['xbox', 'stadia'], key: `audit:acme/request/${PAT}` },
      { kind: 'request', to: QUINN, itemIds: ['xbox', 'psn'], key: `audit:acme/request/${QUINN}` },
    ]);
    assert.deepEqual(
      state.outbox.map((m) => [m.to.zone, m.expectsReply, m.audience]),
      [
        ['America/Los_Angeles', true, 'counterparty'],
        ['Europe/Berlin', true, 'counterparty'],
      ],
    );
    assert.deepEqual(
      state.items.map((i) => [i.phase, i.rounds[0]!.requestedAt]),
      Array(3).fill(['awaiting', '2027-05-03T16:00:00.000Z']),
    );
    assert.equal(demandStatus(state), 'active');
  });

  it('never queues mail to an undeliverable address, and never the same key twice (queued or already sent)', () => {
    const state = stateOf(WITH_QUINN, { requested: false });
    state.undeliverable.push(QUINN);
    queueRequests(state, START);
    assert.deepEqual(
      state.outbox.map((m) => m.to.address),
      [PAT],
    );
    queueRequests(state, START);
    assert.equal(state.outbox.length, 1, 'a key already queued');
    sendOutbox(state);
    queueMail(state, {
      keyPart: 'request',
      kind: 'request',
      at: '2027-05-04T00:00:00.000Z',
      itemIds: ['xbox'],
      to: { address: PAT, zone: 'UTC' },
      audience: 'counterparty',
      expectsReply: true,
    });
    assert.equal(state.outbox.length, 0, 'a key already sent');
  });
});

describe('refreshPhase and demandStatus', () => {
  it('an item is awaiting until its local deadline day begins, due that day, overdue at the deadline, escalated once a step fired', () => {
    const state = stateOf();
    const item = state.items[0]!;
    const phaseAt = (iso: string) => {
      refreshPhase(item, state.spec, ms(iso));
      return item.phase;
    };
    assert.equal(phaseAt('2027-06-07T06:59:59.999Z'), 'awaiting');
    assert.equal(phaseAt(SAMPLE.dueDay), 'due');
    assert.equal(phaseAt('2027-06-07T23:59:59.999Z'), 'due');
    assert.equal(phaseAt(SAMPLE.deadline), 'overdue');
    item.escalationLevel = 1;
    assert.equal(phaseAt(SAMPLE.deadline), 'escalated');
    item.phase = 'in-review';
    assert.equal(phaseAt(SAMPLE.step1), 'in-review', 'an answered item keeps its phase');
  });

  it('derives the demand status: paused over escalated over overdue over due, in-review only when every open item is', () => {
    const state = stateOf();
    const status = (phases: ItemPhase[]) => {
      state.items.forEach((item, i) => (item.phase = phases[i]!));
      return demandStatus(state);
    };
    assert.equal(status(['due', 'overdue', 'escalated']), 'escalated');
    assert.equal(status(['due', 'overdue', 'awaiting']), 'overdue');
    assert.equal(status(['due', 'in-review', 'awaiting']), 'due');
    assert.equal(status(['in-review', 'in-review', 'in-review']), 'in-review');
    assert.equal(status(['in-review', 'awaiting', 'awaiting']), 'active');
    state.paused = { since: SAMPLE.deadline, by: 'ops', reason: 'r' };
    assert.equal(status(['due', 'overdue', 'escalated']), 'paused');
  });

  it('derives the outcome once every item is closed: referred, completed-with-gaps, completed; withdrawn above all', () => {
    const state = stateOf();
    const outcome = (closures: ItemClosure[]) => {
      state.items.forEach((item, i) => Object.assign(item, { phase: 'closed', closure: closures[i] }));
      return demandStatus(state);
    };
    assert.equal(outcome(['accepted', 'accepted', 'accepted']), 'completed');
    assert.equal(outcome(['accepted', 'rejected', 'accepted']), 'completed-with-gaps');
    assert.equal(outcome(['accepted', 'unanswered', 'accepted']), 'completed-with-gaps');
    assert.equal(outcome(['unanswered', 'referred', 'accepted']), 'referred');
    state.withdrawn = { at: SAMPLE.deadline, by: 'ops', reason: 'settled' };
    assert.equal(outcome(['unanswered', 'referred', 'accepted']), 'withdrawn');
  });
});

describe('applyAnswer', () => {
  it('puts an on-time answer in review and dates its round; a second answer keeps the first date', () => {
    const state = stateOf();
    const item = findItem(state, 'xbox')!;
    const first = applyAnswer(state, item, answer('2027-06-07T20:00:00.000Z'), ms('2027-06-07T20:00:00.000Z'));
    assert.deepEqual([first.late, first.lateByMs, first.round, item.phase], [false, undefined, 0, 'in-review']);
    applyAnswer(state, item, answer('2027-06-07T21:00:00.000Z'), ms('2027-06-07T21:00:00.000Z'));
    assert.equal(item.rounds[0]!.answeredAt, '2027-06-07T20:00:00.000Z');
    assert.equal(item.answers.length, 2);
  });

  it('marks a late answer with how late, to the millisecond', () => {
    const state = stateOf();
    const record = applyAnswer(state, state.items[0]!, answer('2027-06-08T02:30:00.001Z'), ms('2027-06-08T03:00:00Z'));
    assert.deepEqual([record.late, record.lateByMs], [true, 2.5 * 3_600_000 + 1]);
  });

  it('closes the item as accepted when the spec needs no review, and keeps an answer after close without reopening', () => {
    const state = stateOf({ review: { required: false } });
    const item = state.items[0]!;
    applyAnswer(state, item, answer('2027-06-01T12:00:00.000Z'), ms('2027-06-01T12:00:00Z'));
    assert.deepEqual([item.phase, item.closure, item.closedAt], ['closed', 'accepted', '2027-06-01T12:00:00.000Z']);
    assert.deepEqual(state.decisions.at(-1), {
      at: '2027-06-01T12:00:00.000Z',
      kind: 'closed',
      by: 'auditflow',
      itemIds: ['xbox'],
      detail: 'accepted',
      reason: 'answer received; the spec does not require review',
    });
    const after = applyAnswer(state, item, answer('2027-06-02T12:00:00.000Z'), ms('2027-06-02T12:00:00Z'));
    assert.equal(after.afterClose, true);
    assert.deepEqual([item.phase, item.closure, item.answers.length], ['closed', 'accepted', 2]);
  });
});

describe('queueInternal', () => {
  it('tells each person with one of the roles once, in their own zone, without a reply address', () => {
    const state = stateOf({
      requester: {
        organisation: 'Example Platform Inc.',
        from: { name: 'Legal', address: 'legal@platform.example.com' },
        timezone: 'Europe/Dublin',
        people: [
          { name: 'Dana Owner', address: OWNER, roles: ['owner', 'counsel'] },
          {
            name: 'Chris Counsel',
            address: 'counsel@platform.example.com',
            roles: ['counsel'],
            timezone: 'America/New_York',
          },
        ],
      },
    });
    queueInternal(state, ['owner', 'counsel'], 'note/1', ['xbox'], { event: 'bounce' }, START);
    assert.deepEqual(
      state.outbox.map((m) => [mailRow(m), m.to.zone, m.expectsReply, m.audience]),
      [
        [
          { kind: 'internal', to: OWNER, itemIds: ['xbox'], key: `audit:acme/note/1/${OWNER}` },
          'Europe/Dublin',
          false,
          'internal',
        ],
        [
          {
            kind: 'internal',
            to: 'counsel@platform.example.com',
            itemIds: ['xbox'],
            key: 'audit:acme/note/1/counsel@platform.example.com',
          },
          'America/New_York',
          false,
          'internal',
        ],
      ],
    );
  });
});

describe('nextAction and describeAction', () => {
  it('groups the items that share the next action, and says it in words', () => {
    const state = stateOf();
    const next = nextActionGroup(state)!;
    assert.deepEqual(
      [next.action.kind, next.action.index, new Date(next.action.at).toISOString(), next.itemIds],
      ['reminder', 1, SAMPLE.reminder1, ['xbox', 'psn', 'stadia']],
    );
    assert.equal(describeAction(next.action, next.itemIds), 'reminder 1 for 3 items (xbox, psn, stadia)');
    const step1 = itemPlan(state, state.items[0]!).find((a) => a.kind === 'escalation')!;
    assert.equal(describeAction(step1), 'escalation step 1: notice to deputy GC for xbox');
  });

  it('leaves out items in review and items with a later schedule; nothing is next while paused', () => {
    const state = stateOf(WITH_QUINN);
    state.items[0]!.phase = 'in-review';
    const next = nextActionGroup(state)!;
    assert.deepEqual([new Date(next.action.at).toISOString(), next.itemIds], [SAMPLE.reminder1, ['stadia']]);
    state.paused = { since: '2027-05-04T00:00:00.000Z', by: 'ops', reason: 'r' };
    assert.equal(nextAction(state), undefined);
  });

  it('names an unlabelled referral and shortens a long item list', () => {
    const items = ['a1', 'a2', 'a3', 'a4'].map((id) => ({ id, name: `App ${id}`, questions: ['q'] }));
    const state = stateOf({ items, escalation: [{ after: 'P10D', notify: ['requester:counsel'], action: 'refer' }] });
    const refer = itemPlan(state, state.items[0]!).find((a) => a.kind === 'escalation')!;
    assert.equal(
      describeAction(
        refer,
        items.map((i) => i.id),
      ),
      'escalation step 1: referral for legal action for 4 items (a1, a2, a3, ...)',
    );
  });
});
