/**
 * Sign-off gates (time-skipping server, real worker, real SMTP): a gated final notice waits for counsel,
 * who sees the exact message by email; approved late, it goes out then and the referral moves by the time
 * waited; a gate that times out is sent as it is or held, as the spec says; a request can wait for the
 * owner's sign-off; approvals are refused with a reason when they make no sense. Exact instants asserted.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DemandSpecInput } from '../../domain/demand';
import { approveStepUpdate, holdStepUpdate, replyReceivedSignal } from '../../domain/messages';
import { rejectsWith, withHarness, type Harness } from '../../dev/support/harness';
import { at, reply, sampleSpec } from '../../dev/support/specs';
import { exportHistory } from '../helpers/histories';
import { mailRows, row } from '../helpers/mail-log';

const PAT = 'pat@acme.example';
const ERIN = 'erin@acme.example';
const OWNER = 'owner@platform.example.com';
const COUNSEL = 'counsel@platform.example.com';
const ONE = [{ id: 'xbox', name: 'Xbox companion app', questions: ['What data did it read?'] }];

/** sampleSpec with one item and its final notice (step 2) gated on counsel's sign-off. */
function gatedSpec(id: string, signOff: { within: string; onTimeout: 'hold' | 'send' }): DemandSpecInput {
  const base = sampleSpec(id, { items: ONE });
  const ladder = base.escalation!.map((s, i) =>
    i === 1 ? { ...s, note: 'We will refer this matter.', signOff: { by: 'counsel', ...signOff } } : s,
  );
  return { ...base, escalation: ladder };
}

const rows = (h: Harness, kinds?: string[]) =>
  mailRows(h.sink.messages).filter((r) => !kinds || kinds.includes(r.kind));
const subjects = (h: Harness) => h.sink.messages.map((m) => m.parsed.subject ?? '');

