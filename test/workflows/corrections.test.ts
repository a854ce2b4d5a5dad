/**
 * Corrections to a running demand (time-skipping server, real worker, real SMTP): a bounced contact
 * replaced (the new contact gets the request, the ladder goes on with them), an item added mid-ladder, an
 * item reassigned, a question changed, an item cancelled and one reopened; every correction recorded with
 * who and why. Exact instants asserted. (The refusals are in test/unit/corrections.test.ts: the time-skipping
 * server stalls queries, the sends' among them, while it refuses an update, so none is refused here.)
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  addContactUpdate,
  addItemUpdate,
  cancelItemUpdate,
  changeQuestionUpdate,
  reassignItemUpdate,
  reopenItemUpdate,
  replaceContactUpdate,
  replyReceivedSignal,
  reviewUpdate,
} from '../../domain/messages';
import { INBOUND_MEMO_KEY, type InboundProfile } from '../../domain/inbound';
import { withHarness, type Harness } from '../../dev/support/harness';
import { at, reply, sampleSpec } from '../../dev/support/specs';
import { arrived, mailRows, row } from '../helpers/mail-log';

const PAT = 'pat@acme.example';
const ERIN = 'erin@acme.example';
const QUINN = 'quinn@acme.example';
const ONE = [{ id: 'xbox', name: 'Xbox companion app', questions: ['What data did it read?'] }];
const why = { by: 'Dana Owner', reason: 'test' };

const rowsTo = (h: Harness, to: string) => mailRows(h.sink.messages).filter((r) => r.to === to);

describe('corrections to a running demand (time-skipping server, real SMTP)', () => {
  it('a bounced contact replaced: the new contact gets the request at once and the reminders after it; the ladder goes on', () =>
    withHarness(async (h) => {
      const handle = await h.start(sampleSpec('fix-bounce', { items: ONE }));
      const [request] = await h.sink.waitFor((m) => m.length === 1, 'the request');
      // Recorded first: a bounce proves itself against the messages the demand has recorded as sent.
      await h.settled('fix-bounce');
      await handle.signal(replyReceivedSignal, {
        ...reply({
          messageId: '<dsn1@mx.acme.example>',
          kind: 'bounce',
          from: 'mailer-daemon@acme.example',
          failedRecipient: PAT,
          receivedAt: await h.env.currentTimeMs(),
        }),
        originalMessageId: request!.parsed.messageId,
      });
      await h.sink.waitFor((m) => m.some((x) => /Undeliverable/.test(x.parsed.subject ?? '')), 'the bounce notice');

      // Mon 3 May 2027, 09:00 PDT: Quinn replaces Pat.
      await h.skipTo(at('2027-05-03T16:00:00Z'));
      const ok = await handle.executeUpdate(replaceContactUpdate, {
        args: [
          {
            address: PAT,
            with: { name: 'Quinn Newhire', address: QUINN },
            by: 'Dana Owner',
            reason: 'Pat left Acme; the address bounces',
          },
        ],
      });
      assert.match(
        ok.message,
        /Quinn Newhire <quinn@acme\.example> replaces Pat Primary <pat@acme\.example>; the request for xbox goes to them now/,
      );
      await h.sink.waitFor((m) => m.some((x) => x.envelope.to[0] === QUINN), 'the request to Quinn');
      const s = await h.status('fix-bounce');
      const d = s.decisions.find((x) => x.kind === 'contact-replaced')!;
      assert.equal(d.by, 'Dana Owner');
      assert.equal(d.reason, 'Pat left Acme; the address bounces');
      assert.match(
        d.detail ?? '',
        /Pat Primary <pat@acme\.example> \(undeliverable\) -> Quinn Newhire <quinn@acme\.example> \(primary\)/,
      );
      // The gateway accepts Quinn's replies from now on: the memo names Quinn instead of Pat.
      const memo = (await handle.describe()).memo?.[INBOUND_MEMO_KEY] as InboundProfile;
      assert.deepEqual(memo.contacts, [QUINN, ERIN]);

      // The ladder goes on with Quinn: reminder 1 (Mon 31 May 17:00 PDT), reminder 2 (P1D before: Sun 6 Jun,
      // not a business day, so Fri 4 Jun 18:00 PDT), the overdue notice (Mon 7 Jun 17:00 PDT); the steps to Erin.
      await h.skipTo(at('2027-06-11T00:00:30Z'));
      assert.deepEqual(rowsTo(h, QUINN), [
        row('request', QUINN, '2027-05-03T16:00:00Z', 'xbox'),
        row('reminder', QUINN, '2027-06-01T00:00:00Z', 'xbox'),
        row('reminder', QUINN, '2027-06-05T01:00:00Z', 'xbox'),
        row('overdue', QUINN, '2027-06-08T00:00:00Z', 'xbox'),
      ]);
      assert.deepEqual(
        rowsTo(h, ERIN).map((r) => [r.kind, r.date]),
        [
          ['escalation', '2027-06-09T00:00:00.000Z'],
          ['final-notice', '2027-06-11T00:00:00.000Z'],
        ],
      );
      assert.deepEqual(rowsTo(h, PAT), [row('request', PAT, request!.parsed.date!.toISOString(), 'xbox')]);
      // The reminder to Quinn threads under the request Quinn got.
      const toQuinn = h.sink.messages.filter((m) => m.envelope.to[0] === QUINN);
      assert.equal(toQuinn[1]!.header('in-reply-to'), toQuinn[0]!.parsed.messageId);
    }));

  it('an item added mid-ladder gets its own request and schedule; the others go on', () =>
    withHarness(async (h) => {
      const handle = await h.start(sampleSpec('fix-add', { items: ONE }));
      // Wed 9 Jun 2027, 17:00:30 PDT: step 1 has gone to Erin for xbox.
      await h.skipTo(at('2027-06-09T00:00:30Z'));
      const ok = await handle.executeUpdate(addItemUpdate, {
        args: [
          {
            item: {
              id: 'zephyr',
              name: 'Zephyr internal tool',
              questions: ['Which API data did Zephyr read?'],
              deadline: '2027-06-21T17:00',
            },
            by: 'Dana Owner',
            reason: 'found in the API logs',
          },
        ],
      });
      assert.match(ok.message, /added item zephyr, due Mon 21 Jun 2027, 17:00 PDT; its request goes out now/);
      await h.skipTo(at('2027-06-22T00:00:30Z'));
      // zephyr: its request now, reminder 1 on Mon 14 Jun 17:00 PDT, reminder 2 on Fri 18 Jun 18:00 PDT (Sun 20
      // Jun is not a business day), overdue notice at its deadline; xbox's ladder went on without it.
      assert.deepEqual(
        mailRows(h.sink.messages).filter((r) => r.items === 'zephyr'),
        [
          row('request', PAT, '2027-06-09T00:00:30Z', 'zephyr'),
          row('reminder', PAT, '2027-06-15T00:00:00Z', 'zephyr'),
          row('reminder', PAT, '2027-06-19T01:00:00Z', 'zephyr'),
          row('overdue', PAT, '2027-06-22T00:00:00Z', 'zephyr'),
        ],
      );
      const request = h.sink.messages.find((m) => m.header('x-auditflow-items') === 'zephyr')!;
      assert.match(request.parsed.text ?? '', /Which API data did Zephyr read\?/);
      assert.doesNotMatch(request.parsed.text ?? '', /Xbox companion app/);
      assert.deepEqual(
        rowsTo(h, ERIN).map((r) => [r.kind, r.date, r.items]),
        [
          ['escalation', '2027-06-09T00:00:00.000Z', 'xbox'],
          ['final-notice', '2027-06-11T00:00:00.000Z', 'xbox'],
        ],
      );
      const s = await h.status('fix-add');
      assert.equal(s.items.find((i) => i.id === 'xbox')?.closure, 'referred');
      assert.equal(s.items.find((i) => i.id === 'zephyr')?.phase, 'overdue');
      const d = s.decisions.find((x) => x.kind === 'item-added')!;
      assert.deepEqual([d.by, d.reason, d.itemIds], ['Dana Owner', 'found in the API logs', ['zephyr']]);
      const memo = (await handle.describe()).memo?.[INBOUND_MEMO_KEY] as InboundProfile;
      assert.deepEqual(
        memo.items.map((i) => i.id),
        ['xbox', 'zephyr'],
      );
    }));

  it('an item reassigned to a contact added mid-flight: they get its request, and its reminders go to them alone', () =>
    withHarness(async (h) => {
      const handle = await h.start(sampleSpec('fix-assign'));
      await h.sink.waitFor((m) => m.length === 1, 'the request');
      // Mon 3 May 2027, 09:00 PDT.
      await h.skipTo(at('2027-05-03T16:00:00Z'));
      const added = await handle.executeUpdate(addContactUpdate, {
        args: [{ contact: { name: 'Quinn Sony', address: QUINN, roles: ['sony'] }, ...why }],
      });
      assert.match(added.message, /added Quinn Sony <quinn@acme\.example> as sony\.$/);
      const ok = await handle.executeUpdate(reassignItemUpdate, {
        args: [{ itemId: 'psn', contacts: [QUINN], by: 'Dana Owner', reason: 'Quinn runs the PSN bridge' }],
      });
      assert.match(ok.message, /item psn now goes to quinn@acme\.example; the new contacts get its request now/);
      await h.skipTo(at('2027-06-01T00:00:30Z'));
      const start = mailRows(h.sink.messages)[0]!.date;
      assert.deepEqual(mailRows(h.sink.messages), [
        row('request', PAT, start),
        row('request', QUINN, '2027-05-03T16:00:00Z', 'psn'),
        row('reminder', PAT, '2027-06-01T00:00:00Z', 'xbox,stadia'),
        row('reminder', QUINN, '2027-06-01T00:00:00Z', 'psn'),
      ]);
      const s = await h.status('fix-assign');
      const d = s.decisions.find((x) => x.kind === 'item-reassigned')!;
      assert.deepEqual([d.by, d.reason, d.detail], ['Dana Owner', 'Quinn runs the PSN bridge', `${PAT} -> ${QUINN}`]);
    }));

  it('a question changed, an item cancelled and an answered item reopened: the counterparty is told each time', () =>
    withHarness(async (h) => {
      const handle = await h.start(sampleSpec('fix-items'));
      await h.sink.waitFor((m) => m.length === 1, 'the request');
      await h.skipTo(at('2027-05-03T16:00:00Z'));
      await handle.executeUpdate(changeQuestionUpdate, {
        args: [{ itemId: 'xbox', number: 2, text: 'Which use cases were never declared, by quarter?', ...why }],
      });
      const update = await arrived(h, (x) => x.header('x-auditflow-kind') === 'question-update', 'the question update');
      assert.equal(update[0]!.parsed.subject, 'Question changed: Audit of API usage [xbox]');
      assert.equal(update[0]!.parsed.date?.toISOString(), '2027-05-03T16:00:00.000Z');
      assert.match(update[0]!.parsed.text ?? '', /2\. Which use cases were never declared, by quarter\?/);

      await handle.executeUpdate(cancelItemUpdate, {
        args: [{ itemId: 'stadia', by: 'Dana Owner', reason: 'never used the API' }],
      });
      const cancelled = await arrived(
        h,
        (x) => x.header('x-auditflow-kind') === 'withdrawal',
        'the cancellation notice',
      );
      assert.equal(cancelled[0]!.parsed.subject, 'Item withdrawn: Audit of API usage [stadia]');
      assert.match(cancelled[0]!.parsed.text ?? '', /No answer is required for it; the rest of the demand stands\./);

      // psn is answered and accepted, then reopened with a new question.
      const now = await h.env.currentTimeMs();
      await handle.signal(
        replyReceivedSignal,
        reply({ messageId: '<a1@acme.example>', itemIds: ['psn'], receivedAt: now }),
      );
      await h.settled('fix-items');
      await handle.executeUpdate(reviewUpdate, { args: [{ itemId: 'psn', decision: 'accept', by: 'Dana Owner' }] });
      await h.skipTo(at('2027-05-10T16:00:00Z'));
      const reopened = await handle.executeUpdate(reopenItemUpdate, {
        args: [
          {
            itemId: 'psn',
            questions: ['Your answer omits 2022: what did PSN bridge do with the data then?'],
            dueAt: '2027-05-24T17:00',
            by: 'Chris Counsel',
            reason: 'new evidence from the logs',
          },
        ],
      });
      assert.match(reopened.message, /psn reopened \(was accepted\): round 1, due Mon 24 May 2027, 17:00 PDT/);
      const again = await arrived(h, (x) => /^Reopened:/.test(x.parsed.subject ?? ''), 'the reopened item');
      assert.equal(again[0]!.parsed.date?.toISOString(), '2027-05-10T16:00:00.000Z');
      assert.match(again[0]!.parsed.text ?? '', /Your answer omits 2022/);
      const s = await h.status('fix-items');
      assert.deepEqual(
        s.items.map((i) => [i.id, i.phase, i.closure ?? '', i.dueAt]),
        [
          ['xbox', 'awaiting', '', '2027-06-08T00:00:00.000Z'],
          ['psn', 'awaiting', '', '2027-05-25T00:00:00.000Z'],
          ['stadia', 'closed', 'withdrawn', '2027-06-08T00:00:00.000Z'],
        ],
      );
      assert.deepEqual(
        s.decisions
          .filter((d) => ['question-changed', 'item-cancelled', 'item-reopened'].includes(d.kind))
          .map((d) => [d.kind, d.by]),
        [
          ['question-changed', 'Dana Owner'],
          ['item-cancelled', 'Dana Owner'],
          ['item-reopened', 'Chris Counsel'],
        ],
      );
    }));
});
