/**
 * `auditflow verify` on hostile case files, run as a child process like a user runs it: archives are
 * built here byte by byte (tar headers, pax records, gzip streamed from zeros) and the chain is computed
 * from the README's formula, not from auditflow's code. Each must end quickly with a clear exit status,
 * within bounded memory, and print nothing from the archive raw to the terminal.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, it, type TestContext } from 'node:test';
import zlib from 'node:zlib';
import { auditflow, ROOT, type RunResult } from '../helpers/cli';

const BLOCK = 512;
const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
const sha = (b: Buffer | string) => crypto.createHash('sha256').update(b).digest('hex');
/** A run longer than this is a hang: the child is killed and the test fails with "did not finish". */
const HANG_MS = 60_000;
/** Peak resident memory a verify process may reach, whatever the archive (node and tsx alone take ~100 MB). */
const MAX_RSS_MB = 300;

/** A part of an archive: bytes, or that many zero bytes produced on the fly. */
type Part = Buffer | { zeros: number };

/** A 512-byte tar header; `size` may be the raw 12 bytes of the size field, to write malformed ones. */
function header(name: string, size: number | Buffer, type = '0'): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, 100, 'utf8');
  h.write('0000644\0', 100, 8, 'ascii');
  h.write('0000000\0', 108, 8, 'ascii');
  h.write('0000000\0', 116, 8, 'ascii');
  if (typeof size === 'number') h.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 12, 'ascii');
  else size.copy(h, 124, 0, 12);
  h.write('15000000000\0', 136, 12, 'ascii');
  h.fill(' ', 148, 156);
  h.write(type, 156, 1, 'ascii');
  h.write('ustar\u000000', 257, 8, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return h;
}
const padding = (n: number) => Buffer.alloc((BLOCK - (n % BLOCK)) % BLOCK);
/** A file entry; a name longer than the header's 100 bytes goes in a pax `path` record first, as GNU tar does. */
function entry(name: string, data: Buffer | string, type = '0'): Buffer {
  const bytes = Buffer.from(data);
  const long = Buffer.byteLength(name) > 100 ? [pax([`path=${name}`])] : [];
  return Buffer.concat([...long, header(name, bytes.length, type), bytes, padding(bytes.length)]);
}
/** A pax record "<len> key=value\n" whose length counts itself. */
function paxRecord(kv: string): string {
  const body = ` ${kv}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
  return `${len}${body}`;
}
/** A pax extended header entry; records given as text are used as they are (to write malformed ones). */
function pax(records: string[] | string): Buffer {
  const data = Buffer.from(typeof records === 'string' ? records : records.map(paxRecord).join(''));
  return Buffer.concat([header('PaxHeader', data.length, 'x'), data, padding(data.length)]);
}
const END = Buffer.alloc(BLOCK * 2);
const base256 = (n: bigint, negative = false) => {
  const field = Buffer.alloc(12, negative ? 0xff : 0);
  for (let i = 11, v = n; i > 0 && v > 0n; i--, v >>= 8n) field[i] = Number(v & 0xffn);
  field[0] = negative ? 0xff : 0x80;
  return field;
};

/** The manifest header a case file is exported with, unless a test changes it. */
const HEADER = { demandId: 'acme-audit-2027', createdAt: '2027-06-08T09:00:00.000Z', source: 'workflow' };
type Header = typeof HEADER;
interface CaseEntry {
  path: string;
  size: number;
  sha256: string;
  prev: string;
  hash: string;
}
interface CaseManifest extends Header {
  format: string;
  version: number;
  algorithm: string;
  genesis: string;
  entries: CaseEntry[];
  head: string;
}

/** The README's genesis: 64 zeros in version 1, sha256 of the header in version 2. */
const genesisOf = (h: Header, version: number) =>
  version === 1 ? '0'.repeat(64) : sha(`auditflow-case-file\n2\n${h.demandId}\n${h.createdAt}\n${h.source}`);

/** The README's manifest for files given by path, size and sha256. */
function manifestOf(
  files: { path: string; size: number; sha256: string }[],
  h: Header = HEADER,
  version = 2,
): CaseManifest {
  let prev = genesisOf(h, version);
  const entries = files.map((f) => {
    const e = { ...f, prev, hash: sha(`${prev}\n${f.path}\n${f.sha256}\n${f.size}`) };
    prev = e.hash;
    return e;
  });
  return {
    format: 'auditflow-case-file',
    version,
    ...h,
    algorithm: 'sha256',
    genesis: genesisOf(h, version),
    entries,
    head: prev,
  };
}
const describeFiles = (files: { path: string; data: Buffer | string }[]) =>
  files.map((f) => ({ path: f.path, size: Buffer.byteLength(f.data), sha256: sha(f.data) }));
/** manifest.json as exported (2-space JSON), or exactly the text given. */
const manifestEntry = (m: unknown) =>
  entry('manifest.json', typeof m === 'string' ? m : `${JSON.stringify(m, null, 2)}\n`);
/** An ordinary small case file: three reports and a mail. */
const FILES = [
  { path: 'reports/report.md', data: '# Report\n' },
  { path: 'reports/report.html', data: '<h1>Report</h1>\n' },
  { path: 'reports/report.json', data: '{"version":1}\n' },
  { path: 'mail/0001-sent-request-pat@acme.example.eml', data: 'Subject: request\r\n\r\nPlease answer.\r\n' },
];
/** The tar parts of a case file: its files, then manifest.json (edited by `edit` if given). */
function caseParts(files = FILES, edit?: (m: CaseManifest) => unknown, h: Header = HEADER, version = 2): Buffer[] {
  const m = manifestOf(describeFiles(files), h, version);
  return [...files.map((f) => entry(f.path, f.data)), manifestEntry(edit ? (edit(m) ?? m) : m)];
}

describe('auditflow verify on hostile case files (real CLI, hand-built archives)', () => {
  let dir: string;
  let n = 0;
  /** Writes an archive gzipped as a stream, so gigabytes of zeros never sit in memory. */
  async function archive(parts: Part[]): Promise<string> {
    const file = path.join(dir, `case-${++n}.tar.gz`);
    const zeros = Buffer.alloc(MiB);
    async function* bytes(): AsyncGenerator<Buffer> {
      for (const p of [...parts, END]) {
        if (Buffer.isBuffer(p)) yield p;
        else
          for (let left = p.zeros; left > 0; left -= zeros.length)
            yield left >= zeros.length ? zeros : zeros.subarray(0, left);
      }
    }
    await pipeline(Readable.from(bytes()), zlib.createGzip({ level: 9 }), fs.createWriteStream(file));
    return file;
  }
  const verify = (...args: string[]): Promise<RunResult> => auditflow(['verify', ...args], {}, HANG_MS);

  /** Runs verify and samples its peak resident memory (VmHWM) from /proc until it exits. */
  function measured(t: TestContext, what: string, ...args: string[]): Promise<RunResult & { peakMb: number }> {
    return new Promise((resolve, reject) => {
      const started = Date.now();
      const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'auditflow.js'), 'verify', ...args], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      let peakKb = 0;
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      const sample = () => {
        try {
          const kb = Number(/VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0);
          peakKb = Math.max(peakKb, kb);
        } catch {
          // The process has just exited; its last sample stands.
        }
      };
      const sampler = setInterval(sample, 10);
      const killer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(
          new Error(
            `verify ${args.join(' ')} did not finish within ${HANG_MS} ms (peak ${Math.round(peakKb / 1024)} MB)\n${stdout}\n${stderr}`,
          ),
        );
      }, HANG_MS);
      // 'close', not 'exit': the report of 60,000 problems may still be in the pipe when the process exits.
      child.once('close', (code) => {
        clearInterval(sampler);
        clearTimeout(killer);
        const peakMb = Math.round(peakKb / 1024);
        t.diagnostic(`${what}: exit ${code}, peak RSS ${peakMb} MB, ${Date.now() - started} ms`);
        resolve({ code, stdout, stderr, peakMb });
      });
    });
  }

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'verify-hostile-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('an ordinary hand-built version-2 case file is intact, and shows its demand and export time', async () => {
    const r = await verify(await archive(caseParts()));
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const head = manifestOf(describeFiles(FILES)).head;
    assert.match(
      r.stdout,
      new RegExp(
        `: intact\\. 4 files match the manifest and the chain \\(demand acme-audit-2027, exported 2027-06-08T09:00:00\\.000Z\\)\\n  chain head: ${head}\\n$`,
      ),
    );
    // GNU tar writes sizes of 8 GiB and more in base-256: a valid encoding, read as such.
    const [md, ...rest] = caseParts();
    const data = Buffer.from(FILES[0]!.data);
    const base256Md = Buffer.concat([header(FILES[0]!.path, base256(BigInt(data.length))), md!.subarray(BLOCK)]);
    assert.equal((await verify(await archive([base256Md, ...rest]))).code, 0);
  });

  it('malformed tar numbers and pax records end with exit 2 naming the problem and its byte offset', async () => {
    const first = entry('reports/report.md', '# Report\n');
    const cases: [string, Buffer[], RegExp][] = [
      [
        'pax size=-1',
        [first, pax(['size=-1']), entry('reports/x.txt', 'x')],
        /bad pax extended header at byte 1024: size "-1" is not a whole number of bytes \(record at byte 1536\)/,
      ],
      [
        'pax size=-1537 (steps back onto its own header)',
        [first, pax(['size=-1537']), entry('reports/x.txt', 'x')],
        /bad pax extended header at byte 1024: size "-1537"/,
      ],
      [
        'pax size=0x10',
        [pax(['size=0x10']), entry('reports/x.txt', 'x')],
        /bad pax extended header at byte 0: size "0x10"/,
      ],
      [
        'pax size past 2^53',
        [pax(['size=99999999999999999999']), entry('reports/x.txt', 'x')],
        /bad pax extended header at byte 0: size "99999999999999999999"/,
      ],
      [
        'pax size past the end',
        [pax(['size=4096']), entry('reports/x.txt', 'x')],
        /truncated archive: the entry at byte 1024 \(reports\/x\.txt\) declares 4096 bytes but the archive ends at byte 3072/,
      ],
      [
        'pax record length 0',
        [pax('0 size=1\n'), entry('reports/x.txt', 'x')],
        /bad pax extended header at byte 0: the record at byte 512 has length "0"/,
      ],
      [
        'pax record length -5',
        [pax('-5 size=1\n'), entry('reports/x.txt', 'x')],
        /bad pax extended header at byte 0: the record at byte 512 has length "-5"/,
      ],
      [
        'pax record length past the end',
        [pax('999 size=1\n'), entry('reports/x.txt', 'x')],
        /bad pax extended header at byte 0: the record at byte 512 says it is 999 bytes long but only 11 are left/,
      ],
      [
        'pax record without a length',
        [pax('size=1\n'), entry('reports/x.txt', 'x')],
        /bad pax extended header at byte 0: the record at byte 512 has no length/,
      ],
      [
        'non-octal size',
        [first, header('reports/x.txt', Buffer.from('0000001x234\0'))],
        /not a tar archive \(bad size field at byte 1024: "0000001x234"\)/,
      ],
      [
        'negative base-256 size',
        [first, header('reports/x.txt', base256(1n, true))],
        /not a tar archive \(bad size field at byte 1024: a negative base-256 number\)/,
      ],
      [
        'base-256 size past 2^53',
        [header('reports/x.txt', base256(1n << 60n))],
        /not a tar archive \(bad size field at byte 0: 1152921504606846976 bytes is more than any archive holds\)/,
      ],
      [
        'base-256 size past the end',
        [first, header('reports/x.txt', base256(1n << 40n))],
        /truncated archive: the entry at byte 1024 \(reports\/x\.txt\) declares 1099511627776 bytes but the archive ends at byte 2560/,
      ],
      [
        'octal size past the end',
        [first, header('reports/x.txt', 5000)],
        /truncated archive: the entry at byte 1024 \(reports\/x\.txt\) declares 5000 bytes but the archive ends at byte 2560/,
      ],
    ];
    for (const [what, parts, message] of cases) {
      const r = await verify(await archive(parts));
      assert.equal(r.code, 2, `${what}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /is not a readable case file: /, what);
      assert.match(r.stderr, message, what);
    }
  });

  it('an archive that is not a well-formed case file is exit 2: no files, a second manifest.json, a duplicate, a .. path', async () => {
    const cases: [string, Buffer[], RegExp][] = [
      [
        'empty manifest',
        caseParts(FILES, (m) => ({ ...m, entries: [], head: m.genesis })),
        /manifest\.json lists no files/,
      ],
      [
        'second manifest.json',
        [...caseParts(), manifestEntry(manifestOf([]))],
        /a second manifest\.json at byte \d+ \(the first is at byte \d+\)/,
      ],
      [
        'duplicate file',
        [...caseParts(), entry('reports/report.md', '# Changed\n')],
        /reports\/report\.md appears twice in the archive \(at bytes 0 and \d+\)/,
      ],
      [
        'duplicate under another spelling',
        [...caseParts(), entry('./reports//report.md', '# Changed\n')],
        /reports\/report\.md appears twice in the archive/,
      ],
      [
        'a path leaving the folder',
        [...caseParts(), entry('reports/../../etc/passwd', 'x')],
        /reports\/\.\.\/\.\.\/etc\/passwd at byte \d+ has a \.\. component/,
      ],
      [
        'manifest.json is a directory',
        [...FILES.map((f) => entry(f.path, f.data)), entry('manifest.json/', '', '5')],
        /manifest\.json is a directory in the archive, not a file/,
      ],
      [
        'a manifest listing one path twice',
        caseParts(FILES, () => manifestOf(describeFiles([...FILES, FILES[0]!]))),
        /manifest\.json lists reports\/report\.md twice \(entries 1 and 5\)/,
      ],
      [
        'a line break in the demand id',
        caseParts(FILES, undefined, { ...HEADER, demandId: 'acme\n2027' }),
        /manifest\.json: demandId contains a line break/,
      ],
    ];
    for (const [what, parts, message] of cases) {
      const r = await verify(await archive(parts));
      assert.equal(r.code, 2, `${what}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /is not a readable case file: /, what);
      assert.match(r.stderr, message, what);
    }
  });

  it('an edited demand id, export time or source is detected: the version-2 chain starts from the header', async () => {
    const kinds = async (edit: (m: CaseManifest) => unknown) => {
      const r = await verify(await archive(caseParts(FILES, edit)), '--json');
      assert.equal(r.code, 1, r.stdout + r.stderr);
      return (JSON.parse(r.stdout) as { problems: { kind: string; entry?: number; message: string }[] }).problems;
    };
    for (const edit of [
      { demandId: 'other-audit-2027' },
      { createdAt: '2030-01-01T00:00:00.000Z' },
      { source: 'final-report' },
    ]) {
      const problems = await kinds((m) => ({ ...m, ...edit }));
      assert.deepEqual(
        problems.map((p) => p.kind),
        ['genesis'],
        JSON.stringify(edit),
      );
      assert.match(
        problems[0]!.message,
        /^manifest genesis is [0-9a-f]{12}\.\.\. but its header \(demand id, export time, source\) gives [0-9a-f]{12}\.\.\.: the header was edited$/,
      );
    }
    // An editor who also recomputes the genesis field still breaks the chain at its first entry.
    const problems = await kinds((m) => {
      const edited = { ...m, demandId: 'other-audit-2027' };
      return { ...edited, genesis: genesisOf(edited, 2) };
    });
    assert.deepEqual(
      problems.map((p) => [p.kind, p.entry]),
      [['chain', 1]],
    );
    assert.match(
      problems[0]!.message,
      /its previous-hash is not the genesis value; so the demand id, export time or source was edited/,
    );
  });

  it('a version-1 case file still verifies, but its demand id and export time are not shown as fact', async () => {
    const file = await archive(caseParts(FILES, undefined, HEADER, 1));
    const r = await verify(file);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.ok(!r.stdout.includes('(demand acme-audit-2027'), r.stdout);
    assert.match(r.stdout, /: intact\. 4 files match the manifest and the chain\n {2}chain head: [0-9a-f]{64}\n/);
    assert.match(
      r.stdout,
      /version-1 case file: its chain does not cover the demand id and export time, so they are unverified \(the manifest claims demand acme-audit-2027, exported 2027-06-08T09:00:00\.000Z\)/,
    );
    const json = JSON.parse((await verify(file, '--json')).stdout) as Record<string, unknown>;
    assert.deepEqual(
      [json.ok, json.version, json.demandId, json.createdAt, json.unverified],
      [true, 1, null, null, HEADER],
    );
  });

  it('control characters from the archive never reach the terminal raw; --json stays exact', async (t) => {
    const evil = 'reports/\x1b[1A\x1b[2K\r\x1b[32mintact\x1b[0m\x07.txt';
    const evilPax = 'reports/\u009b2K\u202etxt.exe\u2066\x7f\x00.pdf';
    const parts = [...caseParts(), entry(evil, 'a'), pax([`path=${evilPax}`]), entry('reports/placeholder', 'b')];
    // eslint-disable-next-line no-control-regex -- the characters a terminal would act on, which must not appear
    const raw = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
    const file = await archive(parts);
    const text = await verify(file);
    assert.equal(text.code, 1, text.stderr);
    assert.doesNotMatch(text.stdout + text.stderr, raw);
    assert.ok(
      text.stdout.includes(
        '  reports/\\x1b[1A\\x1b[2K\\x0d\\x1b[32mintact\\x1b[0m\\x07.txt: in the archive but not in the manifest\n',
      ),
      text.stdout,
    );
    assert.ok(
      text.stdout.includes(
        '  reports/\\x9b2K\\u202etxt.exe\\u2066\\x7f\\x00.pdf: in the archive but not in the manifest\n',
      ),
      text.stdout,
    );
    const json = await verify(file, '--json');
    assert.doesNotMatch(json.stdout, raw);
    const problems = (JSON.parse(json.stdout) as { problems: { kind: string; path: string }[] }).problems;
    assert.deepEqual(
      problems.map((p) => [p.kind, p.path]),
      [
        ['extra', evil],
        ['extra', evilPax],
      ],
    );
    t.diagnostic(
      '--json escapes C1, DEL, bidi and line separators as \\u sequences too: JSON.parse gives the exact path back',
    );

    const hostileId = { ...HEADER, demandId: 'acme\x1b]0;owned\x07\u202e' };
    const intact = await verify(await archive(caseParts(FILES, undefined, hostileId)));
    assert.equal(intact.code, 0, intact.stderr);
    assert.doesNotMatch(intact.stdout, raw);
    assert.ok(intact.stdout.includes('(demand acme\\x1b]0;owned\\x07\\u202e, exported'), intact.stdout);
    const dup = await verify(await archive([...caseParts(), entry(evil, 'a'), entry(evil, 'b')]));
    assert.equal(dup.code, 2);
    assert.doesNotMatch(dup.stderr, raw);
    assert.match(dup.stderr, /reports\/\\x1b\[1A.*appears twice/);
  });

  it('a manifest of 60,000 entries verifies in one linear pass, intact or with every entry out of order', async (t) => {
    const files = Array.from({ length: 60_000 }, (_, i) => ({
      path: `mail/${String(i + 1).padStart(5, '0')}-received-answer.eml`,
      data: `message ${i}\n`,
    }));
    const intact = await measured(t, '60,000 entries, intact', await archive(caseParts(files)));
    assert.equal(intact.code, 0, intact.stderr);
    assert.match(intact.stdout, /: intact\. 60000 files match the manifest and the chain/);
    assert.ok(intact.peakMb < MAX_RSS_MB, `peak RSS ${intact.peakMb} MB`);

    const reversed = await measured(
      t,
      '60,000 entries, reversed',
      await archive(caseParts(files, (m) => ({ ...m, entries: [...m.entries].reverse() }))),
    );
    assert.equal(reversed.code, 1, reversed.stderr);
    assert.match(reversed.stdout, /: 60001 problems \(demand acme-audit-2027, 60000 entries\)\n/);
    assert.ok(
      reversed.stdout.includes(
        `  manifest entry 1 (${files[59_999]!.path}): chain broken, its previous-hash is not the genesis value; it is the hash of entry 2 (${files[59_998]!.path}), so the entries were reordered\n`,
      ),
    );
    assert.ok(
      reversed.stdout.includes(
        `  manifest entry 60000 (${files[0]!.path}): chain broken, its previous-hash does not match entry 59999 (${files[1]!.path}); it is the genesis value, so the entries were reordered\n`,
      ),
    );
    assert.ok(reversed.peakMb < MAX_RSS_MB, `peak RSS ${reversed.peakMb} MB`);
  });

  it('memory stays bounded: a 1 GiB attachment, a gzip bomb, a manifest of tiny values, 300,001 entries', async (t) => {
    if (!fs.existsSync('/proc/self/status')) return t.skip('needs /proc to measure peak memory');
    const zeros = crypto.createHash('sha256');
    for (let i = 0; i < 1024; i++) zeros.update(Buffer.alloc(MiB));
    const big = { path: 'attachments/atlas/big.bin', size: GiB, sha256: zeros.digest('hex') };
    const m = manifestOf([...describeFiles(FILES), big]);
    const huge = await archive([
      ...FILES.map((f) => entry(f.path, f.data)),
      header(big.path, big.size),
      { zeros: big.size },
      manifestEntry(m),
    ]);
    const ok = await measured(t, 'a 1 GiB attachment', huge);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.ok(ok.peakMb < MAX_RSS_MB, `peak RSS ${ok.peakMb} MB`);

    // A few MB of gzip that inflate to 2.5 GiB: one entry that claims 8 GiB, then zeros.
    const bomb = await archive([header('attachments/atlas/bomb.bin', 8 * GiB - 1), { zeros: 2.5 * GiB }]);
    t.diagnostic(`gzip bomb: ${fs.statSync(bomb).size} bytes of gzip`);
    const ended = await measured(t, 'gzip bomb, default --max-bytes', bomb);
    assert.equal(ended.code, 2);
    assert.match(
      ended.stderr,
      /truncated archive: the entry at byte 0 \(attachments\/atlas\/bomb\.bin\) declares 8589934591 bytes but the archive ends at byte 2684356096/,
    );
    assert.ok(ended.peakMb < MAX_RSS_MB, `peak RSS ${ended.peakMb} MB`);
    const capped = await measured(t, 'gzip bomb, --max-bytes 1GiB', bomb, '--max-bytes', '1GiB');
    assert.equal(capped.code, 2);
    assert.match(
      capped.stderr,
      /is not a readable case file: it holds more than 1073741824 bytes once decompressed \(the --max-bytes limit\)/,
    );
    assert.ok(capped.peakMb < MAX_RSS_MB, `peak RSS ${capped.peakMb} MB`);

    const padded = manifestEntry(
      `${JSON.stringify(manifestOf(describeFiles(FILES))).slice(0, -1)},"padding":[${'0,'.repeat(15 * MiB)}0]}`,
    );
    const values = await measured(
      t,
      'a 30 MiB manifest of zeros',
      await archive([...FILES.map((f) => entry(f.path, f.data)), padded]),
    );
    assert.equal(values.code, 2);
    assert.match(values.stderr, /manifest\.json has \d+ values in \d+ bytes, more than a case file's manifest has/);
    assert.ok(values.peakMb < MAX_RSS_MB, `peak RSS ${values.peakMb} MB`);

    const many = Array.from({ length: 300_001 }, (_, i) => header(`mail/${i}`, 0));
    const tooMany = await measured(t, '300,001 entries', await archive(many));
    assert.equal(tooMany.code, 2);
    assert.match(tooMany.stderr, /more than 300000 entries/);
    assert.ok(tooMany.peakMb < MAX_RSS_MB, `peak RSS ${tooMany.peakMb} MB`);

    const tooBig = manifestEntry(`${JSON.stringify(manifestOf(describeFiles(FILES)))}${' '.repeat(33 * MiB)}`);
    const spaces = await verify(await archive([...FILES.map((f) => entry(f.path, f.data)), tooBig]));
    assert.equal(spaces.code, 2);
    assert.match(
      spaces.stderr,
      /manifest\.json is \d+ bytes, more than the 33554432 bytes \(32 MiB\) a case file's manifest may have/,
    );
    const bad = await verify(huge, '--max-bytes', 'lots');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--max-bytes lots: give a number of bytes/);
  });

  it('GNU tar unpacking and repacking (gnu, pax, ustar formats; long names; ./ prefixes) keeps it verifiable', async (t) => {
    if (!fs.existsSync('/usr/bin/tar') && !fs.existsSync('/bin/tar')) return t.skip('needs GNU tar');
    const long = `attachments/${'a'.repeat(90)}/${'b'.repeat(120)}.pdf`;
    const mid = `attachments/${'c'.repeat(90)}/letter.pdf`;
    const files = [...FILES, { path: mid, data: 'letter' }];
    const unpacked = path.join(dir, 'unpacked');
    fs.mkdirSync(unpacked);
    execFileSync('tar', ['-xzf', await archive(caseParts(files)), '-C', unpacked]);
    for (const format of ['gnu', 'pax', 'ustar']) {
      const out = path.join(dir, `repacked-${format}.tar.gz`);
      execFileSync('tar', [`--format=${format}`, '-czf', out, '-C', unpacked, '.']);
      const r = await verify(out);
      assert.equal(r.code, 0, `${format}: ${r.stdout}${r.stderr}`);
    }
    const withLong = [...files, { path: long, data: 'long' }];
    const longDir = path.join(dir, 'unpacked-long');
    fs.mkdirSync(longDir);
    execFileSync('tar', ['-xzf', await archive(caseParts(withLong)), '-C', longDir]);
    for (const format of ['gnu', 'pax']) {
      const out = path.join(dir, `repacked-long-${format}.tgz`);
      execFileSync('tar', [`--format=${format}`, '-czf', out, '-C', longDir, '.']);
      const r = await verify(out);
      assert.equal(r.code, 0, `${format}: ${r.stdout}${r.stderr}`);
    }
  });
});
