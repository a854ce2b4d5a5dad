import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Connection } from '@temporalio/client';
import Long from 'long';
import { NativeConnection } from '@temporalio/worker';
import { loadConfig } from '../../platform/config';
import { createAuditWorker } from '../../worker/main';
import { auditflow } from '../helpers/cli';
import { startSmtpSink, type SmtpSink } from '../../dev/support/smtp-sink';
import { devServerAddress, TEST_ENCRYPTION_KEYS, uniqueName, workflowBundlePath } from '../../dev/support/temporal';
import { eventually } from '../../platform/wait';

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
      AUDITFLOW_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS,
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
    const { worker, close } = await createAuditWorker(loadConfig(env), connection, 'default', {
      workflowBundlePath: await workflowBundlePath(),
    });
    const running = worker.run();
    try {
      const { code, report } = await doctor();
      assert.deepEqual(
        report.checks.filter((c) => !c.ok),
        [],
      );
      assert.equal(code, 0);
      assert.match(check(report, 'worker').detail, /1 worker\(s\) polling/);
      assert.equal(check(report, 'triage-inbox').detail, 'empty: no message was ever kept for review');
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

  it('on a namespace without the search attributes: doctor says so and how, setup registers them', async () => {
    const namespace = uniqueName('setup');
    const connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS });
    try {
      await connection.workflowService.registerNamespace({
        namespace,
        workflowExecutionRetentionPeriod: { seconds: Long.fromNumber(86_400) },
      });
      await eventually(
        () =>
          connection.workflowService.describeNamespace({ namespace }).then(
            () => true,
            () => undefined,
          ),
        `namespace ${namespace} to be usable`,
        20_000,
      );
    } finally {
      await connection.close();
    }
    const before = await doctor({ TEMPORAL_NAMESPACE: namespace });
    const sa = check(before.report, 'search-attributes');
    assert.equal(sa.ok, false);
    assert.match(
      sa.detail,
      /missing or wrong: AuditDemandId, AuditCounterparty, AuditStatus, AuditItemId, AuditDueAt, AuditOpenItems, AuditOverdueItems, AuditEscalationLevel/,
    );
    assert.match(
      sa.fix ?? '',
      new RegExp(
        `npx auditflow setup .*temporal operator search-attribute create --namespace ${namespace} --name AuditDemandId --type Keyword`,
      ),
    );
    const setup = await auditflow(['setup'], { ...env, TEMPORAL_NAMESPACE: namespace });
    assert.equal(setup.code, 0, setup.stderr);
    assert.match(setup.stdout, new RegExp(`registered on ${namespace}: AuditDemandId, .*AuditEscalationLevel`));
    const again = await auditflow(['setup', '--json'], { ...env, TEMPORAL_NAMESPACE: namespace });
    assert.deepEqual(JSON.parse(again.stdout).registered, []);
    assert.equal(check((await doctor({ TEMPORAL_NAMESPACE: namespace })).report, 'search-attributes').ok, true);
  });

  it('fails the secret check, naming the file and what to do, when <data>/secret is empty or short', async () => {
    for (const content of ['', 'short\n']) {
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'auditflow-doctor-secret-'));
      const file = path.join(dataDir, 'secret');
      fs.writeFileSync(file, content);
      const { code, report } = await doctor({ AUDITFLOW_DATA_DIR: dataDir, AUDITFLOW_SECRET: '' });
      assert.equal(code, 1);
      const secret = check(report, 'secret');
      assert.equal(secret.ok, false, secret.detail);
      assert.match(
        secret.detail,
        new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} (is empty|holds 5 characters)`),
      );
      assert.match(secret.fix ?? '', /restore it from a backup.*AUDITFLOW_SECRET/i);
      assert.match(secret.fix ?? '', /every reply address and Message-ID issued so far/);
      assert.equal(fs.readFileSync(file, 'utf8'), content, 'doctor leaves the file as it found it');
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('names the bad variable when a setting is invalid', async () => {
    const { code, report } = await doctor({ AUDITFLOW_SMTP_PORT: 'seventy' });
    assert.equal(code, 1);
    assert.match(check(report, 'settings').detail, /AUDITFLOW_SMTP_PORT="seventy": must be a port number/);
  });
});
