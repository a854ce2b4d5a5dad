/**
 * Delivery reports must prove themselves (issue 10, point 1). Anyone holding one request email knows a
 * reply address, and a report is sent from the null sender, so sender authentication cannot vouch for it:
 * a report counts only when it references a Message-ID we sent and names that message's recipient as
 * Final-Recipient. It then marks that one contact undeliverable and concerns only the items of that
 * message; before the deadline it fires no ladder step. Everything else is kept for triage.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { demandWorkflowId } from '../../domain/ids';
import { inboxQuery, inboxWorkflowId, type TriageEntry } from '../../domain/triage';
import { dotStuff, fillFixture, rawSmtp, transaction, type SmtpReply } from '../helpers/eml';
import { eventually } from '../../platform/wait';
import { startTestGateway, type TestGateway } from '../helpers/gateway';
import { harness, type Harness } from '../../dev/support/harness';
import { dnsFor, resolverFor } from '../../dev/support/mail-auth';
import type { ReceivedMail } from '../../dev/support/smtp-sink';
import { allDaySpec, sampleSpec } from '../../dev/support/specs';

const PAT = 'pat@acme.example';
const ERIN = 'erin@acme.example';
const OWNER_NOTICE = '[auditflow] Undeliverable: Audit of API usage';

describe('delivery reports must prove themselves (real gateway, worker and SMTP)', () => {
  let h: Harness;
  let gw: TestGateway;
  const run = Date.now().toString(36);
  const early = `bounce-early-${run}`;
  const late = `bounce-late-${run}`;
  let earlyRequest: ReceivedMail;

  before(async () => {
    h = await harness('dev');
    gw = await startTestGateway(h, resolverFor(dnsFor(['acme.example'])));
    await h.start(sampleSpec(early, { deadline: '2030-06-07T17:00' }));
    earlyRequest = (
      await h.sink.waitFor((m) => m.some((x) => x.header('x-auditflow-demand') === early), 'the request')
    ).find((x) => x.header('x-auditflow-demand') === early)!;
  });
  after(async () => {
    await gw?.close();
    await h?.close();
  });

  const newId = (label: string) => `<${label}.${crypto.randomUUID()}@mx.acme.example>`;
  const inbox = async (): Promise<TriageEntry[]> =>
    (await h.env.client.workflow.getHandle(inboxWorkflowId(h.config.taskQueue)).query(inboxQuery)).entries;
  const sentTo = (demandId: string, kind: string, to: string) =>
    h.sink.messages.filter(
      (m) =>
        m.header('x-auditflow-demand') === demandId &&
        m.header('x-auditflow-kind') === kind &&
        m.envelope.to.includes(to),
    );

  /** Sends a report as an MTA does: from the null sender. */
  async function bounce(raw: Buffer, to: string): Promise<SmtpReply> {
    const conn = await rawSmtp(gw.port);
    try {
      assert.equal((await conn.command('EHLO mx.acme.example')).code, 250);
      return await transaction(conn, '', [to], dotStuff(raw));
    } finally {
      conn.destroy();
    }
  }

  async function assertKept(answer: SmtpReply, reason: RegExp): Promise<TriageEntry> {
    assert.equal(answer.code, 250, answer.text);
    const id = /Kept for review \(([0-9a-f]{16})\)/.exec(answer.text)?.[1];
    assert.ok(id, `expected "Kept for review", got: ${answer.text}`);
    const entry = await eventually(async () => (await inbox()).find((e) => e.id === id), `triage entry ${id}`);
    assert.match(entry.reason, reason);
    return entry;
  }

  async function assertUntouched(demandId: string): Promise<void> {
    const s = await h.settled(demandId);
    assert.deepEqual(s.undeliverable, [], 'nobody is marked undeliverable');
    assert.deepEqual(
      s.items.map((i) => [i.id, i.escalationLevel]),
      s.items.map((i) => [i.id, 0]),
      'no item moved up the ladder',
    );
    assert.equal(sentTo(demandId, 'escalation', ERIN).length, 0, 'no escalation email');
  }

  it('keeps a report with no Final-Recipient sent to a reply address, however many items its subject names', async () => {
    const replyTo = earlyRequest.parsed.replyTo?.value[0]?.address ?? '';
    for (let n = 0; n < 3; n++) {
      const raw = fillFixture('dsn-forged-no-recipient.eml', { REPLY_TO: replyTo, MESSAGE_ID: newId(`forged-${n}`) });
      await assertKept(await bounce(raw, replyTo), /^unverifiable delivery report: it names no failed recipient/);
    }
    await assertUntouched(early);
  });

  it('keeps a report that names the recipient but references no message we sent', async () => {
    const raw = fillFixture('dsn-no-original.eml', {
      BOUNCE_ADDRESS: earlyRequest.envelope.from,
      MESSAGE_ID: newId('no-original'),
      FAILED_RECIPIENT: PAT,
    });
    await assertKept(
      await bounce(raw, earlyRequest.envelope.from),
      /^unverifiable delivery report: it references no message auditflow sent/,
    );
    await assertUntouched(early);
  });

  it('keeps a report whose referenced Message-ID carries a genuine token but was never sent', async () => {
    // The token part of our Message-ID is in every request the counterparty received; the rest is not.
    const forgedId = (earlyRequest.parsed.messageId ?? '').replace(/\.([a-z2-7]{13})@/, '.aaaaaaaaaaaaa@');
    assert.notEqual(forgedId, earlyRequest.parsed.messageId);
    const raw = fillFixture('dsn-verified.eml', {
      BOUNCE_ADDRESS: earlyRequest.envelope.from,
      MESSAGE_ID: newId('unsent'),
      FAILED_RECIPIENT: PAT,
      REQUEST_MESSAGE_ID: forgedId,
      SUBJECT_TAGS: '',
    });
    await assertKept(await bounce(raw, earlyRequest.envelope.from), /^unverifiable delivery report: .*never sent/);
    await assertUntouched(early);
  });

  it('records a verified report before the deadline: the contact is undeliverable and the owner told, but no ladder step fires', async () => {
    const messageId = newId('verified-early');
    const raw = fillFixture('dsn-verified.eml', {
      BOUNCE_ADDRESS: earlyRequest.envelope.from,
      MESSAGE_ID: messageId,
      FAILED_RECIPIENT: PAT,
      REQUEST_MESSAGE_ID: earlyRequest.parsed.messageId ?? '',
      SUBJECT_TAGS: '',
    });
    const answer = await bounce(raw, earlyRequest.envelope.from);
    assert.equal(answer.code, 250, answer.text);
    assert.match(answer.text, new RegExp(`Recorded for ${early} \\(bounce\\)`));
    await h.sink.waitFor(
      (m) => m.some((x) => x.header('x-auditflow-demand') === early && x.parsed.subject === OWNER_NOTICE),
      'the owner is told',
    );
    const s = await h.settled(early);
    assert.deepEqual(s.undeliverable, [PAT]);
    assert.deepEqual(
      s.items.map((i) => [i.id, i.escalationLevel, i.phase]),
      [
        ['xbox', 0, 'awaiting'],
        ['psn', 0, 'awaiting'],
        ['stadia', 0, 'awaiting'],
      ],
    );
    assert.equal(sentTo(early, 'escalation', ERIN).length, 0, 'the deputy GC hears nothing before the deadline');
    assert.ok(
      s.decisions.some(
        (d) =>
          d.kind === 'bounce' &&
          /pat@acme\.example is undeliverable/.test(d.detail ?? '') &&
          /deadline/.test(d.detail ?? ''),
      ),
      JSON.stringify(s.decisions),
    );
  });

  it('after the deadline, a verified report moves only the items of the message it references to their next step', async () => {
    const now = Date.now();
    const base = sampleSpec(late);
    await h.start(
      allDaySpec(late, now, {
        deadline: new Date(Math.ceil((now + 15_000) / 1000) * 1000).toISOString(),
        items: base.items!.map((i) => (i.id === 'stadia' ? { ...i, contacts: [ERIN] } : i)),
        escalation: base.escalation!.map((step, i) => ({ ...step, after: `PT${i + 1}H` })),
      }),
    );
    const [request] = (
      await h.sink.waitFor(() => sentTo(late, 'request', PAT).length === 1, 'the request to pat')
    ).filter((x) => x.header('x-auditflow-demand') === late && x.envelope.to.includes(PAT));
    await eventually(
      async () => ((await h.status(late)).status === 'overdue' ? true : undefined),
      'the deadline to pass',
      60_000,
    );
    const raw = fillFixture('dsn-verified.eml', {
      BOUNCE_ADDRESS: request!.envelope.from,
      MESSAGE_ID: newId('verified-late'),
      FAILED_RECIPIENT: PAT,
      REQUEST_MESSAGE_ID: request!.parsed.messageId ?? '',
      SUBJECT_TAGS: '[stadia]',
    });
    const answer = await bounce(raw, request!.envelope.from);
    assert.match(answer.text, new RegExp(`Recorded for ${late} \\(bounce\\)`));
    await h.sink.waitFor(() => sentTo(late, 'escalation', ERIN).length === 1, 'step 1 to the deputy GC at once');
    const s = await h.settled(late);
    assert.deepEqual(s.undeliverable, [PAT]);
    assert.deepEqual(
      s.items.map((i) => [i.id, i.escalationLevel]),
      [
        ['xbox', 1],
        ['psn', 1],
        ['stadia', 0],
      ],
    );
    const [step] = sentTo(late, 'escalation', ERIN);
    assert.equal(step!.header('x-auditflow-items'), 'xbox,psn');
    const history = await h.env.client.workflow.getHandle(demandWorkflowId(late)).fetchHistory();
    assert.ok(!(history.events ?? []).some((e) => e.workflowTaskFailedEventAttributes), 'no workflow task failed');
  });
});
