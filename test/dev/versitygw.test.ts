/**
 * Finding versitygw (explicit path, PATH, the per-user cache, a build under a lock), and the real server
 * the S3 tests run against: a bucket with Object Lock and versioning, conditional writes refused with
 * 412, and data kept across stop() and start().
 *
 * The stub scripts below only stand in for a file to be found; no test talks to a stub as a server.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  GetBucketVersioningCommand,
  GetObjectCommand,
  GetObjectLockConfigurationCommand,
  PutObjectCommand,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { s3ServerOrSkip, startS3Server, type S3Server } from '../../dev/support/s3-server';
import { goAvailable, resolveVersitygw, VersitygwNotFoundError } from '../../dev/versitygw';
import { isExecutableFile } from '../../dev/support/executables';
import { parseStorageUrl } from '../../platform/config';
import { isPortOpen } from '../../platform/net';

const INSTALL = 'go install github.com/versity/versitygw/cmd/versitygw@v1.8.0';
const made: string[] = [];
const tmp = (name: string) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `auditflow-vgw-${name}-`));
  made.push(dir);
  return dir;
};
after(() => {
  for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
});

/** A file that is only ever looked for, never run as a server. */
function stub(file: string): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  return file;
}

const cachedBinary = (cacheHome: string) => path.join(cacheHome, 'auditflow', 'versitygw-v1.8.0', 'versitygw');
const lockFile = (cacheHome: string) => path.join(cacheHome, 'auditflow', 'versitygw-v1.8.0.lock');

/** The real go's folder alone on PATH, so that no installed versitygw is found there. */
function goOnlyEnv(cacheHome: string): NodeJS.ProcessEnv {
  const goDir = (process.env.PATH ?? '').split(path.delimiter).find((d) => isExecutableFile(path.join(d, 'go')));
  // A flag go rejects at once: a build that should not happen fails in a second instead of minutes.
  return { PATH: goDir ?? '', HOME: os.homedir(), XDG_CACHE_HOME: cacheHome, GOFLAGS: '-not-a-flag' };
}

