/**
 * The multi-host drill (issue 12): what several machines sharing one S3 bucket must guarantee. Two worker
 * processes and two gateways, each with a data folder of its own (as separate hosts would have), one
 * Temporal server, one S3 server (versitygw, Object Lock on). Replies go to both gateways, workers are
 * SIGKILLed at random, and at the end every demand is exported and verified from a third, empty data
 * folder that shares nothing but the storage settings. It fails on a lost email or reply, a duplicate
 * beyond the kills, an evidence object missing or not locked, or a report that the third folder cannot read.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { withdrawUpdate } from '../../domain/messages';
import { evidenceOf } from '../../activities/write-report';
import { PROJECT_ROOT } from '../../platform/paths';
import { STORAGE_KEYS } from '../../platform/storage';
import { asReportDocument } from '../../platform/report/model';
import { eventually } from '../../platform/wait';
import { smtpSend } from '../support/smtp-send';
import type { S3Server } from '../support/s3-server';
import { activityRetries, drillReply, finish, runDrill, type DrillResult } from './drills';
import { DRILL_SECRET, type DrillStack } from './stack';
import { TEST_ENCRYPTION_KEYS } from '../support/temporal';

export interface MultiHostOptions {
  /** Demands left unanswered: they run their ladder to referral (and a legal hold). */
  demands: number;
  /** Demands answered once each, through the gateways in turn, then withdrawn. */
  replies: number;
  /** Worker SIGKILLs, each of a worker picked at random, while the ladders run. */
  kills: number;
  /** How many of the kills wait for a burst of sends to begin, so that sends are in flight when the worker dies. */
  aimedKills?: number;
  deadlineIn: number;
  s3: S3Server;
  random?: () => number;
  log?: (line: string) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** Runs the auditflow CLI as its own process with `env`; resolves with its exit code and output. */
function cli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [path.join(PROJECT_ROOT, 'bin', 'auditflow.js'), ...args], {
      cwd: PROJECT_ROOT,
      // The drill exercises the sources it runs the stack from, not a build of them.
      env: { ...env, AUDITFLOW_FROM_SOURCE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (out += d.toString()));
    c.on('close', (code) => resolve({ code: code ?? 1, out }));
  });
}

/** Delivers a message like a sending server: retries a 4xx (a gateway whose worker is restarting) until 250. */
async function deliver(port: number, raw: Buffer, envelope: { from: string; to: string[] }) {
  let last = { code: 0, response: '' };
  const tries = await eventually(
    async () => {
      last = await smtpSend(port, raw, envelope).catch((err: Error) => ({ code: 0, response: err.message }));
      return last.code === 250 || (last.code >= 500 && last.code < 600) ? last : undefined;
    },
    () => `the gateway on port ${port} to accept a reply (last answer: ${last.code} ${last.response})`,
    { timeoutMs: 120_000, intervalMs: 1000 },
  );
  return tries;
}

