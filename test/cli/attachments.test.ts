/**
 * The spec's `attachments` through the real CLI. Without a server: `validate` and `start` refuse a file
 * that is missing, a folder, empty, a pipe or over the limits (exit 2, naming the spec field and the file).
 * With the dev server, a real worker and a real SMTP server: `start` stores the files, the request arrives
 * with them intact, `plan --eml` previews carry them, and the case file holds their bytes (verify passes).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { simpleParser } from 'mailparser';
import YAML from 'yaml';
import type { DemandSpecInput } from '../../domain/demand';
import { ATTACHMENT_LIMITS } from '../../domain/limits';
import { sha256Hex } from '../../platform/hash';
import { ANY_HOUR, sampleSpec } from '../../dev/support/specs';
import { attachedHashes, noticeText, pdfLike } from '../helpers/attachment-files';
import { auditflow, ROOT, type RunResult } from '../helpers/cli';
import { cliHarness } from '../helpers/cli-harness';
import { arrived } from '../helpers/mail-log';

/** A spec file in `dir` attaching `attachments`, beside the files it names. */
function writeSpec(dir: string, id: string, attachments: DemandSpecInput['attachments']): string {
  const file = path.join(dir, `${id}.yaml`);
  fs.writeFileSync(file, YAML.stringify(sampleSpec(id, { calendar: ANY_HOUR, attachments })));
  return file;
}

describe('attachments refused at validate and start (no Temporal needed)', () => {
  let dir: string;
  // Nothing listens on port 9: a command that got as far as connecting would fail with exit 1, not 2.
  const env = { TEMPORAL_ADDRESS: '127.0.0.1:9', AUDITFLOW_SECRET: 'test-secret-0123456789abcdef0123456789abcdef' };
  const run = (...args: string[]): Promise<RunResult> =>
    auditflow(args, { ...env, AUDITFLOW_DATA_DIR: path.join(dir, 'data') });

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'auditflow-attach-cli-'));
    fs.mkdirSync(path.join(dir, 'notices'));
    fs.writeFileSync(path.join(dir, 'empty.pdf'), '');
    // Sparse: a file one byte over the limit that takes no room on disk.
    fs.writeFileSync(path.join(dir, 'huge.pdf'), '');
    fs.truncateSync(path.join(dir, 'huge.pdf'), ATTACHMENT_LIMITS.fileBytes + 1);
    for (const n of ['a', 'b']) {
      fs.writeFileSync(path.join(dir, `${n}.bin`), '');
      fs.truncateSync(path.join(dir, `${n}.bin`), 9 * 1024 * 1024);
    }
    spawnSync('mkfifo', [path.join(dir, 'pipe.pdf')]);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const cases: [string, string, RegExp][] = [
    ['missing.pdf', 'missing', /attachments\[0\]\.file: no such file: .*missing\.pdf/],
    ['notices', 'folder', /attachments\[0\]\.file: .*notices is a folder; name a file/],
    ['empty.pdf', 'empty', /attachments\[0\]\.file: .*empty\.pdf is empty/],
    ['pipe.pdf', 'pipe', /attachments\[0\]\.file: .*pipe\.pdf is not a regular file/],
    [
      'huge.pdf',
      'oversized',
      /attachments\[0\]\.file: .*huge\.pdf is 10,485,761 bytes, over the limit of 10,485,760 bytes \(10\.0 MiB\) per file/,
    ],
  ];
  for (const [name, what, why] of cases)
    it(`refuses a ${what} file at validate and at start, naming the field and the file`, async () => {
      const spec = writeSpec(dir, `refuse-${what}`, [{ file: name }]);
      for (const command of ['validate', 'start']) {
        const r = await run(command, spec);
        assert.equal(r.code, 2, `${command}: ${r.stdout}${r.stderr}`);
        assert.match(r.stderr, why, command);
        assert.doesNotMatch(r.stderr, /^\s+at .+:\d+:\d+\)?$/m, 'no stack trace');
      }
    });

  it('refuses files that together are over the limit of one message; the same files split over two messages pass', async () => {
    const both = writeSpec(dir, 'refuse-total', [{ file: 'a.bin' }, { file: 'b.bin' }]);
    const r = await run('validate', both, '--json');
    assert.equal(r.code, 2);
    assert.deepEqual(JSON.parse(r.stdout).problems, [
      {
        path: 'attachments',
        message:
          'the files attached to the request total 18.0 MiB, over the limit of 17.0 MiB per message (a message ' +
          'over 25 MB as sent is refused by most servers, and base64 adds a third): attach fewer files or send ' +
          'links',
      },
    ]);
    const split = writeSpec(dir, 'split', [{ file: 'a.bin' }, { file: 'b.bin', attachTo: ['final-notice'] }]);
    const ok = await run('validate', split);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(
      ok.stdout,
      /attachments: a\.bin \(9,437,184 bytes, with the request\); b\.bin \(9,437,184 bytes, with the final notice\)/,
    );
  });

  it('the example that sends files is valid, its files found beside it', async () => {
    const r = await run('validate', path.join(ROOT, 'examples', 'notice-of-breach.yaml'));
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /attachments: Notice of breach 2027-05-03\.pdf \([\d,]+ bytes, with the request and the final notice\); /,
    );
  });
});

