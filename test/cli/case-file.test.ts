/**
 * The case file, end to end: `auditflow export` of a demand answered through the real gateway and the
 * `record` command (dev server, real worker, real SMTP), opened with the system's own `tar`; then
 * `auditflow verify` on the intact file and on copies tampered with as the issue requires (one byte
 * changed, one file removed, two manifest entries swapped), each reported precisely with exit 1.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Manifest } from '../../cli/case-file/manifest';
import { answeredDemand, endByWithdrawal, type AnsweredDemand } from '../helpers/answered-demand';
import { startTestGateway, type TestGateway } from '../helpers/gateway';
import { harness, type Harness } from '../../dev/support/harness';
import { dnsFor, resolverFor } from '../../dev/support/mail-auth';

const sha = (b: Buffer | string) => crypto.createHash('sha256').update(b).digest('hex');
const short = (h: string) => `${h.slice(0, 12)}...`;

describe('auditflow export and verify (dev server, real worker, SMTP gateway)', () => {
  let h: Harness;
  let gw: TestGateway;
  let d: AnsweredDemand;
  let work: string;
  let caseFile: string;
  let head: string;
  let manifest: Manifest;
  let n = 0;

  /** Unpacks an archive with the system's tar into a fresh folder. */
  const unpack = (archive: string): string => {
    const dir = path.join(work, `unpacked-${++n}`);
    fs.mkdirSync(dir);
    execFileSync('tar', ['-xzf', archive, '-C', dir]);
    return dir;
  };
  /** Packs a folder again with the system's tar, as someone editing a case file by hand would. */
  const repack = (dir: string): string => {
    const out = path.join(work, `repacked-${n}.tar.gz`);
    execFileSync('tar', ['-czf', out, '-C', dir, '.']);
    return out;
  };
  const entryOf = (p: string) => manifest.entries.findIndex((e) => e.path === p) + 1;

  before(async () => {
    h = await harness('dev');
    gw = await startTestGateway(h, resolverFor(dnsFor(['acme.example'])));
    d = await answeredDemand(h, gw, 'case');
    await endByWithdrawal(h, d);
    work = path.join(h.config.dataDir, 'case-files');
    fs.mkdirSync(work);
    caseFile = path.join(work, 'case.tar.gz');
  });
  after(async () => {
    await gw.close();
    await h.close();
  });

  it('export: a tar.gz any tar opens, with the report, every .eml sent and received, the attachments and a chained manifest', async () => {
    const r = await d.run('export', d.id, '--out', caseFile);
    assert.equal(r.code, 0, r.stderr);
    head = /chain head: ([0-9a-f]{64})\n/.exec(r.stdout)?.[1] ?? '';
    assert.ok(head, r.stdout);
    assert.match(r.stdout, /3 report files, \d+ emails, 2 attachments, manifest\.json \(\d+ entries\)/);
    assert.ok(r.stdout.includes(`npx auditflow verify ${caseFile} --expect-head ${head}`));

    const listed = execFileSync('tar', ['-tzf', caseFile], { encoding: 'utf8' }).trim().split('\n');
    const dir = unpack(caseFile);
    manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Manifest;
    assert.deepEqual(listed, [...manifest.entries.map((e) => e.path), 'manifest.json']);
    assert.deepEqual(listed.slice(0, 3), ['reports/report.md', 'reports/report.html', 'reports/report.json']);
    assert.ok(
      listed.includes('attachments/xbox/inventory.pdf') && listed.includes('attachments/psn/letter.pdf'),
      listed.join('\n'),
    );
    assert.deepEqual(fs.readFileSync(path.join(dir, 'attachments/xbox/inventory.pdf')), d.inventory);
    assert.deepEqual(fs.readFileSync(path.join(dir, 'attachments/psn/letter.pdf')), d.letter);

    // Every message the SMTP server received is in the case file byte for byte, and so is the reply.
    const mail = listed.filter((p) => p.startsWith('mail/'));
    const sent = mail.filter((p) => /^mail\/\d{4}-sent-/.test(p)).map((p) => sha(fs.readFileSync(path.join(dir, p))));
    assert.deepEqual(sent.sort(), h.sink.messages.map((m) => sha(m.raw)).sort());
    const received = mail.filter((p) => /^mail\/\d{4}-received-/.test(p));
    assert.deepEqual(
      received.map((p) => p.replace(/^mail\/\d{4}-/, '')),
      ['received-answer-pat@acme.example.eml'],
    );
    assert.deepEqual(fs.readFileSync(path.join(dir, received[0]!)), d.replyRaw);
    assert.match(mail[0]!, /^mail\/0001-sent-request-pat@acme\.example\.eml$/);

    const report = JSON.parse(fs.readFileSync(path.join(dir, 'reports/report.json'), 'utf8')) as {
      version: number;
      demand: { id: string };
      outcome: { status: string };
    };
    assert.deepEqual([report.version, report.demand.id, report.outcome.status], [1, d.id, 'withdrawn']);
    assert.ok(fs.readFileSync(path.join(dir, 'reports/report.html'), 'utf8').includes(sha(d.inventory)));

    // The chain, recomputed from its definition (README, manifest version 2): the genesis is the hash of
    // the header, hash = sha256(prev \n path \n sha256 \n size), and the first prev is the genesis.
    assert.deepEqual([manifest.version, manifest.demandId, manifest.source], [2, d.id, 'workflow']);
    let prev = sha(`auditflow-case-file\n2\n${manifest.demandId}\n${manifest.createdAt}\n${manifest.source}`);
    assert.equal(manifest.genesis, prev);
    for (const e of manifest.entries) {
      const data = fs.readFileSync(path.join(dir, e.path));
      assert.equal(e.sha256, sha(data), e.path);
      assert.equal(e.size, data.length, e.path);
      assert.equal(e.prev, prev, e.path);
      assert.equal(e.hash, sha(`${prev}\n${e.path}\n${e.sha256}\n${e.size}`), e.path);
      prev = e.hash;
    }
    assert.equal(manifest.head, prev);
    assert.equal(head, prev);
  });

  it('verify: an intact case file (and one repacked by tar) exits 0; a wrong --expect-head or an added file exits 1', async () => {
    const ok = await d.run('verify', caseFile, '--expect-head', head);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.equal(
      ok.stdout,
      `${caseFile}: intact. ${manifest.entries.length} files match the manifest and the chain (demand ${d.id}, exported ${manifest.createdAt})\n  chain head: ${head}\n`,
    );
    const dir = unpack(caseFile);
    assert.equal(
      (await d.run('verify', repack(dir))).code,
      0,
      'a copy unpacked and packed again by GNU tar still verifies',
    );

    const wrong = await d.run('verify', caseFile, '--expect-head', 'f'.repeat(64), '--json');
    assert.equal(wrong.code, 1);
    const report = JSON.parse(wrong.stdout) as {
      ok: boolean;
      head: string;
      problems: { kind: string; message: string }[];
    };
    assert.equal(report.ok, false);
    assert.deepEqual(
      report.problems.map((p) => [p.kind, p.message]),
      [['expected-head', `the chain head is ${head} but you expected ${'f'.repeat(64)}`]],
    );

    fs.writeFileSync(path.join(dir, 'reports', 'notes.txt'), 'added later');
    const extra = await d.run('verify', repack(dir));
    assert.equal(extra.code, 1);
    assert.match(extra.stdout, /\n {2}reports\/notes\.txt: in the archive but not in the manifest\n$/);
  });

  it('verify: an edited demand id in manifest.json no longer matches the genesis (exit 1)', async () => {
    const dir = unpack(caseFile);
    fs.writeFileSync(
      path.join(dir, 'manifest.json'),
      JSON.stringify({ ...manifest, demandId: 'another-demand' }, null, 2),
    );
    const r = await d.run('verify', repack(dir), '--json');
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const report = JSON.parse(r.stdout) as { demandId: string; problems: { kind: string }[] };
    assert.deepEqual(
      report.problems.map((p) => p.kind),
      ['genesis'],
    );
  });

  it('verify: one changed byte in a stored email is named with both hashes (exit 1)', async () => {
    const dir = unpack(caseFile);
    const target = manifest.entries.find((e) => /^mail\/\d{4}-received-answer/.test(e.path))!;
    const file = path.join(dir, target.path);
    const bytes = fs.readFileSync(file);
    const at = Math.floor(bytes.length / 2);
    bytes[at] = bytes[at]! ^ 0x01;
    fs.writeFileSync(file, bytes);
    const r = await d.run('verify', repack(dir));
    assert.equal(r.code, 1);
    assert.equal(
      r.stdout.split('\n').slice(1).join('\n'),
      `  ${target.path}: sha256 is ${short(sha(bytes))} but the manifest says ${short(target.sha256)}\n`,
    );
    assert.match(r.stdout, /: 1 problem \(demand /);
  });

  it('verify: one removed file is named with its manifest entry (exit 1)', async () => {
    const dir = unpack(caseFile);
    fs.rmSync(path.join(dir, 'attachments/psn/letter.pdf'));
    const r = await d.run('verify', repack(dir));
    assert.equal(r.code, 1);
    assert.equal(
      r.stdout.split('\n').slice(1).join('\n'),
      `  attachments/psn/letter.pdf: listed in the manifest (entry ${entryOf('attachments/psn/letter.pdf')}) but missing from the archive\n`,
    );
  });

  it('verify: two manifest entries swapped break the chain where the order changed (exit 1)', async () => {
    const dir = unpack(caseFile);
    const edited = structuredClone(manifest);
    const [a, b] = [edited.entries[3]!, edited.entries[4]!];
    edited.entries[3] = b;
    edited.entries[4] = a;
    fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(edited, null, 2));
    const r = await d.run('verify', repack(dir));
    assert.equal(r.code, 1);
    const p = (i: number) => manifest.entries[i - 1]!.path;
    assert.equal(
      r.stdout.split('\n').slice(1).join('\n'),
      [
        `  manifest entry 4 (${p(5)}): chain broken, its previous-hash does not match entry 3 (${p(3)}); it is the hash of entry 5 (${p(4)}), so the entries were reordered`,
        `  manifest entry 5 (${p(4)}): chain broken, its previous-hash does not match entry 4 (${p(5)}); it is the hash of entry 3 (${p(3)}), so the entries were reordered`,
        `  manifest entry 6 (${p(6)}): chain broken, its previous-hash does not match entry 5 (${p(4)}); it is the hash of entry 4 (${p(5)}), so the entries were reordered`,
        '',
      ].join('\n'),
    );
  });

  it('verify: input that is not a case file exits 2 and says why', async () => {
    const text = path.join(work, 'notes.txt');
    fs.writeFileSync(
      text,
      'not an archive at all, just some text that is long enough to fill a tar header block '.repeat(10),
    );
    const a = await d.run('verify', text);
    assert.equal(a.code, 2);
    assert.match(a.stderr, /is not a readable case file: not a tar archive \(bad checksum field at byte 0\)/);
    const dir = path.join(work, 'no-manifest');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'report.md'), '# hello');
    const bare = path.join(work, 'bare.tar.gz');
    execFileSync('tar', ['-czf', bare, '-C', dir, '.']);
    const b = await d.run('verify', bare, '--json');
    assert.equal(b.code, 2);
    assert.match(
      (JSON.parse(b.stdout) as { error: string }).error,
      /is not a readable case file: it has no manifest\.json/,
    );
    const truncated = path.join(work, 'truncated.tar.gz');
    fs.writeFileSync(truncated, fs.readFileSync(caseFile).subarray(0, 200));
    const c = await d.run('verify', truncated);
    assert.equal(c.code, 2);
    assert.match(c.stderr, /is not a readable case file: cannot decompress: unexpected end of file/);
    const missing = await d.run('verify', path.join(work, 'nope.tar.gz'));
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read .*nope\.tar\.gz: ENOENT/);
  });

  it('export: a stored object missing from the evidence store is an error naming it, and no case file is written', async () => {
    const bad = await d.run('export', d.id, '--out', path.join(work, 'x.zip'));
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /zip case files are not supported; use --out <name>\.tar\.gz/);

    const digest = sha(d.inventory);
    const object = path.join(h.config.dataDir, 'evidence', 'sha256', digest.slice(0, 2), digest.slice(2, 4), digest);
    fs.rmSync(object);
    const out = path.join(work, 'incomplete.tar.gz');
    const r = await d.run('export', d.id, '--out', out);
    assert.equal(r.code, 1);
    assert.ok(
      r.stderr.includes(
        `cannot export demand "${d.id}": 1 stored object(s) missing or damaged in the evidence store, so the case file would be incomplete:\n  attachments/xbox/inventory.pdf: evidence object ${digest} (attachment of answer `,
      ),
      r.stderr,
    );
    assert.ok(r.stderr.includes(`named "inventory.pdf") not found at ${object}`), r.stderr);
    assert.equal(fs.existsSync(out), false);
  });
});
