import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { NativeConnection } from '@temporalio/worker';
import { loadConfig } from '../../worker/config';
import { createAuditWorker } from '../../worker/main';
import { auditflow } from '../helpers/cli';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink';
import { devServerAddress, uniqueName, workflowBundlePath } from '../helpers/temporal';

interface DoctorJson {
  ok: boolean;
  checks: { name: string; ok: boolean; detail: string; fix?: string }[];
}

describe('auditflow doctor against the real dev server', () => {
  let sink: SmtpSink;
  let env: Record<string, string>;
  before(async () => {
    sink = await startSmtpSink();
    env = {
      TEMPORAL_ADDRESS: await devServerAddress(),
      TEMPORAL_NAMESPACE: 'default',
      AUDITFLOW_TASK_QUEUE: uniqueName('doctor'),
      SMTP_URL: sink.url,
      AUDITFLOW_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'auditflow-doctor-')),
    };
  });
  after(() => sink.close());

  const doctor = async (extra: Record<string, string> = {}) => {
    const r = await auditflow(['doctor', '--json'], { ...env, ...extra });
    return { code: r.code, report: JSON.parse(r.stdout) as DoctorJson, stderr: r.stderr };
  };
  const check = (r: DoctorJson, name: string) => r.checks.find((c) => c.name === name)!;

  it('fails the worker check, and says how to start one, when no worker polls the task queue', async () => {
    const { code, report } = await doctor();
    assert.equal(code, 1);
    assert.equal(report.ok, false);
    assert.equal(check(report, 'temporal').ok, true);
    assert.equal(check(report, 'search-attributes').ok, true);
    assert.equal(check(report, 'smtp').ok, true);
    assert.equal(check(report, 'data-folder').ok, true);
    const worker = check(report, 'worker');
    assert.equal(worker.ok, false);
    assert.match(worker.detail, new RegExp(`no worker is polling task queue ${env.AUDITFLOW_TASK_QUEUE}`));
    assert.match(worker.fix ?? '', /npm start/);
  });

  it('passes every check while the worker runs', async () => {
    const connection = await NativeConnection.connect({ address: env.TEMPORAL_ADDRESS });
    const { worker, close } = await createAuditWorker(loadConfig(env), connection, 'default', { workflowBundlePath: await workflowBundlePath() });
    const running = worker.run();
    try {
      const { code, report } = await doctor();
      assert.deepEqual(report.checks.filter((c) => !c.ok), []);
      assert.equal(code, 0);
      assert.match(check(report, 'worker').detail, /1 worker\(s\) polling/);
    } finally {
      worker.shutdown();
      await running;
      await close();
      await connection.close();
    }
  });

  it('reports an unreachable SMTP server and an unreachable Temporal with what to do', async () => {
    const { code, report } = await doctor({ SMTP_URL: 'smtp://127.0.0.1:9', TEMPORAL_ADDRESS: '127.0.0.1:9' });
    assert.equal(code, 1);
    assert.match(check(report, 'temporal').detail, /cannot reach 127\.0\.0\.1:9/);
    assert.match(check(report, 'smtp').fix ?? '', /SMTP_URL/);
  });

  it('names the bad variable when a setting is invalid', async () => {
    const { code, report } = await doctor({ AUDITFLOW_SMTP_PORT: 'seventy' });
    assert.equal(code, 1);
    assert.match(check(report, 'settings').detail, /AUDITFLOW_SMTP_PORT="seventy": must be a port number/);
  });
});