describe('attachments sent through the CLI (dev server, real worker, real SMTP)', () => {
  const cli = cliHarness();
  const pdf = pdfLike();
  const text = noticeText();
  const hashes = { 'Notice of breach.pdf': sha256Hex(pdf), 'clause.txt': sha256Hex(text) };
  const id = `attach-${Date.now().toString(36)}`;
  let spec: string;

  before(() => {
    const dir = path.join(cli.h.config.dataDir, 'spec');
    fs.mkdirSync(path.join(dir, 'notices'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'notices', 'breach.pdf'), pdf);
    fs.writeFileSync(path.join(dir, 'clause.txt'), text);
    spec = writeSpec(dir, id, [
      { file: 'notices/breach.pdf', name: 'Notice of breach.pdf', attachTo: ['request', 'final-notice'] },
      { file: path.join(dir, 'clause.txt') },
    ]);
  });

  it('plan --eml: the previewed request carries the files, read from the local copies', async () => {
    const folder = path.join(cli.h.config.dataDir, 'preview');
    const r = await cli.run('plan', spec, '--eml', folder);
    assert.equal(r.code, 0, r.stderr);
    const previews = await Promise.all(
      fs.readdirSync(folder).map(async (f) => simpleParser(fs.readFileSync(path.join(folder, f)))),
    );
    const carried = previews
      .filter((m) => m.attachments.length)
      .map((m) => [
        m.headers.get('x-auditflow-kind'),
        Object.fromEntries(m.attachments.map((a) => [a.filename, sha256Hex(a.content)])),
      ]);
    assert.deepEqual(carried, [
      ['request', hashes],
      ['final-notice', { 'Notice of breach.pdf': hashes['Notice of breach.pdf'] }],
    ]);
  });

  it('start stores the files; the request arrives with them intact; the case file holds them and verifies', async () => {
    const r = await cli.run('start', spec, '--by', 'Dana Owner');
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      new RegExp(`attached: Notice of breach\\.pdf \\(sha256 ${hashes['Notice of breach.pdf'].slice(0, 12)}`),
    );
    const [request] = await arrived(
      cli.h,
      (m) => m.header('x-auditflow-demand') === id && m.header('x-auditflow-kind') === 'request',
      'the request',
    );
    assert.deepEqual(attachedHashes(request!), hashes);

    const w = await cli.run('withdraw', id, '--reason', 'settled', '--by', 'Dana Owner');
    assert.equal(w.code, 0, w.stderr);
    await cli.h.env.client.workflow.getHandle(`audit:${id}`).result();
    const out = path.join(cli.h.config.dataDir, 'case.tar.gz');
    const e = await cli.run('export', id, '--out', out);
    assert.equal(e.code, 0, e.stderr);
    assert.match(e.stdout, /2 files sent, manifest\.json/);
    const unpacked = path.join(cli.h.config.dataDir, 'unpacked');
    fs.mkdirSync(unpacked);
    execFileSync('tar', ['-xzf', out, '-C', unpacked]);
    assert.ok(fs.readFileSync(path.join(unpacked, 'files-sent', 'Notice_of_breach.pdf')).equals(pdf));
    assert.ok(fs.readFileSync(path.join(unpacked, 'files-sent', 'clause.txt')).equals(text));
    assert.match(fs.readFileSync(path.join(unpacked, 'reports', 'report.md'), 'utf8'), /## Files sent/);
    const v = await cli.run('verify', out);
    assert.equal(v.code, 0, v.stdout + v.stderr);
  });

  it('start --for stores the files once; the request of every row carries them intact', async () => {
    const rows = cli.write(
      'rows.csv',
      `id,organisation,primary_email,escalation_email\n${id}-a,Alpha Ltd,pat@alpha.example,gc@alpha.example\n` +
        `${id}-b,Beta Ltd,pat@beta.example,gc@beta.example\n`,
    );
    const r = await cli.run('start', spec, '--for', rows);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    for (const to of ['pat@alpha.example', 'pat@beta.example']) {
      const [request] = await arrived(
        cli.h,
        (m) => m.envelope.to.includes(to) && m.header('x-auditflow-kind') === 'request',
        `the request to ${to}`,
      );
      assert.deepEqual(attachedHashes(request!), hashes);
    }
  });
});