/** The drill. */
export async function multiHostDrill(o: MultiHostOptions): Promise<DrillResult> {
  const random = o.random ?? Math.random;
  const prefix = `drill-${Date.now().toString(36)}`;
  const storageEnv: Record<string, string> = { ...o.s3.env(prefix) };
  // This process reads the bucket too (ledger, reports, locks): the SDK takes credentials from the environment.
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: storageEnv.AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: storageEnv.AWS_SECRET_ACCESS_KEY,
  });
  return runDrill(o, { gateway: true, hosts: { storageEnv } }, async ({ stack, did, log, t0 }) => {
    const start = Date.now();
    did.push(
      `2 workers and 2 gateways, each with its own data folder; ` +
        `storage ${stack.storage.description}; ` +
        `${o.demands} demands to referral (deadline in ${o.deadlineIn} s), ` +
        `${o.replies} answered through both gateways`,
    );
    await stack.startDemands(o.demands, o.deadlineIn, 'multi');
    const answered = await stack.startDemands(o.replies, 3600, 'answered');
    // AUDITFLOW_DRILL_QUERY_STORM=1: every demand's status is queried without pause while the workers die,
    // so that queries reach a worker that does not have the demand cached while its next task waits.
    let storming = process.env.AUDITFLOW_DRILL_QUERY_STORM === '1';
    const storm = (async () => {
      let queries = 0;
      while (storming) {
        await Promise.all(stack.demands.map((d) => stack.status(d).catch(() => undefined)));
        queries += stack.demands.length;
        await sleep(50);
      }
      return queries;
    })();
    const problems: string[] = [];

    // Replies, alternately to gateway A and B, while the workers are being killed.
    const replies = (async () => {
      await eventually(
        () =>
          answered.every((d) =>
            stack.sink.messages.some(
              (m) => m.header('x-auditflow-demand') === d.spec.id && m.header('x-auditflow-kind') === 'request',
            ),
          ),
        'every answered demand to send its request',
        { timeoutMs: 120_000, intervalMs: 200 },
      );
      for (const [i, d] of answered.entries()) {
        const gw = stack.gateways[i % stack.gateways.length]!;
        const { raw, envelope } = await drillReply(stack, d, `Stadia ran from 2019 to 2022 (reply ${i}).`, 'multi');
        const r = await deliver(gw.port, raw, envelope);
        if (r.code !== 250) problems.push(`${d.spec.id}: ${gw.service.name} answered ${r.code} ${r.response}`);
      }
      did.push(
        `${answered.length} replies delivered, ${Math.ceil(answered.length / 2)} to gateway A, ${Math.floor(answered.length / 2)} to gateway B`,
      );
    })();

    const horizon = o.deadlineIn * 1.75 * 1000;
    const moments = Array.from({ length: o.kills }, () => Math.round(random() * horizon)).sort((a, b) => a - b);
    let readyAt = Date.now();
    for (const [i, at] of moments.entries()) {
      const wait = Math.max(start + at, readyAt + 1000 + Math.round(random() * 3000)) - Date.now();
      if (wait > 0) await sleep(wait);
      // Mail goes out in bursts (every demand's step falls due at once): an aimed kill waits for the first
      // email of the next burst, so that the other sends of the burst are in flight when the worker dies.
      const aimed = i < (o.aimedKills ?? 0);
      if (aimed) {
        const seen = stack.sink.messages.length;
        await eventually(() => stack.sink.messages.length > seen, 'a burst of sends to begin', {
          timeoutMs: horizon,
          intervalMs: 10,
        }).catch(() => undefined);
      }
      const victim = stack.workers[Math.floor(random() * stack.workers.length)]!;
      await victim.kill('SIGKILL');
      const line =
        `kill ${i + 1}/${o.kills}${aimed ? ' (aimed at a burst of sends)' : ''}: SIGKILL ${victim.name} ` +
        `at +${secs(Date.now() - start)} (${stack.sink.messages.length} emails arrived so far)`;
      await sleep(2000); // the fault itself: the worker stays dead for 2 s
      await victim.start();
      readyAt = Date.now();
      did.push(`${line}; restarted, ready at +${secs(readyAt - start)}`);
      log(did.at(-1)!);
    }
    await replies;
    storming = false;
    const stormed = await storm;
    if (stormed) did.push(`query storm: ${stormed} status queries while the workers were being killed`);
    for (const d of answered) {
      const recorded = await eventually(
        async () => {
          const n = (await stack.status(d)).items.find((i) => i.id === 'stadia')!.answers.length;
          return n > 0 ? n : undefined;
        },
        `the reply to ${d.spec.id} to be recorded`,
        { timeoutMs: 60_000, intervalMs: 200 },
      ).catch(() => 0);
      if (recorded !== 1) problems.push(`${d.spec.id}: ${recorded} answers recorded for one reply accepted with 250`);
      d.answered = true;
      d.expectedEnd = 'withdrawn';
      await stack.client.workflow
        .getHandle(d.workflowId)
        .executeUpdate(withdrawUpdate, { args: [{ reason: 'drill over', by: 'drill' }] });
    }

    return finish('multi-host', stack, t0, did, o.kills, Math.max(300_000, horizon * 3), async () => {
      const { retried, maxAttempt } = await activityRetries(stack);
      did.push(`${retried} activity attempts were retries (most attempts for one: ${maxAttempt})`);
      problems.push(...(await fromThirdFolder(stack, storageEnv, did, log)));
      return problems;
    });
  });
}

/**
 * From a third data folder that shares nothing but the storage settings: every demand's report is read
 * from storage and its case file exported and verified; every evidence object it names is present and
 * retained (Object Lock), and under legal hold when the demand ended `referred`.
 */
async function fromThirdFolder(
  stack: DrillStack,
  storageEnv: Record<string, string>,
  did: string[],
  log: (line: string) => void,
): Promise<string[]> {
  const problems: string[] = [];
  const third = path.join(stack.dataDir, 'host-c');
  fs.mkdirSync(third, { recursive: true });
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    ...storageEnv,
    AUDITFLOW_DATA_DIR: third,
    AUDITFLOW_TASK_QUEUE: stack.taskQueue,
    TEMPORAL_ADDRESS: stack.server.address,
    AUDITFLOW_SECRET: DRILL_SECRET,
    AUDITFLOW_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS,
    NO_COLOR: '1',
  };
  let objects = 0;
  let held = 0;
  let exported = 0;
  for (const d of stack.demands) {
    const found = await stack.storage.get(STORAGE_KEYS.report(d.spec.id, 'report.json'));
    const checked = found ? asReportDocument(JSON.parse(found.body.toString('utf8'))) : undefined;
    if (!checked?.ok) {
      problems.push(`${d.spec.id}: no readable report.json in storage`);
      continue;
    }
    for (const sha of evidenceOf(checked.doc)) {
      objects += 1;
      const key = STORAGE_KEYS.evidence(sha);
      const lock = (await stack.storage.exists(key)) ? await stack.storage.lockOf(key) : undefined;
      if (!lock) problems.push(`${d.spec.id}: evidence ${sha} missing from storage`);
      else if (!lock.retainUntil) problems.push(`${d.spec.id}: evidence ${sha} has no retention`);
      else if (checked.doc.outcome.status === 'referred' && !lock.legalHold)
        problems.push(`${d.spec.id}: evidence ${sha} of a referred demand has no legal hold`);
      else if (lock.legalHold) held += 1;
    }
    const file = path.join(third, `${d.spec.id}.tar.gz`);
    const ex = await cli(['export', d.spec.id, '--out', file], env);
    const ve = ex.code === 0 ? await cli(['verify', file], env) : ex;
    if (ve.code !== 0)
      problems.push(`${d.spec.id}: export/verify from the third folder failed: ${ve.out.trim().slice(0, 300)}`);
    else exported += 1;
  }
  const leftovers = fs.readdirSync(third).filter((f) => !f.endsWith('.tar.gz'));
  did.push(
    `third folder: ${exported}/${stack.demands.length} case files exported and verified; ` +
      `${objects} evidence objects present and retained, ${held} under legal hold; ` +
      `nothing else written there${leftovers.length ? ` (except: ${leftovers.join(', ')})` : ''}`,
  );
  log(did.at(-1)!);
  return problems;
}