describe('versitygw resolution', () => {
  it('refuses an AUDITFLOW_VERSITYGW that is not an executable file, naming the variable', async () => {
    const notExecutable = path.join(tmp('env'), 'versitygw');
    fs.writeFileSync(notExecutable, 'not a program', { mode: 0o644 });
    for (const [explicit, why] of [
      ['/nonexistent/versitygw', 'no such file'],
      [notExecutable, 'exists but is not an executable file'],
    ] as const) {
      await assert.rejects(resolveVersitygw({ env: { AUDITFLOW_VERSITYGW: explicit, PATH: '' } }), (err) => {
        assert.ok(err instanceof VersitygwNotFoundError);
        assert.match(
          err.message,
          new RegExp(`AUDITFLOW_VERSITYGW is set to "${explicit}", which is not an executable`),
        );
        assert.ok(err.message.includes(`AUDITFLOW_VERSITYGW=${explicit}: ${why}`), err.message);
        assert.ok(err.message.includes(INSTALL), err.message);
        return true;
      });
    }
  });

  it('prefers the explicit path, then PATH, then the cache', async () => {
    const cacheHome = tmp('cache');
    const cached = stub(cachedBinary(cacheHome));
    const binDir = path.dirname(stub(path.join(tmp('path'), 'versitygw')));
    const explicit = stub(path.join(tmp('explicit'), 'versitygw'));

    const env = { AUDITFLOW_VERSITYGW: explicit, PATH: binDir, XDG_CACHE_HOME: cacheHome };
    assert.deepEqual(await resolveVersitygw({ env, build: false }), {
      path: explicit,
      source: 'env',
      tried: [`AUDITFLOW_VERSITYGW=${explicit}: found`],
    });
    const onPath = await resolveVersitygw({ env: { PATH: binDir, XDG_CACHE_HOME: cacheHome }, build: false });
    assert.equal(onPath.source, 'path');
    assert.equal(onPath.path, path.join(binDir, 'versitygw'));
    const fromCache = await resolveVersitygw({ env: { PATH: '', XDG_CACHE_HOME: cacheHome }, build: false });
    assert.deepEqual(fromCache, {
      path: cached,
      source: 'cache',
      tried: ['AUDITFLOW_VERSITYGW: not set', 'versitygw on PATH: not found', `cache: ${cached}`],
    });
  });

  it('lists every place tried and the install hint when there is no binary and no Go', async () => {
    const env = { PATH: tmp('empty'), XDG_CACHE_HOME: tmp('nocache') };
    assert.equal(goAvailable(env), false);
    await assert.rejects(resolveVersitygw({ env }), (err) => {
      assert.ok(err instanceof VersitygwNotFoundError);
      assert.match(
        err.message,
        /Tried, in order:\n {2}1\. AUDITFLOW_VERSITYGW: not set\n {2}2\. versitygw on PATH: not found\n {2}3\. cache .*versitygw-v1\.8\.0\/versitygw: not present\n {2}4\. go on PATH \(to build it\): not found/,
      );
      assert.ok(err.message.includes(INSTALL), err.message);
      assert.ok(err.message.includes('point AUDITFLOW_VERSITYGW at'), err.message);
      return true;
    });
    await assert.rejects(resolveVersitygw({ env: goOnlyEnv(env.XDG_CACHE_HOME), build: false }), /not allowed here/);
  });

  it('takes over a lock whose process is gone, and reports the end of a failed go build', async (t) => {
    if (!goAvailable()) return t.skip('needs go on PATH');
    const cacheHome = tmp('failed');
    fs.mkdirSync(path.join(cacheHome, 'auditflow'));
    const gone = spawnSync('true').pid;
    fs.writeFileSync(lockFile(cacheHome), `${gone}\n`);
    const log: string[] = [];
    await assert.rejects(resolveVersitygw({ env: goOnlyEnv(cacheHome), log: (l) => log.push(l) }), (err) => {
      assert.ok(err instanceof VersitygwNotFoundError);
      assert.match(err.message, new RegExp(`${INSTALL} failed \\(exit 1\\); its last output:\\n`));
      assert.match(err.message, /go: parsing \$GOFLAGS: unknown flag -not-a-flag/);
      assert.match(err.message, /4\. go install .* with .*\/go: failed/);
      return true;
    });
    assert.match(log.join('\n'), new RegExp(`removing the stale versitygw build lock .*\\(process ${gone} is gone\\)`));
    assert.match(
      log.join('\n'),
      /building versitygw v1\.8\.0 with go install \(a few minutes, once per machine; cached in /,
    );
    assert.deepEqual(fs.readdirSync(path.join(cacheHome, 'auditflow')), [], 'no lock, temp folder or half a binary');
  });

  it('waits while another live process builds, then uses what it built without building again', async (t) => {
    if (!goAvailable()) return t.skip('needs go on PATH');
    const cacheHome = tmp('waiting');
    fs.mkdirSync(path.join(cacheHome, 'auditflow'));
    // This test process stands in for the other builder: it is alive for as long as the wait lasts.
    fs.writeFileSync(lockFile(cacheHome), `${process.pid}\n`);
    const log: string[] = [];
    const resolved = await resolveVersitygw({
      env: goOnlyEnv(cacheHome),
      log: (line) => {
        log.push(line);
        if (!/is building versitygw; waiting/.test(line)) return;
        stub(cachedBinary(cacheHome));
        fs.rmSync(lockFile(cacheHome));
      },
    });
    assert.equal(resolved.source, 'cache');
    assert.equal(resolved.path, cachedBinary(cacheHome));
    assert.match(log.join('\n'), new RegExp(`another process \\(pid ${process.pid}\\) is building versitygw`));
    assert.ok(!log.some((l) => l.startsWith('building')), log.join('\n'));
    assert.ok(!fs.existsSync(lockFile(cacheHome)));
  });
});

const s3 = s3ServerOrSkip();

describe('versitygw as the test S3 server', { skip: s3.skip }, () => {
  let server: S3Server;
  before(async () => {
    server = await startS3Server({ binary: s3.binary });
  });
  after(() => server?.close());

  it('makes a bucket with Object Lock and versioning, refuses overwrites with 412, keeps data across a restart', async () => {
    const client = server.client();
    const lock = await client.send(new GetObjectLockConfigurationCommand({ Bucket: server.bucket }));
    assert.equal(lock.ObjectLockConfiguration?.ObjectLockEnabled, 'Enabled');
    const versioning = await client.send(new GetBucketVersioningCommand({ Bucket: server.bucket }));
    assert.equal(versioning.Status, 'Enabled');

    const key = 'auditflow/evidence/a.txt';
    const put = (body: string) =>
      client.send(new PutObjectCommand({ Bucket: server.bucket, Key: key, Body: body, IfNoneMatch: '*' }));
    await put('first');
    await assert.rejects(put('second'), (err) => {
      assert.ok(err instanceof S3ServiceException);
      assert.equal(err.$metadata.httpStatusCode, 412);
      return true;
    });

    await server.stop();
    assert.equal(await isPortOpen('127.0.0.1', server.port), false);
    await server.start();
    const got = await client.send(new GetObjectCommand({ Bucket: server.bucket, Key: key }));
    assert.equal(await got.Body?.transformToString(), 'first');
  });

  it('hands processes a storage URL and credentials for it, and makes buckets without a lock', async () => {
    assert.deepEqual(parseStorageUrl(server.env('case-7').AUDITFLOW_STORAGE_URL), {
      kind: 's3',
      bucket: 'auditflow-test',
      prefix: 'case-7/',
      endpoint: server.endpoint,
      region: 'us-east-1',
      pathStyle: true,
    });
    assert.equal(server.env().AWS_ACCESS_KEY_ID, server.accessKeyId);
    await server.createBucket('auditflow-plain', { objectLock: false });
    await assert.rejects(
      server.client().send(new GetObjectLockConfigurationCommand({ Bucket: 'auditflow-plain' })),
      (err) => err instanceof S3ServiceException && err.$metadata.httpStatusCode === 404,
    );
  });

  it('leaves no server and no folder behind when closed, and may be closed twice', async () => {
    const other = await startS3Server({ binary: s3.binary, bucket: 'auditflow-other' });
    await other.close();
    await other.close();
    assert.equal(fs.existsSync(other.dir), false);
    assert.equal(await isPortOpen('127.0.0.1', other.port), false);
  });
});
