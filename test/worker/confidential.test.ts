/**
 * Confidential by default, checked on the bytes the Temporal server keeps: a demand runs through its
 * request, a reply carrying a distinctive phrase and an attachment, a review and its end (the report), on a
 * dev server of its own with a SQLite file; then the file is read raw. No counterparty address, no question,
 * no reply phrase, no subject may appear in it. The control runs the same with encryption off and finds
 * them, so the test can fail.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { startDevServer } from '../../dev/dev-server';
import { harness } from '../../dev/support/harness';
import { compose, dnsFor, replyAddress, replyTo, resolverFor } from '../../dev/support/mail-auth';
import { sampleSpec } from '../../dev/support/specs';
import { demandWorkflowId } from '../../domain/ids';
import { freePort } from '../../platform/net';
import { auditflow } from '../helpers/cli';
import { startTestGateway } from '../helpers/gateway';

/** Runs one demand to its end on its own dev server; returns the server's database bytes and what to look for. */
async function runAndReadDatabase(plain: boolean): Promise<{ bytes: Buffer; secrets: Record<string, string> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'auditflow-leak-'));
  const dbFile = path.join(dir, 'temporal.db');
  const server = await startDevServer({ port: await freePort(), uiPort: false, dbFile });
  const tag = crypto.randomBytes(4).toString('hex');
  const secrets = {
    address: 'pat@acme.example',
    question: 'How long did it run?',
    phrase: `Zephyrine-${tag} kept the friends list`,
    subject: `Obsidian inventory ${tag}`,
    attachment: `ledger-${tag}.pdf`,
  };
  try {
    const h = await harness('dev', plain ? { AUDITFLOW_ENCRYPTION: 'off' } : {}, {
      address: server.address,
      ...(plain ? { dataConverter: {} } : {}),
    });
    const gw = await startTestGateway(h, resolverFor(dnsFor(['acme.example'])));
    try {
      const id = `leak-${tag}`;
      await h.start(sampleSpec(id, { deadline: '2030-06-07T17:00' }));
      const [request] = await h.sink.waitFor((m) => m.length === 1, 'the request');
      const raw = await compose(
        replyTo(request!, `Re: ${secrets.subject} [stadia]`, `${secrets.phrase}. Details attached.`, {
          attachments: [
            { filename: secrets.attachment, content: Buffer.from('%PDF-1.4 ledger'), contentType: 'application/pdf' },
          ],
        }),
        true,
      );
      const sent = await gw.send(raw, { from: secrets.address, to: [replyAddress(request!)] });
      assert.equal(sent.code, 250, sent.response);
      const env = { ...h.cliEnv(), ...(plain ? { AUDITFLOW_ENCRYPTION: 'off' } : {}) };
      const review = await auditflow(['review', id, 'stadia', '--accept', '--by', 'Chris Counsel'], env);
      assert.equal(review.code, 0, review.stderr);
      const withdrawn = await auditflow(['withdraw', id, '--reason', 'settled'], env);
      assert.equal(withdrawn.code, 0, withdrawn.stderr);
      await h.env.client.workflow.getHandle(demandWorkflowId(id)).result();
      // The state really went through Temporal: the status query (decoded by the client) has the phrase.
      const shown = await auditflow(['show', id, '--json'], env);
      assert.ok(shown.stdout.includes('Zephyrine'), 'the demand recorded the reply');
    } finally {
      await gw.close();
      await h.close();
    }
  } finally {
    await server.stop();
  }
  const bytes = Buffer.concat(
    fs
      .readdirSync(dir)
      .filter((f) => f.startsWith('temporal.db'))
      .map((f) => fs.readFileSync(path.join(dir, f))),
  );
  fs.rmSync(dir, { recursive: true, force: true });
  return { bytes, secrets };
}

const found = (bytes: Buffer, secrets: Record<string, string>) =>
  Object.entries(secrets)
    .filter(([, v]) => bytes.includes(Buffer.from(v)))
    .map(([k]) => k);

describe("what the Temporal server's database holds (own dev server on a SQLite file, real worker and gateway)", () => {
  it('with encryption on (the default): no address, question, reply phrase, subject or file name in it', async () => {
    const { bytes, secrets } = await runAndReadDatabase(false);
    assert.ok(bytes.length > 100_000, `read ${bytes.length} bytes of database`);
    assert.deepEqual(found(bytes, secrets), []);
  });

  it('control, with AUDITFLOW_ENCRYPTION=off: the same run leaves every one of them in clear', async () => {
    const { bytes, secrets } = await runAndReadDatabase(true);
    assert.deepEqual(found(bytes, secrets), Object.keys(secrets));
  });
});
