/** Unit tests of workflows/operations.ts: extension, denial, pause and resume, recorded responses, review and withdrawal. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DemandState } from '../../domain/state';
import { fireDueActions } from '../../workflows/fire';
import { demandStatus, findItem, itemPlan, nextAction, nextActionGroup } from '../../workflows/model';
import { denyExtension, extend, pause, recordResponse, resume, review, withdraw } from '../../workflows/operations';
import { ERIN, OWNER, PAT, SAMPLE, mailRow, ms, sendOutbox, stateOf } from './demand-state';

const ONE = { items: [{ id: 'xbox', name: 'Xbox companion app', questions: ['What data did it read?'] }] };
const iso = (t: number) => new Date(t).toISOString();
const schedule = (state: DemandState, itemId: string) =>
  itemPlan(state, findItem(state, itemId)!)
    .filter((a) => a.kind !== 'due' && a.kind !== 'overdue')
    .map((a) => `${a.kind}${a.index || ''} ${iso(a.at)}${a.skipped ? ' skipped' : ''}`);
const answerByPost = (state: DemandState, itemIds: string[], at: string) =>
  recordResponse(
    state,
    { itemIds, channel: 'post', summary: 'signed letter', receivedAt: at, attachments: [], by: 'Dana Owner' },
    ms(at),
  );

describe('extend', () => {
  it('mid-ladder: plans reminders, notice and ladder again from the new deadline, and resets the escalation level', () => {
    const state = stateOf(ONE);
    fireDueActions(state, ms(SAMPLE.step1));
    sendOutbox(state);
    const item = state.items[0]!;
    assert.deepEqual([item.phase, item.escalationLevel], ['escalated', 1]);

    const result = extend(
      state,
      [{ item, dueAt: ms('2027-06-22T00:00:00Z') }],
      { reason: 'export delayed by vendor', by: 'Dana Owner' },
      ms('2027-06-09T01:00:00Z'),
    );
    assert.deepEqual(result, {
      ok: true,
      message: 'deadline of xbox moved to Mon 21 Jun 2027, 17:00 PDT',
      items: [{ itemId: 'xbox', dueAt: '2027-06-22T00:00:00.000Z', phase: 'awaiting' }],
    });
    assert.deepEqual(
      [item.rounds[0]!.dueAt, item.plannedAt, item.escalationLevel, item.maxEscalationLevel],
      ['2027-06-22T00:00:00.000Z', '2027-06-09T01:00:00.000Z', 0, 1],
    );
    assert.deepEqual(schedule(state, 'xbox'), [
      'reminder1 2027-06-15T00:00:00.000Z',
      // P1D before Mon 21 Jun is a Sunday: Fri 18 Jun 18:00 PDT.
      'reminder2 2027-06-19T01:00:00.000Z',
      'overdue-notice 2027-06-22T00:00:00.000Z',
      'escalation1 2027-06-23T00:00:00.000Z',
      'escalation2 2027-06-25T00:00:00.000Z',
      'escalation3 2027-07-02T07:00:00.000Z',
    ]);
    assert.deepEqual(state.decisions.at(-1), {
      at: '2027-06-09T01:00:00.000Z',
      kind: 'extend',
      by: 'Dana Owner',
      reason: 'export delayed by vendor',
      itemIds: ['xbox'],
      detail: 'xbox -> 2027-06-22T00:00:00.000Z',
    });
    const [update] = sendOutbox(state);
    assert.deepEqual(
      [mailRow(update!), update!.context],
      [
        {
          kind: 'deadline-update',
          to: PAT,
          itemIds: ['xbox'],
          key: `audit:acme/extension/${state.decisions.length}/${PAT}`,
        },
        { event: 'extension', reason: 'export delayed by vendor' },
      ],
    );
    assert.equal(demandStatus(state), 'active');

    fireDueActions(state, ms('2027-06-23T00:00:00Z'));
    assert.deepEqual(
      [item.escalationLevel, state.decisions.filter((d) => d.detail === 'step 1: notice to deputy GC').length],
      [1, 2],
      'step 1 fires once per deadline',
    );
  });

  it('skips reminders already past when the new schedule is made, and approves the emailed request it answers', () => {
    const state = stateOf(ONE);
    state.extensionRequests.push({
      id: 'ext-1',
      itemIds: ['xbox'],
      receivedAt: '2027-06-05T00:00:00.000Z',
      status: 'pending',
    });
    extend(
      state,
      [{ item: state.items[0]!, dueAt: ms('2027-06-09T00:00:00Z') }],
      { reason: 'asked by email', by: 'Dana Owner', requestId: 'ext-1' },
      ms('2027-06-06T00:00:00Z'),
    );
    assert.deepEqual(schedule(state, 'xbox').slice(0, 2), [
      'reminder1 2027-06-02T00:00:00.000Z skipped',
      'reminder2 2027-06-08T00:00:00.000Z',
    ]);
    assert.deepEqual(state.extensionRequests[0], {
      id: 'ext-1',
      itemIds: ['xbox'],
      receivedAt: '2027-06-05T00:00:00.000Z',
      status: 'approved',
      decidedBy: 'Dana Owner',
      decidedAt: '2027-06-06T00:00:00.000Z',
    });
  });

  it('a denial changes no deadline and tells the contacts of every awaiting item when the request named none', () => {
    const state = stateOf();
    const request = { id: 'ext-1', itemIds: [], receivedAt: '2027-06-05T00:00:00.000Z', status: 'pending' as const };
    state.extensionRequests.push(request);
    const result = denyExtension(
      state,
      request,
      'the deadline is contractual',
      'Dana Owner',
      ms('2027-06-05T12:00:00Z'),
    );
    assert.equal(result.message, 'extension request ext-1 denied; deadlines unchanged');
    assert.deepEqual([request.status, state.items.map((i) => i.dueAt)], ['denied', Array(3).fill(SAMPLE.deadline)]);
    assert.deepEqual(state.outbox.map(mailRow), [
      {
        kind: 'deadline-update',
        to: PAT,
        itemIds: ['xbox', 'psn', 'stadia'],
        key: `audit:acme/extension-denied/ext-1/${PAT}`,
      },
    ]);
  });
});

describe('pause and resume', () => {
  it('across the deadline: nothing fires while paused; resume moves every awaiting deadline by the time paused, to the minute', () => {
    const state = stateOf();
    fireDueActions(state, ms(SAMPLE.reminder1));
    sendOutbox(state);
    answerByPost(state, ['stadia'], '2027-06-01T12:00:00.000Z');
    assert.equal(
      pause(state, 'we owe them the app list', 'Dana Owner', ms('2027-06-02T00:00:00Z')).message,
      'clock stopped for 2 open item(s)',
    );
    assert.deepEqual(sendOutbox(state).map(mailRow), [
      {
        kind: 'deadline-update',
        to: PAT,
        itemIds: ['xbox', 'psn'],
        key: `audit:acme/pause/${state.decisions.length}/${PAT}`,
      },
    ]);
    assert.equal(demandStatus(state), 'paused');
    assert.equal(fireDueActions(state, ms(SAMPLE.step1)), false);
    assert.equal(nextAction(state), undefined);

    // 7 days and 40 seconds: the deadlines move by 10,081 minutes.
    const result = resume(state, 'Dana Owner', 'list sent', ms('2027-06-09T00:00:40Z'));
    assert.equal(result.message, 'clock restarted; 2 deadline(s) moved by 10081 min');
    assert.deepEqual(result.items, [
      { itemId: 'xbox', dueAt: '2027-06-15T00:01:00.000Z', phase: 'awaiting' },
      { itemId: 'psn', dueAt: '2027-06-15T00:01:00.000Z', phase: 'awaiting' },
    ]);
    assert.deepEqual(
      [findItem(state, 'stadia')!.dueAt, state.pausedTotalMs, state.paused],
      [SAMPLE.deadline, 10_081 * 60_000, undefined],
    );
    assert.equal(state.decisions.at(-1)!.detail, 'paused for 10081 min; deadlines moved by the same');
    assert.deepEqual(
      state.outbox.map((m) => [m.itemIds, m.context]),
      [[['xbox', 'psn'], { event: 'resumed', pausedMs: 604_860_000 }]],
    );
    assert.deepEqual(schedule(state, 'xbox').slice(0, 3), [
      'reminder1 2027-06-08T00:01:00.000Z skipped',
      'reminder2 2027-06-12T01:00:00.000Z',
      'overdue-notice 2027-06-15T00:01:00.000Z',
    ]);
    const next = nextActionGroup(state)!;
    assert.deepEqual(
      [next.action.kind, iso(next.action.at), next.itemIds],
      ['reminder', '2027-06-12T01:00:00.000Z', ['xbox', 'psn']],
    );
  });

  it('a pause under half a minute moves nothing', () => {
    const state = stateOf();
    pause(state, 'call', 'ops', ms('2027-06-02T00:00:00Z'));
    resume(state, 'ops', undefined, ms('2027-06-02T00:00:29.999Z'));
    assert.deepEqual([state.items[0]!.dueAt, state.pausedTotalMs], [SAMPLE.deadline, 0]);
  });
});

describe('review', () => {
  const answered = () => {
    const state = stateOf();
    answerByPost(state, ['xbox'], '2027-06-02T12:00:00.000Z');
    assert.equal(findItem(state, 'xbox')!.phase, 'in-review');
    return state;
  };

  it('more information opens a follow-up round with its own questions, deadline, reminders and ladder', () => {
    const state = answered();
    const item = findItem(state, 'xbox')!;
    const input = {
      itemId: 'xbox',
      decision: 'more-info' as const,
      questions: ['Which fields left the EU?'],
      reason: 'incomplete',
      by: 'Chris Counsel',
    };
    const result = review(state, item, input, ms('2027-06-12T00:00:00Z'), ms('2027-06-02T16:00:00Z'));
    assert.equal(result.message, 'xbox: more-info (follow-up round 1, due 2027-06-12T00:00:00.000Z)');
    assert.deepEqual(item.rounds[1], {
      round: 1,
      questions: ['Which fields left the EU?'],
      dueAt: '2027-06-12T00:00:00.000Z',
      requestedAt: '2027-06-02T16:00:00.000Z',
    });
    assert.deepEqual(
      [item.round, item.phase, item.escalationLevel, item.plannedAt],
      [1, 'awaiting', 0, '2027-06-02T16:00:00.000Z'],
    );
    assert.deepEqual(item.reviews, [
      {
        round: 0,
        decision: 'more-info',
        by: 'Chris Counsel',
        at: '2027-06-02T16:00:00.000Z',
        reason: 'incomplete',
        questions: ['Which fields left the EU?'],
        dueAt: '2027-06-12T00:00:00.000Z',
      },
    ]);
    assert.deepEqual(
      sendOutbox(state).map((m) => [mailRow(m), m.context]),
      [
        [
          { kind: 'follow-up', to: PAT, itemIds: ['xbox'], key: `audit:acme/follow-up/xbox/1/${PAT}` },
          { round: 1, reason: 'incomplete' },
        ],
      ],
    );
    assert.deepEqual(schedule(state, 'xbox'), [
      'reminder1 2027-06-05T00:00:00.000Z',
      'reminder2 2027-06-11T00:00:00.000Z',
      'overdue-notice 2027-06-12T00:00:00.000Z',
      // Sat 12 Jun 17:00 is not a business day: the step waits for Mon 14 Jun 08:00 PDT.
      'escalation1 2027-06-14T15:00:00.000Z',
      'escalation2 2027-06-15T00:00:00.000Z',
      'escalation3 2027-06-22T07:00:00.000Z',
    ]);
    assert.equal(itemPlan(state, item)[0]!.key, 'xbox/r1/2027-06-12T00:00:00.000Z/reminder1');
    fireDueActions(state, ms('2027-06-14T15:00:00Z'));
    assert.deepEqual(
      sendOutbox(state)
        .filter((m) => m.itemIds.includes('xbox'))
        .map((m) => [m.kind, m.to.address, m.context?.scheduledAt]),
      [
        ['reminder', PAT, '2027-06-11T00:00:00.000Z'],
        ['overdue', PAT, '2027-06-12T00:00:00.000Z'],
        ['escalation', ERIN, '2027-06-14T15:00:00.000Z'],
      ],
    );
    assert.deepEqual([item.phase, item.escalationLevel], ['escalated', 1]);
  });

  it('accept closes the item accepted; reject closes it rejected, a gap in the outcome', () => {
    const state = answered();
    answerByPost(state, ['psn', 'stadia'], '2027-06-02T13:00:00.000Z');
    review(
      state,
      findItem(state, 'xbox')!,
      { itemId: 'xbox', decision: 'accept', by: 'Chris Counsel' },
      undefined,
      ms('2027-06-03T00:00:00Z'),
    );
    review(
      state,
      findItem(state, 'psn')!,
      { itemId: 'psn', decision: 'reject', reason: 'evasive', by: 'Chris Counsel' },
      undefined,
      ms('2027-06-03T00:00:00Z'),
    );
    review(
      state,
      findItem(state, 'stadia')!,
      { itemId: 'stadia', decision: 'accept', by: 'Chris Counsel' },
      undefined,
      ms('2027-06-03T00:00:00Z'),
    );
    assert.deepEqual(
      state.items.map((i) => [i.closure, i.closedAt]),
      [
        ['accepted', '2027-06-03T00:00:00.000Z'],
        ['rejected', '2027-06-03T00:00:00.000Z'],
        ['accepted', '2027-06-03T00:00:00.000Z'],
      ],
    );
    assert.equal(demandStatus(state), 'completed-with-gaps');
    assert.equal(state.outbox.length, 0);
  });
});

describe('withdraw', () => {
  it('closes every open item withdrawn and queues the withdrawal to everyone on their side we wrote to, and to the owner', () => {
    const state = stateOf();
    answerByPost(state, ['xbox'], '2027-06-02T12:00:00.000Z');
    review(
      state,
      findItem(state, 'xbox')!,
      { itemId: 'xbox', decision: 'accept', by: 'Chris Counsel' },
      undefined,
      ms('2027-06-03T00:00:00Z'),
    );
    fireDueActions(state, ms(SAMPLE.step2));
    sendOutbox(state);
    const result = withdraw(state, 'settled', 'Dana Owner', ms('2027-06-12T00:00:00Z'));
    assert.equal(result.message, 'demand acme withdrawn; 2 open item(s) closed');
    assert.deepEqual(
      state.items.map((i) => i.closure),
      ['accepted', 'withdrawn', 'withdrawn'],
    );
    assert.deepEqual(
      state.outbox.map((m) => [mailRow(m), m.expectsReply]),
      [
        [
          { kind: 'withdrawal', to: PAT, itemIds: ['xbox', 'psn', 'stadia'], key: `audit:acme/withdrawal/${PAT}` },
          false,
        ],
        [
          { kind: 'withdrawal', to: ERIN, itemIds: ['xbox', 'psn', 'stadia'], key: `audit:acme/withdrawal/${ERIN}` },
          false,
        ],
        [{ kind: 'internal', to: OWNER, itemIds: ['psn', 'stadia'], key: `audit:acme/withdrawal/${OWNER}` }, false],
      ],
    );
    assert.equal(demandStatus(state), 'withdrawn');
  });

  it('writes to nobody marked undeliverable', () => {
    const state = stateOf();
    fireDueActions(state, ms(SAMPLE.step1));
    sendOutbox(state);
    state.undeliverable.push(ERIN);
    withdraw(state, 'settled', 'Dana Owner', ms('2027-06-10T00:00:00Z'));
    assert.deepEqual(
      state.outbox.map((m) => m.to.address),
      [PAT, OWNER],
    );
  });
});
