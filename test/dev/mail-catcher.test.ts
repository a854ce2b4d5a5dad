import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import nodemailer from 'nodemailer';
import { simpleParser } from 'mailparser';
import { startSmtpSink, type SmtpSink } from '../../dev/support/smtp-sink';

describe('local mail catcher', () => {
  let catcher: SmtpSink;
  let dir: string;
  before(async () => {
    dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'auditflow-catcher-')), 'mail', 'outbox');
    catcher = await startSmtpSink({ dir, keep: 'none', port: 0, maxBytes: 64 * 1024 });
  });
  after(() => catcher.close());

  it('stores a message sent by nodemailer over SMTP as an .eml file', async () => {
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: catcher.port,
      secure: false,
      ignoreTLS: true,
    });
    const info = await transport.sendMail({
      from: 'Legal <legal@platform.example.com>',
      to: 'pat@acme.example',
      subject: 'Audit demand: test',
      text: 'Please answer.',
      messageId: '<catcher-test-1@platform.example.com>',
    });
    transport.close();
    assert.deepEqual(info.accepted, ['pat@acme.example']);
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.eml'));
    assert.equal(files.length, 1);
    assert.match(files[0]!, /catcher-test-1@platform\.example\.com\.eml$/);
    const parsed = await simpleParser(fs.readFileSync(path.join(dir, files[0]!)));
    assert.equal(parsed.subject, 'Audit demand: test');
    assert.equal(parsed.messageId, '<catcher-test-1@platform.example.com>');
    assert.equal(parsed.text?.trim(), 'Please answer.');
  });

  it('refuses a message above its size limit with 552 and stores nothing', async () => {
    const before = fs.readdirSync(dir).length;
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: catcher.port,
      secure: false,
      ignoreTLS: true,
    });
    await assert.rejects(
      transport.sendMail({
        from: 'a@platform.example.com',
        to: 'b@acme.example',
        subject: 'big',
        text: 'x'.repeat(200 * 1024),
      }),
      (err: { responseCode?: number }) => err.responseCode === 552,
    );
    transport.close();
    assert.equal(fs.readdirSync(dir).length, before);
  });
});
