/**
 * The HMAC secret behind every reply address and Message-ID: generated once into <data>/secret, and an
 * empty, short or unreadable file stops everything that needs it with what to do, never becoming a weak
 * or empty key (issue 10).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfig, loadSecret, SecretError } from '../../platform/config';
import { auditflow } from '../helpers/cli';

const dirs: string[] = [];
function dataDir(secret?: string | 'directory'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'auditflow-secret-'));
  dirs.push(dir);
  if (secret === 'directory') fs.mkdirSync(path.join(dir, 'secret'));
  else if (secret !== undefined) fs.writeFileSync(path.join(dir, 'secret'), secret);
  return dir;
}

/** Checks the refusal names the file, what is wrong, and both ways out, with the cost of the wrong one. */
function refusal(file: string, problem: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof SecretError, `expected a SecretError, got ${String(err)}`);
    assert.ok(err.message.startsWith(`${file} `), err.message);
    assert.match(err.message, problem);
    assert.match(err.message, /restore it from a backup/i);
    assert.match(err.message, /AUDITFLOW_SECRET/);
    assert.match(err.message, /every reply address and Message-ID issued so far (becomes|unverifiable)/);
    return true;
  };
}

describe('the HMAC secret in <data>/secret', () => {
  after(() => {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it('is generated once (64 hex characters, mode 0600) and read back the same', () => {
    const dir = dataDir();
    const config = loadConfig({ AUDITFLOW_DATA_DIR: dir });
    const first = loadSecret(config);
    assert.match(first, /^[0-9a-f]{64}$/);
    assert.equal(fs.statSync(path.join(dir, 'secret')).mode & 0o777, 0o600);
    assert.equal(loadSecret(config), first);
    assert.deepEqual(fs.readdirSync(dir), ['secret'], 'no temporary file is left behind');
  });

  it('refuses an empty file (or one of blanks), naming it and what to do', () => {
    for (const content of ['', '  \n']) {
      const dir = dataDir(content);
      assert.throws(
        () => loadSecret(loadConfig({ AUDITFLOW_DATA_DIR: dir })),
        refusal(path.join(dir, 'secret'), /is empty/),
      );
    }
  });

  it('refuses a file shorter than 32 characters', () => {
    const dir = dataDir('0123456789abcdef0123456789abcde\n');
    assert.throws(
      () => loadSecret(loadConfig({ AUDITFLOW_DATA_DIR: dir })),
      refusal(path.join(dir, 'secret'), /holds 31 characters; a secret needs at least 32/),
    );
  });

  it('refuses a file it cannot read', () => {
    const dir = dataDir('directory');
    assert.throws(
      () => loadSecret(loadConfig({ AUDITFLOW_DATA_DIR: dir })),
      refusal(path.join(dir, 'secret'), /cannot be read \(EISDIR/),
    );
  });

  it('uses AUDITFLOW_SECRET when it is set, whatever the file holds', () => {
    const secret = 'env-secret-0123456789abcdef0123456789abcdef';
    assert.equal(loadSecret(loadConfig({ AUDITFLOW_DATA_DIR: dataDir(''), AUDITFLOW_SECRET: secret })), secret);
  });

  it('stops `auditflow demo` before it starts anything: exit 2 and the message', async () => {
    const dir = dataDir('');
    const r = await auditflow(['demo'], {
      AUDITFLOW_DATA_DIR: dir,
      AUDITFLOW_SECRET: undefined,
      TEMPORAL_ADDRESS: '127.0.0.1:9',
    });
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(`^error: ${path.join(dir, 'secret').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is empty`),
    );
    assert.doesNotMatch(r.stderr, /^\s+at /m);
  });
});
