/** Unit tests of the storage settings (AUDITFLOW_STORAGE_URL and its companions) and of the secret they require. */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig, loadSecret, loadSecrets, parseStorageUrl, SecretError } from '../../platform/config';
import { PROJECT_ROOT } from '../../platform/paths';

const SECRET = 's'.repeat(40);
const refused = (env: NodeJS.ProcessEnv, pattern: RegExp) =>
  assert.throws(
    () => loadConfig(env),
    (err: unknown) => err instanceof ConfigError && pattern.test(err.message),
  );

describe('AUDITFLOW_STORAGE_URL', () => {
  it('defaults to the data folder (file://), the embedded layout', () => {
    const c = loadConfig({ AUDITFLOW_DATA_DIR: '/srv/af' });
    assert.deepEqual(c.storage, { kind: 'file', root: '/srv/af' });
  });

  it('reads a folder, relative ones from the project', () => {
    assert.deepEqual(parseStorageUrl('file:///srv/records'), { kind: 'file', root: '/srv/records' });
    assert.deepEqual(parseStorageUrl('file://records'), { kind: 'file', root: path.join(PROJECT_ROOT, 'records') });
  });

  it('reads a bucket, a prefix, an endpoint, a region and path-style addressing', () => {
    const c = loadConfig({
      AUDITFLOW_STORAGE_URL:
        's3://acme-audit/auditflow/prod/?endpoint=http://127.0.0.1:7070&region=eu-west-1&pathStyle=true',
      AUDITFLOW_SECRET: SECRET,
    });
    assert.deepEqual(c.storage, {
      kind: 's3',
      bucket: 'acme-audit',
      prefix: 'auditflow/prod/',
      endpoint: 'http://127.0.0.1:7070',
      region: 'eu-west-1',
      pathStyle: true,
      lockMode: 'COMPLIANCE',
      lockDays: 2557,
    });
  });

  it("takes the region from the SDK's own variables when the URL names none, and the retention from the lock settings", () => {
    const c = loadConfig({
      AUDITFLOW_STORAGE_URL: 's3://acme-audit',
      AWS_REGION: 'ca-central-1',
      AUDITFLOW_STORAGE_LOCK_MODE: 'GOVERNANCE',
      AUDITFLOW_STORAGE_LOCK_DAYS: '30',
    });
    assert.equal(c.storage.kind === 's3' && c.storage.region, 'ca-central-1');
    assert.equal(c.storage.kind === 's3' && c.storage.prefix, '');
    assert.equal(c.storage.kind === 's3' && c.storage.lockMode, 'GOVERNANCE');
    assert.equal(c.storage.kind === 's3' && c.storage.lockDays, 30);
  });

  it('refuses what it cannot use, naming the variable and saying what to write', () => {
    refused(
      { AUDITFLOW_STORAGE_URL: 'gs://bucket' },
      /AUDITFLOW_STORAGE_URL.*must be file:\/\/<folder> or s3:\/\/<bucket>/,
    );
    refused({ AUDITFLOW_STORAGE_URL: 's3://AB' }, /AUDITFLOW_STORAGE_URL.*not a valid S3 bucket name/);
    refused(
      { AUDITFLOW_STORAGE_URL: 's3://key:secret@bucket' },
      /must not contain credentials; give them as AWS_ACCESS_KEY_ID/,
    );
    refused(
      { AUDITFLOW_STORAGE_URL: 's3://bucket?endpont=x' },
      /unknown option endpont; the options are endpoint, region, pathStyle/,
    );
    refused({ AUDITFLOW_STORAGE_URL: 's3://bucket?endpoint=ftp://x' }, /endpoint=ftp:\/\/x must be an http\(s\) URL/);
    refused({ AUDITFLOW_STORAGE_URL: 's3://bucket?pathStyle=yes' }, /pathStyle=yes must be true or false/);
    refused({ AUDITFLOW_STORAGE_URL: 's3://bucket/a/../b' }, /must not contain \. or \.\. segments/);
    refused({ AUDITFLOW_STORAGE_URL: 'file://' }, /must name a folder/);
    refused({ AUDITFLOW_STORAGE_LOCK_MODE: 'STRICT' }, /AUDITFLOW_STORAGE_LOCK_MODE.*must be COMPLIANCE or GOVERNANCE/);
    refused({ AUDITFLOW_STORAGE_LOCK_DAYS: '-1' }, /AUDITFLOW_STORAGE_LOCK_DAYS.*must be 0 \(no retention\) or more/);
  });
});

describe('one secret for several machines', () => {
  it('with shared storage, a missing AUDITFLOW_SECRET is an error saying what to set (no secret generated on one machine)', () => {
    const config = loadConfig({ AUDITFLOW_STORAGE_URL: 's3://acme-audit', AUDITFLOW_DATA_DIR: '/nonexistent/af' });
    assert.throws(
      () => loadSecret(config),
      (err: unknown) =>
        err instanceof SecretError &&
        /AUDITFLOW_SECRET is not set, and it is required when AUDITFLOW_STORAGE_URL is not file:\/\//.test(
          err.message,
        ) &&
        /same AUDITFLOW_SECRET .* on every worker, gateway and CLI machine/.test(err.message),
    );
  });

  it('AUDITFLOW_SECRET_PREVIOUS: earlier secrets after the current one; each must be a real secret', () => {
    const older = 'o'.repeat(32);
    const oldest = 'x'.repeat(33);
    const config = loadConfig({ AUDITFLOW_SECRET: SECRET, AUDITFLOW_SECRET_PREVIOUS: ` ${older}, ${oldest},` });
    assert.deepEqual(loadSecrets(config), [SECRET, older, oldest]);
    refused({ AUDITFLOW_SECRET_PREVIOUS: `${older},short` }, /AUDITFLOW_SECRET_PREVIOUS.*each at least 32 characters/);
  });
});
