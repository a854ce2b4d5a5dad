/**
 * sendEmail against a real SMTP server: deterministic bytes, one logical message per key whatever the
 * retries, permanent refusals recorded instead of retried. The activity runs in the SDK's activity
 * test environment (a real activity context; no Temporal server is involved in sending).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import nodemailer, { type Transporter } from 'nodemailer';
import type { SendEmailInput, SendEmailResult } from '../../domain/contracts';
import { composeMessage } from '../../activities/email';
import { createFileStorage } from '../../platform/storage-file';
import { STORAGE_KEYS } from '../../platform/storage';
import { sha256Hex } from '../../platform/hash';
import { startSmtpSink, type SmtpSink } from '../../dev/support/smtp-sink';
import { SEND_SECRET, sendEmailVia, sendInput as input } from '../helpers/send-input';

describe('sendEmail: one logical message per key', () => {
  let sink: SmtpSink;
  let dir: string;
  let sendEmail: ReturnType<typeof sendEmailVia>;
  let transport: Transporter;
  const env = new MockActivityEnvironment();
  const send = (i: SendEmailInput): Promise<SendEmailResult> => env.run(sendEmail, i);
  before(async () => {
    sink = await startSmtpSink();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'auditflow-send-'));
    transport = nodemailer.createTransport({ host: '127.0.0.1', port: sink.port, ignoreTLS: true });
    sendEmail = sendEmailVia(transport, createFileStorage(dir));
  });
  after(async () => {
    transport.close();
    await sink.close();
  });

  it('builds the same bytes for the same key every time', async () => {
    const deps = { secret: SEND_SECRET, replyDomain: 'reply.example.com', replyLocalPart: 'audit' };
    const a = await composeMessage(input('k-bytes'), deps);
    const b = await composeMessage(input('k-bytes'), deps);
    assert.ok(a.raw.equals(b.raw));
    assert.match(a.raw.toString(), /^Date: Tue, 01 Jun 2027 00:00:00 \+0000$/m);
    assert.match(a.raw.toString(), /^In-Reply-To: <request@reply\.example\.com>$/m);
    assert.notEqual((await composeMessage(input('k-other'), deps)).messageId, a.messageId);
  });

  it('a retry after a recorded success sends nothing', async () => {
    const first = await send(input('k-once'));
    const again = await send(input('k-once'));
    await sink.waitFor((m) => m.some((x) => x.parsed.messageId === first.messageId), 'the message');
    assert.equal(sink.messages.filter((m) => m.parsed.messageId === first.messageId).length, 1);
    assert.equal(again.alreadySent, true);
    assert.equal(again.messageId, first.messageId);
  });

  it('a transient refusal (451) is thrown for Temporal to retry; the retry delivers exactly one copy', async () => {
    sink.failNext(1, 451);
    await assert.rejects(send(input('k-retry')), (err: { responseCode?: number }) => err.responseCode === 451);
    const ok = await send(input('k-retry'));
    assert.equal(ok.status, 'sent');
    assert.equal(sink.messages.filter((m) => m.parsed.messageId === ok.messageId).length, 1);
  });

  it('a permanent refusal (550) is recorded, not retried, and not sent again', async () => {
    sink.failNext(1, 550);
    const r = await send(input('k-refused'));
    assert.equal(r.status, 'rejected');
    assert.match(r.response ?? '', /^550 /);
    // The whole SMTP transaction is kept in the send ledger (history holds only what the workflow records).
    const ledger = await createFileStorage(dir).get(STORAGE_KEYS.ledger(sha256Hex('k-refused')));
    const record = JSON.parse(ledger!.body.toString('utf8')) as { result: { rejected: string[]; accepted: string[] } };
    assert.deepEqual([record.result.accepted, record.result.rejected], [[], ['pat@acme.example']]);
    assert.equal('rejected' in r, false);
    const again = await send(input('k-refused'));
    assert.equal(again.status, 'rejected');
    assert.equal(again.alreadySent, true);
    assert.equal(sink.messages.filter((m) => m.parsed.messageId === r.messageId).length, 0);
  });

  it('keeps the exact bytes it sent in the evidence store', async () => {
    const r = await send(input('k-evidence'));
    const stored = fs.readFileSync(
      path.join(dir, 'evidence', 'sha256', r.raw.sha256.slice(0, 2), r.raw.sha256.slice(2, 4), r.raw.sha256),
    );
    await sink.waitFor((m) => m.some((x) => x.parsed.messageId === r.messageId), 'the message');
    const received = sink.messages.find((m) => m.parsed.messageId === r.messageId)!;
    if (!received.raw.equals(stored)) {
      const a = stored.toString('latin1');
      const b = received.raw.toString('latin1');
      let i = 0;
      while (i < a.length && a[i] === b[i]) i++;
      assert.fail(
        `differs at byte ${i}: ` +
          `stored ${JSON.stringify(a.slice(i - 20, i + 40))} received ${JSON.stringify(b.slice(i - 20, i + 40))} (lengths ${a.length}/${b.length})`,
      );
    }
    assert.equal(stored.length, r.raw.size);
  });
});
