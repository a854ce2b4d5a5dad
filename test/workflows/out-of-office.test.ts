/**
 * An out-of-office reply whose writer is back only after the deadline (time-skipping server, real worker,
 * real SMTP): recorded with the items concerned for the owner's digest; with `outOfOffice.tellOwner:
 * at-once` the owner is told at once, and with `copyNextReminder` the next reminder goes to the escalation
 * contact too, once, saying why. Exact instants asserted.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { replyReceivedSignal } from '../../domain/messages';
import { withHarness } from '../../dev/support/harness';
import { at, reply, sampleSpec } from '../../dev/support/specs';
import { eventually } from '../../platform/wait';
import { mailRows, row } from '../helpers/mail-log';

const PAT = 'pat@acme.example';
const ERIN = 'erin@acme.example';
const OWNER = 'owner@platform.example.com';
const ONE = [{ id: 'xbox', name: 'Xbox companion app', questions: ['What data did it read?'] }];

const away = (messageId: string, returnDate: string, receivedAt: string) => ({
  ...reply({ messageId, kind: 'out-of-office', receivedAt }),
  returnDate,
});

describe('out of office past the deadline (time-skipping server, real SMTP)', () => {
  it('tells the owner at once and copies the next reminder to the escalation contact, when the spec says so', () =>
    withHarness(async (h) => {
      await h.skipTo(at('2027-05-03T15:00:00Z'));
      const handle = await h.start(
        sampleSpec('ooo-loud', {
          items: ONE,
          options: { outOfOffice: { tellOwner: 'at-once', copyNextReminder: true } },
        }),
      );
      await h.sink.waitFor((m) => m.length === 1, 'the request');
      // Tue 4 May, 09:00 PDT: Pat is away until Mon 14 Jun, a week after the deadline (Mon 7 Jun 17:00 PDT).
      await h.skipTo(at('2027-05-04T16:00:00Z'));
      await handle.signal(replyReceivedSignal, away('<ooo1@acme.example>', '2027-06-14', '2027-05-04T16:00:00Z'));
      const [told] = await h.sink
        .waitFor((m) => m.some((x) => x.envelope.to[0] === OWNER), 'the notice to the owner')
        .then((m) => m.filter((x) => x.envelope.to[0] === OWNER));
      assert.equal(told!.parsed.subject, '[auditflow] Out of office past the deadline: Audit of API usage');
      assert.equal(told!.parsed.date?.toISOString(), '2027-05-04T16:00:00.000Z');
      assert.match(
        told!.parsed.text ?? '',
        /pat@acme\.example is out of office until Mon 14 Jun 2027, after the deadline of these items/,
      );
      // Reminder 1 (Mon 31 May, 17:00 PDT) goes to Pat and, once, to Erin; reminder 2 to Pat only.
      await h.skipTo(at('2027-06-06T00:00:00Z'));
      assert.deepEqual(
        mailRows(h.sink.messages).filter((r) => r.kind === 'reminder'),
        [
          row('reminder', ERIN, '2027-06-01T00:00:00Z', 'xbox'),
          row('reminder', PAT, '2027-06-01T00:00:00Z', 'xbox'),
          row('reminder', PAT, '2027-06-05T01:00:00Z', 'xbox'),
        ],
      );
      const copy = h.sink.messages.find((m) => m.envelope.to[0] === ERIN)!;
      assert.match(
        copy.parsed.text ?? '',
        /You receive a copy of this reminder because pat@acme\.example is out of office until 2027-06-14, after the deadline\./,
      );
      const s = await h.status('ooo-loud');
      const d = s.decisions.find((x) => x.kind === 'out-of-office')!;
      assert.deepEqual([d.by, d.returnDate, d.pastDeadline], [PAT, '2027-06-14', ['xbox']]);
      assert.deepEqual(s.copyToEscalation, []);
    }));

  it('by default only records it (for the digest); a return before the deadline is no matter', () =>
    withHarness(async (h) => {
      await h.skipTo(at('2027-05-03T15:00:00Z'));
      const handle = await h.start(sampleSpec('ooo-quiet', { items: ONE }));
      await h.sink.waitFor((m) => m.length === 1, 'the request');
      await handle.signal(replyReceivedSignal, away('<ooo2@acme.example>', '2027-05-10', '2027-05-03T16:00:00Z'));
      await handle.signal(replyReceivedSignal, away('<ooo3@acme.example>', '2027-06-08', '2027-05-03T16:10:00Z'));
      const s = await eventually(async () => {
        const v = await h.status('ooo-quiet');
        return v.decisions.filter((x) => x.kind === 'out-of-office').length === 2 ? v : undefined;
      }, 'both out-of-office replies recorded');
      assert.deepEqual(
        s.decisions.filter((x) => x.kind === 'out-of-office').map((x) => [x.returnDate, x.pastDeadline]),
        [
          ['2027-05-10', undefined],
          // Back on Tue 8 Jun: after the deadline of Mon 7 Jun, 17:00 PDT.
          ['2027-06-08', ['xbox']],
        ],
      );
      await h.skipTo(at('2027-06-06T00:00:00Z'));
      assert.deepEqual(
        mailRows(h.sink.messages).map((r) => [r.kind, r.to]),
        [
          ['request', PAT],
          ['reminder', PAT],
          ['reminder', PAT],
        ],
      );
    }));
});
