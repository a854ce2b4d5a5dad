/**
 * Traces as an operator sees them in a real OpenTelemetry Collector (built from the collector's Go modules
 * in dev/otelcol/): `auditflow start` in its own process, the worker in its own, and the gateway all
 * export by OTLP to it. One trace runs from the CLI's StartWorkflow through the workflow's StartActivity
 * to the RunActivity:sendEmail that sent the request, and RunWorkflow, the child of the CLI span, arrives
 * when the demand ends; the gateway's ReceiveMail span is the parent of the recordReply update.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import YAML from 'yaml';
import { demandWorkflowId } from '../../domain/ids';
import { startGateway, type Gateway } from '../../gateway/main';
import { TEST_SECRET } from '../../dev/support/harness';
import { compose, dnsFor, replyAddress, replyTo, resolverFor } from '../../dev/support/mail-auth';
import { smtpSend } from '../../dev/support/smtp-send';
import { startSmtpSink, type ReceivedMail, type SmtpSink } from '../../dev/support/smtp-sink';
import { spawnEntry } from '../../dev/support/spawn';
import { ANY_HOUR, sampleSpec } from '../../dev/support/specs';
import {
  devEnv,
  devServerAddress,
  TEST_ENCRYPTION_KEYS,
  testDataConverter,
  uniqueName,
  workflowBundlePath,
} from '../../dev/support/temporal';
import { findOtelcol, resolveOtelcol, startOtelcol, type Otelcol, type ReceivedSpan } from '../../dev/otelcol';
import { findOnPath } from '../../dev/support/executables';
import { loadConfig } from '../../platform/config';
import { stopChild } from '../../platform/process';
import { clientTracing, startTracing, type Tracing } from '../../platform/tracing';
import { eventually } from '../../platform/wait';
import { auditflow } from '../helpers/cli';
import { exportHistory } from '../helpers/histories';

// Built from dev/otelcol/ on first use; without Go (and no built collector) there is no real receiver here.
const canHaveCollector = findOtelcol().ok || findOnPath('go', process.env) !== undefined;

describe(
  'OpenTelemetry traces from the CLI, the worker and the gateway (real collector, dev server, real SMTP)',
  {
    skip: canHaveCollector ? false : 'a real OTLP receiver is needed: no collector built and no Go on PATH to build it',
  },
  () => {
    let env: TestWorkflowEnvironment;
    let sink: SmtpSink;
    let dataDir: string;
    let collector: Otelcol;
    let worker: ChildProcess;
    let workerOutput = '';
    let tracing: Tracing;
    let gateway: Gateway;
    let settings: Record<string, string>;
    let request: ReceivedMail;
    let startSpan: ReceivedSpan;
    let runWorkflowId: string;
    const id = `traces-${Date.now().toString(36)}`;
    const resolver = resolverFor(dnsFor(['acme.example']));

    before(async () => {
      const built = await resolveOtelcol({ log: (line) => process.stderr.write(`${line}\n`) });
      if (!built.ok) throw new Error(`no OpenTelemetry Collector: ${built.reason}`);
      collector = await startOtelcol(built.path);
      env = await devEnv();
      sink = await startSmtpSink();
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'auditflow-traces-'));
      settings = {
        AUDITFLOW_DATA_DIR: dataDir,
        SMTP_URL: sink.url,
        AUDITFLOW_TASK_QUEUE: uniqueName('tq'),
        AUDITFLOW_SECRET: TEST_SECRET,
        AUDITFLOW_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS,
        AUDITFLOW_WORKER_METRICS: 'off',
        OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint,
        TEMPORAL_ADDRESS: await devServerAddress(),
      };
      worker = spawnEntry('worker/main.ts', {
        env: {
          ...process.env,
          ...settings,
          AUDITFLOW_WORKFLOW_BUNDLE: await workflowBundlePath(),
          AUDITFLOW_EXIT_WITH_PARENT: '1',
        },
      });
      worker.stdout!.on('data', (d) => (workerOutput += d));
      worker.stderr!.on('data', (d) => (workerOutput += d));
      await eventually(
        () => /worker ready.*traces to http/.test(workerOutput),
        () => `the worker to start, tracing: ${workerOutput}`,
        {
          timeoutMs: 90_000,
          giveUp: () => (worker.exitCode !== null ? `the worker exited: ${workerOutput}` : undefined),
        },
      );
      // The gateway in this process, set up as gateway/main.ts does it.
      const config = loadConfig(settings);
      tracing = await startTracing(config.tracing!, 'auditflow-gateway');
      const client = new Client({
        connection: env.connection,
        namespace: env.namespace ?? 'default',
        dataConverter: testDataConverter,
        interceptors: await clientTracing(tracing),
      });
      gateway = await startGateway(config, client, () => undefined, { resolver, port: 0 });
    });
    after(async () => {
      await gateway?.close();
      await tracing?.shutdown();
      if (worker) await stopChild(worker, 10_000);
      await collector?.stop();
      await sink?.close();
      await env?.teardown();
      if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    });

    /** Waits until the collector has printed a span that `match` picks, and returns it. */
    const span = (what: string, match: (s: ReceivedSpan) => boolean) =>
      eventually(
        () => collector.spans().find(match),
        () => `${what} among ${JSON.stringify(collector.spans().map((s) => `${s.service} ${s.name} ${s.traceId}`))}`,
        { timeoutMs: 60_000, intervalMs: 250 },
      );

    it('follows `auditflow start` through the workflow to the sendEmail activity in one trace', async () => {
      const file = path.join(dataDir, 'demand.yaml');
      fs.writeFileSync(
        file,
        YAML.stringify({ ...sampleSpec(id, { deadline: '2030-06-07T17:00' }), calendar: ANY_HOUR }),
      );
      const started = await auditflow(['start', file], settings);
      assert.equal(started.code, 0, started.stderr);
      request = (await sink.waitFor((m) => m.length >= 1, 'the request', 60_000))[0]!;

      const start = await span('the CLI StartWorkflow span', (s) => s.name === 'StartWorkflow:auditDemandWorkflow');
      assert.equal(start.service, 'auditflow-cli');
      assert.match(start.traceId, /^[0-9a-f]{32}$/);
      startSpan = start;
      const sameTrace = (s: ReceivedSpan) => s.traceId === start.traceId;
      // The workflow's own span: scheduling the activity, exported from the sandbox through the sink.
      const schedule = await span(
        'StartActivity:sendEmail in the trace',
        (s) => sameTrace(s) && s.name === 'StartActivity:sendEmail',
      );
      assert.equal(schedule.service, 'auditflow-worker');
      assert.ok(schedule.parentId && schedule.parentId !== start.id, 'under RunWorkflow, not the CLI span');
      const send = await span(
        'RunActivity:sendEmail in the trace',
        (s) => sameTrace(s) && s.name === 'RunActivity:sendEmail',
      );
      assert.equal(send.service, 'auditflow-worker');
      assert.equal(send.parentId, schedule.id);
      runWorkflowId = schedule.parentId;
    });

    it('makes the gateway span of a reply the parent of its recordReply update', async () => {
      const to = [replyAddress(request)];
      const signed = await compose(replyTo(request, 'Re: audit [xbox]', 'The inventory is attached.'), true);
      assert.equal((await smtpSend(gateway.smtp.port, signed, { from: 'pat@acme.example', to })).code, 250);

      const received = await span('the gateway ReceiveMail span', (s) => s.name === 'ReceiveMail');
      assert.equal(received.service, 'auditflow-gateway');
      const update = await span(
        'StartWorkflowUpdate:recordReply under ReceiveMail',
        (s) => s.name === 'StartWorkflowUpdate:recordReply' && s.parentId === received.id,
      );
      assert.equal(update.traceId, received.traceId);
    });

    it('exports RunWorkflow, the child of the CLI span, when the demand ends', async () => {
      // A span is exported when it ends: RunWorkflow ends with the workflow, so the demand is withdrawn here.
      const withdrawn = await auditflow(['withdraw', id, '--reason', 'trace test'], settings);
      assert.equal(withdrawn.code, 0, withdrawn.stderr);
      const run = await span(
        'RunWorkflow:auditDemandWorkflow in the trace',
        (s) => s.traceId === startSpan.traceId && s.name === 'RunWorkflow:auditDemandWorkflow',
      );
      assert.equal(run.service, 'auditflow-worker');
      assert.equal(run.parentId, startSpan.id);
      assert.equal(run.id, runWorkflowId, 'the parent of StartActivity:sendEmail');
      // A run recorded with the interceptor on, for the replay test (npm run fixtures:histories).
      await exportHistory(env.client.workflow.getHandle(demandWorkflowId(id)), 'traced-reply-withdrawal');
    });
  },
);
