/** Unit tests of workflows/replies.ts: what a demand records of an inbound reply, what it refuses and why, acknowledgements and bounces. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ACK_LIMITS, INBOUND_LIMITS } from '../../domain/limits';
import type { InboundReply } from '../../domain/messages';
import type { DemandState } from '../../domain/state';
import { fireDueActions } from '../../workflows/fire';
import { findItem } from '../../workflows/model';
import { mayAcknowledge, recordReply, replyRefusal } from '../../workflows/replies';
import { reply } from '../../dev/support/specs';
import { ERIN, OWNER, PAT, SAMPLE, mailRow, ms, sendOutbox, stateOf } from './demand-state';

const QUINN = 'quinn@acme.example';
const T = '2027-06-02T16:00:00.000Z';
const minutesAfter = (iso: string, n: number) => new Date(ms(iso) + n * 60_000).toISOString();
const record = (state: DemandState, r: InboundReply, at = r.receivedAt) => recordReply(state, r, ms(at), true);
const answer = (n: number, over: Partial<Parameters<typeof reply>[0]> = {}) =>
  reply({ messageId: `<a${n}@acme.example>`, itemIds: ['xbox'], receivedAt: T, ...over });
const acks = (state: DemandState) => state.outbox.filter((m) => m.kind === 'acknowledgement');

/** Pat answers for xbox and stadia, Quinn for psn: so one bounced request concerns some items only. */
const split = () =>
  stateOf({
    counterparty: {
      organisation: 'Acme Games Ltd',
      timezone: 'America/Los_Angeles',
      domains: ['acme.example'],
      contacts: [
        { name: 'Pat Primary', address: PAT, roles: ['primary'] },
        { name: 'Erin Deputy GC', address: ERIN, roles: ['escalation'] },
        { name: 'Quinn Engineer', address: QUINN, roles: ['engineering'] },
      ],
    },
    items: [
      { id: 'xbox', name: 'Xbox companion app', questions: ['q'] },
      { id: 'psn', name: 'PSN bridge', questions: ['q'], contacts: [QUINN] },
      { id: 'stadia', name: 'Stadia overlay', questions: ['q'] },
    ],
  });
const requestTo = (state: DemandState, address: string) =>
  state.messages.find((m) => m.kind === 'request' && m.to[0] === address)!.messageId!;
const bounce = (n: number, at: string, failedRecipient: string, originalMessageId: string): InboundReply => ({
  ...reply({
    messageId: `<dsn${n}@mx.acme.example>`,
    from: 'mailer-daemon@acme.example',
    kind: 'bounce',
    receivedAt: at,
    failedRecipient,
  }),
  originalMessageId,
});

describe('duplicates', () => {
  it('a redelivery (same Message-ID, same bytes) is accepted, and counted once', () => {
    const state = stateOf();
    assert.deepEqual(record(state, answer(1)), { outcome: 'recorded', kind: 'answer', itemIds: ['xbox'] });
    assert.equal(replyRefusal(state, answer(1)), undefined);
    assert.deepEqual(record(state, answer(1)), { outcome: 'duplicate', kind: 'answer', itemIds: [] });
    assert.deepEqual(
      [
        state.duplicatesIgnored,
        findItem(state, 'xbox')!.answers.length,
        state.messages.filter((m) => m.direction === 'in').length,
        acks(state).length,
      ],
      [1, 1, 1, 1],
    );
  });

  it('the same Message-ID with other bytes is refused; where no validator runs (the old signal path) it is kept as a problem, never as an answer', () => {
    const state = stateOf();
    record(state, answer(1));
    const other = answer(1, { body: 'a different message' });
    assert.equal(
      replyRefusal(state, other),
      'a different message with the Message-ID <a1@acme.example> was recorded already; this one is not recorded in its place',
    );
    assert.deepEqual(record(state, other, '2027-06-02T17:00:00.000Z'), {
      outcome: 'duplicate',
      kind: 'answer',
      itemIds: [],
    });
    assert.deepEqual(state.problems, [
      {
        at: '2027-06-02T17:00:00.000Z',
        source: 'reply <a1@acme.example>',
        message:
          'a different message arrived with the Message-ID of one already recorded; kept as evidence, not recorded as an answer',
      },
    ]);
    assert.deepEqual([state.duplicatesIgnored, findItem(state, 'xbox')!.answers.length], [0, 1]);
  });
});

