/**
 * The hostile corpus (test/fixtures/emails/*.eml) through the real SMTP gateway, real worker and real
 * Temporal: each message gets exactly the SMTP answer it should, what is kept lands in the triage inbox
 * with its reason, what is recorded lands on the demand, and after each one a valid reply is still
 * recorded. Runs on a dev server of its own: the triage inbox is one workflow per namespace, bound to
 * the task queue of whoever kept the first message, so sharing it with replies.test.ts would mix entries.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { authenticate } from 'mailauth';
import { makeHmac } from '../../platform/hash';
import { startDevServer, type DevServer } from '../../dev/dev-server';
import { demandWorkflowId, encodeReplyToken, recipientTag, replyAddress, type Hmac } from '../../domain/ids';
import type { InboundReply } from '../../domain/messages';
import type { DemandStatusView } from '../../domain/state';
import { inboxWorkflowId, inboxQuery, type TriageEntry } from '../../domain/triage';
import { LIMITS } from '../../gateway/parse';
import { loadSecret } from '../../platform/config';
import { auditflow } from '../helpers/cli';
import {
  arcSealRaw,
  dkimSignRaw,
  dotStuff,
  fillFixture,
  rawSmtp,
  transaction,
  type RawSmtp,
  type SmtpReply,
} from '../helpers/eml';
import { startTestGateway, type TestGateway } from '../helpers/gateway';
import { harness, type Harness } from '../../dev/support/harness';
import { dnsFor, resolverFor } from '../../dev/support/mail-auth';
import type { ReceivedMail } from '../../dev/support/smtp-sink';
import { sampleSpec } from '../../dev/support/specs';
import { eventually } from '../../platform/wait';
import { testDataConverter } from '../../dev/support/temporal';
import type { Payload } from '@temporalio/common';

const PAT = 'pat@acme.example';
const ERIN = 'erin@acme.example';
const REPLY_DOMAIN = 'reply.auditflow.localhost';
const MAX_BYTES = 1024 * 1024;

/** Reads until `ok` holds, showing the last value read when it never does. */
async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, what: string, timeoutMs = 30_000): Promise<T> {
  let last: T | undefined;
  return eventually(
    async () => {
      last = await read();
      return ok(last) ? last : undefined;
    },
    () => `${what}: ${JSON.stringify(last).slice(0, 2000)}`,
    { timeoutMs, intervalMs: 100 },
  );
}

const newMessageId = (label: string) => `<${label}.${crypto.randomUUID()}@acme.example>`;
const answerOf = (s: DemandStatusView, messageId: string) =>
  s.items.flatMap((i) => i.answers.map((a) => ({ itemId: i.id, ...a }))).find((a) => a.messageId === messageId);
const inbound = (s: DemandStatusView) => s.messages.filter((m) => m.direction === 'in');

