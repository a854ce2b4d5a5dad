/**
 * auditflow with its records on S3 (a real versitygw started here, dev server, real worker and gateway):
 * what a second machine sees, what an S3 outage does, and how bad storage settings stop a process.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WorkflowNotFoundError } from '@temporalio/common';
import { demandWorkflowId } from '../../domain/ids';
import type { ReportDocument } from '../../platform/report/model';
import { STORAGE_KEYS } from '../../platform/storage';
import { openStorage } from '../../platform/storage-open';
import { eventually } from '../../platform/wait';
import { harness, type Harness } from '../../dev/support/harness';
import { compose, dnsFor, replyAddress, replyTo, resolverFor } from '../../dev/support/mail-auth';
import { s3ServerOrSkip, startS3Server, type S3Server } from '../../dev/support/s3-server';
import { sampleSpec } from '../../dev/support/specs';
import { answeredDemand } from '../helpers/answered-demand';
import { auditflow, ROOT, runNode } from '../helpers/cli';
import { startTestGateway, type TestGateway } from '../helpers/gateway';

describe('auditflow on S3 storage (versitygw, dev server, real worker and gateway)', async () => {
  const available = await s3ServerOrSkip();
  const skip = available.skip;
  let s3: S3Server;
  let h: Harness;
  let gw: TestGateway;
  let elsewhere: string;
  before(async () => {
    if (skip) return;
    s3 = await startS3Server({ binary: available.binary! });
    // This process's S3 clients (the in-process worker and gateway) take credentials from the environment.
    process.env.AWS_ACCESS_KEY_ID = s3.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = s3.secretAccessKey;
    h = await harness('dev', { ...s3.env(`stack-${Date.now().toString(36)}`) });
    gw = await startTestGateway(h, resolverFor(dnsFor(['acme.example'])));
    elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'auditflow-elsewhere-'));
  });
  after(async () => {
    await gw?.close();
    await h?.close();
    await s3?.close();
    if (elsewhere) fs.rmSync(elsewhere, { recursive: true, force: true });
  });

  it(
    'evidence and the report live in the bucket: report and export work from an empty data folder, also after Temporal deleted the workflow',
    { skip },
    async () => {
      const d = await answeredDemand(h, gw, 's3');
      const storage = openStorage(h.config);
      const withdrawn = await d.run('withdraw', d.id, '--reason', 'settled');
      assert.equal(withdrawn.code, 0, withdrawn.stderr);
      const reportKey = STORAGE_KEYS.report(d.id, 'report.json');
      await eventually(() => storage.exists(reportKey), 'report.json in the bucket', { timeoutMs: 60_000 });
      // Nothing of the record is on the worker's disk: its data folder has no evidence and no reports.
      assert.equal(fs.existsSync(path.join(h.config.dataDir, 'evidence')), false);
      assert.equal(fs.existsSync(path.join(h.config.dataDir, 'reports')), false);

      // A second machine: nothing but the storage settings in common.
      const env = { ...d.env, AUDITFLOW_DATA_DIR: elsewhere };
      const file = path.join(elsewhere, 'case.tar.gz');
      const exported = await auditflow(['export', d.id, '--out', file], env);
      assert.equal(exported.code, 0, exported.stderr);
      const verified = await auditflow(['verify', file], env);
      assert.equal(verified.code, 0, verified.stdout + verified.stderr);

      await h.env.client.workflowService.deleteWorkflowExecution({
        namespace: h.env.namespace ?? 'default',
        workflowExecution: { workflowId: demandWorkflowId(d.id) },
      });
      await eventually(
        () =>
          h.env.client.workflow
            .getHandle(demandWorkflowId(d.id))
            .describe()
            .then(
              () => undefined,
              (err) => (err instanceof WorkflowNotFoundError ? true : undefined),
            ),
        'the dev server to delete the workflow',
        { timeoutMs: 180_000, intervalMs: 500 },
      );
      const r = await auditflow(['report', d.id, '--json'], env);
      assert.equal(r.code, 0, r.stderr);
      const doc = JSON.parse(r.stdout) as ReportDocument;
      assert.equal(doc.source.kind, 'final-report');
      assert.equal(doc.source.path, storage.locate(reportKey));
      assert.match(doc.source.path!, /^s3:\/\/auditflow-test\/stack-[a-z0-9]+\/reports\//);
      assert.match(r.stderr, /is no longer in Temporal .*using the final report written when it ended \(s3:\/\//);
      const again = await auditflow(['export', d.id, '--out', path.join(elsewhere, 'after.tar.gz')], env);
      assert.equal(again.code, 0, again.stderr);
      assert.deepEqual(fs.readdirSync(elsewhere).sort(), ['after.tar.gz', 'case.tar.gz']);
    },
  );

  it(
    'S3 down: the gateway answers 451 and records nothing, doctor names it, a send retries; once it is back, nothing is lost',
    { skip },
    async () => {
      const id = `outage-${Date.now().toString(36)}`;
      await h.start(sampleSpec(id, { deadline: '2030-06-07T17:00' }));
      const request = (
        await h.sink.waitFor(
          (m) => m.some((x) => x.header('x-auditflow-demand') === id && x.header('x-auditflow-kind') === 'request'),
          'the request',
        )
      ).find((x) => x.header('x-auditflow-demand') === id && x.header('x-auditflow-kind') === 'request')!;
      const raw = await compose(replyTo(request, 'Re: audit [stadia]', 'Stadia ran from 2019 to 2022.'), true);
      const envelope = { from: 'pat@acme.example', to: [replyAddress(request)] };

      await s3.stop();
      const refused = await gw.send(raw, envelope);
      assert.equal(refused.code, 451, refused.response);
      assert.match(refused.response, /Storage temporarily unavailable; the message was not recorded/);
      assert.ok(
        gw.log.some((l) => /451 to .*storage s3:\/\/auditflow-test\/.* failed/.test(l)),
        gw.log.join('\n'),
      );
      assert.equal((await h.status(id)).items.find((i) => i.id === 'stadia')!.answers.length, 0);

      const doctor = await auditflow(['doctor', '--json'], h.cliEnv());
      const storageCheck = (
        JSON.parse(doctor.stdout) as { checks: { name: string; ok: boolean; detail: string }[] }
      ).checks.find((c) => c.name === 'storage');
      assert.equal(doctor.code, 1);
      assert.equal(storageCheck?.ok, false);
      assert.match(storageCheck!.detail, /^s3:\/\/auditflow-test\/stack-.*: cannot be reached/);

      // A demand started during the outage: its request cannot be stored as evidence, so it is not sent; it retries.
      const later = `outage-later-${Date.now().toString(36)}`;
      await h.start(sampleSpec(later, { deadline: '2030-06-07T17:00' }));
      await eventually(
        async () => {
          const desc = await h.env.client.workflow.getHandle(demandWorkflowId(later)).describe();
          const pending = desc.raw.pendingActivities?.[0];
          return (pending?.attempt ?? 0) >= 2 && /storage/.test(pending?.lastFailure?.message ?? '') ? true : undefined;
        },
        'the request send to fail on the storage and be retried',
        { timeoutMs: 60_000, intervalMs: 250 },
      );
      assert.equal(h.sink.messages.filter((m) => m.header('x-auditflow-demand') === later).length, 0);

      await s3.start();
      const accepted = await gw.send(raw, envelope);
      assert.equal(accepted.code, 250, accepted.response);
      assert.equal((await h.status(id)).items.find((i) => i.id === 'stadia')!.answers.length, 1);
      await h.sink.waitFor(
        (m) => m.some((x) => x.header('x-auditflow-demand') === later),
        'the delayed request',
        90_000,
      );
      const status = await h.settled(later);
      assert.equal(status.messages.filter((m) => m.kind === 'request').length, 1);
      assert.equal(h.sink.messages.filter((m) => m.header('x-auditflow-demand') === later).length, 1);
    },
  );

  it(
    'wrong credentials, a missing bucket or no AUDITFLOW_SECRET stop the worker and the gateway at start with the reason (exit 2); the CLI says so too',
    { skip },
    async () => {
      const base = { ...h.cliEnv(), AUDITFLOW_DATA_DIR: elsewhere, AUDITFLOW_LOG_LEVEL: 'WARN' };
      const start = (entry: string, env: Record<string, string | undefined>) =>
        runNode(['--import', 'tsx', path.join(ROOT, entry)], { ...base, ...env });
      const noTrace = (s: string) => assert.doesNotMatch(s, /\n\s+at .*\(/, 'no stack trace');

      const wrongKey = await start('worker/main.ts', { AWS_SECRET_ACCESS_KEY: 'not-the-key' });
      assert.equal(wrongKey.code, 2, wrongKey.stderr);
      assert.match(
        wrongKey.stderr,
        /storage problem: s3:\/\/auditflow-test\/.*: access refused .*check the AWS credentials/,
      );
      noTrace(wrongKey.stderr);

      const url = s3.env().AUDITFLOW_STORAGE_URL.replace('s3://auditflow-test', 's3://no-such-bucket');
      const missing = await start('gateway/main.ts', { AUDITFLOW_STORAGE_URL: url });
      assert.equal(missing.code, 2, missing.stderr);
      assert.match(missing.stderr, /storage problem: s3:\/\/no-such-bucket\/.*: bucket no-such-bucket does not exist/);
      noTrace(missing.stderr);

      // The CLI, at its first use of the storage: the reason and what to run, no stack trace.
      const cli = await auditflow(['report', 'no-such-demand'], { ...base, AWS_SECRET_ACCESS_KEY: 'not-the-key' });
      assert.equal(cli.code, 1, cli.stderr);
      assert.match(
        cli.stderr,
        /^error: storage s3:\/\/auditflow-test\/.* failed: refused \(.*\); check the AWS credentials/,
      );
      assert.match(cli.stderr, /npx auditflow doctor checks the storage settings/);
      noTrace(cli.stderr);

      const noSecret = await start('gateway/main.ts', { AUDITFLOW_SECRET: undefined });
      assert.equal(noSecret.code, 2, noSecret.stderr);
      assert.match(
        noSecret.stderr,
        /AUDITFLOW_SECRET is not set, and it is required when AUDITFLOW_STORAGE_URL is not file:\/\//,
      );
      noTrace(noSecret.stderr);
    },
  );
});
