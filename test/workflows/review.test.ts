/** Review decisions, follow-up rounds, withdrawal, duplicate and bounced replies (time-skipping server). */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, it } from 'node:test';
import { replyReceivedSignal, reviewUpdate, withdrawUpdate } from '../../domain/messages';
import { withHarness } from '../../dev/support/harness';
import { exportHistory } from '../helpers/histories';
import { mailRows, row } from '../helpers/mail-log';
import { at, reply, sampleSpec } from '../../dev/support/specs';

const PAT = 'pat@acme.example';
const ERIN = 'erin@acme.example';
const ONE = [{ id: 'xbox', name: 'Xbox companion app', questions: ['What data did it read?'] }];

describe('review, follow-up, withdrawal and odd replies (time-skipping server, real SMTP)', () => {
  it('a follow-up round has its own questions, deadline, reminders and ladder', () =>
    withHarness(async (h) => {
      const handle = await h.start(sampleSpec('followup', { items: ONE }));
      await h.sink.waitFor((m) => m.length === 1, 'the request');
      await handle.signal(
        replyReceivedSignal,
        reply({ messageId: '<a1@acme.example>', itemIds: ['xbox'], receivedAt: await h.env.currentTimeMs() }),
      );
      await h.sink.waitFor((m) => m.length === 2, 'the acknowledgement');
      const r = await handle.executeUpdate(reviewUpdate, {
        args: [
          {
            itemId: 'xbox',
            decision: 'more-info',
            questions: ['Which fields left the EU?'],
            dueAt: '2027-07-01T17:00',
            reason: 'the data map is incomplete',
            by: 'Chris Counsel',
          },
        ],
      });
      assert.match(r.message, /follow-up round 1, due 2027-07-02T00:00:00.000Z/);
      await h.sink.waitFor((m) => m.some((x) => x.header('x-auditflow-kind') === 'follow-up'), 'the follow-up');
      const followUp = h.sink.messages.find((m) => m.header('x-auditflow-kind') === 'follow-up')!;
      assert.equal(followUp.envelope.to[0], PAT);
      assert.match(followUp.parsed.text ?? '', /1\. Which fields left the EU\?/);
      assert.match(followUp.parsed.text ?? '', /due Thu 1 Jul 2027, 17:00 PDT/);
      assert.doesNotMatch(followUp.parsed.text ?? '', /What data did it read/);

      // The first deadline passes: the item is in its follow-up round, so nothing about it fires.
      await h.skipTo(at('2027-07-02T01:00:00Z'));
      await h.sink.waitFor(
        (m) => m.some((x) => x.header('x-auditflow-kind') === 'overdue'),
        'the overdue notice of round 1',
      );
      assert.deepEqual(
        mailRows(h.sink.messages).filter((r) => r.kind === 'reminder' || r.kind === 'overdue'),
        [
          row('reminder', PAT, '2027-06-25T00:00:00Z', 'xbox'),
          row('reminder', PAT, '2027-07-01T00:00:00Z', 'xbox'),
          row('overdue', PAT, '2027-07-02T00:00:00Z', 'xbox'),
        ],
      );
      await handle.signal(
        replyReceivedSignal,
        reply({ messageId: '<a2@acme.example>', itemIds: ['xbox'], receivedAt: at('2027-07-02T01:00:00Z') }),
      );
      await h.sink.waitFor(
        (m) => m.filter((x) => x.header('x-auditflow-kind') === 'acknowledgement').length === 2,
        'the second acknowledgement',
      );
      await handle.executeUpdate(reviewUpdate, { args: [{ itemId: 'xbox', decision: 'accept', by: 'Chris Counsel' }] });
      const result = await handle.result();
      assert.equal(result.status, 'completed');
      const s = await h.status('followup');
      const item = s.items[0]!;
      assert.deepEqual(
        item.rounds.map((x) => [x.round, x.dueAt, x.answeredAt !== undefined]),
        [
          [0, '2027-06-08T00:00:00.000Z', true],
          [1, '2027-07-02T00:00:00.000Z', true],
        ],
      );
      assert.deepEqual(
        item.answers.map((a) => [a.round, a.late]),
        [
          [0, false],
          [1, true],
        ],
      );
      assert.deepEqual(
        item.reviews.map((x) => x.decision),
        ['more-info', 'accept'],
      );
      await exportHistory(handle, 'follow-up-round');
    }));

  it('a rejected answer closes the item as a gap', () =>
    withHarness(async (h) => {
      const handle = await h.start(sampleSpec('rejected', { items: ONE }));
      await h.sink.waitFor((m) => m.length === 1, 'the request');
      await handle.signal(
        replyReceivedSignal,
        reply({ messageId: '<rj@acme.example>', itemIds: ['xbox'], receivedAt: await h.env.currentTimeMs() }),
      );
      await h.sink.waitFor((m) => m.length === 2, 'the acknowledgement');
      await handle.executeUpdate(reviewUpdate, {
        args: [{ itemId: 'xbox', decision: 'reject', reason: 'no data inventory given', by: 'Chris Counsel' }],
      });
      const result = await handle.result();
      assert.equal(result.status, 'completed-with-gaps');
      assert.deepEqual(result.items, [{ itemId: 'xbox', closure: 'rejected' }]);
    }));

  it('withdrawal closes every open item, tells everyone we wrote to, and writes the report', () =>
    withHarness(async (h) => {
      const handle = await h.start(sampleSpec('withdrawn'));
      await h.skipTo(at('2027-06-09T01:00:00Z'));
      await h.sink.waitFor(
        (m) => m.some((x) => x.header('x-auditflow-kind') === 'escalation'),
        'step 1 to the deputy GC',
      );
      await handle.executeUpdate(withdrawUpdate, {
        args: [{ reason: 'settled between the parties', by: 'Dana Owner' }],
      });
      const result = await handle.result();
      assert.equal(result.status, 'withdrawn');
      assert.deepEqual(
        result.items.map((i) => i.closure),
        ['withdrawn', 'withdrawn', 'withdrawn'],
      );
      await h.sink.waitFor(
        (m) => m.filter((x) => x.header('x-auditflow-kind') === 'withdrawal').length === 2,
        'two withdrawal notices',
      );
      const notices = h.sink.messages.filter((m) => m.header('x-auditflow-kind') === 'withdrawal');
      assert.deepEqual(notices.map((m) => m.envelope.to[0]).sort(), [ERIN, PAT]);
      assert.match(notices[0]!.parsed.text ?? '', /Reason: settled between the parties/);
      assert.equal(notices[0]!.header('reply-to'), undefined, 'a withdrawal expects no answer');
      assert.ok(
        result.reportPath &&
          /Withdrawn by Dana Owner: settled between the parties/.test(fs.readFileSync(result.reportPath, 'utf8')),
      );
      await exportHistory(handle, 'withdrawal');
    }));

  it('a reply delivered twice (same Message-ID) is recorded and acknowledged once', () =>
    withHarness(async (h) => {
      const handle = await h.start(sampleSpec('dupe', { items: ONE }));
      await h.sink.waitFor((m) => m.length === 1, 'the request');
      const answer = reply({
        messageId: '<same@acme.example>',
        itemIds: ['xbox'],
        receivedAt: await h.env.currentTimeMs(),
      });
      await handle.signal(replyReceivedSignal, answer);
      await handle.signal(replyReceivedSignal, answer);
      await handle.signal(replyReceivedSignal, { garbage: true });
      await h.sink.waitFor((m) => m.length === 2, 'one acknowledgement');
      const s = await h.status('dupe');
      assert.equal(s.items[0]!.answers.length, 1);
      assert.equal(s.duplicatesIgnored, 1);
      assert.equal(s.messages.filter((m) => m.direction === 'in').length, 1);
      assert.equal(s.problems.length, 1, 'a malformed signal is kept as a problem, never thrown');
      assert.match(s.problems[0]!.message, /messageId/);
      await h.skipTo(at('2027-06-20T00:00:00Z'));
      assert.equal(h.sink.messages.filter((m) => m.header('x-auditflow-kind') === 'acknowledgement').length, 1);
      await exportHistory(handle, 'duplicate-reply');
      await handle.terminate('test done');
    }));

  it('a hard bounce that proves itself marks the contact undeliverable; the ladder keeps its time and nothing more goes there', () =>
    withHarness(async (h) => {
      const handle = await h.start(sampleSpec('bounced', { items: ONE }));
      const [request] = await h.sink.waitFor((m) => m.length === 1, 'the request');
      // Recorded first: a bounce proves itself against the messages the demand has recorded as sent.
      await h.settled('bounced');
      const now = await h.env.currentTimeMs();
      // A report that references no message of ours proves nothing: kept as a problem, nobody marked.
      await handle.signal(
        replyReceivedSignal,
        reply({
          messageId: '<dsn0@mx.acme.example>',
          kind: 'bounce',
          from: 'mailer-daemon@acme.example',
          failedRecipient: PAT,
          receivedAt: now,
        }),
      );
      await handle.signal(replyReceivedSignal, {
        ...reply({
          messageId: '<dsn1@mx.acme.example>',
          kind: 'bounce',
          from: 'mailer-daemon@acme.example',
          failedRecipient: PAT,
          receivedAt: now,
        }),
        originalMessageId: request!.parsed.messageId,
      });
      await h.sink.waitFor(
        (m) => m.some((x) => x.parsed.subject === '[auditflow] Undeliverable: Audit of API usage'),
        'the notice to the owner',
      );
      const s = await h.status('bounced');
      assert.deepEqual(s.undeliverable, [PAT]);
      assert.equal(s.items[0]!.escalationLevel, 0, 'no ladder step before the deadline');
      assert.ok(
        s.problems.some(
          (p) =>
            p.source === 'reply <dsn0@mx.acme.example>' && /^not recorded: a delivery report must name/.test(p.message),
        ),
        JSON.stringify(s.problems),
      );
      // Step 1 is due a day after the deadline: it goes to the deputy GC then, not earlier.
      await h.skipTo(at('2027-06-09T00:00:00Z'));
      await h.sink.waitFor(
        (m) =>
          m.some((x) => x.header('x-auditflow-kind') === 'escalation' && x.envelope.to.includes('erin@acme.example')),
        'step 1 at its own time',
      );
      assert.equal(
        h.sink.messages.filter((m) => m.envelope.to[0] === PAT).length,
        1,
        'nothing more is sent to an undeliverable address',
      );
      await exportHistory(handle, 'bounce-verified');
      await handle.terminate('test done');
    }));
});
