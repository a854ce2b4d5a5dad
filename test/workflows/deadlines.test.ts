/**
 * Deadlines that move: extensions (by ops and by emailed request), pause / resume, a daylight-saving
 * change and business days over a holiday. Asserts the exact instants of the mail that arrived.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decideExtensionUpdate,
  extendDeadlineUpdate,
  pauseUpdate,
  replyReceivedSignal,
  resumeUpdate,
} from '../../domain/messages';
import { rejectsWith, withHarness, type Harness } from '../../dev/support/harness';
import { exportHistory } from '../helpers/histories';
import { mailRows, row } from '../helpers/mail-log';
import { at, reply, sampleSpec } from '../../dev/support/specs';

const PAT = 'pat@acme.example';
const ERIN = 'erin@acme.example';
const OWNER = 'owner@platform.example.com';
const COUNSEL = 'counsel@platform.example.com';
const ONE = [{ id: 'xbox', name: 'Xbox companion app', questions: ['What data did it read?'] }];

const sent = (h: Harness, after: string) =>
  mailRows(h.sink.messages).filter((r) => r.date > new Date(after).toISOString());

describe('moving deadlines (time-skipping server, real SMTP)', () => {
  it('an extension granted mid-ladder plans reminders, overdue notice and every step again from the new deadline', () =>
    withHarness(async (h) => {
      const handle = await h.start(sampleSpec('extended', { items: ONE }));
      await h.skipTo(at('2027-06-09T01:00:00Z'));
      await h.sink.waitFor((m) => m.some((x) => x.header('x-auditflow-kind') === 'escalation'), 'escalation step 1');
      const result = await handle.executeUpdate(extendDeadlineUpdate, {
        args: [{ newDeadline: '2027-06-21T17:00', reason: 'export delayed by vendor', approvedBy: 'Dana Owner' }],
      });
      assert.equal(result.items?.[0]?.dueAt, '2027-06-22T00:00:00.000Z');
      await h.sink.waitFor(
        (m) => m.some((x) => x.header('x-auditflow-kind') === 'deadline-update'),
        'the deadline update',
      );
      const update = h.sink.messages.find((m) => m.header('x-auditflow-kind') === 'deadline-update')!;
      assert.match(update.parsed.text ?? '', /has been extended/);
      assert.match(update.parsed.text ?? '', /Reason: export delayed by vendor/);
      assert.match(update.parsed.text ?? '', /due Mon 21 Jun 2027, 17:00 PDT/);
      const mid = await h.status('extended');
      assert.equal(mid.items[0]!.phase, 'awaiting');
      assert.equal(mid.items[0]!.escalationLevel, 0);
      assert.equal(mid.status, 'active');

      const final = await handle.result();
      assert.equal(final.status, 'referred');
      assert.deepEqual(
        sent(h, '2027-06-09T01:00:00Z').filter((r) => r.kind !== 'deadline-update'),
        [
          row('reminder', PAT, '2027-06-15T00:00:00Z', 'xbox'),
          // P1D before Mon 21 Jun is a Sunday: moved back to Fri 18 Jun 18:00 PDT.
          row('reminder', PAT, '2027-06-19T01:00:00Z', 'xbox'),
          row('overdue', PAT, '2027-06-22T00:00:00Z', 'xbox'),
          row('escalation', ERIN, '2027-06-23T00:00:00Z', 'xbox'),
          row('final-notice', ERIN, '2027-06-25T00:00:00Z', 'xbox'),
          row('internal', COUNSEL, '2027-06-25T00:00:00Z', 'xbox'),
          row('internal', COUNSEL, '2027-07-02T07:00:00Z', 'xbox'),
          row('internal', OWNER, '2027-07-02T07:00:00Z', 'xbox'),
          row('internal', OWNER, '2027-07-02T07:00:00Z', 'xbox'),
        ],
      );
      const s = await h.status('extended');
      assert.equal(s.items[0]!.maxEscalationLevel, 3);
      assert.equal(
        s.decisions.filter((d) => d.kind === 'escalation' && d.detail?.startsWith('step 1')).length,
        2,
        'step 1 fired once per deadline',
      );
      await exportHistory(handle, 'extension-mid-ladder');
    }));

  it('pause stops the clock and resume moves every deadline by the time paused', () =>
    withHarness(async (h) => {
      const handle = await h.start(sampleSpec('paused', { items: ONE }));
      await h.skipTo(at('2027-06-02T00:00:00Z'));
      await handle.executeUpdate(pauseUpdate, { args: [{ reason: 'we owe them the app list', by: 'Dana Owner' }] });
      assert.equal((await h.status('paused')).status, 'paused');
      // The original reminder 2 (5 Jun 01:00Z) falls inside the pause and must not fire.
      await h.skipTo(at('2027-06-05T00:00:00Z'));
      await handle.executeUpdate(resumeUpdate, { args: [{ by: 'Dana Owner', reason: 'list sent' }] });
      const s = await h.status('paused');
      assert.equal(s.items[0]!.dueAt, '2027-06-11T00:00:00.000Z');
      assert.equal(s.pausedTotalMs, 3 * 86_400_000);
      await h.skipTo(at('2027-06-11T01:00:00Z'));
      await h.sink.waitFor((m) => m.some((x) => x.header('x-auditflow-kind') === 'overdue'), 'the overdue notice');
      assert.deepEqual(
        mailRows(h.sink.messages)
          .slice(1)
          .map((r) => `${r.kind} ${r.date}`),
        [
          'reminder 2027-06-01T00:00:00.000Z',
          'deadline-update 2027-06-02T00:00:00.000Z',
          'deadline-update 2027-06-05T00:00:00.000Z',
          // New deadline Thu 10 Jun 17:00 PDT; P1D before is Wed 9 Jun 17:00 PDT.
          'reminder 2027-06-10T00:00:00.000Z',
          'overdue 2027-06-11T00:00:00.000Z',
        ],
      );
      const resumed = h.sink.messages.filter((m) => m.header('x-auditflow-kind') === 'deadline-update')[1]!;
      assert.match(resumed.parsed.text ?? '', /clock on "Audit of API usage" has restarted/);
      assert.match(resumed.parsed.text ?? '', /due Thu 10 Jun 2027, 17:00 PDT/);
      await handle.terminate('test done');
      await exportHistory(handle, 'pause-resume');
    }));

  it('a counterparty asking for more time by email waits for ops; approval moves the deadline, denial does not', () =>
    withHarness(async (h) => {
      const handle = await h.start(sampleSpec('asked', { items: ONE }));
      await h.sink.waitFor((m) => m.length === 1, 'the request');
      const now = await h.env.currentTimeMs();
      await handle.signal(
        replyReceivedSignal,
        reply({
          messageId: '<ask1@acme.example>',
          kind: 'extension-request',
          itemIds: ['xbox'],
          receivedAt: now,
          requestedDeadline: '2027-06-14T17:00:00-07:00',
          body: 'Could we have one more week?',
        }),
      );
      await h.sink.waitFor(
        (m) => m.some((x) => x.parsed.subject === '[auditflow] Extension requested: Audit of API usage'),
        'the notice to the owner',
      );
      let s = await h.status('asked');
      assert.equal(s.extensionRequests[0]!.status, 'pending');
      assert.equal(s.items[0]!.dueAt, '2027-06-08T00:00:00.000Z', 'nothing moves before ops decide');
      await rejectsWith(
        handle.executeUpdate(decideExtensionUpdate, {
          args: [{ requestId: 'ext-9', approve: true, reason: 'ok', decidedBy: 'Dana' }],
        }),
        /there is no extension request "ext-9"/,
      );
      await handle.executeUpdate(decideExtensionUpdate, {
        args: [{ requestId: 'ext-1', approve: true, reason: 'reasonable', decidedBy: 'Dana Owner' }],
      });
      s = await h.status('asked');
      assert.equal(s.items[0]!.dueAt, '2027-06-15T00:00:00.000Z');
      assert.equal(s.extensionRequests[0]!.status, 'approved');
      await handle.signal(
        replyReceivedSignal,
        reply({
          messageId: '<ask2@acme.example>',
          kind: 'extension-request',
          itemIds: ['xbox'],
          receivedAt: now + 1000,
          body: 'And another week?',
        }),
      );
      await h.sink.waitFor(
        (m) => m.filter((x) => x.parsed.subject?.startsWith('[auditflow] Extension requested')).length === 2,
        'the second notice',
      );
      await handle.executeUpdate(decideExtensionUpdate, {
        args: [{ requestId: 'ext-2', approve: false, reason: 'no grounds given', decidedBy: 'Dana Owner' }],
      });
      await h.sink.waitFor(
        (m) => m.filter((x) => x.header('x-auditflow-kind') === 'deadline-update').length === 2,
        'two deadline updates',
      );
      const denial = h.sink.messages.filter((m) => m.header('x-auditflow-kind') === 'deadline-update')[1]!;
      assert.match(denial.parsed.text ?? '', /has not been granted/);
      s = await h.status('asked');
      assert.equal(s.items[0]!.dueAt, '2027-06-15T00:00:00.000Z');
      assert.deepEqual(
        s.decisions.map((d) => d.kind).filter((k) => k.startsWith('ext')),
        ['extension-requested', 'extend', 'extension-requested', 'extension-denied'],
      );
      await handle.terminate('test done');
    }));

  it('a deadline just after the spring daylight-saving change: calendar days keep the local hour, hours are exact', () =>
    withHarness(async (h) => {
      const handle = await h.start(
        sampleSpec('dst', {
          items: ONE,
          deadline: '2027-03-15T17:00',
          reminders: [{ before: 'P2D' }, { before: 'PT48H' }],
          escalation: [{ after: 'P1D', notify: ['counterparty:escalation'] }],
          calendar: { businessDays: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] },
        }),
      );
      const result = await handle.result();
      assert.equal(result.status, 'completed-with-gaps');
      assert.deepEqual(mailRows(h.sink.messages).slice(1, 5), [
        // PT48H before 15 Mar 17:00 PDT is 13 Mar 16:00 PST; P2D keeps 17:00 local (PST).
        row('reminder', PAT, '2027-03-14T00:00:00Z', 'xbox'),
        row('reminder', PAT, '2027-03-14T01:00:00Z', 'xbox'),
        row('overdue', PAT, '2027-03-16T00:00:00Z', 'xbox'),
        row('escalation', ERIN, '2027-03-17T00:00:00Z', 'xbox'),
      ]);
      const first = h.sink.messages.find((m) => m.header('x-auditflow-scheduled-at') === '2027-03-14T00:00:00.000Z')!;
      assert.match(first.parsed.text ?? '', /due Mon 15 Mar 2027, 17:00 PDT \(2027-03-16 00:00Z\)/);
      await exportHistory(handle, 'dst-deadline');
    }));

  it('business-day offsets skip weekends and holidays', () =>
    withHarness(async (h) => {
      const handle = await h.start(
        sampleSpec('holiday', {
          items: ONE,
          reminders: [{ before: { businessDays: 2 } }],
          escalation: [{ after: { businessDays: 1 }, notify: ['counterparty:escalation'], action: 'refer' }],
          calendar: { businessDays: ['mon', 'tue', 'wed', 'thu', 'fri'], holidays: ['2027-06-04', '2027-06-08'] },
        }),
      );
      const result = await handle.result();
      assert.equal(result.status, 'referred');
      assert.deepEqual(mailRows(h.sink.messages).slice(1, 4), [
        // Two business days before Mon 7 Jun, skipping Fri 4 Jun: Wed 2 Jun 17:00 PDT.
        row('reminder', PAT, '2027-06-03T00:00:00Z', 'xbox'),
        row('overdue', PAT, '2027-06-08T00:00:00Z', 'xbox'),
        // One business day after, skipping Tue 8 Jun: Wed 9 Jun 17:00 PDT.
        row('escalation', ERIN, '2027-06-10T00:00:00Z', 'xbox'),
      ]);
      await exportHistory(handle, 'business-days-holiday');
    }));
});