describe('refusals', () => {
  it('an item keeps at most 25 answers; the next one for it is refused, one for another item is not', () => {
    const state = stateOf();
    assert.equal(INBOUND_LIMITS.answersPerItem, 25);
    for (let n = 1; n <= 25; n++) {
      assert.equal(replyRefusal(state, answer(n)), undefined);
      record(state, answer(n));
    }
    assert.equal(
      replyRefusal(state, answer(26)),
      'item xbox has 25 answers recorded, the most one item keeps; assign this one if it matters (README, "Limits")',
    );
    assert.equal(replyRefusal(state, answer(26, { itemIds: ['psn'] })), undefined);
  });

  it("refuses past the demand's message and extension-request limits, over a per-message limit, and once the demand has ended", () => {
    const state = stateOf();
    const ask = (n: number) =>
      reply({ messageId: `<x${n}@acme.example>`, kind: 'extension-request', itemIds: ['xbox'], receivedAt: T });
    for (let n = 1; n <= 10; n++) record(state, ask(n));
    assert.equal(
      replyRefusal(state, ask(11)),
      'demand acme has 10 extension requests waiting for a decision; decide them first (auditflow extend --request)',
    );
    assert.equal(
      replyRefusal(state, { ...answer(1), subject: 's'.repeat(301) }),
      'the message is over a limit: its subject has 301 characters (limit 300)',
    );
    while (state.messages.filter((m) => m.direction === 'in').length < 500)
      state.messages.push({ direction: 'in', kind: 'out-of-office', at: T, to: [], itemIds: [] });
    assert.equal(
      replyRefusal(state, answer(1)),
      'demand acme has recorded 500 messages, the most one demand keeps; assign this one if it matters (README, "Limits")',
    );
    state.status = 'withdrawn';
    assert.equal(replyRefusal(state, answer(1)), 'demand acme has ended (withdrawn)');
  });
});

