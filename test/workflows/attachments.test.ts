/**
 * A demand that sends files, on the time-skipping server with a real worker and a real SMTP server: the
 * CLI's own code reads, hashes and stores the files; the worker reads them back by sha256 from the shared
 * storage; the request and the final notice arrive with them intact, and no other message carries them.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { readAttachments, storeAttachments } from '../../cli/attachments';
import { checkDemand } from '../../domain/demand';
import { createEvidenceStore } from '../../platform/evidence';
import { sha256Hex } from '../../platform/hash';
import { openStorage } from '../../platform/storage-open';
import { withHarness } from '../../dev/support/harness';
import { sampleSpec } from '../../dev/support/specs';
import { attachedHashes, noticeText, pdfLike } from '../helpers/attachment-files';
import { exportHistory } from '../helpers/histories';

describe('outgoing attachments (time-skipping server, real SMTP)', () => {
  it('the request carries both files and the final notice the one attached to it, each intact (sha256 equal)', () =>
    withHarness(async (h) => {
      const folder = path.join(h.config.dataDir, 'spec');
      fs.mkdirSync(path.join(folder, 'notices'), { recursive: true });
      const pdf = pdfLike();
      const text = noticeText();
      fs.writeFileSync(path.join(folder, 'notices', 'breach.pdf'), pdf);
      fs.writeFileSync(path.join(folder, 'clause.txt'), text);
      const input = sampleSpec('attached', {
        attachments: [
          { file: 'notices/breach.pdf', name: 'Notice of breach.pdf', attachTo: ['request', 'final-notice'] },
          { file: 'clause.txt' },
        ],
      });
      const checked = checkDemand(input);
      assert.ok(checked.ok, JSON.stringify(!checked.ok && checked.problems));
      const files = readAttachments(checked.spec, path.join(folder, 'demand.yaml'));
      assert.deepEqual(files.problems, []);
      const refs = await storeAttachments(createEvidenceStore(openStorage(h.config)), files.attachments);

      const handle = await h.start(input, 'test', refs);
      const result = await handle.result();
      assert.equal(result.status, 'referred');
      await h.sink.waitFor((m) => m.length === 10, 'ten messages');
      const carried = h.sink.messages
        .map((m) => [m.header('x-auditflow-kind'), m.envelope.to.join(), attachedHashes(m)] as const)
        .filter(([, , hashes]) => Object.keys(hashes).length > 0);
      assert.deepEqual(carried, [
        ['request', 'pat@acme.example', { 'Notice of breach.pdf': sha256Hex(pdf), 'clause.txt': sha256Hex(text) }],
        ['final-notice', 'erin@acme.example', { 'Notice of breach.pdf': sha256Hex(pdf) }],
      ]);

      // The text lists what should be attached, so the recipient can tell a file went missing on the way.
      const request = h.sink.messages.find((m) => m.header('x-auditflow-kind') === 'request')!;
      assert.match(request.parsed.text ?? '', /Attached to this message:/);
      assert.ok(
        request.parsed.text?.includes(`Notice of breach.pdf (`) && request.parsed.text.includes(sha256Hex(text)),
      );
      const report = fs.readFileSync(result.reportPath!, 'utf8');
      assert.match(report, /## Files sent/);
      assert.ok(
        report.includes(
          `Notice of breach.pdf, ${pdf.length.toLocaleString('en-US')} bytes (application/pdf), sent with the request and the final notice; sha256 \`${sha256Hex(pdf)}\``,
        ),
        report,
      );
      await exportHistory(handle, 'attachments-sent');
    }));

  it('a demand whose spec lists files but whose start input has no references fails at once, saying why', () =>
    withHarness(async (h) => {
      const handle = await h.start(sampleSpec('unstored', { attachments: [{ file: 'clause.txt' }] }));
      await assert.rejects(handle.result(), (err: Error & { cause?: Error }) => {
        assert.match(
          err.cause?.message ?? '',
          /lists 1 attachment\(s\) but the start input carries 0 stored reference/,
        );
        return true;
      });
      assert.equal(h.sink.messages.length, 0);
    }));
});
