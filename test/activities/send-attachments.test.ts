/**
 * sendEmail with files attached, against a real SMTP server: the bytes read back by sha256 from the
 * evidence store arrive intact (decoded attachments hash as the files), the message stays deterministic,
 * and a stored file that is missing or damaged fails the send for good, sending nothing.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import nodemailer, { type Transporter } from 'nodemailer';
import { composeMessage, createEmailActivities } from '../../activities/email';
import type { AttachmentRef } from '../../domain/attachments';
import type { SendEmailInput, SendEmailResult } from '../../domain/contracts';
import { FailureType } from '../../domain/errors';
import { createEvidenceStore, type EvidenceStore } from '../../platform/evidence';
import { sha256Hex } from '../../platform/hash';
import { createFileStorage } from '../../platform/storage-file';
import { startSmtpSink, type SmtpSink } from '../../dev/support/smtp-sink';
import { attachedHashes, noticeText, pdfLike } from '../helpers/attachment-files';
import { arrived } from '../helpers/mail-log';
import { sendInput } from '../helpers/send-input';

const SECRET = 'test-secret-0123456789abcdef0123456789abcdef';
const REPLY = { replyDomain: 'reply.example.com', replyLocalPart: 'audit' };

/** A request carrying `refs`. */
function request(key: string, refs: AttachmentRef[]): SendEmailInput {
  const base = sendInput(key);
  const { inReplyTo: _thread, ...rest } = base;
  return { ...rest, mail: { ...base.mail, kind: 'request', context: {} }, attachments: refs };
}

describe('sendEmail with attachments (real SMTP)', () => {
  let sink: SmtpSink;
  let dir: string;
  let evidence: EvidenceStore;
  let transport: Transporter;
  let sendEmail: ReturnType<typeof createEmailActivities>['sendEmail'];
  const env = new MockActivityEnvironment();
  const files = { 'Notice of breach.pdf': pdfLike(), 'clause-9.3.txt': noticeText() };
  let refs: AttachmentRef[];

  before(async () => {
    sink = await startSmtpSink();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'auditflow-attach-'));
    const storage = createFileStorage(dir);
    evidence = createEvidenceStore(storage);
    transport = nodemailer.createTransport({ host: '127.0.0.1', port: sink.port, ignoreTLS: true });
    sendEmail = createEmailActivities({ transport, evidence, storage, secret: SECRET, ...REPLY }).sendEmail;
    refs = await Promise.all(
      Object.entries(files).map(async ([name, bytes]) => {
        const contentType = name.endsWith('.pdf') ? 'application/pdf' : 'text/plain';
        const stored = await evidence.put(bytes, { contentType, filename: name });
        return { name, sha256: stored.sha256, size: bytes.length, contentType, attachTo: ['request' as const] };
      }),
    );
  });
  after(async () => {
    transport.close();
    await sink.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the files arrive intact: each decoded attachment has the sha256 of its file', async () => {
    const sent: SendEmailResult = await env.run(sendEmail, request('k-attach', refs));
    assert.equal(sent.status, 'sent');
    const [mail] = await arrived({ sink }, (x) => x.parsed.messageId === sent.messageId, 'the request');
    assert.deepEqual(attachedHashes(mail!), {
      'Notice of breach.pdf': sha256Hex(files['Notice of breach.pdf']),
      'clause-9.3.txt': sha256Hex(files['clause-9.3.txt']),
    });
    assert.deepEqual(
      mail!.parsed.attachments.map((a) => [a.contentType, a.contentDisposition]),
      [
        ['application/pdf', 'attachment'],
        ['text/plain', 'attachment'],
      ],
    );
    // The stored evidence is the message as sent, files included.
    const stored = await evidence.get(sent.raw.sha256);
    assert.ok(stored.equals(mail!.raw), 'the evidence .eml is the message the server received');
  });

  it('the message is built the same, byte for byte, on every attempt', async () => {
    const read = async (ref: AttachmentRef) => evidence.get(ref.sha256);
    const a = await composeMessage(request('k-same', refs), { secret: SECRET, ...REPLY, readAttachment: read });
    const b = await composeMessage(request('k-same', refs), { secret: SECRET, ...REPLY, readAttachment: read });
    assert.ok(a.raw.equals(b.raw));
    assert.match(a.raw.toString('latin1'), /Content-Disposition: attachment; filename="Notice of breach\.pdf"/);
  });

  it('a stored file that is damaged or missing fails the send retryably, naming it; nothing is sent', async () => {
    const before = sink.messages.length;
    const damaged = Buffer.from(files['clause-9.3.txt']);
    damaged[0] = 0x21;
    fs.writeFileSync(path.join(dir, evidence.key(refs[1]!.sha256)), damaged);
    const missing = { ...refs[0]!, sha256: 'a'.repeat(64), name: 'gone.pdf' };
    for (const [key, bad, why] of [
      ['k-damaged', refs, /attachment "clause-9\.3\.txt" .* is damaged in storage/],
      ['k-missing', [missing], /attachment "gone\.pdf" .* is missing from the evidence store/],
    ] as const)
      await assert.rejects(env.run(sendEmail, request(key, [...bad])), (err: unknown) => {
        assert.ok(err instanceof ApplicationFailure, String(err));
        assert.equal(err.type, FailureType.AttachmentMismatch);
        assert.equal(err.nonRetryable, false, 'retried until the object is restored: the demand must not fail');
        assert.match(err.message, why);
        return true;
      });
    assert.equal(sink.messages.length, before, 'no message was sent');
  });
});
