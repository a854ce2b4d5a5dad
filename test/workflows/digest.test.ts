/**
 * The owners' daily digest (time-skipping server, real worker, real SMTP): on a business day at 09:00 in
 * the owner's zone, one email lists each kind of pending work with the command that acts on it; a second
 * run that day sends nothing more; after 10:00, on a Saturday and on a quiet day nothing is sent. Exact
 * instants asserted. (The test server implements no Schedules; test/cli/digest.test.ts covers the schedule.)
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { describe, it } from 'node:test';
import { Client } from '@temporalio/client';
import type { DigestResult } from '../../domain/digest';
import { replyReceivedSignal } from '../../domain/messages';
import { addTriageUpdate, inboxWorkflowId, type TriageEntry } from '../../domain/triage';
import { withHarness, type Harness } from '../../dev/support/harness';
import { at, reply, sampleSpec } from '../../dev/support/specs';
import { testDataConverter, uniqueName } from '../../dev/support/temporal';
import { exportHistory } from '../helpers/histories';

const OWNER = 'owner@platform.example.com';

/**
 * Runs the digest workflow now (workflow time) as the schedule would, and returns what it did. Through a
 * plain client: the environment's own client lets time skip while it waits for a result, and the digest
 * must run at the instant the test chose.
 */
async function runDigest(h: Harness, fixture?: string): Promise<DigestResult> {
  const client = new Client({ connection: h.env.connection, dataConverter: testDataConverter });
  const handle = await client.workflow.start('digestWorkflow', {
    workflowId: uniqueName('digest'),
    taskQueue: h.config.taskQueue,
    args: [{ mode: 'scheduled' }],
  });
  const result = (await handle.result()) as DigestResult;
  if (fixture) await exportHistory(handle, fixture);
  return result;
}

const digests = (h: Harness) => h.sink.messages.filter((m) => m.header('x-auditflow-digest') !== undefined);

/** Keeps a message in the demand's triage inbox, as the gateway does. */
async function keep(h: Harness, entry: Partial<TriageEntry> & Pick<TriageEntry, 'receivedAt' | 'reason'>) {
  const inbox = h.env.client.workflow.getHandle(inboxWorkflowId(h.config.taskQueue));
  await h.env.client.workflow.start('inboxWorkflow', {
    workflowId: inbox.workflowId,
    taskQueue: h.config.taskQueue,
    args: [{}],
    workflowIdConflictPolicy: 'USE_EXISTING',
  });
  await inbox.executeUpdate(addTriageUpdate, {
    args: [
      {
        id: crypto.randomBytes(8).toString('hex'),
        channel: 'smtp',
        envelope: { to: [] },
        raw: { sha256: crypto.randomBytes(32).toString('hex'), size: 1 },
        attachments: [],
        status: 'open',
        deliveries: 1,
        ...entry,
      },
    ],
  });
}