describe('answers and acknowledgements', () => {
  it('acknowledges an answer to the listed contact who sent it, on its own key, with a reply address', () => {
    const state = stateOf();
    const r = answer(1);
    record(state, r);
    assert.deepEqual(
      acks(state).map((m) => [mailRow(m), m.expectsReply, m.to.zone]),
      [
        [
          {
            kind: 'acknowledgement',
            to: PAT,
            itemIds: ['xbox'],
            key: `audit:acme/ack/${r.digest.slice(0, 16)}/${PAT}`,
          },
          true,
          'America/Los_Angeles',
        ],
      ],
    );
    assert.equal(findItem(state, 'xbox')!.phase, 'in-review');
  });

  it('at most ACK_LIMITS.perHour acknowledgements an hour to one sender; the answers beyond are recorded all the same', () => {
    assert.deepEqual(ACK_LIMITS, { perHour: 10, perDay: 30 });
    const state = stateOf();
    for (let n = 0; n < 10; n++) record(state, answer(n, { receivedAt: minutesAfter(T, n) }));
    record(state, answer(10, { receivedAt: minutesAfter(T, 59) }));
    assert.deepEqual([acks(state).length, findItem(state, 'xbox')!.answers.length], [10, 11]);
    // An hour after the first acknowledgement, one slot is free again.
    record(state, answer(11, { receivedAt: minutesAfter(T, 60) }));
    assert.equal(acks(state).length, 11);
  });

  it('at most ACK_LIMITS.perDay acknowledgements a day to one sender, counting those already sent', () => {
    const state = stateOf();
    for (let n = 0; n < 29; n++)
      state.messages.push({
        direction: 'out',
        kind: 'acknowledgement',
        at: minutesAfter(T, -23 * 60 + n),
        to: [PAT],
        itemIds: ['xbox'],
      });
    assert.equal(mayAcknowledge(state, answer(1), ms(T)), true);
    state.messages.push({
      direction: 'out',
      kind: 'acknowledgement',
      at: minutesAfter(T, -120),
      to: [PAT],
      itemIds: ['xbox'],
    });
    assert.equal(mayAcknowledge(state, answer(1), ms(T)), false);
    assert.equal(
      mayAcknowledge(state, answer(1), ms(minutesAfter(T, 60))),
      true,
      'the oldest is more than a day old by then',
    );
  });

  it('never acknowledges an automatic message (RFC 3834), an unlisted sender, or when the spec says not to', () => {
    const state = stateOf();
    record(state, { ...answer(1), noAutoReply: 'Auto-Submitted: auto-replied' });
    record(state, answer(2, { from: 'sam@acme.example' }));
    assert.deepEqual(
      [acks(state).length, findItem(state, 'xbox')!.answers.map((a) => a.from)],
      [0, [PAT, 'sam@acme.example']],
    );
    const quiet = stateOf({ options: { acknowledgeReplies: false } });
    record(quiet, answer(1));
    assert.equal(acks(quiet).length, 0);
  });

  it('an answer naming no item lands on the only open item; with several open it waits for ops as a problem', () => {
    const state = stateOf();
    assert.deepEqual(record(state, answer(1, { itemIds: [] })), { outcome: 'recorded', kind: 'answer', itemIds: [] });
    assert.equal(
      state.problems[0]!.message,
      'an answer that names no item, while several are open: assign it with `auditflow record`',
    );
    assert.equal(acks(state).length, 0);
    const one = stateOf({ items: [{ id: 'xbox', name: 'Xbox companion app', questions: ['q'] }] });
    assert.deepEqual(record(one, answer(1, { itemIds: ['nope'] })), {
      outcome: 'recorded',
      kind: 'answer',
      itemIds: ['xbox'],
    });
    assert.equal(one.problems[0]!.message, 'names unknown item(s) nope');
  });

  it('records a request for more time for ops and an out-of-office with its return date; neither is an answer', () => {
    const state = stateOf();
    record(
      state,
      reply({
        messageId: '<x1@acme.example>',
        kind: 'extension-request',
        itemIds: ['xbox'],
        receivedAt: T,
        body: 'more time please',
        requestedDeadline: '2027-06-22T00:00:00.000Z',
      }),
    );
    assert.deepEqual(state.extensionRequests, [
      {
        id: 'ext-1',
        itemIds: ['xbox'],
        receivedAt: T,
        from: PAT,
        messageId: '<x1@acme.example>',
        status: 'pending',
        requestedDeadline: '2027-06-22T00:00:00.000Z',
        excerpt: 'more time please',
      },
    ]);
    assert.deepEqual(
      state.outbox.map((m) => [mailRow(m), m.context?.requestId]),
      [
        [
          { kind: 'internal', to: OWNER, itemIds: ['xbox'], key: `audit:acme/extension-request/ext-1/${OWNER}` },
          'ext-1',
        ],
      ],
    );
    record(state, {
      ...reply({ messageId: '<o1@acme.example>', kind: 'out-of-office', itemIds: ['xbox'], receivedAt: T }),
      returnDate: '2027-06-14',
    });
    assert.deepEqual(state.decisions.at(-1), {
      at: T,
      kind: 'out-of-office',
      by: PAT,
      itemIds: ['xbox'],
      detail: 'back on 2027-06-14',
      // Back a week after the deadline (Mon 7 Jun, 17:00 PDT): the owner's digest lists it.
      returnDate: '2027-06-14',
      pastDeadline: ['xbox'],
    });
    assert.deepEqual([findItem(state, 'xbox')!.phase, findItem(state, 'xbox')!.answers.length], ['awaiting', 0]);
  });
});

