/**
 * Sending hours for everyone and everything (time-skipping server, real worker, real SMTP): every message
 * to the counterparty waits for its own recipient's sending hours in their own zone (not one zone per item
 * or per step), requests and deadline updates included; acknowledgements too unless the spec says
 * `acknowledgeAtOnce`; internal notices go at once. Exact instants asserted.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderStatus } from '../../cli/commands/show';
import type { DemandSpecInput } from '../../domain/demand';
import { extendDeadlineUpdate, replyReceivedSignal } from '../../domain/messages';
import { withHarness } from '../../dev/support/harness';
import { eventually } from '../../platform/wait';
import { at, reply, sampleSpec } from '../../dev/support/specs';
import { exportHistory } from '../helpers/histories';
import { arrived, mailRows, row } from '../helpers/mail-log';

const PAT = 'pat@acme.example';
const KENJI = 'kenji@acme.example';
const OWNER = 'owner@platform.example.com';
const ONE = [{ id: 'xbox', name: 'Xbox companion app', questions: ['What data did it read?'] }];

/** sampleSpec with a second primary contact who reads mail in Tokyo. */
function twoZones(id: string, over: Partial<DemandSpecInput> = {}): DemandSpecInput {
  const base = sampleSpec(id, { items: ONE });
  return {
    ...base,
    counterparty: {
      ...base.counterparty,
      contacts: [
        ...base.counterparty.contacts,
        { name: 'Kenji Tokyo', address: KENJI, roles: ['primary'], timezone: 'Asia/Tokyo' },
      ],
    },
    ...over,
  };
}

describe('sending hours per recipient (time-skipping server, real SMTP)', () => {
  it("a request waits for each recipient's morning in their own zone, and so does a deadline update", () =>
    withHarness(async (h) => {
      // Mon 3 May 2027, 08:00 in Los Angeles is Tue 00:00 in Tokyo.
      await h.skipTo(at('2027-05-03T15:00:00Z'));
      const handle = await h.start(twoZones('hours-request'));
      const requests = await arrived(h, (m) => m.header('x-auditflow-kind') === 'request', 'the first request');
      assert.deepEqual(
        requests.map((m) => m.envelope.to[0]),
        [PAT],
      );
      // Kenji's waits in the outbox, dated when it will go, with when it was due.
      const s = await eventually(async () => {
        const v = await h.status('hours-request');
        return v.outbox.length === 1 ? v : undefined;
      }, "Pat's request recorded, Kenji's waiting");
      assert.deepEqual(
        s.outbox.map((m) => [m.kind, m.to.address, m.at, m.dueAt?.slice(0, 19)]),
        [['request', KENJI, '2027-05-03T23:00:00.000Z', '2027-05-03T15:00:00']],
      );
      assert.match(
        renderStatus(s, 'http://ui'),
        /\n {2}next: request to kenji@acme\.example, waiting for their sending hours, at Tue 4 May 2027, 08:00 GMT\+9 \(2027-05-03 23:00Z\)\n/,
      );
      assert.match(
        renderStatus(s, 'http://ui'),
        /\nwaiting for the recipient's sending hours:\n {2}request to kenji@acme\.example \[xbox\] goes at Tue 4 May 2027, 08:00 GMT\+9 \(2027-05-03 23:00Z\) \(due Tue 4 May 2027, 00:00 GMT\+9 \(2027-05-03 15:00Z\)\)\n/,
      );
      // Mon 3 May, 21:00 in Los Angeles (Tue 13:00 in Tokyo): the deadline moves a week.
      await h.skipTo(at('2027-05-04T04:00:00Z'));
      await handle.executeUpdate(extendDeadlineUpdate, {
        args: [{ by: 'P7D', reason: 'their data team is moving offices', approvedBy: 'Dana Owner' }],
      });
      await h.skipTo(at('2027-05-05T00:00:00Z'));
      assert.deepEqual(
        mailRows(h.sink.messages).filter((r) => r.kind !== 'internal'),
        [
          row('request', PAT, '2027-05-03T15:00:00Z', 'xbox'),
          // Kenji's request at 08:00 Tokyo; Pat's deadline update at 08:00 Los Angeles, Kenji's at once.
          row('request', KENJI, '2027-05-03T23:00:00Z', 'xbox'),
          row('deadline-update', KENJI, '2027-05-04T04:00:00Z', 'xbox'),
          row('deadline-update', PAT, '2027-05-04T15:00:00Z', 'xbox'),
        ],
      );
      const toKenji = h.sink.messages.find((m) => m.envelope.to[0] === KENJI)!;
      assert.match(toKenji.parsed.text ?? '', /due Tue 8 Jun 2027, 09:00 GMT\+9 \(2027-06-08 00:00Z\)/);
      await exportHistory(handle, 'sending-hours');
    }));

  it('an answer at night: acknowledged at the next sending hour, or at once with acknowledgeAtOnce; the owner is told at once', () =>
    withHarness(async (h) => {
      await h.skipTo(at('2027-05-03T16:00:00Z'));
      const held = await h.start(sampleSpec('hours-ack', { items: ONE }));
      const now = await h.start(
        sampleSpec('hours-ack-now', {
          items: ONE,
          options: { acknowledgeAtOnce: true },
          review: { required: false },
        }),
      );
      await h.sink.waitFor((m) => m.length === 2, 'both requests');
      // Thu 6 May, 23:30 in Los Angeles.
      await h.skipTo(at('2027-05-07T06:30:00Z'));
      for (const [handle, id] of [
        [held, 'a1'],
        [now, 'a2'],
      ] as const)
        await handle.signal(
          replyReceivedSignal,
          reply({ messageId: `<${id}@acme.example>`, itemIds: ['xbox'], receivedAt: at('2027-05-07T06:30:00Z') }),
        );
      const done = await now.result();
      assert.equal(done.status, 'completed');
      await h.skipTo(at('2027-05-08T00:00:00Z'));
      const acks = mailRows(h.sink.messages).filter((r) => r.kind === 'acknowledgement');
      assert.deepEqual(acks, [
        row('acknowledgement', PAT, '2027-05-07T06:30:00Z', 'xbox'),
        row('acknowledgement', PAT, '2027-05-07T15:00:00Z', 'xbox'),
      ]);
      const ofDemand = (id: string) => h.sink.messages.filter((m) => m.header('x-auditflow-demand') === id);
      assert.equal(
        ofDemand('hours-ack')
          .find((m) => m.header('x-auditflow-kind') === 'acknowledgement')
          ?.parsed.date?.toISOString(),
        '2027-05-07T15:00:00.000Z',
      );
      // Internal notices are not held: the end-of-demand notice reached the owner at 23:30 Los Angeles time.
      const final = ofDemand('hours-ack-now').find((m) => m.envelope.to[0] === OWNER)!;
      assert.equal(final.parsed.date?.toISOString(), '2027-05-07T06:30:00.000Z');
    }));
});