describe('sign-off gates (time-skipping server, real SMTP)', () => {
  it('a gated final notice waits for counsel, goes out when approved late, and the referral moves by the wait', () =>
    withHarness(async (h) => {
      const handle = await h.start(gatedSpec('gate-late', { within: 'P2D', onTimeout: 'hold' }));
      // Step 2 falls due Thu 10 Jun 17:00 PDT (2027-06-11T00:00Z): counsel is asked, nothing goes to Erin.
      await h.skipTo(at('2027-06-11T00:00:30Z'));
      await h.sink.waitFor(
        (m) => m.some((x) => /Sign-off needed/.test(x.parsed.subject ?? '')),
        'the sign-off request',
      );
      const ask = h.sink.messages.find((x) => /Sign-off needed/.test(x.parsed.subject ?? ''))!;
      assert.deepEqual(ask.envelope.to, [COUNSEL]);
      assert.equal(
        ask.parsed.subject,
        '[auditflow] Sign-off needed: escalation step 2: final notice: Audit of API usage',
      );
      const text = ask.parsed.text ?? '';
      assert.match(text, /waits for your sign-off \(role counsel\)/);
      assert.match(text, /Without a decision by Sun 13 Jun 2027, 01:00 GMT\+1 \(2027-06-13 00:00Z\), it will be held/);
      assert.match(text, /npx auditflow approve gate-late g1 --by "<your name>"/);
      // The exact final notice Erin would get, quoted: its subject and its note.
      assert.match(text, /to Erin Deputy GC <erin@acme\.example>/);
      assert.match(text, /\| Subject: Final notice: Audit of API usage \[xbox\]/);
      assert.match(text, /\| We will refer this matter\./);
      assert.equal(rows(h, ['final-notice']).length, 0);
      const waiting = await h.status('gate-late');
      assert.deepEqual(
        waiting.gates?.map((g) => [g.id, g.status, g.expiresAt]),
        [['g1', 'waiting', '2027-06-13T00:00:00.000Z']],
      );
      assert.equal(waiting.nextAction, undefined, 'the referral waits behind the gate');

      // Someone who is not counsel cannot sign it off; a step that does not wait cannot be approved.
      await rejectsWith(
        handle.executeUpdate(approveStepUpdate, { args: [{ step: 'g1', by: 'Dana Owner' }] }),
        /Dana Owner may not sign off g1: it needs a requester person with the role "counsel" \(Chris Counsel <counsel@platform\.example\.com>\)/,
      );
      await rejectsWith(
        handle.executeUpdate(approveStepUpdate, { args: [{ step: '3', by: 'Chris Counsel' }] }),
        /no step waits for sign-off matching "3"; waiting: g1 \(escalation step 2: final notice, waiting\)/,
      );

      // Approved 30 hours late, with the note edited: it goes out then.
      await h.skipTo(at('2027-06-12T06:00:00Z'));
      const ok = await handle.executeUpdate(approveStepUpdate, {
        args: [{ step: 'final notice', by: 'counsel@platform.example.com', note: 'Last chance before we refer.' }],
      });
      assert.match(
        ok.message,
        /signed off g1 \(escalation step 2: final notice\): its messages go out for xbox \(now, or at each recipient's next sending hour\)/,
      );
      const result = await handle.result();
      assert.equal(result.status, 'referred');
      assert.deepEqual(rows(h, ['final-notice', 'escalation']), [
        row('escalation', ERIN, '2027-06-09T00:00:00Z', 'xbox'),
        // Approved Fri 11 Jun, 23:00 PDT: released at Erin's next sending hour, Mon 14 Jun 08:00 PDT.
        row('final-notice', ERIN, '2027-06-14T15:00:00Z', 'xbox'),
      ]);
      const notice = h.sink.messages.find((m) => m.header('x-auditflow-kind') === 'final-notice')!;
      assert.match(notice.parsed.text ?? '', /Last chance before we refer\./);
      assert.doesNotMatch(notice.parsed.text ?? '', /We will refer this matter/);
      // The referral (P10D: Fri 18 Jun 08:00 Dublin) moves by the 30 hours waited: Sat 19 Jun 07:00 Dublin,
      // a weekend, so Mon 21 Jun 08:00 Dublin.
      assert.ok(subjects(h).includes('[auditflow] Referred for legal action: Audit of API usage'));
      const referral = h.sink.messages.find((m) => /Referred for legal action/.test(m.parsed.subject ?? ''))!;
      assert.equal(referral.parsed.date?.toISOString(), '2027-06-21T07:00:00.000Z');
      const s = await h.status('gate-late');
      assert.deepEqual(
        s.gates?.map((g) => [g.status, g.decidedBy, g.decidedAt?.slice(0, 19), g.note]),
        [['approved', 'Chris Counsel', '2027-06-12T06:00:00', 'Last chance before we refer.']],
      );
      const kinds = s.decisions.map((d) => d.kind);
      assert.ok(kinds.indexOf('sign-off-requested') < kinds.indexOf('signed-off'));
      assert.equal(s.decisions.find((d) => d.kind === 'signed-off')?.by, 'Chris Counsel');
      await exportHistory(handle, 'sign-off-approved-late');
    }));

  it('a gate that times out with onTimeout: send goes out as it is, in sending hours, and owner and counsel are told', () =>
    withHarness(async (h) => {
      // Six hours after Thu 10 Jun 17:00 PDT is 23:00: the notice waits for Fri 08:00 PDT (15:00Z).
      const handle = await h.start(gatedSpec('gate-send', { within: 'PT6H', onTimeout: 'send' }));
      const result = await handle.result();
      assert.equal(result.status, 'referred');
      assert.deepEqual(rows(h, ['final-notice']), [row('final-notice', ERIN, '2027-06-11T15:00:00Z', 'xbox')]);
      const told = h.sink.messages.filter((m) => /No sign-off, sent as it is/.test(m.parsed.subject ?? ''));
      assert.deepEqual(told.map((m) => m.envelope.to[0]).sort(), [COUNSEL, OWNER]);
      assert.equal(told[0]!.parsed.date?.toISOString(), '2027-06-11T15:00:00.000Z');
      const s = await h.status('gate-send');
      assert.equal(s.gates?.[0]?.status, 'sent-on-timeout');
      assert.match(s.decisions.find((d) => d.kind === 'sign-off-timeout')?.detail ?? '', /sent as it is/);
    }));

  it('a gate that times out with onTimeout: hold sends nothing further until approved; hold, then approve', () =>
    withHarness(async (h) => {
      const handle = await h.start(gatedSpec('gate-hold', { within: 'P1D', onTimeout: 'hold' }));
      await h.skipTo(at('2027-06-11T12:00:00Z'));
      const held = await handle.executeUpdate(holdStepUpdate, {
        args: [{ step: 'g1', by: 'Chris Counsel', reason: 'waiting for the board' }],
      });
      assert.match(held.message, /held g1 \(escalation step 2: final notice\): nothing goes out for xbox/);
      await rejectsWith(
        handle.executeUpdate(holdStepUpdate, { args: [{ step: 'g1', by: 'Chris Counsel', reason: 'again' }] }),
        /"g1" is already held/,
      );
      // Held by counsel: the timeout does nothing more, and weeks pass without a referral.
      await h.skipTo(at('2027-07-15T00:00:00Z'));
      assert.equal(rows(h, ['final-notice']).length, 0);
      assert.ok(!subjects(h).some((s) => /Referred for legal action/.test(s)));
      assert.equal((await h.status('gate-hold')).status, 'escalated');
      await handle.executeUpdate(approveStepUpdate, { args: [{ step: '2', by: 'Chris Counsel' }] });
      await h.sink.waitFor((m) => m.some((x) => x.header('x-auditflow-kind') === 'final-notice'), 'the final notice');
      assert.deepEqual(rows(h, ['final-notice']), [row('final-notice', ERIN, '2027-07-15T00:00:00Z', 'xbox')]);
      await handle.terminate('test done');
    }));

  it('a gate left to time out with onTimeout: hold tells owner and counsel, and an answer cancels it', () =>
    withHarness(async (h) => {
      const handle = await h.start(gatedSpec('gate-timeout', { within: 'P1D', onTimeout: 'hold' }));
      await h.skipTo(at('2027-06-12T00:00:30Z'));
      await h.sink.waitFor(
        (m) => m.filter((x) => /No sign-off, held/.test(x.parsed.subject ?? '')).length === 2,
        'the held notices',
      );
      const s = await h.status('gate-timeout');
      assert.equal(s.gates?.[0]?.status, 'held-on-timeout');
      // The late answer closes the question: the gate has no item left and is cancelled.
      await handle.signal(
        replyReceivedSignal,
        reply({ messageId: '<late@acme.example>', from: PAT, itemIds: ['xbox'], receivedAt: '2027-06-12T01:00:00Z' }),
      );
      const after = await h.settled('gate-timeout');
      assert.equal(after.gates?.[0]?.status, 'cancelled');
      assert.equal(after.items[0]!.phase, 'in-review');
      assert.equal(rows(h, ['final-notice']).length, 0);
    }));

  it('a request that needs the owner sign-off goes out only when approved, and the clock starts then', () =>
    withHarness(async (h) => {
      const spec = { ...sampleSpec('gate-request'), requestSignOff: { by: 'owner', within: 'P3D' } };
      const handle = await h.start(spec);
      await h.sink.waitFor(
        (m) => m.some((x) => /Sign-off needed/.test(x.parsed.subject ?? '')),
        'the sign-off request',
      );
      assert.equal(rows(h, ['request']).length, 0);
      const ask = h.sink.messages.find((x) => /Sign-off needed/.test(x.parsed.subject ?? ''))!;
      assert.deepEqual(ask.envelope.to, [OWNER]);
      assert.match(ask.parsed.text ?? '', /\| Subject: Audit demand: Audit of API usage \[xbox\] \[psn\] \[stadia\]/);
      assert.match(ask.parsed.text ?? '', /\| {3}2\. Which use cases were never declared\?/);
      const started = await h.env.currentTimeMs();
      await h.skipTo(started + 86_400_000);
      await handle.executeUpdate(approveStepUpdate, { args: [{ step: 'request', by: 'Dana Owner' }] });
      await h.sink.waitFor((m) => m.some((x) => x.header('x-auditflow-kind') === 'request'), 'the request');
      const request = h.sink.messages.find((m) => m.header('x-auditflow-kind') === 'request')!;
      assert.deepEqual(request.envelope.to, [PAT]);
      assert.ok(Math.abs(request.parsed.date!.getTime() - (started + 86_400_000)) < 5_000, 'dated when approved');
      const s = await h.settled('gate-request');
      assert.equal(
        s.items[0]!.rounds[0]!.requestedAt?.slice(0, 10),
        new Date(started + 86_400_000).toISOString().slice(0, 10),
      );
      await handle.terminate('test done');
    }));
});