describe('bounces', () => {
  it('a verified bounce before the deadline marks the contact undeliverable and tells the owner; the ladder keeps its time', () => {
    const state = split();
    const original = requestTo(state, PAT);
    const b = bounce(1, T, PAT, original);
    assert.equal(replyRefusal(state, b), undefined);
    assert.deepEqual(record(state, b), { outcome: 'recorded', kind: 'bounce', itemIds: ['xbox', 'stadia'] });
    assert.deepEqual([state.undeliverable, state.escalateNow], [[PAT], []]);
    assert.equal(
      state.decisions.at(-1)!.detail,
      `${PAT} is undeliverable (the request ${original} bounced); the ladder of xbox, stadia waits for the deadline`,
    );
    assert.deepEqual(
      sendOutbox(state).map((m) => [mailRow(m), m.context]),
      [
        [
          {
            kind: 'internal',
            to: OWNER,
            itemIds: ['xbox', 'stadia'],
            key: `audit:acme/bounce/${b.digest.slice(0, 16)}/${OWNER}`,
          },
          { event: 'bounce', failedRecipient: PAT },
        ],
      ],
    );
    fireDueActions(state, ms(SAMPLE.reminder1));
    assert.deepEqual(
      state.outbox.map((m) => [m.kind, m.to.address, m.itemIds]),
      [['reminder', QUINN, ['psn']]],
      'nothing more goes to Pat',
    );
  });

  it('a verified bounce after the deadline moves only the items of the bounced message to their next step', () => {
    const state = split();
    fireDueActions(state, ms(SAMPLE.deadline));
    sendOutbox(state);
    record(state, bounce(1, '2027-06-08T01:00:00.000Z', PAT, requestTo(state, PAT)));
    assert.deepEqual(state.escalateNow, ['xbox', 'stadia']);
    assert.match(state.decisions.at(-1)!.detail!, /; xbox, stadia move to their next escalation step$/);
    fireDueActions(state, ms('2027-06-08T01:00:00.000Z'), new Set(state.escalateNow));
    assert.deepEqual(
      state.items.map((i) => [i.id, i.escalationLevel]),
      [
        ['xbox', 1],
        ['psn', 0],
        ['stadia', 1],
      ],
    );
  });

  it('an unverifiable bounce is refused; recorded without the check, it is a problem that marks nobody undeliverable', () => {
    const state = split();
    assert.equal(
      replyRefusal(state, bounce(1, T, PAT, '<nope@mx.example>')),
      `the message it references (<nope@mx.example>) was never sent to ${PAT} by demand acme`,
    );
    const another = bounce(2, T, QUINN, requestTo(state, PAT));
    assert.equal(
      replyRefusal(state, another),
      `the message it references (${requestTo(state, PAT)}) was never sent to ${QUINN} by demand acme`,
    );
    assert.equal(
      replyRefusal(state, reply({ messageId: '<dsn3@mx>', kind: 'bounce', receivedAt: T })),
      'a delivery report must name the failed recipient and the message of ours it reports on',
    );
    assert.deepEqual(record(state, another), { outcome: 'recorded', kind: 'bounce', itemIds: [] });
    assert.deepEqual([state.undeliverable, state.escalateNow, state.outbox], [[], [], []]);
    assert.equal(
      state.problems[0]!.message,
      'a delivery report that references no message of this demand sent to the recipient it names; kept as evidence, nobody marked undeliverable',
    );
  });

  it('histories from before bounces had to prove themselves replay the old rule: every item of that contact moves on', () => {
    const state = split();
    recordReply(
      state,
      reply({ messageId: '<dsn1@mx>', kind: 'bounce', receivedAt: T, failedRecipient: PAT }),
      ms(T),
      false,
    );
    assert.deepEqual(
      [state.undeliverable, state.escalateNow, state.decisions.at(-1)!.detail],
      [[PAT], ['xbox', 'stadia'], `${PAT} is undeliverable`],
    );
  });
});
