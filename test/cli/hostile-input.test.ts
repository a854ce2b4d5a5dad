/**
 * The CLI given hostile or oversized input (issue 10): JSON output bigger than a pipe's buffer arrives
 * whole, a spec Temporal could not hold is refused with the limit named, a YAML alias bomb or an
 * oversized file is a spec problem (exit 2, no stack trace), and a demand id that could walk out of
 * the data folder is refused before it is used. No Temporal server is needed: every refusal comes first.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checkDemand } from '../../domain/demand';
import { SPEC_MAX_BYTES } from '../../domain/limits';
import { auditflow, ROOT, type RunResult } from '../helpers/cli';
import { sampleSpec } from '../../dev/support/specs';

interface SpecProblems {
  ok: false;
  problems: { path: string; message: string }[];
}

/** A stack trace line, as node prints one: what an operator must never get for bad input. */
const STACK_LINE = /^\s+at .+:\d+:\d+\)?$/m;

describe('auditflow with hostile input (no Temporal needed)', () => {
  let dir: string;
  // Nothing listens on port 9: a command that got as far as connecting would fail with exit 1.
  const env = { TEMPORAL_ADDRESS: '127.0.0.1:9', AUDITFLOW_SECRET: 'test-secret-0123456789abcdef0123456789abcdef' };
  const run = (...args: string[]): Promise<RunResult> =>
    auditflow(args, { ...env, AUDITFLOW_DATA_DIR: path.join(dir, 'data') });
  const file = (name: string, text: string | Buffer) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, text);
    return p;
  };

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'auditflow-hostile-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('prints --json output far over a pipe buffer whole through a shell pipe, with its exit status', () => {
    // 500 items with seven problems each: a 50 KB file whose list of problems is about 380 KB of JSON.
    const broken = (i: number) => ({
      id: `Item ${i}`,
      name: 5,
      description: 7,
      questions: 'x',
      contacts: 'y',
      deadline: 3,
      extra: 1,
    });
    const spec = file(
      'many-problems.json',
      JSON.stringify({ ...sampleSpec('big-output'), items: Array.from({ length: 500 }, (_, i) => broken(i)) }),
    );
    // A real OS pipe (64 KB), as in `auditflow ... | jq`: node's own child pipes are sockets with larger buffers.
    const r = spawnSync(
      'bash',
      [
        '-o',
        'pipefail',
        '-c',
        '"$@" | cat',
        'bash',
        process.execPath,
        path.join(ROOT, 'bin', 'auditflow.js'),
        'validate',
        spec,
        '--json',
      ],
      {
        cwd: ROOT,
        env: { ...process.env, ...env },
        encoding: 'utf8',
        maxBuffer: 16 * 1024 * 1024,
        timeout: 60_000,
      },
    );
    assert.equal(r.status, 2, r.stderr);
    assert.ok(r.stdout.length > 256 * 1024, `only ${r.stdout.length} bytes arrived`);
    const out = JSON.parse(r.stdout) as SpecProblems;
    assert.equal(out.ok, false);
    assert.equal(out.problems.filter((p) => /^items\[\d+\]\.id$/.test(p.path)).length, 500);
  });

  describe('a spec bigger than Temporal can keep', () => {
    // 100 items with 3,000-character descriptions: every field valid, the whole about 310 KB as JSON.
    const huge = () => ({
      ...sampleSpec('huge-spec'),
      items: Array.from({ length: 100 }, (_, i) => ({
        id: `item-${i}`,
        name: `Item ${i}`,
        description: 'd'.repeat(3000),
        questions: ['What data did it read?'],
      })),
    });
    const limitNamed = /spec is [\d,]+ bytes as JSON, over the limit of 262,144 bytes \(256 KiB\).*workflow's history/;

    it('is refused by validate, plan and start with the size and the limit (exit 2)', async () => {
      const spec = file('huge.yaml', JSON.stringify(huge()));
      const validate = await run('validate', spec);
      assert.equal(validate.code, 2, validate.stderr);
      assert.match(validate.stderr, limitNamed);
      const json = JSON.parse((await run('validate', spec, '--json')).stdout) as SpecProblems;
      assert.deepEqual(
        json.problems.map((p) => p.path),
        ['(top level)'],
      );
      const plan = await run('plan', spec, '--start', '2027-05-03T09:00:00Z');
      assert.equal(plan.code, 2, plan.stderr);
      assert.match(plan.stderr, limitNamed);
      const start = await run('start', spec);
      assert.equal(start.code, 2, start.stderr);
      assert.match(start.stderr, limitNamed);
    });

    it('is refused per CSV row by start --for when a row pushes the template over the limit', async () => {
      // A template just under the limit; the row's long organisation name and title push it over.
      const template = sampleSpec('template');
      const size = () => Buffer.byteLength(JSON.stringify((checkDemand(template) as { spec: unknown }).spec));
      template.items = Array.from({ length: 73 }, (_, i) => ({
        id: `pad-${i}`,
        name: `Padding ${i}`,
        description: 'p'.repeat(3500),
        questions: ['Q?'],
      }));
      const last = template.items.at(-1)!;
      last.description = 'l';
      last.description = 'l'.repeat(1 + SPEC_MAX_BYTES - 100 - size());
      assert.ok(size() <= SPEC_MAX_BYTES && size() > SPEC_MAX_BYTES - 150, `template is ${size()} bytes`);
      const spec = file('template.json', JSON.stringify(template));
      assert.equal((await run('validate', spec)).code, 0, 'the template alone fits');
      const csv = file(
        'rows.csv',
        `id,organisation,title\nrow-small,Small Ltd,Short\nrow-big,${'O'.repeat(190)},${'T'.repeat(190)}\n`,
      );
      const r = await run('start', spec, '--for', csv);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /1 of 2 rows are not valid demands, so none was started/);
      assert.match(
        r.stderr,
        /line 3 \(row-big\): \(top level\): the spec is [\d,]+ bytes as JSON, over the limit of 262,144 bytes/,
      );
    });
  });

  it('refuses a YAML alias bomb as a spec problem: exit 2, no stack trace', async () => {
    let yaml = 'a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n';
    for (const [prev, name] of [...'abcdefgh'].map((p, i) => [p, 'bcdefghi'[i]!]))
      yaml += `${name}: &${name} [${Array(9).fill(`*${prev}`).join(', ')}]\n`;
    const bomb = file('bomb.yaml', yaml);
    for (const cmd of ['validate', 'plan', 'start']) {
      const r = await run(cmd, bomb);
      assert.equal(r.code, 2, `${cmd}: ${r.stderr}`);
      assert.match(r.stderr, /aliases|alias count/i, cmd);
      assert.doesNotMatch(r.stderr, STACK_LINE, cmd);
    }
    const json = JSON.parse((await run('validate', bomb, '--json')).stdout) as SpecProblems;
    assert.equal(json.ok, false);
    assert.match(json.problems[0]!.message, /alias/i);
  });

  it('refuses a spec file over 4 MiB before parsing it', async () => {
    const big = file('big.yaml', `# ${'x'.repeat(5 * 1024 * 1024)}\nid: big\n`);
    const r = await run('validate', big);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /\(file\): the file is over 4 MiB \(4,194,304 bytes\); a demand spec is at most 256 KiB/);
  });

  describe('demand ids on the command line', () => {
    const bad = [
      ['../../etc', 'a path-traversal id'],
      ['acme/../../x', 'an id with a slash'],
      ['a'.repeat(41), 'an id over 40 characters'],
    ] as const;
    const commands: [string, (id: string) => string[]][] = [
      ['show', (id) => ['show', id]],
      ['extend', (id) => ['extend', id, '--for', 'P7D', '--reason', 'r']],
      ['pause', (id) => ['pause', id, '--reason', 'r']],
      ['resume', (id) => ['resume', id]],
      ['record', (id) => ['record', id, '--item', 'atlas', '--summary', 's']],
      ['review', (id) => ['review', id, 'atlas', '--accept']],
      ['withdraw', (id) => ['withdraw', id, '--reason', 'r']],
      ['report', (id) => ['report', id]],
      ['export', (id) => ['export', id, '--out', 'case.tar.gz']],
      ['inbox assign', (id) => ['inbox', 'assign', '0123456789abcdef', '--demand', id, '--item', 'atlas']],
    ];
    for (const [id, what] of bad) {
      it(`refuses ${what} in every command, naming the argument (exit 2)`, async () => {
        for (const [name, args] of commands) {
          const r = await run(...args(id));
          assert.equal(r.code, 2, `${name}: ${r.stderr}`);
          assert.match(
            r.stderr,
            /^error: (demandId|--demand) "[^"]+" is not a demand id: a demand id must be 1-40 lower-case letters, digits or dashes/,
            name,
          );
        }
        const json = await run('show', id, '--json');
        assert.match((JSON.parse(json.stdout) as { error: string }).error, /^demandId ".+" is not a demand id/);
      });
    }
  });
});