describe('hostile mail through the SMTP gateway (own dev server, real worker, real SMTP)', () => {
  let server: DevServer;
  let h: Harness;
  let gw: TestGateway;
  const run = Date.now().toString(36);
  const main = `hostile-${run}`;
  const bounced = `hostile-bounce-${run}`;
  // Its own demand: pat's canaries on the main one use up the acknowledgements an hour allows (ACK_LIMITS).
  const crlf = `hostile-crlf-${run}`;
  let crlfRequest: ReceivedMail;
  let request: ReceivedMail;
  let bounceRequest: ReceivedMail;
  /** Every message kept in triage by this file, by entry id: the inbox must list exactly these at the end. */
  const kept = new Map<string, string>();
  // The secret the worker and the gateway actually use (see loadSecret): tokens are signed with it.
  let hmac: Hmac;
  let patTag: string;

  before(async () => {
    server = await startDevServer({ uiPort: false });
    h = await harness(
      'dev',
      { AUDITFLOW_GATEWAY_MAX_BYTES: String(MAX_BYTES), AUDITFLOW_TRUSTED_ARC_SEALERS: 'forwarder.example' },
      { address: server.address },
    );
    hmac = makeHmac(loadSecret(h.config));
    patTag = recipientTag(PAT, hmac);
    gw = await startTestGateway(
      h,
      resolverFor(dnsFor(['acme.example', 'evil.example', 'forwarder.example', 'relay.example'])),
    );
    await h.start(sampleSpec(main, { deadline: '2030-06-07T17:00' }));
    await h.start(sampleSpec(bounced, { deadline: '2030-06-07T17:00' }));
    await h.start(sampleSpec(crlf, { deadline: '2030-06-07T17:00' }));
    const requests = await h.sink.waitFor(
      (m) => m.filter((x) => x.header('x-auditflow-kind') === 'request').length === 3,
      'the three requests',
    );
    request = requests.find((m) => m.header('x-auditflow-demand') === main)!;
    bounceRequest = requests.find((m) => m.header('x-auditflow-demand') === bounced)!;
    crlfRequest = requests.find((m) => m.header('x-auditflow-demand') === crlf)!;
  });
  after(async () => {
    await gw?.close();
    await h?.close();
    await server?.stop();
  });

  const replyTo = () => request.parsed.replyTo?.value[0]?.address ?? '';
  const requestId = () => request.parsed.messageId ?? '';
  const status = (id = main) => h.status(id);
  const inbox = async (): Promise<TriageEntry[]> =>
    (await h.env.client.workflow.getHandle(inboxWorkflowId(h.config.taskQueue)).query(inboxQuery)).entries;

  /** Asserts a 250 "Kept for review" answer and that the inbox holds the entry with exactly this reason. */
  async function assertKept(
    answer: { code: number; response?: string; text?: string },
    reason: string | RegExp,
  ): Promise<TriageEntry> {
    const text = answer.response ?? answer.text ?? '';
    assert.equal(answer.code, 250, text);
    const id = /Kept for review \(([0-9a-f]{16})\)/.exec(text)?.[1];
    assert.ok(id, `expected "Kept for review", got: ${text}`);
    const entries = await until(inbox, (es) => es.some((e) => e.id === id), `triage entry ${id}`);
    const entry = entries.find((e) => e.id === id)!;
    if (typeof reason === 'string') assert.equal(entry.reason, reason);
    else assert.match(entry.reason, reason);
    kept.set(id, entry.reason);
    return entry;
  }

  /** Asserts a 250 "Recorded" answer of this kind and waits until the demand shows the message. */
  async function assertRecorded(
    answer: { code: number; response?: string; text?: string },
    messageId: string,
    kind: InboundReply['kind'],
    demandId = main,
  ): Promise<DemandStatusView> {
    const text = answer.response ?? answer.text ?? '';
    assert.equal(answer.code, 250, text);
    assert.match(text, new RegExp(`Recorded for ${demandId} \\(${kind}\\)`));
    return until(
      () => status(demandId),
      (s) => inbound(s).some((m) => m.messageId === messageId),
      `${messageId} on ${demandId}`,
    );
  }

  /** The canary: a valid signed reply is still recorded, over a new connection (or the given one). */
  async function stillServes(conn?: RawSmtp): Promise<void> {
    const messageId = newMessageId('canary');
    const raw = await dkimSignRaw(
      fillFixture('valid-reply.eml', { REPLY_TO: replyTo(), MESSAGE_ID: messageId, REQUEST_MESSAGE_ID: requestId() }),
      'acme.example',
    );
    const answer = conn
      ? await transaction(conn, PAT, [replyTo()], dotStuff(raw))
      : await gw.send(raw, { from: PAT, to: [replyTo()] });
    const s = await assertRecorded(answer, messageId, 'answer');
    assert.equal(answerOf(s, messageId)?.itemId, 'xbox');
  }

  it('refuses a forged token (item swapped, signature kept) at RCPT with 550', async () => {
    const genuine = encodeReplyToken({ demandId: main, itemId: 'xbox', recipientTag: patTag }, hmac);
    const forged = replyAddress('audit', genuine.replace(`${main}.xbox.`, `${main}.stadia.`), REPLY_DOMAIN);
    const raw = await dkimSignRaw(
      fillFixture('forged-token.eml', { REPLY_TO: forged, MESSAGE_ID: newMessageId('forged') }),
      'acme.example',
    );
    const answer = await gw.send(raw, { from: PAT, to: [forged] });
    assert.equal(answer.code, 550, answer.response);
    assert.match(answer.response, /^550 5\.1\.1 Mailbox unavailable: the reply address was altered or forged/);
    await stillServes();
  });

  it('keeps a correctly signed token of a demand that does not exist: no demand', async () => {
    const ghost = `ghost-${run}`;
    const to = replyAddress(
      'audit',
      encodeReplyToken({ demandId: ghost, itemId: 'xbox', recipientTag: patTag }, hmac),
      REPLY_DOMAIN,
    );
    const raw = await dkimSignRaw(
      fillFixture('unknown-demand.eml', { REPLY_TO: to, MESSAGE_ID: newMessageId('ghost') }),
      'acme.example',
    );
    const entry = await assertKept(
      await gw.send(raw, { from: PAT, to: [to] }),
      `no demand ${ghost} on this Temporal namespace`,
    );
    assert.deepEqual(entry.hint, { demandId: ghost });
    await stillServes();
  });

  it('refuses an expired token at RCPT with 550', async () => {
    const yesterday = Math.floor(Date.now() / 86_400_000) - 1;
    const to = replyAddress(
      'audit',
      encodeReplyToken({ demandId: main, itemId: 'psn', recipientTag: patTag, expiresDay: yesterday }, hmac),
      REPLY_DOMAIN,
    );
    const raw = await dkimSignRaw(
      fillFixture('expired-token.eml', { REPLY_TO: to, MESSAGE_ID: newMessageId('expired') }),
      'acme.example',
    );
    const answer = await gw.send(raw, { from: PAT, to: [to] });
    assert.equal(answer.code, 550, answer.response);
    assert.match(answer.response, /^550 5\.1\.1 Mailbox unavailable: the reply address has expired/);
    await stillServes();
  });

  it('keeps a spoofed From that passes SPF and DKIM for the wrong domain: unauthenticated (DMARC fail)', async () => {
    const raw = await dkimSignRaw(
      fillFixture('spoofed-from.eml', {
        REPLY_TO: replyTo(),
        MESSAGE_ID: newMessageId('spoof'),
        REQUEST_MESSAGE_ID: requestId(),
      }),
      'evil.example',
    );
    const entry = await assertKept(
      await gw.send(raw, { from: 'bounce@evil.example', to: [replyTo()] }),
      'unauthenticated: DMARC fail for acme.example (spf=pass, dkim=pass (evil.example), dmarc=fail, arc=none)',
    );
    assert.equal(entry.from, PAT);
    assert.equal(answerOf(await status(), entry.messageId!), undefined);
    await stillServes();
  });

  it('records a reply whose DKIM a forwarder broke but ARC-sealed with dmarc=pass', async () => {
    const messageId = newMessageId('arc');
    const original = await dkimSignRaw(
      fillFixture('arc-forwarded.eml', { REPLY_TO: replyTo(), MESSAGE_ID: messageId, REQUEST_MESSAGE_ID: requestId() }),
      'acme.example',
    );
    // The forwarder checks the message as it arrived from acme.example, then changes it and seals.
    const seen = await authenticate(original, {
      ip: '127.0.0.1',
      helo: 'mx.acme.example',
      sender: PAT,
      mta: 'mx.forwarder.example',
      resolver: resolverFor(dnsFor(['acme.example'])) as never,
      disableBimi: true,
    });
    assert.equal(seen.dmarc && seen.dmarc.status.result, 'pass');
    const changed = Buffer.from(
      `${original.toString('latin1').replace('\r\nSubject: Re:', '\r\nSubject: [acme-legal] Re:')}-- \r\nacme-legal mailing list\r\n`,
      'latin1',
    );
    const sealed = await arcSealRaw(changed, 'forwarder.example', (seen.arc as { authResults: string }).authResults);
    const s = await assertRecorded(
      await gw.send(sealed, { from: 'srs0=pat=acme.example@forwarder.example', to: [replyTo()] }),
      messageId,
      'answer',
    );
    const a = answerOf(s, messageId)!;
    assert.equal(a.itemId, 'psn');
    assert.equal(a.auth?.dkim, 'neutral (acme.example)', 'the forwarder broke the original signature');
    assert.deepEqual([a.auth?.dmarc, a.auth?.arc, a.auth?.decision], ['fail', 'pass', 'pass']);
    assert.equal(a.auth?.detail, 'ARC chain vouches for DMARC pass at the forwarder');
    await stillServes();
  });

  it('keeps a spoof sealed by a forwarder nobody trusts, however good its ARC chain claims to be', async () => {
    const spoof = fillFixture('arc-first-hop-fail.eml', {
      REPLY_TO: replyTo(),
      MESSAGE_ID: newMessageId('arc-untrusted'),
    });
    const sealed = await arcSealRaw(
      spoof,
      'relay.example',
      'mx.relay.example;\r\n spf=pass smtp.mailfrom=acme.example;\r\n dmarc=pass header.from=acme.example',
    );
    await assertKept(
      await gw.send(sealed, { from: 'bounce@relay.example', to: [replyTo()] }),
      'unauthenticated: DMARC fail for acme.example (spf=pass, dkim=none, dmarc=fail, arc=pass)',
    );
    await stillServes();
  });

  it('keeps a spoof whose first ARC hop saw dmarc=fail even when a later hop claims dmarc=pass', async () => {
    const spoof = fillFixture('arc-first-hop-fail.eml', { REPLY_TO: replyTo(), MESSAGE_ID: newMessageId('arc-fail') });
    const hop1 = await arcSealRaw(
      spoof,
      'forwarder.example',
      'mx.forwarder.example;\r\n spf=fail smtp.mailfrom=evil.example;\r\n dmarc=fail (p=REJECT) header.from=acme.example',
    );
    const hop2 = await arcSealRaw(
      hop1,
      'relay.example',
      'mx.relay.example;\r\n arc=pass;\r\n dmarc=pass header.from=acme.example',
    );
    assert.match(hop2.toString('latin1'), /^ARC-Seal: i=2;/, 'a chain of two hops');
    await assertKept(
      await gw.send(hop2, { from: 'bounce@relay.example', to: [replyTo()] }),
      'unauthenticated: DMARC fail for acme.example (spf=pass, dkim=none, dmarc=fail, arc=pass)',
    );
    await stillServes();
  });

  it('routes a reply to the plain address by its In-Reply-To alone: recorded when authenticated, kept when not', async () => {
    const plain = `audit@${REPLY_DOMAIN}`;
    const messageId = newMessageId('plain');
    const raw = fillFixture('plain-address-in-reply-to.eml', {
      REPLY_DOMAIN,
      MESSAGE_ID: messageId,
      REQUEST_MESSAGE_ID: requestId(),
    });
    const s = await assertRecorded(
      await gw.send(await dkimSignRaw(raw, 'acme.example'), { from: PAT, to: [plain] }),
      messageId,
      'answer',
    );
    const a = answerOf(s, messageId)!;
    assert.equal(a.itemId, 'stadia');
    assert.equal(a.auth?.routedBy, 'in-reply-to');

    const unsigned = fillFixture('plain-address-in-reply-to.eml', {
      REPLY_DOMAIN,
      MESSAGE_ID: newMessageId('plain-unsigned'),
      REQUEST_MESSAGE_ID: requestId(),
    });
    await assertKept(
      await gw.send(unsigned, { from: 'bounce@mailer.example', to: [plain] }),
      'unauthenticated: DMARC fail for acme.example (spf=none, dkim=none, dmarc=fail, arc=none)',
    );
    await stillServes();
  });

  it('records an out-of-office auto-reply with its return date and sends no acknowledgement', async () => {
    const acks = () =>
      h.sink.messages.filter(
        (m) => m.header('x-auditflow-kind') === 'acknowledgement' && m.header('x-auditflow-demand') === main,
      ).length;
    await h.settled(main);
    const before = acks();
    const messageId = newMessageId('ooo');
    const bounceAddress = request.envelope.from;
    const raw = await dkimSignRaw(
      fillFixture('out-of-office.eml', {
        REPLY_TO: bounceAddress,
        MESSAGE_ID: messageId,
        REQUEST_MESSAGE_ID: requestId(),
      }),
      'acme.example',
    );
    // RFC 3834: an auto-reply goes to the envelope sender, from the null sender.
    const conn = await rawSmtp(gw.port);
    assert.equal((await conn.command('EHLO mx.acme.example')).code, 250);
    await assertRecorded(await transaction(conn, '', [bounceAddress], dotStuff(raw)), messageId, 'out-of-office');
    const s = await h.settled(main);
    const decision = s.decisions.find((d) => d.kind === 'out-of-office' && d.by === PAT);
    assert.equal(decision?.detail, 'back on 2030-06-17');
    assert.equal(answerOf(s, messageId), undefined, 'an auto-reply is not an answer');
    assert.equal(acks(), before, 'an auto-reply is never acknowledged');
    await stillServes(conn);
    assert.equal((await conn.command('QUIT')).code, 221);
  });

  it('records a DSN hard bounce to the signed envelope address: contact undeliverable, owner told, the ladder waits for the deadline', async () => {
    const messageId = newMessageId('dsn');
    const bounceAddress = bounceRequest.envelope.from;
    assert.match(
      bounceAddress,
      new RegExp(`^audit\\+${bounced}\\.0\\.${patTag}\\.[a-z2-7]{16}@${REPLY_DOMAIN.replace(/\./g, '\\.')}$`),
      'the request went out from a signed VERP address',
    );
    const raw = fillFixture('dsn-hard-bounce.eml', {
      BOUNCE_ADDRESS: bounceAddress,
      MESSAGE_ID: messageId,
      FAILED_RECIPIENT: PAT,
      REQUEST_MESSAGE_ID: bounceRequest.parsed.messageId ?? '',
    });
    const conn = await rawSmtp(gw.port);
    assert.equal((await conn.command('EHLO mx.acme.example')).code, 250);
    await assertRecorded(await transaction(conn, '', [bounceAddress], dotStuff(raw)), messageId, 'bounce', bounced);
    assert.equal((await conn.command('QUIT')).code, 221);
    await h.sink.waitFor(
      (m) =>
        m.some(
          (x) =>
            x.parsed.subject === '[auditflow] Undeliverable: Audit of API usage' &&
            x.header('x-auditflow-demand') === bounced,
        ),
      'the owner is told',
    );
    const s = await h.settled(bounced);
    assert.deepEqual(s.undeliverable, [PAT]);
    // Before the deadline a bounce fires no ladder step (test/gateway/bounces.test.ts covers after it).
    assert.deepEqual(
      s.items.map((i) => [i.id, i.escalationLevel]),
      [
        ['xbox', 0],
        ['psn', 0],
        ['stadia', 0],
      ],
    );
    assert.ok(
      !h.sink.messages.some(
        (x) => x.header('x-auditflow-demand') === bounced && x.header('x-auditflow-kind') === 'escalation',
      ),
    );
    assert.ok(
      s.decisions.some((d) => d.kind === 'bounce' && d.detail?.startsWith(`${PAT} is undeliverable (the request `)),
    );
    await stillServes();
  });

  it('keeps a delivery report naming another recipient than the bounce address was issued for', async () => {
    const raw = fillFixture('dsn-other-recipient.eml', {
      BOUNCE_ADDRESS: request.envelope.from,
      MESSAGE_ID: newMessageId('dsn-other'),
      REQUEST_MESSAGE_ID: requestId(),
    });
    const conn = await rawSmtp(gw.port);
    assert.equal((await conn.command('EHLO mx.acme.example')).code, 250);
    await assertKept(
      await transaction(conn, '', [request.envelope.from], dotStuff(raw)),
      `unverifiable delivery report: it names ${ERIN}, but the message it references was sent to another recipient`,
    );
    assert.equal((await conn.command('QUIT')).code, 221);
    const s = await h.settled(main);
    assert.deepEqual(s.undeliverable, []);
    assert.ok(s.items.every((i) => i.escalationLevel === 0));
    await stillServes();
  });

  it('answers 552 to an oversized message, drains it, and takes the next message on the same connection', async () => {
    const messageId = newMessageId('big');
    const line = `${crypto.randomBytes(57).toString('base64')}\r\n`;
    const padding = line.repeat(Math.ceil((MAX_BYTES * 1.5) / line.length)).trimEnd();
    const raw = fillFixture('oversized.eml', { REPLY_TO: replyTo(), MESSAGE_ID: messageId, PADDING: padding });
    assert.ok(raw.length > MAX_BYTES * 1.4);
    const conn = await rawSmtp(gw.port);
    const ehlo = await conn.command('EHLO mx.acme.example');
    assert.match(ehlo.text, new RegExp(`^SIZE ${MAX_BYTES}$`, 'm'), 'the limit is announced');
    // Declared up front, the size is refused before a byte is sent.
    const declared = await conn.command(`MAIL FROM:<${PAT}> SIZE=${raw.length}`);
    assert.equal(declared.code, 552, declared.text);
    assert.equal((await conn.command('RSET')).code, 250);
    const answer = await transaction(conn, PAT, [replyTo()], dotStuff(raw));
    assert.equal(answer.code, 552, answer.text);
    assert.match(answer.text, new RegExp(`^5\\.3\\.4 Message exceeds the limit of ${MAX_BYTES} bytes`));
    await stillServes(conn);
    assert.equal((await conn.command('QUIT')).code, 221);
    assert.equal(answerOf(await status(), messageId), undefined);
    assert.ok(!(await inbox()).some((e) => e.messageId === messageId));
  });

  it('keeps 40 nested multipart levels as malformed without parsing them', async () => {
    const raw = fillFixture('nested-multipart.eml', { REPLY_TO: replyTo(), MESSAGE_ID: newMessageId('nested') });
    await assertKept(
      await gw.send(await dkimSignRaw(raw, 'acme.example'), { from: PAT, to: [replyTo()] }),
      `malformed: multipart parts nested more than ${LIMITS.multipartDepth} levels deep`,
    );
    await stillServes();
  });

  it('records 35 forwarded emails side by side: wide is not deep', async () => {
    const messageId = newMessageId('wide');
    const part = (n: number) =>
      [
        '--outer',
        'Content-Type: message/rfc822',
        '',
        'From: Sam Engineer <sam@acme.example>',
        `Subject: PSN export ${n}`,
        'MIME-Version: 1.0',
        `Content-Type: multipart/alternative; boundary="alt-${n}"`,
        '',
        `--alt-${n}`,
        'Content-Type: text/plain',
        '',
        `export ${n}: trophy list only`,
        `--alt-${n}`,
        'Content-Type: text/html',
        '',
        `<p>export ${n}: trophy list only</p>`,
        `--alt-${n}--`,
      ].join('\r\n');
    const parts = Array.from({ length: 35 }, (_, n) => part(n + 1)).join('\r\n');
    const raw = await dkimSignRaw(
      fillFixture('many-forwarded.eml', { REPLY_TO: replyTo(), MESSAGE_ID: messageId, FORWARDED_PARTS: parts }),
      'acme.example',
    );
    const s = await assertRecorded(await gw.send(raw, { from: PAT, to: [replyTo()] }), messageId, 'answer');
    const a = answerOf(s, messageId)!;
    assert.equal(a.itemId, 'psn');
    // Too many to list in history: the stored manifest lists them, each kept as evidence.
    assert.equal(a.attachments.length, 0);
    assert.equal(a.attachmentManifest?.count, 35, 'each forwarded email is kept as evidence');
    await stillServes();
  });

  it('keeps a header block over the limit as malformed (decided: kept, not refused; the bytes are evidence)', async () => {
    const id = (n: number) => `<thread-${String(n).padStart(6, '0')}@mail.acme.example>`;
    const references = Array.from({ length: Math.ceil((LIMITS.headerBytes * 1.1) / (id(0).length + 3)) }, (_, n) =>
      id(n),
    ).join('\r\n ');
    const raw = fillFixture('huge-header.eml', {
      REPLY_TO: replyTo(),
      MESSAGE_ID: newMessageId('huge'),
      REFERENCES: references,
    });
    const headerBytes = raw.indexOf('\r\n\r\n');
    assert.ok(headerBytes > LIMITS.headerBytes && raw.length < MAX_BYTES);
    const entry = await assertKept(
      await gw.send(raw, { from: PAT, to: [replyTo()] }),
      `malformed: header block of ${headerBytes} bytes is larger than ${LIMITS.headerBytes}`,
    );
    assert.equal(entry.raw.size, raw.length, 'the whole message is kept as evidence');
    await stillServes();
  });

  it('keeps a To header of 10,000 addresses by the address limit, quickly', async () => {
    const list = Array.from({ length: 10_000 }, (_, n) => `u${n}@acme.example`).join(',\r\n ');
    const raw = fillFixture('many-recipients.eml', { MESSAGE_ID: newMessageId('many'), TO_LIST: list });
    assert.ok(
      raw.indexOf('\r\n\r\n') < LIMITS.headerBytes,
      'under the header limit, so the address limit is what stops it',
    );
    const started = Date.now();
    const answer = await gw.send(raw, { from: PAT, to: [replyTo()] });
    const tookMs = Date.now() - started;
    // 10,000 addresses plus the sender's own.
    await assertKept(answer, `malformed: 10001 addresses in the headers (limit ${LIMITS.addresses})`);
    // Generous for a loaded 2-core machine; the point is that nothing scales with the address list.
    assert.ok(tookMs < 10_000, `answered in ${tookMs} ms`);
    await stillServes();
  });

  for (const [fixture, label] of [
    ['bad-base64.eml', 'invalid base64'],
    ['bad-quoted-printable.eml', 'invalid quoted-printable'],
    ['unknown-charset.eml', 'an unknown charset'],
  ] as const) {
    it(`records a reply with ${label} (never a 5xx, never a crash)`, async () => {
      const messageId = newMessageId(fixture.replace('.eml', ''));
      const raw = await dkimSignRaw(
        fillFixture(fixture, { REPLY_TO: replyTo(), MESSAGE_ID: messageId }),
        'acme.example',
      );
      const s = await assertRecorded(await gw.send(raw, { from: PAT, to: [replyTo()] }), messageId, 'answer');
      const a = answerOf(s, messageId)!;
      assert.equal(a.itemId, 'psn');
      assert.match(a.summary ?? '', /The PSN bridge/);
      await stillServes();
    });
  }

  it('records a reply crafted to make the quote splitter backtrack, without stalling the gateway', async () => {
    const messageId = newMessageId('redos');
    const raw = await dkimSignRaw(
      fillFixture('reply-parser-redos.eml', {
        REPLY_TO: replyTo(),
        MESSAGE_ID: messageId,
        CRAFTED_LINES: 'abc. x skrev y\r\n'.repeat(2400),
      }),
      'acme.example',
    );
    const started = Date.now();
    // A valid reply arriving at the same time is answered too: the event loop is not held.
    const [answer] = await Promise.all([gw.send(raw, { from: PAT, to: [replyTo()] }), stillServes()]);
    const tookMs = Date.now() - started;
    const s = await assertRecorded(answer, messageId, 'answer');
    // Inline, this text alone held the event loop for minutes; the split now gives up after LIMITS.replySplitMs.
    assert.ok(tookMs < 15_000, `answered in ${tookMs} ms`);
    assert.match(
      answerOf(s, messageId)?.summary ?? '',
      /^The PSN bridge read the trophy list; the log excerpt follows\.\n\nabc\. x skrev y/,
    );
  });

  for (const [name, sequence] of [
    ['LF.CRLF', '\n.\r\n'],
    ['CRLF.CR', '\r\n.\r'],
    ['LF.LF', '\n.\n'],
  ] as const) {
    it(`takes a DATA section smuggling a second message after ${name} as one message, never two`, async () => {
      const messageId = newMessageId('smuggler');
      const smuggledId = newMessageId('smuggled');
      const raw = await dkimSignRaw(
        fillFixture('smtp-smuggling.eml', {
          REPLY_TO: replyTo(),
          MESSAGE_ID: messageId,
          SMUGGLED_MESSAGE_ID: smuggledId,
          SMUGGLE: sequence,
        }),
        'acme.example',
      );
      const beforeIn = inbound(await h.settled(main)).length;
      const beforeKept = (await inbox()).length;
      const conn = await rawSmtp(gw.port);
      assert.equal((await conn.command('EHLO mx.acme.example')).code, 250);
      // Sent as a smuggler would: no dot-stuffing, no line-end repair, QUIT pipelined right behind.
      assert.equal((await conn.command(`MAIL FROM:<${PAT}>`)).code, 250);
      assert.equal((await conn.command(`RCPT TO:<${replyTo()}>`)).code, 250);
      assert.equal((await conn.command('DATA')).code, 354);
      conn.write(Buffer.concat([raw, Buffer.from('.\r\nQUIT\r\n', 'latin1')]));
      await conn.closed;
      const codes = conn.replies.map((r: SmtpReply) => r.code);
      assert.deepEqual(
        codes,
        [220, 250, 250, 250, 354, 250, 221],
        conn.replies.map((r) => `${r.code} ${r.text}`).join('\n'),
      );
      const s = await assertRecorded(conn.replies[5]!, messageId, 'answer');
      assert.equal(answerOf(s, messageId)?.itemId, 'stadia');
      assert.match(
        answerOf(s, messageId)?.summary ?? '',
        /MAIL FROM:<pat@acme\.example>/,
        'the smuggled commands are text of the one message',
      );
      const settled = await h.settled(main);
      assert.equal(inbound(settled).length, beforeIn + 1, 'exactly one message recorded');
      assert.equal(answerOf(settled, smuggledId), undefined);
      const entries = await inbox();
      assert.equal(entries.length, beforeKept, 'nothing kept either');
      assert.ok(!entries.some((e) => e.messageId === smuggledId));
      await stillServes();
    });
  }

  it('never turns CR/LF in encoded display names or subjects into headers', async () => {
    const messageId = newMessageId('crlf');
    const crlfReplyTo = crlfRequest.parsed.replyTo?.value[0]?.address ?? '';
    const raw = await dkimSignRaw(
      fillFixture('crlf-display-name.eml', { REPLY_TO: crlfReplyTo, MESSAGE_ID: messageId }),
      'acme.example',
    );
    assert.match(
      raw.toString('latin1'),
      /^From: =\?UTF-8\?B\?UGF0DQpCY2M6IHhAZXZpbC5leGFtcGxl\?= <pat@acme\.example>\r$/m,
      'the CR/LF travels encoded',
    );
    await assertRecorded(await gw.send(raw, { from: PAT, to: [crlfReplyTo] }), messageId, 'answer', crlf);

    // What the workflow was told (the gateway's recordReply update): one-line name and subject.
    const history = await h.env.client.workflow.getHandle(demandWorkflowId(crlf)).fetchHistory();
    const encrypted = (history.events ?? []).flatMap((e) => {
      const request = e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest;
      return request?.input?.name === 'recordReply' ? (request.input.args?.payloads ?? []) : [];
    });
    // Stored encrypted (the payload codec); decoded here as a worker would.
    const signalled = (await testDataConverter.payloadCodecs![0]!.decode(encrypted as Payload[]))
      .map((p) => JSON.parse(Buffer.from(p.data ?? new Uint8Array()).toString('utf8')) as InboundReply)
      .find((r) => r.messageId === messageId)!;
    assert.equal(signalled.fromName, 'Pat Bcc: x@evil.example');
    assert.equal(signalled.subject, 'Re: Audit [xbox] Bcc: y@evil.example X-Injected: 1');

    // What went out because of it: the acknowledgement to pat, and nobody else.
    const [ack] = (
      await h.sink.waitFor(
        (m) =>
          m.some(
            (x) => x.header('x-auditflow-kind') === 'acknowledgement' && /X-Injected/.test(x.parsed.subject ?? ''),
          ),
        'the acknowledgement',
      )
    ).filter((x) => x.header('x-auditflow-kind') === 'acknowledgement' && /X-Injected/.test(x.parsed.subject ?? ''));
    assert.deepEqual(ack!.envelope.to, [PAT]);
    assert.equal(ack!.header('bcc'), undefined);
    assert.equal(ack!.header('x-injected'), undefined);
    const head = ack!.raw.toString('latin1').slice(0, ack!.raw.indexOf('\r\n\r\n'));
    assert.doesNotMatch(head, /^(Bcc|X-Injected):/im);
    assert.equal(
      ack!.parsed.to && !Array.isArray(ack!.parsed.to) ? ack!.parsed.to.value[0]?.name : undefined,
      'Pat Bcc: x@evil.example',
    );

    // Kept for triage (unsigned): the entry and its reply are one-line too.
    const unsigned = fillFixture('crlf-display-name.eml', {
      REPLY_TO: replyTo(),
      MESSAGE_ID: newMessageId('crlf-unsigned'),
    });
    const entry = await assertKept(
      await gw.send(unsigned, { from: 'bounce@mailer.example', to: [replyTo()] }),
      /^unauthenticated: /,
    );
    assert.doesNotMatch(`${entry.subject}${entry.reply?.fromName}${entry.reply?.subject}`, /[\r\n]/);
    await stillServes();
  });

  it('keeps a From line broken by a literal CR/LF: no From address, nothing sent', async () => {
    await h.settled(main);
    const sent = h.sink.messages.length;
    const raw = await dkimSignRaw(
      fillFixture('crlf-raw-display-name.eml', { REPLY_TO: replyTo(), MESSAGE_ID: newMessageId('crlf-raw') }),
      'acme.example',
    );
    const entry = await assertKept(await gw.send(raw, { from: PAT, to: [replyTo()] }), 'no From address');
    assert.equal(entry.from, undefined);
    assert.deepEqual(entry.hint, { demandId: main });
    assert.equal((await h.settled(main)).outbox.length, 0);
    assert.equal(h.sink.messages.length, sent, 'nothing goes out, least of all to the Bcc address');
    await stillServes();
  });

  it('lists exactly the kept messages, with their reasons, in `auditflow inbox --json`', async () => {
    const env = h.cliEnv();
    const listed = await auditflow(['inbox', '--json'], env);
    assert.equal(listed.code, 0, listed.stderr);
    const entries = JSON.parse(listed.stdout) as { id: string; reason: string }[];
    assert.deepEqual(new Map(entries.map((e) => [e.id, e.reason])), kept);
  });
});
