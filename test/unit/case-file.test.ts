/** Unit tests of the case file: the chained manifest, the tar writer and the streaming reader, and what verify names when one is tampered with. */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { after, describe, it } from 'node:test';
import {
  buildManifest,
  MANIFEST_PATH,
  MAX_MANIFEST_BYTES,
  parseManifest,
  problemsOf,
  type Manifest,
} from '../../cli/case-file/manifest';
import { writeTarGz, type TarFile } from '../../cli/case-file/tar';
import { readTarFile, TarFormatError, type ArchiveEntry } from '../../cli/case-file/tar-stream';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'auditflow-unit-case-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const sha = (data: string | Buffer) => crypto.createHash('sha256').update(data).digest('hex');
const short = (h: string) => `${h.slice(0, 12)}...`;
const HEADER = { demandId: 'acme', createdAt: '2027-06-20T10:00:00.000Z', source: 'temporal' };
const MTIME = new Date('2027-06-20T10:00:00Z');
const FILES: TarFile[] = [
  { path: 'reports/report.md', data: Buffer.from('# Audit of API usage\n\nOutcome: referred\n') },
  {
    path: 'mail/0001-sent-request-pat@acme.example.eml',
    data: Buffer.from('Message-ID: <a@b>\r\nSubject: Audit\r\n\r\nPlease answer.\r\n'.repeat(20)),
  },
  { path: 'attachments/xbox/letter.pdf', data: crypto.createHash('sha512').update('letter').digest() },
  // Over 100 bytes: written with a ustar prefix, read back whole.
  { path: `attachments/xbox/${'nested-folder/'.repeat(8)}empty.txt`, data: Buffer.alloc(0) },
];
const manifest = buildManifest(HEADER, FILES);
const manifestFile = (m: Manifest): TarFile => ({ path: MANIFEST_PATH, data: Buffer.from(JSON.stringify(m, null, 2)) });

let archives = 0;
async function read(files: TarFile[], raw?: Buffer) {
  const file = path.join(dir, `case-${++archives}.tar.gz`);
  fs.writeFileSync(file, raw ?? writeTarGz(files, MTIME));
  return readTarFile(file, { maxBytes: 1024 ** 3, keep: { path: MANIFEST_PATH, maxBytes: MAX_MANIFEST_BYTES } });
}
const problems = (m: Manifest, entries: Map<string, ArchiveEntry>, expectHead?: string) =>
  [...problemsOf(m, entries, expectHead)].map((p) => [p.kind, p.entry, p.message]);
const intact = () => read([...FILES, manifestFile(manifest)]);
const tarError = (message: string) => (err: unknown) => {
  assert.ok(err instanceof TarFormatError, String(err));
  assert.equal(err.message, message);
  return true;
};

describe('the manifest chain', () => {
  it('hashes the header into the genesis and chains every entry to the one before, as the README says', () => {
    const genesis = sha(`auditflow-case-file\n2\nacme\n2027-06-20T10:00:00.000Z\ntemporal`);
    let prev = genesis;
    const expected = FILES.map((f) => {
      const entry = {
        path: f.path,
        size: f.data.length,
        sha256: sha(f.data),
        prev,
        hash: sha(`${prev}\n${f.path}\n${sha(f.data)}\n${f.data.length}`),
      };
      prev = entry.hash;
      return entry;
    });
    assert.deepEqual(
      [manifest.format, manifest.version, manifest.demandId, manifest.createdAt, manifest.source, manifest.genesis],
      ['auditflow-case-file', 2, 'acme', HEADER.createdAt, 'temporal', genesis],
    );
    assert.deepEqual(manifest.entries, expected);
    assert.equal(manifest.head, expected.at(-1)!.hash);
  });

  it('parseManifest refuses what is not a case-file manifest, naming why', () => {
    const refuse = (v: unknown) => {
      const r = parseManifest(Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)));
      return r.ok ? 'accepted' : r.reason;
    };
    const [first] = manifest.entries;
    assert.equal(
      refuse({ ...manifest, entries: [first, first] }),
      'manifest.json lists reports/report.md twice (entries 1 and 2)',
    );
    assert.equal(
      refuse({ ...manifest, demandId: 'acme\nforged' }),
      "manifest.json: demandId contains a line break, which would make the header's place in the chain ambiguous",
    );
    assert.equal(refuse({ ...manifest, entries: [] }), 'manifest.json lists no files');
    assert.equal(
      refuse({ ...manifest, version: 3 }),
      'manifest version 3 is not supported (this auditflow reads versions 1 and 2)',
    );
    assert.equal(
      refuse({ ...manifest, entries: [{ ...first, size: -1 }] }),
      'manifest entry 1 lacks path, size, sha256, prev or hash',
    );
    assert.equal(
      refuse({ ...manifest, format: 'zip' }),
      'manifest.json is not an auditflow case-file manifest (format is "zip")',
    );
    assert.match(refuse('{"format": '), /^manifest\.json is not valid JSON \(/);
    assert.equal(
      refuse(`[${'{},'.repeat(3000)}{}]`),
      "manifest.json has 6002 values in 9004 bytes, more than a case file's manifest has",
    );
  });
});

