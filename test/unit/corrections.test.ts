/**
 * Corrections refused with a reason, as their update validators refuse them (the pure rules, on states the
 * workflow would have; the time-skipping and CLI tests show the accepted ones reaching the counterparty).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CORRECTIONS } from '../../workflows/corrections';
import { closeItem, findItem } from '../../workflows/model';
import type { DemandState } from '../../domain/state';
import { ERIN, PAT, START, stateOf } from './demand-state';
import { sampleSpec } from '../../dev/support/specs';

const QUINN = 'quinn@acme.example';
const why = { by: 'Dana Owner', reason: 'test' };

/** Runs a correction's validator: its refusal, or undefined when it would be accepted. */
function refusal(state: DemandState, update: string, input: object, now = START): string | undefined {
  const c = CORRECTIONS.find((x) => x.def.name === update);
  assert.ok(c, `no correction ${update}`);
  try {
    c.validate(state, { ...why, ...input }, now);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

describe('corrections: refused with the reason when they make no sense', () => {
  it('contacts: an address already there, unknown, the same, undeliverable, or the last one reachable', () => {
    const s = stateOf();
    assert.match(
      refusal(s, 'replaceContact', { address: PAT, with: { name: 'Erin', address: ERIN } })!,
      /erin@acme\.example is already a counterparty contact \(Erin Deputy GC\); to give them items use: auditflow item reassign/,
    );
    assert.match(
      refusal(s, 'replaceContact', { address: 'nobody@acme.example', with: { name: 'Q', address: QUINN } })!,
      /nobody@acme\.example is not a counterparty contact of demand acme \(contacts: pat@acme\.example, erin@acme\.example\)/,
    );
    assert.match(
      refusal(s, 'replaceContact', { address: PAT, with: { name: 'Pat', address: PAT } })!,
      /the new address is the same as the old one/,
    );
    assert.match(
      refusal(s, 'addContact', { contact: { name: 'Q', address: 'not an address', roles: ['primary'] } })!,
      /contact\.address: must be a plain address/,
    );
    s.undeliverable.push(QUINN);
    assert.match(
      refusal(s, 'addContact', { contact: { name: 'Q', address: QUINN, roles: ['primary'] } })!,
      /quinn@acme\.example is marked undeliverable \(mail to it bounced or was refused\); give a working address/,
    );
    assert.match(
      refusal(s, 'removeContact', { address: PAT })!,
      /pat@acme\.example is the only reachable contact of xbox, psn, stadia; replace the contact \(auditflow contact replace\) or reassign the item first/,
    );
    assert.match(
      refusal(s, 'removeContact', { address: ERIN })!,
      /escalation step 1 notifies counterparty:escalation and erin@acme\.example is the only reachable contact with that role/,
    );
    assert.equal(
      refusal(stateOf(), 'addContact', { contact: { name: 'Q', address: QUINN, roles: ['primary'] } }),
      undefined,
    );
  });

  it('items: unknown, closed, duplicate ids, past deadlines, a stopped clock, the last open item', () => {
    const s = stateOf();
    assert.match(
      refusal(s, 'reassignItem', { itemId: 'psn', contacts: [PAT] })!,
      /item "psn" already goes to pat@acme\.example/,
    );
    assert.match(
      refusal(s, 'reassignItem', { itemId: 'nope', contacts: [ERIN] })!,
      /item "nope" is not part of demand acme \(items: xbox, psn, stadia\)/,
    );
    assert.match(
      refusal(s, 'addItem', { item: { id: 'xbox', name: 'Again', questions: ['?'] } })!,
      /item id "xbox" is already used in this demand; choose another/,
    );
    assert.match(
      refusal(
        s,
        'addItem',
        { item: { id: 'zephyr', name: 'Z', questions: ['?'] } },
        Date.parse('2027-06-09T00:00:00Z'),
      )!,
      /the demand's deadline \(Mon 7 Jun 2027, 17:00 PDT\) has passed; give the item its own deadline/,
    );
    assert.match(
      refusal(s, 'addItem', { item: { id: 'zephyr', name: 'Z', questions: ['?'], deadline: '2027-05-01T17:00' } })!,
      /item\.deadline Sat 1 May 2027, 17:00 PDT \(2027-05-02 00:00Z\) is in the past/,
    );
    assert.match(
      refusal(s, 'changeQuestion', { itemId: 'xbox', number: 3, text: 'New?' })!,
      /item "xbox" has 2 question\(s\) in round 0; number must be 1-2, or omit it to add a question/,
    );
    assert.match(
      refusal(s, 'changeQuestion', { itemId: 'xbox', number: 1, text: 'What data did it read?' })!,
      /question 1 of "xbox" already says that/,
    );
    assert.match(
      refusal(s, 'reopenItem', { itemId: 'xbox' })!,
      /item "xbox" is not closed \(awaiting\); only a closed item can be reopened/,
    );
    findItem(s, 'psn')!.phase = 'in-review';
    assert.match(
      refusal(s, 'changeQuestion', { itemId: 'psn', text: 'More?' })!,
      /item "psn" is answered already \(in review\); ask more with: auditflow review --decision more-info/,
    );
    closeItem(s, findItem(s, 'psn')!, 'accepted', START, 'test');
    closeItem(s, findItem(s, 'stadia')!, 'withdrawn', START, 'test');
    assert.match(refusal(s, 'cancelItem', { itemId: 'stadia' })!, /item "stadia" is already closed \(withdrawn\)/);
    assert.match(
      refusal(s, 'cancelItem', { itemId: 'xbox' })!,
      /item "xbox" is the last open item; to end the whole demand withdraw it: auditflow withdraw acme/,
    );
    assert.match(
      refusal(s, 'reopenItem', { itemId: 'psn', dueAt: '2027-05-01T17:00' })!,
      /dueAt Sat 1 May 2027, 17:00 PDT \(2027-05-02 00:00Z\) is in the past/,
    );
    assert.equal(refusal(s, 'reopenItem', { itemId: 'psn' }), undefined);
    s.paused = { since: new Date(START).toISOString(), by: 'x', reason: 'y' };
    assert.match(
      refusal(s, 'addItem', { item: { id: 'zephyr', name: 'Z', questions: ['?'] } })!,
      /the clock is stopped; resume it first \(auditflow resume\), then add the item/,
    );
  });

  it('a demand that has ended takes no correction; an item whose request waits for sign-off is not reassigned', () => {
    const ended = stateOf();
    ended.status = 'withdrawn';
    assert.match(
      refusal(ended, 'cancelItem', { itemId: 'xbox' })!,
      /demand acme has ended \(withdrawn\); nothing can change it now/,
    );
    const gated = stateOf({}, { requested: false });
    gated.gates = [
      {
        id: 'g1',
        step: 0,
        label: 'the request',
        itemIds: ['xbox', 'psn', 'stadia'],
        actionKeys: {},
        scheduledAt: new Date(START).toISOString(),
        openedAt: new Date(START).toISOString(),
        expiresAt: new Date(START + 86_400_000).toISOString(),
        approverRole: 'owner',
        onTimeout: 'hold',
        mails: [],
        status: 'waiting',
      },
    ];
    assert.match(
      refusal(gated, 'reassignItem', { itemId: 'psn', contacts: [ERIN] })!,
      /item "psn" waits for sign-off of its request \(g1\); approve or hold it first, then reassign it/,
    );
  });

  it('a removed contact gets nothing more, not even what waited for their sending hours', () => {
    const s = stateOf({
      counterparty: {
        ...sampleSpec('acme').counterparty,
        contacts: [
          ...sampleSpec('acme').counterparty.contacts,
          { name: 'Kenji Tokyo', address: 'kenji@acme.example', roles: ['primary'], timezone: 'Asia/Tokyo' },
        ],
      },
    });
    s.outbox.push({
      key: 'audit:acme/reminder1/kenji@acme.example',
      kind: 'reminder',
      at: new Date(START + 8 * 3_600_000).toISOString(),
      dueAt: new Date(START).toISOString(),
      itemIds: ['xbox'],
      to: { name: 'Kenji Tokyo', address: 'kenji@acme.example', zone: 'Asia/Tokyo' },
      audience: 'counterparty',
      expectsReply: true,
    });
    const c = CORRECTIONS.find((x) => x.def.name === 'removeContact')!;
    const input = c.validate(s, { address: 'kenji@acme.example', ...why }, START);
    c.apply(s, input, START);
    assert.deepEqual(s.outbox, []);
    assert.match(
      s.decisions.at(-1)!.detail ?? '',
      /1 message\(s\) waiting for their sending hours not sent \(reminder\)/,
    );
  });

  it("an item added at night says when its request goes, in its recipient's sending hours", () => {
    const s = stateOf();
    s.sendHours = true;
    // Mon 3 May 2027, 22:00 in Los Angeles.
    const night = Date.parse('2027-05-04T05:00:00Z');
    const c = CORRECTIONS.find((x) => x.def.name === 'addItem')!;
    const input = c.validate(
      s,
      { item: { id: 'zephyr', name: 'Zephyr', questions: ['What did it read?'] }, ...why },
      night,
    );
    assert.match(
      c.apply(s, input, night).message,
      /added item zephyr, due Mon 7 Jun 2027, 17:00 PDT; its request waits for sending hours: pat@acme\.example at Tue 4 May 2027, 08:00 PDT$/,
    );
  });
});
