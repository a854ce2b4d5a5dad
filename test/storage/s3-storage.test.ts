/**
 * The storage on a real S3 server (versitygw, started by the test, Object Lock on): evidence written once
 * with a conditional write and retained, a damaged object found by its hash and written again, the send
 * ledger that lets two workers attempting the same send at the same moment send it once (to a real SMTP
 * sink), and a claim left by a worker that died taken over only once its lease lapsed.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import nodemailer, { type Transporter } from 'nodemailer';
import { createEmailActivities, SendInProgress } from '../../activities/email';
import type { SendEmailResult } from '../../domain/contracts';
import { createEvidenceStore } from '../../platform/evidence';
import { sha256Hex } from '../../platform/hash';
import { STORAGE_KEYS, type Storage } from '../../platform/storage';
import { createS3Storage } from '../../platform/storage-s3';
import { eventually } from '../../platform/wait';
import { s3ServerOrSkip, startS3Server, type S3Server } from '../../dev/support/s3-server';
import { startSmtpSink, type SmtpSink } from '../../dev/support/smtp-sink';
import { sendInput } from '../helpers/send-input';

const SECRET = 'test-secret-0123456789abcdef0123456789abcdef';
/** An activity context whose logger keeps to errors: the refused attempts of these tests are expected. */
const activityEnv = () => new MockActivityEnvironment({ attempt: 1 }, { logger: new DefaultLogger('ERROR') });
describe('storage on a real S3 server (versitygw, Object Lock)', async () => {
  const available = await s3ServerOrSkip();
  let s3: S3Server;
  let storage: Storage;
  let sink: SmtpSink;
  let spool: string;
  const open = (prefix: string, bucket?: string, lockDays = 30) =>
    createS3Storage({
      bucket: bucket ?? s3.bucket,
      prefix,
      endpoint: s3.endpoint,
      region: 'us-east-1',
      pathStyle: true,
      lockMode: 'COMPLIANCE',
      lockDays,
      spoolDir: spool,
    });
  before(async () => {
    if (available.skip) return;
    s3 = await startS3Server({ binary: available.binary! });
    process.env.AWS_ACCESS_KEY_ID = s3.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = s3.secretAccessKey;
    spool = fs.mkdtempSync(path.join(os.tmpdir(), 'auditflow-spool-'));
    storage = open(`t-${Date.now().toString(36)}/`);
    sink = await startSmtpSink();
  });
  after(async () => {
    await sink?.close();
    await s3?.close();
    if (spool) fs.rmSync(spool, { recursive: true, force: true });
  });

  it(
    'evidence: written once under its sha256 with the configured retention (COMPLIANCE, 30 days)',
    { skip: available.skip },
    async () => {
      const evidence = createEvidenceStore(storage);
      const data = Buffer.from(`the signed letter ${crypto.randomUUID()}`);
      const ref = await evidence.put(data, { contentType: 'application/pdf', filename: 'letter.pdf' });
      assert.equal(ref.sha256, sha256Hex(data));
      assert.deepEqual(await evidence.get(ref.sha256), data);
      const lock = await storage.lockOf(evidence.key(ref.sha256));
      assert.equal(lock?.mode, 'COMPLIANCE');
      const days = (Date.parse(lock!.retainUntil!) - Date.now()) / 86_400_000;
      assert.ok(days > 29.9 && days <= 30, `retained for ${days} days`);
      assert.equal(lock?.legalHold, false);
      // Stored again (a retry): the create-only write is refused, and nothing changes.
      assert.deepEqual(await evidence.put(data), { sha256: ref.sha256, size: data.length });
      assert.equal((await storage.put(evidence.key(ref.sha256), data, { ifNoneMatch: true })).ok, false);
    },
  );

  it(
    'evidence: an object whose bytes do not match its name is found by its hash and written again',
    { skip: available.skip },
    async () => {
      const evidence = createEvidenceStore(storage);
      const data = Buffer.from(`an attachment ${crypto.randomUUID()}`);
      const key = evidence.key(sha256Hex(data));
      // Planted before the real one arrives, by whoever holds write access to the bucket.
      await s3.client().send(
        new PutObjectCommand({
          Bucket: s3.bucket,
          Key: `${(storage.description.match(/^s3:\/\/[^/]+\/([^ ]*)/) ?? [])[1]}${key}`,
          Body: Buffer.from('forged'),
        }),
      );
      await assert.rejects(evidence.get(sha256Hex(data)), /is corrupted in storage/);
      await evidence.put(data);
      assert.deepEqual(await evidence.get(sha256Hex(data)), data);
      assert.equal(await storage.storedSha256(key), sha256Hex(data));
    },
  );

  it(
    'evidence: a stream larger than memory is spooled, uploaded, and hashed right',
    { skip: available.skip },
    async () => {
      const evidence = createEvidenceStore(storage);
      const chunk = crypto.randomBytes(64 * 1024);
      const chunks = Array.from({ length: 40 }, () => chunk); // 2.5 MiB
      const r = await evidence.putStream(
        (async function* () {
          yield* chunks;
        })() as never,
        { contentType: 'message/rfc822' },
      );
      const whole = Buffer.concat(chunks);
      assert.equal(r.ref?.sha256, sha256Hex(whole));
      assert.equal(await storage.storedSha256(evidence.key(r.ref!.sha256)), sha256Hex(whole));
      assert.deepEqual(fs.readdirSync(spool), [], 'the spool is cleaned up');
    },
  );

  it(
    'evidence: a bucket without Object Lock takes objects without retention; check() says so',
    { skip: available.skip },
    async () => {
      await s3.createBucket('auditflow-unlocked', { objectLock: false });
      const plain = open('', 'auditflow-unlocked');
      const ref = await createEvidenceStore(plain).put(Buffer.from('no lock here'));
      assert.equal(await plain.lockOf(STORAGE_KEYS.evidence(ref.sha256)), undefined);
      const report = await plain.check({ write: true });
      assert.equal(report.ok, true, report.detail);
      assert.match(report.detail, /Object Lock not enabled/);
      const locked = await storage.check({ write: true });
      assert.match(
        locked.detail,
        /reachable and writable; versioning enabled; Object Lock enabled.*COMPLIANCE for 30 days/,
      );
    },
  );

  it(
    'the send ledger: two workers attempting the same send at the same moment send it once',
    { skip: available.skip },
    async () => {
      const workers = [0, 1].map(() => {
        const transport: Transporter = nodemailer.createTransport({
          host: '127.0.0.1',
          port: sink.port,
          ignoreTLS: true,
        });
        // Each worker has its own client to the same bucket, as on two machines.
        const own = open(storage.description.match(/^s3:\/\/[^/]+\/([^ ]*)/)![1]!);
        const send = createEmailActivities({
          transport,
          storage: own,
          evidence: createEvidenceStore(own),
          secret: SECRET,
          replyDomain: 'reply.example.com',
          replyLocalPart: 'audit',
        }).sendEmail;
        return { transport, send };
      });
      try {
        for (let round = 0; round < 5; round++) {
          const input = sendInput(`race-${round}-${crypto.randomUUID()}`);
          // Like Temporal: an attempt that finds another worker's live claim fails, and is retried.
          const attempt = (w: (typeof workers)[number]): Promise<SendEmailResult> =>
            eventually<SendEmailResult>(
              () =>
                (activityEnv().run(w.send, input) as Promise<SendEmailResult>).catch((err: Error) => {
                  if (err instanceof SendInProgress || err.name === 'SendInProgress') return undefined;
                  throw err;
                }),
              'the send to finish on one worker',
              { timeoutMs: 30_000, intervalMs: 50 },
            );
          const [a, b] = await Promise.all(workers.map(attempt));
          assert.equal(a!.messageId, b!.messageId);
          assert.equal([a, b].filter((r) => r!.alreadySent).length, 1, 'one sent it, the other found it sent');
          await sink.waitFor((m) => m.some((x) => x.parsed.messageId === a!.messageId), 'the message');
          assert.equal(sink.messages.filter((m) => m.parsed.messageId === a!.messageId).length, 1);
        }
      } finally {
        for (const w of workers) w.transport.close();
      }
    },
  );

  it(
    'the send ledger: a claim left by a worker that died is respected until its lease lapses, then taken over',
    { skip: available.skip },
    async () => {
      const transport = nodemailer.createTransport({ host: '127.0.0.1', port: sink.port, ignoreTLS: true });
      const send = createEmailActivities({
        transport,
        storage,
        evidence: createEvidenceStore(storage),
        secret: SECRET,
        replyDomain: 'reply.example.com',
        replyLocalPart: 'audit',
      }).sendEmail;
      try {
        const input = sendInput(`lease-${crypto.randomUUID()}`);
        const key = STORAGE_KEYS.ledger(sha256Hex(input.mail.key));
        const leaseUntil = Date.now() + 3000;
        const dead = {
          key: input.mail.key,
          messageId: '<x@y>',
          sha256: '0'.repeat(64),
          status: 'sending',
          attempts: 1,
        };
        await storage.put(key, Buffer.from(JSON.stringify({ ...dead, owner: 'host-b:123', leaseUntil })), {
          ifNoneMatch: true,
        });
        await assert.rejects(activityEnv().run(send, input), /another worker \(host-b:123\) is sending/);
        const r = await eventually<SendEmailResult>(
          () => (activityEnv().run(send, input) as Promise<SendEmailResult>).catch(() => undefined),
          'the lapsed claim to be taken over',
          { timeoutMs: 20_000, intervalMs: 250 },
        );
        assert.ok(Date.now() >= leaseUntil, 'not before the lease lapsed');
        assert.equal(r.status, 'sent');
        const record = JSON.parse((await storage.get(key))!.body.toString()) as { attempts: number; status: string };
        assert.deepEqual([record.status, record.attempts], ['sent', 2]);
      } finally {
        transport.close();
      }
    },
  );
});