describe('the daily digest (time-skipping server, real SMTP)', () => {
  it('at 09:00 on a business day the owner gets one email with each kind of pending work; nothing more that day, nor at the weekend', () =>
    withHarness(async (h) => {
      const work = await h.start(sampleSpec('dig-work'));
      // The request itself waits for the owner's sign-off (within two days, then held): a gate stays open.
      await h.start(sampleSpec('dig-gate', { requestSignOff: { by: 'owner', within: 'P2D', onTimeout: 'hold' } }));
      await h.skipTo(at('2027-06-01T16:00:00Z'));
      await work.signal(
        replyReceivedSignal,
        reply({ messageId: '<a1@acme.example>', itemIds: ['xbox'], receivedAt: '2027-06-01T16:00:00Z' }),
      );
      await work.signal(
        replyReceivedSignal,
        reply({
          messageId: '<e1@acme.example>',
          itemIds: ['psn'],
          kind: 'extension-request',
          receivedAt: '2027-06-01T16:00:00Z',
          requestedDeadline: '2027-06-22T00:00:00Z',
        }),
      );
      // Pat is away until 21 June, after stadia's deadline (Mon 7 Jun, 17:00 PDT).
      await work.signal(replyReceivedSignal, {
        ...reply({
          messageId: '<o1@acme.example>',
          itemIds: ['stadia'],
          kind: 'out-of-office',
          receivedAt: '2027-06-01T16:00:00Z',
        }),
        returnDate: '2027-06-21',
      });
      await keep(h, {
        id: '00000000000000a1',
        receivedAt: '2027-06-02T10:00:00Z',
        reason: 'sender not authenticated (dmarc fail)',
        from: 'pat@acme.example',
        subject: 'Re: Audit demand [stadia]',
        hint: { demandId: 'dig-work', itemIds: ['stadia'] },
      });
      await keep(h, {
        id: '00000000000000b2',
        receivedAt: '2027-06-03T11:00:00Z',
        reason: 'no reply token and no demand matches the sender',
        from: 'someone@elsewhere.example',
        subject: 'Question',
      });
      // Wed 9 Jun 2027, 09:00 in Dublin (IST): escalation step 1 fired at 01:00 IST, after Tue 09:00.
      await h.skipTo(at('2027-06-09T08:00:00Z'));
      await h.settled('dig-work');
      const first = await runDigest(h, 'digest-sent');
      assert.equal(first.at, '2027-06-09T08:00:00.000Z');
      assert.deepEqual(
        first.sent.map((x) => [x.owner, x.count, x.alreadySent]),
        [[OWNER, 7, false]],
      );
      const [mail, ...more] = digests(h);
      assert.equal(more.length, 0, 'one digest');
      assert.deepEqual(mail!.envelope.to, [OWNER]);
      assert.equal(mail!.parsed.subject, '[auditflow] Daily digest, Wed 9 Jun 2027: 7 things to do');
      assert.equal(mail!.parsed.date?.toISOString(), '2027-06-09T08:00:00.000Z');
      assert.equal(mail!.header('x-auditflow-kind'), 'internal');
      assert.equal(mail!.header('x-auditflow-digest'), '2027-06-09');
      assert.equal(mail!.header('auto-submitted'), 'auto-generated');
      const text = mail!.parsed.text ?? '';
      // A section: its heading, then its list (the lines and the command that acts), as the email lays them out.
      const section = (title: string) => {
        const start = text.indexOf(`${title} (`);
        assert.ok(start >= 0, `section "${title}" in:\n${text}`);
        const [heading, list] = text.slice(start).split('\n\n');
        return [heading, ...list!.split('\n')];
      };
      assert.match(text, /^Dana Owner, 7 things wait for you in 2 demands and the triage inbox\./);
      assert.ok(text.indexOf('dig-work: Audit of API usage (Acme Games Ltd)') < text.indexOf('dig-gate: Audit of'));
      assert.deepEqual(section('Answers waiting for review'), [
        'Answers waiting for review (1):',
        '  [xbox] Xbox companion app, answered Tue 1 Jun 2027, 17:00 GMT+1',
        '  Act: npx auditflow review dig-work <item> --accept | --more-info --question "..." | --reject --reason "..."',
      ]);
      assert.deepEqual(section('Extension requests waiting for a decision'), [
        'Extension requests waiting for a decision (1):',
        '  ext-1 for psn from pat@acme.example, until Tue 22 Jun 2027, 01:00 GMT+1, received Tue 1 Jun 2027, 17:00 GMT+1',
        '  Act: npx auditflow extend dig-work --request <id> [--deny] --reason "..."',
      ]);
      assert.deepEqual(section('Messages in triage about this demand'), [
        'Messages in triage about this demand (1):',
        '  00000000000000a1 from pat@acme.example "Re: Audit demand [stadia]", received Wed 2 Jun 2027, 11:00 GMT+1: sender not authenticated (dmarc fail)',
        '  Act: npx auditflow inbox assign <id> --demand dig-work --item <item>   or   npx auditflow inbox discard <id> --reason "..."',
      ]);
      // Step 1 fired Tue 8 Jun 17:00 PDT for the two unanswered items: one line, since Tuesday 09:00 Dublin.
      assert.deepEqual(section('Escalated since Tue 8 Jun 2027, 09:00 GMT+1'), [
        'Escalated since Tue 8 Jun 2027, 09:00 GMT+1 (1):',
        '  Wed 9 Jun 2027, 01:00 GMT+1: escalation step 1: notice to deputy GC for psn, stadia',
        '  See: npx auditflow show dig-work',
      ]);
      assert.deepEqual(section('Steps waiting for sign-off'), [
        'Steps waiting for sign-off (1):',
        '  g1 the request for xbox, psn, stadia: held-on-timeout, until someone with the role owner approves it',
        '  Act: npx auditflow approve dig-gate <gate> --by "<your name>"   or   npx auditflow hold dig-gate <gate> --by "<your name>" --reason "..."',
      ]);
      assert.deepEqual(section('Messages in triage that no demand claims'), [
        'Messages in triage that no demand claims (1):',
        '  00000000000000b2 from someone@elsewhere.example "Question", received Thu 3 Jun 2027, 12:00 GMT+1: no reply token and no demand matches the sender',
        '  Act: npx auditflow inbox',
      ]);
      assert.deepEqual(section('Contacts out of office past a deadline').slice(0, 2), [
        'Contacts out of office past a deadline (1):',
        '  pat@acme.example is back on 2027-06-21, after the deadline of stadia (replied Tue 1 Jun 2027, 17:00 GMT+1)',
      ]);

      // The schedule fires again at 09:15 and 09:45: the ledger already has today's digest, nothing more is sent.
      await h.skipTo(at('2027-06-09T08:15:00Z'));
      const second = await runDigest(h);
      assert.deepEqual(
        second.sent.map((x) => [x.owner, x.alreadySent, x.messageId]),
        [[OWNER, true, first.sent[0]!.messageId]],
      );
      await h.skipTo(at('2027-06-09T08:45:00Z'));
      assert.equal((await runDigest(h)).sent[0]?.alreadySent, true);
      // 10:00 in Dublin: the digest hour is over.
      await h.skipTo(at('2027-06-09T09:00:00Z'));
      assert.deepEqual((await runDigest(h)).sent, []);
      // Saturday 12 Jun, 09:00 in Dublin: not a business day, though work still waits.
      await h.skipTo(at('2027-06-12T08:00:00Z'));
      const saturday = await runDigest(h);
      assert.equal(saturday.at, '2027-06-12T08:00:00.000Z');
      assert.deepEqual(saturday.sent, []);
      assert.equal(digests(h).length, 1, 'one digest in all');
    }));

  it('a quiet day (nothing pending for the owner) sends nothing, even at 09:00 on a business day', () =>
    withHarness(async (h) => {
      await h.start(sampleSpec('dig-quiet'));
      // Tue 1 Jun 2027, 09:00 in Dublin: the request went out, nothing is answered, escalated or kept for triage.
      await h.skipTo(at('2027-06-01T08:00:00Z'));
      await h.settled('dig-quiet');
      const quiet = await runDigest(h);
      assert.equal(quiet.at, '2027-06-01T08:00:00.000Z');
      assert.deepEqual(quiet.sent, []);
      assert.equal(digests(h).length, 0);
      assert.ok(h.sink.messages.length > 0, 'the demand itself did send mail (a control)');
    }));
});
