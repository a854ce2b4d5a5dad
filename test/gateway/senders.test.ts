/**
 * Who may answer through a reply address, and who hears back (issue 10, points 6 and 10). A reply
 * address is bound to its recipient: another listed contact of the demand may use it (recorded as
 * theirs); anyone else, even from the counterparty's domain, is kept for triage and never gets a reply
 * address. Acknowledgements are automatic replies (RFC 3834): marked so, never sent to an automatic,
 * list or looping message, and at most ACK_LIMITS per sender and demand.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type Mail from 'nodemailer/lib/mailer';
import { demandWorkflowId } from '../../domain/ids';
import { ACK_LIMITS } from '../../domain/limits';
import type { DemandStatusView } from '../../domain/state';
import { dotStuff, rawSmtp, transaction } from '../helpers/eml';
import { eventually } from '../../platform/wait';
import { startTestGateway, type TestGateway } from '../helpers/gateway';
import { harness, type Harness } from '../../dev/support/harness';
import { exportHistory } from '../helpers/histories';
import { compose, dnsFor, resolverFor } from '../../dev/support/mail-auth';
import type { ReceivedMail } from '../../dev/support/smtp-sink';
import { sampleSpec } from '../../dev/support/specs';

const PAT = 'pat@acme.example';
const ERIN = 'erin@acme.example';
const SAM = 'sam@acme.example';

describe('who may answer, and who hears back (real gateway, worker and SMTP)', () => {
  let h: Harness;
  let gw: TestGateway;
  const id = `senders-${Date.now().toString(36)}`;
  let request: ReceivedMail;

  before(async () => {
    h = await harness('dev');
    gw = await startTestGateway(h, resolverFor(dnsFor(['acme.example'])));
    await h.start(sampleSpec(id, { deadline: '2030-06-07T17:00' }));
    request = (await h.sink.waitFor((m) => m.length === 1, 'the request'))[0]!;
  });
  after(async () => {
    await gw?.close();
    await h?.close();
  });

  const replyAddressOf = (m: ReceivedMail) => m.parsed.replyTo?.value[0]?.address ?? '';
  const acksTo = (address: string) =>
    h.sink.messages.filter(
      (m) => m.header('x-auditflow-kind') === 'acknowledgement' && m.envelope.to.includes(address),
    );
  const message = (
    from: string,
    to: string,
    subject: string,
    text: string,
    extra: Partial<Mail.Options> = {},
  ): Mail.Options & { messageId: string } => ({
    from,
    to,
    subject,
    text,
    messageId: `<${crypto.randomUUID()}@acme.example>`,
    ...extra,
  });

  /** Sends a DKIM-signed message from acme.example; `mailFrom` '' is the null sender. */
  async function send(
    msg: Mail.Options & { messageId: string },
    mailFrom: string,
  ): Promise<{ code: number; text: string }> {
    const raw = await compose(msg, true);
    const conn = await rawSmtp(gw.port);
    try {
      assert.equal((await conn.command('EHLO mx.acme.example')).code, 250);
      return await transaction(conn, mailFrom, [String(msg.to)], dotStuff(raw));
    } finally {
      conn.destroy();
    }
  }

  async function recorded(messageId: string): Promise<DemandStatusView> {
    return eventually(async () => {
      const s = await h.settled(id);
      return s.messages.some((m) => m.direction === 'in' && m.messageId === messageId) ? s : undefined;
    }, `${messageId} recorded`);
  }

  it('records a reply from another listed contact as theirs, and acknowledges it to them', async () => {
    const msg = message(
      `Erin Deputy GC <${ERIN}>`,
      replyAddressOf(request),
      'Re: Audit demand [stadia]',
      'Stadia ran from 2019 to 2022; I answer for Pat.',
    );
    const answer = await send(msg, ERIN);
    assert.match(answer.text, new RegExp(`Recorded for ${id} \\(answer\\)`));
    const s = await recorded(msg.messageId);
    assert.equal(s.items.find((i) => i.id === 'stadia')!.answers[0]?.from, ERIN);
    await h.sink.waitFor(() => acksTo(ERIN).length === 1, 'the acknowledgement to erin');
  });

  it('keeps a reply from an unlisted sender at the counterparty domain for triage, and sends that sender nothing', async () => {
    const msg = message(
      `Sam Engineer <${SAM}>`,
      replyAddressOf(request),
      'Re: Audit demand [psn]',
      'The PSN bridge only read trophies.',
    );
    const answer = await send(msg, SAM);
    assert.equal(answer.code, 250, answer.text);
    assert.match(answer.text, /Kept for review/);
    const s = await h.settled(id);
    assert.ok(!s.messages.some((m) => m.messageId === msg.messageId), 'not recorded on the demand');
    assert.equal(s.items.find((i) => i.id === 'psn')!.answers.length, 0);
    assert.ok(
      !h.sink.messages.some((m) => m.envelope.to.includes(SAM)),
      'no reply address ever goes to an unlisted sender',
    );
  });

  it('marks the acknowledgement as an automatic reply and never answers an automatic, list or looping reply to it', async () => {
    const first = message(
      `Pat Primary <${PAT}>`,
      replyAddressOf(request),
      'Re: Audit demand [xbox]',
      'The Xbox app read the friends list.',
    );
    await send(first, PAT);
    const [ack] = await h.sink.waitFor(() => acksTo(PAT).length === 1, 'the acknowledgement to pat');
    const ackMail = acksTo(PAT)[0] ?? ack!;
    assert.equal(ackMail.header('auto-submitted'), 'auto-replied');
    assert.equal(ackMail.header('x-auto-response-suppress'), 'All');
    assert.match(ackMail.header('x-loop') ?? '', /@reply\.auditflow\.localhost$/);

    const toAck = replyAddressOf(ackMail);
    const loops: [string, Partial<Mail.Options>, string][] = [
      ['null return path', {}, ''],
      ['a mailing list', { headers: { 'List-Id': '<acme-legal.lists.acme.example>' } }, PAT],
      ['X-Loop', { headers: { 'X-Loop': ackMail.header('x-loop')! } }, PAT],
      ['Precedence: bulk', { headers: { Precedence: 'bulk' } }, PAT],
    ];
    for (const [what, extra, mailFrom] of loops) {
      const msg = message(`Pat Primary <${PAT}>`, toAck, `Re: ${ackMail.parsed.subject}`, `Thanks (${what}).`, extra);
      const answer = await send(msg, mailFrom);
      assert.match(answer.text, new RegExp(`Recorded for ${id}`), `${what}: ${answer.text}`);
      const s = await recorded(msg.messageId);
      assert.equal(
        s.messages.filter((m) => m.direction === 'out' && m.kind === 'acknowledgement' && m.to.includes(PAT)).length,
        1,
        `no acknowledgement for ${what}`,
      );
    }
    assert.equal(acksTo(PAT).length, 1);
  });

  it(`acknowledges at most ${ACK_LIMITS.perHour} answers an hour per sender, and still records every one`, async () => {
    const before = acksTo(PAT).length;
    const ids: string[] = [];
    for (let n = 0; n < ACK_LIMITS.perHour + 3; n++) {
      const msg = message(
        `Pat Primary <${PAT}>`,
        replyAddressOf(request),
        `Re: Audit demand [${['xbox', 'psn', 'stadia'][n % 3]}]`,
        `More detail, part ${n + 1}.`,
      );
      ids.push(msg.messageId);
      assert.match((await send(msg, PAT)).text, /Recorded for/);
    }
    const s = await recorded(ids[ids.length - 1]!);
    assert.ok(
      ids.every((mid) => s.messages.some((m) => m.messageId === mid)),
      'every answer is recorded',
    );
    const sent = s.messages.filter(
      (m) => m.direction === 'out' && m.kind === 'acknowledgement' && m.to.includes(PAT),
    ).length;
    assert.equal(sent, ACK_LIMITS.perHour, 'the hour allows this many');
    await h.sink.waitFor(() => acksTo(PAT).length === ACK_LIMITS.perHour, 'the acknowledgements within the limit');
    assert.ok(acksTo(PAT).length - before <= ACK_LIMITS.perHour);
    await exportHistory(h.env.client.workflow.getHandle(demandWorkflowId(id)), 'replies-by-update');
  });
});
