import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { simpleParser } from 'mailparser';
import nodemailer from 'nodemailer';
import { freePort, isPortOpen } from '../../platform/net';
import { auditflow, ROOT } from '../helpers/cli';
import { ANY_HOUR, sampleSpec } from '../../dev/support/specs';
import { startSmtpSink } from '../../dev/support/smtp-sink';
import { devServerAddress, uniqueName } from '../../dev/support/temporal';
import { eventually } from '../../platform/wait';

interface Running {
  child: ChildProcess;
  output: () => string;
}

/** Runs `npm start` exactly as a user does, and waits for its "running" banner. */
async function npmStart(env: Record<string, string | undefined>): Promise<Running> {
  const child = spawn('npm', ['start'], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  await eventually(
    () => out.includes('auditflow is running'),
    () => `npm start to get ready:\n${out}`,
    {
      timeoutMs: 150_000,
      giveUp: () => (child.exitCode !== null ? `npm start exited early (${child.exitCode})` : undefined),
    },
  );
  return { child, output: () => out };
}

async function stop(r: Running, signal: NodeJS.Signals): Promise<number> {
  const t0 = Date.now();
  r.child.kill(signal);
  await new Promise<void>((resolve) => (r.child.exitCode !== null ? resolve() : r.child.once('exit', () => resolve())));
  return Date.now() - t0;
}

function processesUsing(marker: string): string[] {
  const ps = spawnSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' }).stdout;
  return ps.split('\n').filter((l) => l.includes(marker) && !l.includes('ps -eo'));
}

describe('npm start: the whole stack on embedded defaults', () => {
  it('refuses a port already in use before it starts anything: no Temporal server is left behind', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'auditflow-start-busy-'));
    const busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const busyPort = (busy.address() as net.AddressInfo).port;
    const temporalPort = await freePort();
    try {
      const r = spawnSync('npm', ['start'], {
        cwd: ROOT,
        env: {
          ...process.env,
          AUDITFLOW_DATA_DIR: dataDir,
          AUDITFLOW_TEMPORAL_PORT: String(temporalPort),
          AUDITFLOW_UI_PORT: String(await freePort()),
          AUDITFLOW_SMTP_PORT: String(await freePort()),
          AUDITFLOW_CODEC_PORT: String(await freePort()),
          AUDITFLOW_GATEWAY_PORT: String(await freePort()),
          AUDITFLOW_WORKER_METRICS: `:${busyPort}`,
          AUDITFLOW_GATEWAY_METRICS: 'off',
          TEMPORAL_ADDRESS: undefined,
          SMTP_URL: undefined,
          NO_COLOR: '1',
        },
        encoding: 'utf8',
        timeout: 120_000,
      });
      assert.equal(r.status, 1, r.stdout + r.stderr);
      assert.match(
        r.stdout + r.stderr,
        new RegExp(`port ${busyPort} \\(worker metrics\\) is already in use.*AUDITFLOW_WORKER_METRICS`),
      );
      assert.doesNotMatch(r.stdout + r.stderr, /Temporal Server:/, 'the dev server was started before the check');
      assert.equal(await isPortOpen('127.0.0.1', temporalPort), false, 'a Temporal server is left listening');
      assert.deepEqual(processesUsing(dataDir), [], 'processes left running');
    } finally {
      busy.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('with TEMPORAL_ADDRESS and SMTP_URL set, starts only the worker and connects it there', async () => {
    const sink = await startSmtpSink();
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'auditflow-start-ext-'));
    const taskQueue = uniqueName('ext');
    const env = {
      AUDITFLOW_DATA_DIR: dataDir,
      TEMPORAL_ADDRESS: await devServerAddress(),
      SMTP_URL: sink.url,
      AUDITFLOW_TASK_QUEUE: taskQueue,
      AUDITFLOW_TEMPORAL_PORT: String(await freePort()),
      AUDITFLOW_SMTP_PORT: String(await freePort()),
      AUDITFLOW_CODEC_PORT: String(await freePort()),
      AUDITFLOW_GATEWAY_PORT: String(await freePort()),
      AUDITFLOW_WORKER_METRICS: 'off',
      AUDITFLOW_GATEWAY_METRICS: 'off',
      NO_COLOR: '1',
    };
    const running = await npmStart(env);
    try {
      const out = running.output();
      assert.match(
        out,
        /TEMPORAL_ADDRESS or a Temporal profile names 127\.0\.0\.1:\d+ namespace default: not starting a dev server/,
      );
      assert.match(out, /SMTP_URL is set: sending through smtp:\/\/127\.0\.0\.1:\d+\/?; no mail catcher started/);
      assert.doesNotMatch(out, /temporal +\| Temporal Server/);
      assert.equal(await isPortOpen('127.0.0.1', Number(env.AUDITFLOW_SMTP_PORT)), false, 'no catcher');
      const doctor = await auditflow(['doctor', '--json'], env);
      assert.equal(doctor.code, 0, doctor.stdout);
      // Once its worker is up, npm start creates the daily digest schedule for the worker's task queue.
      await eventually(
        () => running.output().includes(`daily digest schedule auditflow-digest:${taskQueue} created`),
        () => `npm start to create the digest schedule:\n${running.output()}`,
      );
      const connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS });
      try {
        const scheduleId = `auditflow-digest:${taskQueue}`;
        // Read raw: its arguments are encrypted with the key npm start generated in its data folder.
        const described = await connection.workflowService.describeSchedule({ namespace: 'default', scheduleId });
        assert.equal(described.schedule?.action?.startWorkflow?.workflowType?.name, 'digestWorkflow');
        assert.equal(described.schedule?.action?.startWorkflow?.taskQueue?.name, taskQueue);
        // The shared dev server outlives this test: the schedule must not fire at a queue nobody serves.
        await new Client({ connection }).schedule.getHandle(scheduleId).delete();
      } finally {
        await connection.close();
      }
    } finally {
      await stop(running, 'SIGTERM');
      await sink.close();
    }
    assert.deepEqual(processesUsing(dataDir), []);
  });

  it('runs the dev server, catcher and worker, keeps demands across a restart, and stops cleanly', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'auditflow-start-'));
    const ports = {
      temporal: await freePort(),
      ui: await freePort(),
      smtp: await freePort(),
      gateway: await freePort(),
      workerMetrics: await freePort(),
      gatewayMetrics: await freePort(),
    };
    const env = {
      AUDITFLOW_DATA_DIR: dataDir,
      AUDITFLOW_TEMPORAL_PORT: String(ports.temporal),
      AUDITFLOW_UI_PORT: String(ports.ui),
      AUDITFLOW_SMTP_PORT: String(ports.smtp),
      AUDITFLOW_CODEC_PORT: String(await freePort()),
      AUDITFLOW_GATEWAY_PORT: String(ports.gateway),
      AUDITFLOW_WORKER_METRICS: `:${ports.workerMetrics}`,
      AUDITFLOW_GATEWAY_METRICS: `:${ports.gatewayMetrics}`,
      TEMPORAL_ADDRESS: undefined,
      SMTP_URL: undefined,
      AUDITFLOW_WORKFLOW_BUNDLE: undefined,
      NO_COLOR: '1',
    };
    const cli = { ...env, TEMPORAL_ADDRESS: `127.0.0.1:${ports.temporal}` };

    const first = await npmStart(env);
    try {
      const banner = first.output();
      assert.match(
        banner,
        new RegExp(`Temporal Web UI \\(dashboard\\): +http://localhost:${ports.ui}/namespaces/default/workflows`),
      );
      assert.match(banner, /temporal +\| Temporal Server: +localhost:\d+/);
      assert.match(banner, /worker +\| .*worker ready: task queue audit-demands/);
      assert.match(banner, new RegExp(`Outbound mail catcher \\(SMTP\\): 127\\.0\\.0\\.1:${ports.smtp}`));
      assert.match(
        banner,
        new RegExp(
          `Inbound reply gateway \\(SMTP\\): ` +
            `127\\.0\\.0\\.1:${ports.gateway} for \\*@reply\\.auditflow\\.localhost \\(sender authentication recorded, ` +
            `not enforced: local sandbox\\)`,
        ),
      );
      assert.match(banner, /gateway +\| .*gateway ready: SMTP on 127\.0\.0\.1:\d+/);
      const workerMetrics = `http://127.0.0.1:${ports.workerMetrics}/metrics`;
      const gatewayMetrics = `http://127.0.0.1:${ports.gatewayMetrics}/metrics`;
      assert.ok(
        banner.includes(`Prometheus metrics:           worker ${workerMetrics}, gateway ${gatewayMetrics}`),
        banner,
      );
      assert.match(await (await fetch(workerMetrics)).text(), /^temporal_\w+/m, 'the SDK metrics');
      assert.match(await (await fetch(gatewayMetrics)).text(), /^# TYPE auditflow_gateway_replies_total counter/m);
      const ui = await fetch(`http://localhost:${ports.ui}/`);
      assert.equal(ui.status, 200);

      const doctor = await auditflow(['doctor', '--json'], cli);
      assert.equal(doctor.code, 0, doctor.stdout + doctor.stderr);

      const specFile = path.join(dataDir, 'spec.json');
      fs.writeFileSync(specFile, JSON.stringify(sampleSpec('start-e2e', { calendar: ANY_HOUR })));
      const started = await auditflow(['start', specFile, '--json'], cli);
      assert.equal(started.code, 0, started.stderr);
      const outbox = path.join(dataDir, 'mail', 'outbox');
      const eml = await eventually(
        () => (fs.existsSync(outbox) ? fs.readdirSync(outbox).find((f) => f.endsWith('.eml')) : undefined),
        'the request in the catcher',
      );
      assert.match(fs.readFileSync(path.join(outbox, eml), 'utf8'), /Subject: Audit demand: Audit of API usage/);

      // Reply to the caught request through the local gateway, as any mail client would.
      const request = await simpleParser(fs.readFileSync(path.join(outbox, eml)));
      const replyTo = request.replyTo?.value[0]?.address ?? '';
      const transport = nodemailer.createTransport({ host: '127.0.0.1', port: ports.gateway, ignoreTLS: true });
      const sent = await transport.sendMail({
        from: 'Pat Primary <pat@acme.example>',
        to: replyTo,
        subject: `Re: ${request.subject} [xbox]`.replace(' [xbox] [psn] [stadia]', ''),
        text: 'It read the friends list only.',
        inReplyTo: request.messageId,
      });
      transport.close();
      assert.match(sent.response, /^250 .*Recorded for start-e2e \(answer\)/);
      const answered = await eventually(() => {
        const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'auditflow.js'), 'show', 'start-e2e', '--json'], {
          env: { ...process.env, ...cli },
          encoding: 'utf8',
        });
        const st = JSON.parse(r.stdout || '{}') as { items?: { id: string; phase: string }[] };
        return st.items?.find((i) => i.id === 'xbox' && i.phase === 'in-review');
      }, 'the answer recorded on xbox');
      assert.ok(answered);
    } finally {
      const took = await stop(first, 'SIGTERM');
      assert.ok(took < 10_000, `SIGTERM took ${took} ms`);
    }
    assert.deepEqual(processesUsing(dataDir), [], 'no process of the stack may survive');
    assert.equal(await isPortOpen('127.0.0.1', ports.temporal), false);

    const second = await npmStart(env);
    try {
      const shown = await auditflow(['show', 'start-e2e', '--json'], cli);
      assert.equal(shown.code, 0, shown.stderr);
      const status = JSON.parse(shown.stdout) as { demandId: string; items: unknown[]; messages: { kind: string }[] };
      assert.equal(status.demandId, 'start-e2e');
      assert.equal(status.items.length, 3);
      assert.ok(status.messages.some((m) => m.kind === 'request'));
    } finally {
      const took = await stop(second, 'SIGINT');
      assert.ok(took < 10_000, `SIGINT took ${took} ms`);
    }
    assert.deepEqual(processesUsing(dataDir), []);
  });
});
