/**
 * sendEmail scheduled with a heartbeat timeout (activities/send-lease.ts): it heartbeats through its SMTP
 * transaction and renews its claim, so a live attempt keeps the send however long SMTP takes while its
 * claim's lease stays short (a dead attempt's lapses soon: the worker-kill drill measures the retry); an
 * attempt Temporal has cancelled does not submit. SMTP is held by a TCP proxy in front of a real sink.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import nodemailer, { type Transporter } from 'nodemailer';
import type { SendEmailResult } from '../../domain/contracts';
import { leaseFor, startPulse } from '../../activities/send-lease';
import { createFileStorage } from '../../platform/storage-file';
import { STORAGE_KEYS, type Storage } from '../../platform/storage';
import { sha256Hex } from '../../platform/hash';
import { eventually } from '../../platform/wait';
import { startSmtpSink, type SmtpSink } from '../../dev/support/smtp-sink';
import { startTcpProxy, type TcpProxy } from '../../dev/support/tcp-proxy';
import { sendEmailVia, sendInput as input } from '../helpers/send-input';

/** Short, so the test sees many renewals: a 300 ms lease renewed every 100 ms. */
const HEARTBEAT_MS = 600;

describe('sendEmail with a heartbeat timeout: a short lease, renewed while the attempt lives', () => {
  let sink: SmtpSink;
  let proxy: TcpProxy;
  let storage: Storage;
  let transport: Transporter;
  let sendEmail: ReturnType<typeof sendEmailVia>;
  /** Attempt `n` of the send, as Temporal would run it (each attempt is a different claim owner). */
  const attempt = (n: number) => new MockActivityEnvironment({ heartbeatTimeoutMs: HEARTBEAT_MS, attempt: n });
  const ledger = async (key: string) =>
    JSON.parse((await storage.get(STORAGE_KEYS.ledger(sha256Hex(key))))!.body.toString()) as {
      status: string;
      leaseUntil: number;
      attempts: number;
    };
  before(async () => {
    sink = await startSmtpSink();
    proxy = await startTcpProxy({ host: '127.0.0.1', port: sink.port });
    storage = createFileStorage(fs.mkdtempSync(path.join(os.tmpdir(), 'auditflow-lease-')));
    transport = nodemailer.createTransport({ host: '127.0.0.1', port: proxy.port, ignoreTLS: true });
    sendEmail = sendEmailVia(transport, storage);
  });
  after(async () => {
    transport.close();
    await proxy.close();
    await sink.close();
  });

  it('the lease is half the heartbeat timeout (the old start-to-close lease without one)', () => {
    assert.deepEqual(leaseFor({ heartbeatTimeoutMs: 10_000, startToCloseTimeoutMs: 120_000 }), {
      leaseMs: 5000,
      renewEveryMs: 10_000 / 6,
    });
    assert.deepEqual(leaseFor({ startToCloseTimeoutMs: 120_000 }), { leaseMs: 120_000 });
  });

  it('heartbeats through a slow SMTP transaction and keeps its claim long past one lease; the message goes once', async () => {
    const first = attempt(1);
    const beats: { phase: string }[] = [];
    first.on('heartbeat', (d: { phase: string }) => beats.push(d));
    proxy.hold();
    const sending = first.run(sendEmail, input('k-slow')) as Promise<SendEmailResult>;
    try {
      await eventually(() => proxy.held > 0, 'the attempt to wait for the SMTP greeting', 10_000);
      // Five beats in the SMTP phase: 500 ms, well past the 300 ms lease the claim started with.
      await eventually(
        () => beats.filter((b) => b.phase === 'smtp').length >= 5,
        () => `heartbeats during SMTP (got ${JSON.stringify(beats)})`,
        { timeoutMs: 10_000, intervalMs: 20 },
      );
      const record = await ledger('k-slow');
      assert.equal(record.status, 'sending');
      assert.ok(record.leaseUntil > Date.now(), 'the lease was renewed');
      assert.ok(record.leaseUntil - Date.now() <= HEARTBEAT_MS / 2, 'and stays short');
      await assert.rejects(attempt(2).run(sendEmail, input('k-slow')), { name: 'SendInProgress' });
    } finally {
      proxy.release();
    }
    const sent = await sending;
    assert.equal(sent.status, 'sent');
    assert.ok(
      beats.every((b) => ['prepare', 'smtp'].includes(b.phase)),
      JSON.stringify(beats),
    );
    const again = (await attempt(3).run(sendEmail, input('k-slow'))) as SendEmailResult;
    assert.equal(again.alreadySent, true);
    assert.equal((await ledger('k-slow')).status, 'sent', 'no renewal wrote over the result');
    assert.equal(sink.messages.filter((m) => m.parsed.messageId === sent.messageId).length, 1);
  });

  it('beats only on its timer: a send that ends before the first interval costs Temporal no heartbeat', async () => {
    const env = new MockActivityEnvironment({ heartbeatTimeoutMs: 60_000 });
    const beats: unknown[] = [];
    env.on('heartbeat', (d: unknown) => beats.push(d));
    await env.run(async () => {
      const pulse = startPulse(leaseFor({ heartbeatTimeoutMs: 60_000, startToCloseTimeoutMs: 120_000 }).renewEveryMs);
      pulse.enter('smtp');
      pulse.stop();
    });
    assert.deepEqual(beats, []);
  });

  it('an attempt Temporal has cancelled (timed out: a retry may be running) does not submit, and lets go of its claim', async () => {
    const cancelled = attempt(1);
    cancelled.cancel('TIMED_OUT');
    await assert.rejects(cancelled.run(sendEmail, input('k-cancelled')), /lost its claim/);
    assert.equal((await ledger('k-cancelled')).leaseUntil, 0);
    const retry = (await attempt(2).run(sendEmail, input('k-cancelled'))) as SendEmailResult;
    assert.equal(retry.status, 'sent');
    await sink.waitFor((m) => m.some((x) => x.parsed.messageId === retry.messageId), 'the retried message');
    assert.equal(sink.messages.filter((m) => m.parsed.messageId === retry.messageId).length, 1);
  });
});
