/**
 * The demand lifecycle on the time-skipping server: the exact emails that reached a real SMTP server,
 * and the exact instants they were dated, for the main paths of a demand.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, it } from 'node:test';
import { replyReceivedSignal, reviewUpdate } from '../../domain/messages';
import { withHarness, type Harness } from '../../dev/support/harness';
import { exportHistory } from '../helpers/histories';
import { arrived, mailRows, row } from '../helpers/mail-log';
import { at, reply, sampleSpec } from '../../dev/support/specs';

const PAT = 'pat@acme.example';
const ERIN = 'erin@acme.example';
const OWNER = 'owner@platform.example.com';
const COUNSEL = 'counsel@platform.example.com';

async function acceptAll(h: Harness, demandId: string, items: string[]): Promise<void> {
  const handle = h.env.client.workflow.getHandle(`audit:${demandId}`);
  for (const itemId of items)
    await handle.executeUpdate(reviewUpdate, { args: [{ itemId, decision: 'accept', by: 'reviewer' }] });
}

describe('demand lifecycle (time-skipping server, real SMTP)', () => {
  it('all items answered on time: acknowledged, reviewed, completed, no reminder sent', () =>
    withHarness(async (h) => {
      const handle = await h.start(sampleSpec('ontime'));
      await h.sink.waitFor((m) => m.length === 1, 'the request');
      const request = h.sink.messages[0]!;
      assert.equal(request.envelope.to[0], PAT);
      assert.match(request.parsed.subject ?? '', /^Audit demand: Audit of API usage \[xbox\] \[psn\] \[stadia\]$/);
      assert.match(
        request.parsed.text ?? '',
        /\[xbox\] Xbox companion app - due Mon 7 Jun 2027, 17:00 PDT \(2027-06-08 00:00Z\)/,
      );
      assert.match(request.parsed.text ?? '', /1\. What data did it read\?/);
      assert.match(request.parsed.html || '', /<li>2\. Which use cases were never declared\?<\/li>/);
      assert.match(
        request.header('reply-to') ?? '',
        /audit\+ontime\.0\.[a-z2-7]{7}\.[a-z2-7]{16}@reply\.auditflow\.localhost/,
      );

      const now = await h.env.currentTimeMs();
      await handle.signal(
        replyReceivedSignal,
        reply({ messageId: '<r1@acme.example>', itemIds: ['xbox'], receivedAt: now }),
      );
      await handle.signal(
        replyReceivedSignal,
        reply({ messageId: '<r2@acme.example>', itemIds: ['psn', 'stadia'], receivedAt: now }),
      );
      await h.sink.waitFor(
        (m) => m.filter((x) => x.header('x-auditflow-kind') === 'acknowledgement').length === 2,
        'two acknowledgements',
      );
      const inReview = await h.status('ontime');
      assert.deepEqual(
        inReview.items.map((i) => [i.id, i.phase, i.answers.length, i.answers[0]?.late]),
        [
          ['xbox', 'in-review', 1, false],
          ['psn', 'in-review', 1, false],
          ['stadia', 'in-review', 1, false],
        ],
      );
      assert.equal(inReview.status, 'in-review');

      await acceptAll(h, 'ontime', ['xbox', 'psn', 'stadia']);
      const result = await handle.result();
      assert.equal(result.status, 'completed');
      assert.ok(result.reportPath && fs.existsSync(result.reportPath));
      assert.match(fs.readFileSync(result.reportPath, 'utf8'), /Outcome: \*\*completed\*\*/);
      await h.sink.waitFor(
        (m) => m.some((x) => x.parsed.subject?.includes('Demand ended (completed)')),
        'the final notice to the owner',
      );
      const kinds = mailRows(h.sink.messages).map((r) => `${r.kind}->${r.to}`);
      assert.deepEqual(kinds.sort(), [
        `acknowledgement->${PAT}`,
        `acknowledgement->${PAT}`,
        `internal->${OWNER}`,
        `request->${PAT}`,
      ]);
      await exportHistory(handle, 'all-answered-on-time');
    }));

  it('one item answered after the second reminder: reminders at their exact instants, then review', () =>
    withHarness(async (h) => {
      const handle = await h.start(
        sampleSpec('after-reminder', {
          items: [{ id: 'xbox', name: 'Xbox companion app', questions: ['What data did it read?'] }],
        }),
      );
      // Reminder 1: P7D before Mon 7 Jun 17:00 PDT. Reminder 2: P1D before is a Sunday, so it moves back to Fri 4 Jun 18:00 PDT.
      await h.skipTo(at('2027-06-05T02:00:00Z'));
      await h.sink.waitFor((m) => m.length === 3, 'request and two reminders');
      const rows = mailRows(h.sink.messages);
      assert.deepEqual(rows.slice(1), [
        row('reminder', PAT, '2027-06-01T00:00:00Z', 'xbox'),
        row('reminder', PAT, '2027-06-05T01:00:00Z', 'xbox'),
      ]);
      assert.equal(
        h.sink.messages.find((m) => m.header('x-auditflow-scheduled-at') === '2027-06-05T01:00:00.000Z')?.parsed
          .subject,
        'Reminder 2: Audit of API usage: 1 item due Mon 7 Jun 2027, 17:00 PDT [xbox]',
      );
      const request = h.sink.messages.find((m) => m.header('x-auditflow-kind') === 'request')!;
      assert.equal(
        h.sink.messages[2]!.parsed.inReplyTo,
        request.parsed.messageId,
        'reminders thread under the request',
      );

      await handle.signal(
        replyReceivedSignal,
        reply({ messageId: '<late-ish@acme.example>', itemIds: ['xbox'], receivedAt: await h.env.currentTimeMs() }),
      );
      await h.skipTo(at('2027-07-15T00:00:00Z'));
      // Answered Fri 4 Jun, 19:00 PDT: the acknowledgement waits for Pat's next sending hour, Mon 08:00 PDT.
      const [ack] = await arrived(h, (x) => x.header('x-auditflow-kind') === 'acknowledgement', 'the acknowledgement');
      assert.equal(ack!.parsed.date?.toISOString(), '2027-06-07T15:00:00.000Z');
      const s = await h.status('after-reminder');
      assert.equal(s.items[0]!.phase, 'in-review');
      assert.equal(s.items[0]!.remindersSent, 2);
      assert.equal(s.items[0]!.answers[0]!.late, false);
      assert.equal(
        h.sink.messages.filter((m) => ['overdue', 'escalation'].includes(m.header('x-auditflow-kind') ?? '')).length,
        0,
        'an answered item is never overdue',
      );
      await acceptAll(h, 'after-reminder', ['xbox']);
      assert.equal((await handle.result()).status, 'completed');
      await exportHistory(handle, 'answered-after-second-reminder');
    }));

  it('never answered: overdue notice, every ladder step once, in order, at its instant, then referral', () =>
    withHarness(async (h) => {
      const handle = await h.start(sampleSpec('ladder'));
      const result = await handle.result();
      assert.equal(result.status, 'referred');
      assert.deepEqual(
        result.items.map((i) => i.closure),
        ['referred', 'referred', 'referred'],
      );
      await h.sink.waitFor((m) => m.length === 10, 'ten messages');
      const rows = mailRows(h.sink.messages).slice(1);
      assert.deepEqual(rows, [
        row('reminder', PAT, '2027-06-01T00:00:00Z'),
        row('reminder', PAT, '2027-06-05T01:00:00Z'),
        row('overdue', PAT, '2027-06-08T00:00:00Z'),
        row('escalation', ERIN, '2027-06-09T00:00:00Z'),
        row('final-notice', ERIN, '2027-06-11T00:00:00Z'),
        row('internal', COUNSEL, '2027-06-11T00:00:00Z'),
        // Step 3 only notifies people in Dublin: 17 Jun 17:00 PDT is 01:00 there, so it waits for 08:00 IST.
        row('internal', COUNSEL, '2027-06-18T07:00:00Z'),
        row('internal', OWNER, '2027-06-18T07:00:00Z'),
        row('internal', OWNER, '2027-06-18T07:00:00Z'),
      ]);
      const s = await h.status('ladder');
      const steps = s.decisions
        .filter((d) => d.kind === 'escalation' || d.kind === 'refer')
        .map((d) => `${d.kind}:${d.itemIds.join(',')}:${d.detail}`);
      assert.deepEqual(steps, [
        'escalation:xbox:step 1: notice to deputy GC',
        'escalation:psn:step 1: notice to deputy GC',
        'escalation:stadia:step 1: notice to deputy GC',
        'escalation:xbox:step 2: final notice',
        'escalation:psn:step 2: final notice',
        'escalation:stadia:step 2: final notice',
        'refer:xbox:step 3: referral',
        'refer:psn:step 3: referral',
        'refer:stadia:step 3: referral',
      ]);
      assert.ok(
        h.sink.messages.some((m) => m.parsed.subject === '[auditflow] Referred for legal action: Audit of API usage'),
      );
      await exportHistory(handle, 'never-answered-referred');
      // Recorded after `send-by-reference` and `report-by-reference`, encrypted: the slim history's shape.
      await exportHistory(handle, 'referred-by-reference');
      // Recorded after `timer-fired-is-due`: the replay test makes one woken task's clock stale in it.
      await exportHistory(handle, 'timer-fired-is-due');
    }));

  it('a late answer stops the ladder for that item only, and is marked late', () =>
    withHarness(async (h) => {
      const handle = await h.start(sampleSpec('late'));
      await h.skipTo(at('2027-06-09T06:00:00Z'));
      await h.sink.waitFor((m) => m.some((x) => x.header('x-auditflow-kind') === 'escalation'), 'escalation step 1');
      await handle.signal(
        replyReceivedSignal,
        reply({ messageId: '<late@acme.example>', itemIds: ['xbox'], receivedAt: at('2027-06-09T06:00:00Z') }),
      );
      await h.skipTo(at('2027-06-20T00:00:00Z'));
      // Answered Tue 8 Jun, 23:00 PDT: acknowledged at Pat's next sending hour, Wed 08:00 PDT.
      const [ack] = await arrived(h, (x) => x.header('x-auditflow-kind') === 'acknowledgement', 'the acknowledgement');
      assert.equal(ack!.parsed.date?.toISOString(), '2027-06-09T15:00:00.000Z');
      await h.sink.waitFor(
        (m) => m.filter((x) => x.header('x-auditflow-kind') === 'internal').length === 3,
        'step 2 and 3 notices',
      );
      const s = await h.status('late');
      const xbox = s.items.find((i) => i.id === 'xbox')!;
      assert.equal(xbox.phase, 'in-review');
      assert.equal(xbox.answers[0]!.late, true);
      assert.equal(xbox.answers[0]!.lateByMs, 30 * 3600_000);
      assert.equal(xbox.escalationLevel, 1, 'the ladder stopped at the step it had reached');
      assert.deepEqual(
        s.items.filter((i) => i.id !== 'xbox').map((i) => i.closure),
        ['referred', 'referred'],
      );
      const later = mailRows(h.sink.messages).filter(
        (r) => r.date > '2027-06-09T06:00:00.000Z' && r.kind !== 'acknowledgement',
      );
      assert.deepEqual(
        later.map((r) => `${r.kind} ${r.to} ${r.items}`),
        [
          `final-notice ${ERIN} psn,stadia`,
          `internal ${COUNSEL} psn,stadia`,
          `internal ${COUNSEL} psn,stadia`,
          `internal ${OWNER} psn,stadia`,
        ],
      );
      await acceptAll(h, 'late', ['xbox']);
      const result = await handle.result();
      assert.equal(result.status, 'referred');
      assert.deepEqual(result.items, [
        { itemId: 'xbox', closure: 'accepted' },
        { itemId: 'psn', closure: 'referred' },
        { itemId: 'stadia', closure: 'referred' },
      ]);
      await exportHistory(handle, 'late-answer-stops-ladder');
    }));
});
