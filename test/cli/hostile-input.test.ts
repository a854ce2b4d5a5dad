/**
 * The CLI given hostile or oversized input (issue 10): JSON output bigger than a pipe's buffer arrives
 * whole, and a YAML alias bomb or an oversized file is a spec problem (exit 2, no stack trace). No
 * Temporal server is needed: every refusal comes first.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { auditflow, ROOT, type RunResult } from '../helpers/cli';
import { sampleSpec } from '../helpers/specs';

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
  const run = (...args: string[]): Promise<RunResult> => auditflow(args, { ...env, AUDITFLOW_DATA_DIR: path.join(dir, 'data') });
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
    const broken = (i: number) => ({ id: `Item ${i}`, name: 5, description: 7, questions: 'x', contacts: 'y', deadline: 3, extra: 1 });
    const spec = file('many-problems.json', JSON.stringify({ ...sampleSpec('big-output'), items: Array.from({ length: 500 }, (_, i) => broken(i)) }));
    // A real OS pipe (64 KB), as in `auditflow ... | jq`: node's own child pipes are sockets with larger buffers.
    const r = spawnSync('bash', ['-o', 'pipefail', '-c', '"$@" | cat', 'bash', process.execPath, path.join(ROOT, 'bin', 'auditflow.js'), 'validate', spec, '--json'], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      encoding: 'utf8',
      maxBuffer: 16 * 1024 * 1024,
      timeout: 60_000,
    });
    assert.equal(r.status, 2, r.stderr);
    assert.ok(r.stdout.length > 256 * 1024, `only ${r.stdout.length} bytes arrived`);
    const out = JSON.parse(r.stdout) as SpecProblems;
    assert.equal(out.ok, false);
    assert.equal(out.problems.filter((p) => /^items\[\d+\]\.id$/.test(p.path)).length, 500);
  });

  it('refuses a YAML alias bomb as a spec problem: exit 2, no stack trace', async () => {
    let yaml = 'a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n';
    for (const [prev, name] of [...'abcdefgh'].map((p, i) => [p, 'bcdefghi'[i]!])) yaml += `${name}: &${name} [${Array(9).fill(`*${prev}`).join(', ')}]\n`;
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
});
