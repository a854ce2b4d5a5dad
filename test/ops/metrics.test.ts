/**
 * Metrics as an operator sees them: a real Prometheus (Debian's package, installed when missing) scrapes
 * the worker's endpoint (the SDK runtime's, with auditflow's own metrics) and two gateways' (one of them
 * cut off from Temporal) during a demand's life, and PromQL returns the counts of what happened: a send
 * that failed once and was retried, a recorded reply and an extension request, a reply kept for triage,
 * a recipient refused at RCPT, a 451, the authentication verdicts and the demand gauges.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { checkDemand } from '../../domain/demand';
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
  uniqueName,
  workflowBundlePath,
} from '../../dev/support/temporal';
import { resolvePrometheus, startPrometheus, type Prometheus } from '../../dev/prometheus';
import { loadConfig } from '../../platform/config';
import { stopChild } from '../../platform/process';
import { freePort } from '../../platform/net';
import { eventually } from '../../platform/wait';

// Found, or installed from Debian's mirrors when running as root; otherwise the test says how to get it.
const prometheusBinary = resolvePrometheus();

describe(
  'Prometheus metrics of the worker and the gateway (real Prometheus, dev server, real SMTP)',
  { skip: prometheusBinary.ok ? false : `prometheus is needed: ${prometheusBinary.reason}` },
  () => {
    let env: TestWorkflowEnvironment;
    let sink: SmtpSink;
    let dataDir: string;
    let worker: ChildProcess;
    let workerOutput = '';
    let gateway: Gateway;
    let cutOff: Gateway;
    let cutOffConnection: Connection;
    let prometheus: Prometheus;
    let request: ReceivedMail;
    const id = `metrics-${Date.now().toString(36)}`;
    const taskQueue = uniqueName('tq');
    const resolver = resolverFor(dnsFor(['acme.example']));
    const host = (url: string) => new URL(url).host;

    before(async () => {
      env = await devEnv();
      sink = await startSmtpSink();
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'auditflow-metrics-'));
      const settings = {
        AUDITFLOW_DATA_DIR: dataDir,
        SMTP_URL: sink.url,
        AUDITFLOW_TASK_QUEUE: taskQueue,
        AUDITFLOW_SECRET: TEST_SECRET,
        AUDITFLOW_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS,
        AUDITFLOW_WORKER_METRICS: `127.0.0.1:${await freePort()}`,
        AUDITFLOW_METRICS_POLL_SECONDS: '5',
      };
      // The worker as operators run it: its own process, the SDK runtime serving the endpoint.
      worker = spawnEntry('worker/main.ts', {
        env: {
          ...process.env,
          ...settings,
          TEMPORAL_ADDRESS: await devServerAddress(),
          AUDITFLOW_WORKFLOW_BUNDLE: await workflowBundlePath(),
          AUDITFLOW_EXIT_WITH_PARENT: '1',
        },
      });
      worker.stdout!.on('data', (d) => (workerOutput += d));
      worker.stderr!.on('data', (d) => (workerOutput += d));
      const workerUrl = await eventually(
        () => /worker ready.*metrics on (http:\S+)/.exec(workerOutput)?.[1],
        () => `the worker to start with its metrics endpoint: ${workerOutput}`,
        {
          timeoutMs: 90_000,
          giveUp: () => (worker.exitCode !== null ? `the worker exited: ${workerOutput}` : undefined),
        },
      );
      const config = loadConfig(settings);
      gateway = await startGateway(config, env.client, () => undefined, { resolver, port: 0, metricsPort: 0 });
      // A second gateway whose Temporal is unreachable: a message it cannot record gets a 451.
      cutOffConnection = Connection.lazy({ address: `127.0.0.1:${await freePort()}` });
      cutOff = await startGateway(
        config,
        new Client({ connection: cutOffConnection, namespace: 'default' }),
        () => undefined,
        { resolver, port: 0, metricsPort: 0 },
      );
      prometheus = await startPrometheus(
        [
          { job: 'worker', targets: [host(workerUrl)] },
          { job: 'gateway', targets: [host(gateway.metricsUrl!), host(cutOff.metricsUrl!)] },
        ],
        { binary: prometheusBinary.ok ? prometheusBinary.path : undefined },
      );
    });
    after(async () => {
      await prometheus?.stop();
      await cutOff?.close();
      await cutOffConnection?.close();
      await gateway?.close();
      if (worker) await stopChild(worker, 10_000);
      await sink?.close();
      await env?.teardown();
      if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    });

    const startDemand = async () => {
      const checked = checkDemand({ ...sampleSpec(id, { deadline: '2030-06-07T17:00' }), calendar: ANY_HOUR });
      if (!checked.ok) throw new Error(JSON.stringify(checked.problems));
      await env.client.workflow.start('auditDemandWorkflow', {
        workflowId: demandWorkflowId(id),
        taskQueue,
        args: [{ spec: checked.spec, startedBy: 'test' }],
      });
    };

    /** Waits until the expression's single value (0 when it has no series) satisfies `ok`. */
    const expectValue = async (expr: string, ok: (v: number) => boolean, what: string) => {
      let last = 'nothing yet';
      return eventually(
        async () => {
          const r = await prometheus.query(expr);
          last = JSON.stringify(r);
          const v = r.length === 0 ? 0 : r.length === 1 ? r[0]!.value : NaN;
          return ok(v) ? v : undefined;
        },
        () => `${what}: ${expr} (last result ${last})`,
        { timeoutMs: 60_000, intervalMs: 500 },
      );
    };
    const equals = (expr: string, want: number) => expectValue(expr, (v) => v === want, `${want}`);

    it('scrapes the worker and both gateways', async () => {
      await equals('sum(up{job="worker"})', 1);
      await equals('sum(up{job="gateway"})', 2);
      // The SDK's own metrics share the worker's endpoint.
      await expectValue('count({job="worker", __name__=~"temporal_.+"})', (v) => v > 0, 'some SDK metrics');
    });

    it('counts a send that failed once, its retry, and the demand by status', async () => {
      sink.failNext(1, 451);
      await startDemand();
      request = (await sink.waitFor((m) => m.length === 1, 'the request', 60_000))[0]!;
      await equals('sum(auditflow_emails_total{kind="request", outcome="failed"})', 1);
      await equals('sum(auditflow_emails_total{kind="request", outcome="sent"})', 1);
      await equals('sum(auditflow_email_send_retries_total{kind="request"})', 1);
      await equals('sum(auditflow_demands{status="active"})', 1);
      await expectValue('sum(auditflow_storage_write_seconds_count{job="worker"})', (v) => v >= 2, 'ledger writes');
    });

    it('counts a recorded reply, an extension request, a kept one, a refused recipient and a 451', async () => {
      const to = [replyAddress(request)];
      const signed = await compose(replyTo(request, 'Re: audit [xbox]', 'The inventory is attached.'), true);
      assert.equal((await smtpSend(gateway.smtp.port, signed, { from: 'pat@acme.example', to })).code, 250);
      const ask = await compose(
        replyTo(request, "RE: Demande d'audit [stadia]", 'Pourriez-vous nous accorder deux semaines de plus ?'),
        true,
      );
      const asked = await smtpSend(gateway.smtp.port, ask, { from: 'pat@acme.example', to });
      assert.match(asked.response, /extension-request/);
      // Not signed, and an envelope sender that does not align: DMARC fails, the reply is kept.
      const unsigned = await compose(replyTo(request, 'Re: audit [psn]', 'Our answer on PSN.'), false);
      const kept = await smtpSend(gateway.smtp.port, unsigned, { from: 'bounce@mailer.example', to });
      assert.match(kept.response, /Kept for review/);
      const refused = await smtpSend(gateway.smtp.port, signed, { from: 'pat@acme.example', to: ['x@gmail.example'] });
      assert.equal(refused.code, 550);
      const deferred = await smtpSend(cutOff.smtp.port, signed, { from: 'pat@acme.example', to });
      assert.equal(deferred.code, 451, deferred.response);

      await equals('sum(auditflow_gateway_replies_total{outcome="recorded"})', 2);
      await equals('sum(auditflow_gateway_replies_total{outcome="triaged"})', 1);
      await equals('sum(auditflow_gateway_triage_total{reason="unauthenticated"})', 1);
      await equals('sum(auditflow_gateway_replies_total{outcome="deferred"})', 1);
      await equals('sum(auditflow_gateway_rcpt_refused_total{problem="foreign"})', 1);
      await equals('sum(auditflow_gateway_auth_verdicts_total{decision="pass"})', 2);
      await equals('sum(auditflow_gateway_auth_verdicts_total{decision="fail"})', 1);
      await equals('sum(auditflow_gateway_message_seconds_count)', 4);
      await expectValue('sum(auditflow_storage_write_seconds_count{job="gateway"})', (v) => v >= 4, 'evidence writes');
      await expectValue('sum(auditflow_emails_total{kind="acknowledgement", outcome="sent"})', (v) => v >= 1, 'acks');
      await equals('max(auditflow_extension_requests_waiting)', 1);
      await equals('max(auditflow_triage_open)', 1);
    });
  },
);