describe('writing and reading an archive', () => {
  it('round-trips every file with its size, sha256 and offset, keeps only manifest.json, and verifies intact', async () => {
    const { entries, kept } = await intact();
    let offset = 0;
    const expected = [...FILES, manifestFile(manifest)].map((f) => {
      const entry = { path: f.path, type: 'file', size: f.data.length, sha256: sha(f.data), offset };
      offset += 512 + Math.ceil(f.data.length / 512) * 512;
      return entry;
    });
    assert.deepEqual([...entries.values()], expected);
    assert.deepEqual(kept, manifestFile(manifest).data);
    const parsed = parseManifest(kept!);
    assert.deepEqual(parsed, { ok: true, manifest });
    assert.deepEqual(problems(manifest, entries, `  ${manifest.head.toUpperCase()}\n`), []);
  });

  it('writes the same bytes for the same files (fixed owner, mode and time)', () => {
    assert.deepEqual(writeTarGz(FILES, MTIME), writeTarGz(FILES, MTIME));
  });

  it('refuses an archive a tool could read two ways: a path twice, a second manifest, a path with ..', async () => {
    const [a] = FILES as [TarFile];
    const manifestBlocks = 512 + 512 * Math.ceil(manifestFile(manifest).data.length / 512);
    await assert.rejects(
      read([a, { ...a, data: Buffer.from('other') }]),
      tarError(`${a.path} appears twice in the archive (at bytes 0 and 1024); a case file has each path once`),
    );
    await assert.rejects(
      read([manifestFile(manifest), a, manifestFile(manifest)]),
      tarError(`a second manifest.json at byte ${manifestBlocks + 1024} (the first is at byte 0)`),
    );
    await assert.rejects(
      read([{ path: '../evil.sh', data: Buffer.from('x') }]),
      tarError("../evil.sh at byte 0 has a .. component; a case file's paths stay inside it"),
    );
  });

  it('refuses an edited tar header (checksum), a truncated archive and bytes that are not an archive', async () => {
    const tar = zlib.gunzipSync(writeTarGz(FILES.slice(0, 2), MTIME));
    const edited = Buffer.from(tar);
    edited[0] = 'R'.charCodeAt(0);
    await assert.rejects(read([], edited), tarError('not a tar archive (header checksum mismatch at byte 0)'));
    await assert.rejects(
      read([], tar.subarray(0, 530)),
      tarError(
        'truncated archive: the entry at byte 0 (reports/report.md) declares 40 bytes but the archive ends at byte 530',
      ),
    );
    await assert.rejects(
      read([], Buffer.from('hello, this is not a tar archive'.repeat(20))),
      tarError('not a tar archive (bad checksum field at byte 0)'),
    );
  });
});

