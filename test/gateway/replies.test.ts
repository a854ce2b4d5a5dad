/**
 * A counterparty replies by email through the real SMTP gateway (dev server, real worker): the item is
 * answered with the attachment's hash, the sender authenticated, the reply acknowledged; redelivery is
 * counted once; forged addresses are refused at RCPT; unauthenticated or ambiguous replies are kept.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { auditflow } from '../helpers/cli';
import { startTestGateway, type TestGateway } from '../helpers/gateway';
import { harness, type Harness } from '../../dev/support/harness';
import type Mail from 'nodemailer/lib/mailer';
import { compose, dnsFor, replyAddress, replyTo as replyToRequest, resolverFor } from '../../dev/support/mail-auth';
import type { ReceivedMail } from '../../dev/support/smtp-sink';
import { sampleSpec } from '../../dev/support/specs';

describe('replies through the SMTP gateway (dev server, real worker, real SMTP)', () => {
  let h: Harness;
  let gw: TestGateway;
  let request: ReceivedMail;
  const id = `gw-${Date.now().toString(36)}`;
  const pdf = Buffer.from('%PDF-1.4 data inventory of the Xbox companion app');

  before(async () => {
    h = await harness('dev');
    gw = await startTestGateway(h, resolverFor(dnsFor(['acme.example'])));
    await h.start(sampleSpec(id, { deadline: '2030-06-07T17:00' }));
    request = (await h.sink.waitFor((m) => m.length === 1, 'the request'))[0]!;
  });
  after(async () => {
    await gw.close();
    await h.close();
  });

  const replyTo = () => replyAddress(request);
  const replyFor = (subject: string, text: string, extra: Partial<Mail.Options> = {}) =>
    replyToRequest(request, subject, text, extra);

  it('records a DKIM-signed reply with an attachment on the tagged item and acknowledges it', async () => {
    const raw = await compose(
      replyFor('Re: Audit demand: Audit of API usage [xbox]', 'Please find the data inventory attached.', {
        attachments: [{ filename: 'inventory.pdf', content: pdf, contentType: 'application/pdf' }],
      }),
      true,
    );
    const answer = await gw.send(raw, { from: 'pat@acme.example', to: [replyTo()] });
    assert.equal(answer.code, 250, answer.response);
    assert.match(answer.response, new RegExp(`Recorded for ${id} \\(answer\\)`));
    await h.sink.waitFor(
      (m) => m.some((x) => x.header('x-auditflow-kind') === 'acknowledgement'),
      'the acknowledgement',
    );
    const s = await h.settled(id);
    const xbox = s.items.find((i) => i.id === 'xbox')!;
    assert.equal(xbox.phase, 'in-review');
    const a = xbox.answers[0]!;
    assert.equal(a.from, 'pat@acme.example');
    assert.deepEqual(
      a.attachments.map((f) => [f.filename, f.size, f.sha256]),
      [['inventory.pdf', pdf.length, crypto.createHash('sha256').update(pdf).digest('hex')]],
    );
    assert.equal(a.raw?.sha256, crypto.createHash('sha256').update(raw).digest('hex'));
    assert.equal(a.auth?.dmarc, 'pass');
    assert.equal(a.auth?.decision, 'pass');
    assert.equal(a.summary, 'Please find the data inventory attached.', 'quoted text is separated from the new text');
    assert.deepEqual(
      s.items.filter((i) => i.id !== 'xbox').map((i) => i.phase),
      ['awaiting', 'awaiting'],
    );

    const again = await gw.send(raw, { from: 'pat@acme.example', to: [replyTo()] });
    assert.equal(again.code, 250);
    const after = await h.settled(id);
    assert.equal(after.duplicatesIgnored, 1);
    assert.equal(after.items.find((i) => i.id === 'xbox')!.answers.length, 1);
  });

  it('refuses forged, foreign and other-domain recipients at RCPT with 550, and keeps serving', async () => {
    const raw = await compose(replyFor('Re: x [psn]', 'answer'), true);
    const forged = replyTo().replace(
      /\.([a-z2-7]{16})@/,
      (_m, mac: string) => `.${mac.slice(0, -1)}${mac.endsWith('a') ? 'b' : 'a'}@`,
    );
    const r1 = await gw.send(raw, { from: 'pat@acme.example', to: [forged] });
    assert.equal(r1.code, 550);
    assert.match(r1.response, /altered or forged/);
    const r2 = await gw.send(raw, { from: 'pat@acme.example', to: ['someone@gmail.example'] });
    assert.equal(r2.code, 550);
    assert.match(r2.response, /Relaying denied/);
    const r3 = await gw.send(raw, { from: 'pat@acme.example', to: ['audit+nonsense@reply.auditflow.localhost'] });
    assert.equal(r3.code, 550);
  });

  it('keeps an unauthenticated reply, a stranger and an ambiguous reply for triage; ops assign one', async () => {
    const cli = h.cliEnv();
    // No DKIM signature, and an envelope sender whose SPF does not align with From: DMARC fails.
    const unsigned = await compose(replyFor('Re: Audit [psn]', 'Our answer on PSN.'), false);
    const r1 = await gw.send(unsigned, { from: 'bounce@mailer.example', to: [replyTo()] });
    assert.equal(r1.code, 250);
    assert.match(r1.response, /Kept for review/);
    const stranger = await compose({ ...replyFor('Re: Audit [psn]', 'hello'), from: 'mallory@evil.example' }, true);
    assert.equal((await gw.send(stranger, { from: 'mallory@evil.example', to: [replyTo()] })).code, 250);
    const ambiguous = await compose(replyFor('Re: Audit demand', 'Here is everything.'), true);
    assert.equal((await gw.send(ambiguous, { from: 'pat@acme.example', to: [replyTo()] })).code, 250);

    const listed = JSON.parse((await auditflow(['inbox', '--json'], cli)).stdout) as {
      id: string;
      reason: string;
      from: string;
    }[];
    const reasons = listed.map((e) => e.reason);
    assert.ok(
      reasons.some((r) => /^unauthenticated: DMARC fail for acme\.example/.test(r)),
      reasons.join('\n'),
    );
    assert.ok(
      reasons.some((r) => /^sender mallory@evil\.example is not a listed contact of demand/.test(r)),
      reasons.join('\n'),
    );
    assert.ok(
      reasons.some((r) => /^ambiguous: a reply to demand .* that names no item/.test(r)),
      reasons.join('\n'),
    );
    const human = await auditflow(['inbox'], cli);
    assert.match(human.stdout, /id +received +from +subject +reason/);

    const unauth = listed.find((e) => e.reason.startsWith('unauthenticated'))!;
    const assigned = await auditflow(
      ['inbox', 'assign', unauth.id, '--demand', id, '--item', 'psn', '--by', 'Dana Owner'],
      cli,
    );
    assert.equal(assigned.code, 0, assigned.stderr);
    assert.match(assigned.stdout, new RegExp(`assigned to ${id} \\(psn\\)`));
    const twice = await auditflow(['inbox', 'assign', unauth.id, '--demand', id, '--item', 'psn'], cli);
    assert.equal(twice.code, 1);
    assert.match(twice.stderr, /was already assigned by Dana Owner/);
    const stranger2 = listed.find((e) => e.from === 'mallory@evil.example')!;
    assert.equal((await auditflow(['inbox', 'discard', stranger2.id, '--reason', 'not a party'], cli)).code, 0);
    const s = await h.settled(id);
    assert.equal(s.items.find((i) => i.id === 'psn')!.phase, 'in-review');
    const open = JSON.parse((await auditflow(['inbox', '--json'], cli)).stdout) as { id: string }[];
    assert.equal(open.length, 1, 'only the ambiguous reply still waits');
  });
  it('records a French request for two more weeks until the deadline plus 14 days, and a French out-of-office with its return date', async () => {
    const stadiaDue = (await h.settled(id)).items.find((i) => i.id === 'stadia')!.dueAt;
    const ask = await compose(
      replyFor(
        "RE: Demande d'audit [stadia]",
        'Bonjour,\n\nPourriez-vous nous accorder deux semaines de plus ?\n\nCordialement,\nPat',
      ),
      true,
    );
    const r1 = await gw.send(ask, { from: 'pat@acme.example', to: [replyTo()] });
    assert.equal(r1.code, 250, r1.response);
    assert.match(r1.response, new RegExp(`Recorded for ${id} \\(extension-request\\)`));
    const request = (await h.settled(id)).extensionRequests.at(-1)!;
    assert.deepEqual(request.itemIds, ['stadia']);
    // 7 June 2030, 17:00 in Los Angeles (PDT), two weeks later: the same local time on 21 June.
    assert.equal(stadiaDue, '2030-06-08T00:00:00.000Z');
    assert.equal(request.requestedDeadline, '2030-06-22T00:00:00.000Z');
    const shown = await auditflow(['show', id], h.cliEnv());
    assert.match(shown.stdout, /asks until .*21 Jun 2030.*\(items: stadia\)/);

    const away = await compose(
      replyFor("Réponse automatique : Demande d'audit", 'Bonjour,\n\nJe suis absent du bureau, de retour le 21 juin.', {
        headers: { 'Auto-Submitted': 'auto-replied' },
      }),
      true,
    );
    const r2 = await gw.send(away, { from: 'pat@acme.example', to: [replyTo()] });
    assert.equal(r2.code, 250, r2.response);
    assert.match(r2.response, new RegExp(`Recorded for ${id} \\(out-of-office\\)`));
    // The next 21 June in Los Angeles (the contact's zone), as the classifier reads a date without a year.
    const today = new Date().toLocaleDateString('en-CA', { timeZone: 'America/Los_Angeles' });
    const year = Number(today.slice(0, 4)) + (today.slice(5) > '06-21' ? 1 : 0);
    const decision = (await h.settled(id)).decisions.filter((d) => d.kind === 'out-of-office').at(-1)!;
    assert.equal(decision.returnDate, `${year}-06-21`);
  });
});
