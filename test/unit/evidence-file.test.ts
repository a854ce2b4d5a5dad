/**
 * The evidence store on the folder storage (the embedded default): an object stored again, as the same
 * logo or signature is with every reply, is left as it is and nothing is left behind in the spool; an
 * object whose bytes no longer match its name is written again with the true bytes.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { createEvidenceStore } from '../../platform/evidence';
import { sha256Hex } from '../../platform/hash';
import { createFileStorage } from '../../platform/storage-file';

describe('evidence in a folder', () => {
  const open = () => {
    const storage = createFileStorage(fs.mkdtempSync(path.join(os.tmpdir(), 'auditflow-evidence-')));
    return { storage, evidence: createEvidenceStore(storage) };
  };
  const leftInSpool = (spoolDir: string) => (fs.existsSync(spoolDir) ? fs.readdirSync(spoolDir) : []);

  for (const [size, how] of [
    [1_000, 'in memory'],
    [600_000, 'through a spool file'],
  ] as const) {
    it(`an object stored again (${how}) is left as it is, and the spool is empty after`, async () => {
      const { storage, evidence } = open();
      const data = Buffer.alloc(size, 'logo ');
      const first = await evidence.putStream(Readable.from([data]), { filename: 'logo.png' });
      const file = evidence.locate(sha256Hex(data));
      const { ino, mtimeMs } = fs.statSync(file);
      const again = await evidence.putStream(Readable.from([data]), { filename: 'logo.png' });
      assert.deepEqual(again, first);
      assert.deepEqual([fs.statSync(file).ino, fs.statSync(file).mtimeMs], [ino, mtimeMs]);
      assert.deepEqual(await evidence.get(sha256Hex(data)), data);
      assert.deepEqual(leftInSpool(storage.spoolDir), []);
    });

    it(`an object whose bytes changed in the folder is written again with the true bytes (${how})`, async () => {
      const { storage, evidence } = open();
      const data = Buffer.alloc(size, 'signed letter ');
      await evidence.putStream(Readable.from([data]));
      const file = evidence.locate(sha256Hex(data));
      fs.chmodSync(file, 0o600);
      fs.writeFileSync(file, 'forged');
      await assert.rejects(evidence.get(sha256Hex(data)), /corrupted/);
      await evidence.putStream(Readable.from([data]));
      assert.deepEqual(await evidence.get(sha256Hex(data)), data);
      assert.deepEqual(leftInSpool(storage.spoolDir), []);
    });
  }
});