describe('what verify names in a tampered case file', () => {
  const [e1, e2, e3, e4] = manifest.entries as [
    Manifest['entries'][0],
    Manifest['entries'][0],
    Manifest['entries'][0],
    Manifest['entries'][0],
  ];
  const broken = (n: number, p: string, prevOf: string, why: string) => [
    'chain',
    n,
    `manifest entry ${n} (${p}): chain broken, its previous-hash does not match entry ${n - 1} (${prevOf})${why}`,
  ];

  it('two swapped entries break the chain where the order changed, and say the entries were reordered', async () => {
    const { entries } = await intact();
    assert.deepEqual(problems({ ...manifest, entries: [e1, e3, e2, e4] }, entries), [
      broken(2, e3.path, e1.path, `; it is the hash of entry 3 (${e2.path}), so the entries were reordered`),
      broken(3, e2.path, e3.path, `; it is the hash of entry 1 (${e1.path}), so the entries were reordered`),
      broken(4, e4.path, e2.path, `; it is the hash of entry 2 (${e3.path}), so the entries were reordered`),
    ]);
    assert.deepEqual(problems({ ...manifest, entries: [e2, e1, e3, e4] }, entries), [
      [
        'chain',
        1,
        `manifest entry 1 (${e2.path}): chain broken, its previous-hash is not the genesis value; it is the hash of entry 2 (${e1.path}), so the entries were reordered`,
      ],
      broken(2, e1.path, e2.path, '; it is the genesis value, so the entries were reordered'),
      broken(3, e3.path, e1.path, `; it is the hash of entry 1 (${e2.path}), so the entries were reordered`),
    ]);
  });

  it('a removed entry breaks the chain after it and leaves its file extra; a removed file is missing', async () => {
    const { entries } = await intact();
    assert.deepEqual(problems({ ...manifest, entries: [e1, e3, e4] }, entries), [
      broken(2, e3.path, e1.path, '; no entry has that hash, so an entry was removed or edited'),
      ['extra', undefined, `${e2.path}: in the archive but not in the manifest`],
    ]);
    const without = await read([FILES[0]!, FILES[2]!, FILES[3]!, manifestFile(manifest)]);
    assert.deepEqual(problems(manifest, without.entries), [
      ['missing', 2, `${e2.path}: listed in the manifest (entry 2) but missing from the archive`],
    ]);
  });

  it('a changed byte in a file is named with both hashes; an edited entry no longer matches its own hash', async () => {
    const changed = FILES.map((f, i) =>
      i === 1 ? { ...f, data: Buffer.from(f.data.toString().replace('Please', 'Pleaze')) } : f,
    );
    const { entries } = await read([...changed, manifestFile(manifest)]);
    assert.deepEqual(problems(manifest, entries), [
      ['sha256', 2, `${e2.path}: sha256 is ${short(sha(changed[1]!.data))} but the manifest says ${short(e2.sha256)}`],
    ]);
    const honest = await intact();
    const fakeSha = sha('forged');
    assert.deepEqual(problems({ ...manifest, entries: [e1, { ...e2, sha256: fakeSha }, e3, e4] }, honest.entries), [
      [
        'entry-hash',
        2,
        `manifest entry 2 (${e2.path}): its hash is ${short(e2.hash)} but its fields give ${short(sha(`${e2.prev}\n${e2.path}\n${fakeSha}\n${e2.size}`))} (the entry was edited)`,
      ],
      ['sha256', 2, `${e2.path}: sha256 is ${short(e2.sha256)} but the manifest says ${short(fakeSha)}`],
    ]);
  });

  it('an edited header no longer gives the genesis; with the genesis rewritten too, the first entry no longer follows it', async () => {
    const { entries } = await intact();
    const edited = { ...manifest, demandId: 'other' };
    const computed = sha(`auditflow-case-file\n2\nother\n${HEADER.createdAt}\ntemporal`);
    assert.deepEqual(problems(edited, entries), [
      [
        'genesis',
        undefined,
        `manifest genesis is ${short(manifest.genesis)} but its header (demand id, export time, source) gives ${short(computed)}: the header was edited`,
      ],
    ]);
    assert.deepEqual(problems({ ...edited, genesis: computed }, entries), [
      [
        'chain',
        1,
        `manifest entry 1 (${e1.path}): chain broken, its previous-hash is not the genesis value; so the demand id, export time or source was edited, or the first entry removed`,
      ],
    ]);
  });

  it('a head other than the one noted down is named in full', async () => {
    const { entries } = await intact();
    const noted = sha('another case file');
    assert.deepEqual(problems(manifest, entries, noted), [
      ['expected-head', undefined, `the chain head is ${manifest.head} but you expected ${noted}`],
    ]);
  });
});
