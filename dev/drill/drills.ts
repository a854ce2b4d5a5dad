/**
 * The fault drills of issue 6. Each starts its own stack (dev/drill/stack.ts), runs demands, injects one
 * kind of fault, waits until every demand has reached its end (conditions, never fixed sleeps, except the
 * fault's own downtime), then counts lost and duplicated email (dev/drill/count.ts) and looks for
 * determinism errors in the worker's output and in every demand's history.
 */
import { smtpSend } from '../support/smtp-send';
import { withdrawUpdate } from '../../domain/messages';
import type { DemandStatusView } from '../../domain/state';
import { compose } from '../support/mail-auth';
import { readLedger, tally, type Tally } from './count';
import { eventually } from '../../platform/wait';
import { killMidSend } from './mid-send';
import { startStack, type DrillDemand, type DrillStack, type StackOptions } from './stack';
import fs from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { testDataConverter } from '../support/temporal';
import { workerTracing } from '../../platform/tracing';

export interface DrillResult {
  name: string;
  /** What the drill did, one line each. */
  did: string[];
  demands: number;
  ended: number;
  notEnded: string[];
  tally: Tally;
  /** Duplicates allowed (byte-identical copies only): one per kill inside the ambiguous window. */
  allowance: number;
  determinismErrors: string[];
  /** Determinism errors a retried workflow task got past, in histories that replay cleanly (reported, not failed). */
  transientTaskFailures: string[];
  /** Drill-specific findings that fail the drill (e.g. a timer that did not fire after the downtime). */
  problems: string[];
  seconds: number;
  ok: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** The stack a drill runs on, what it did (one line each), its start; the stack always stops at the end. */
export interface DrillRun {
  stack: DrillStack;
  did: string[];
  log: (line: string) => void;
  t0: number;
}

export async function runDrill(
  o: { log?: (line: string) => void },
  stackOptions: Omit<StackOptions, 'log'>,
  body: (run: DrillRun) => Promise<DrillResult>,
): Promise<DrillResult> {
  const log = o.log ?? (() => {});
  const t0 = Date.now();
  const stack = await startStack({ log, ...stackOptions });
  try {
    return await body({ stack, did: [], log, t0 });
  } finally {
    await stack.close();
  }
}

/** Starts `count` demands and waits until each one's request has arrived. */
async function startAndAwaitRequests(
  stack: DrillStack,
  count: number,
  deadlineIn: number,
  prefix: string,
): Promise<DrillDemand[]> {
  const demands = await stack.startDemands(count, deadlineIn, prefix);
  await eventually(() => stack.sink.messages.length >= demands.length, 'every request to arrive', {
    timeoutMs: 60_000,
    intervalMs: 100,
  });
  return demands;
}

/** Sleeps until just before the reminders fall due (they are half way to the deadline): where a fault starts. */
async function untilReminders(start: number, deadlineIn: number): Promise<void> {
  const at = start + deadlineIn * 400;
  if (at > Date.now()) await sleep(at - Date.now());
}

/** The workflow task failure cause of a determinism error (WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR). */
const NONDETERMINISM = temporal.api.enums.v1.WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR;

/** A history with a failed workflow task, kept for `Worker.runReplayHistory` (AUDITFLOW_DRILL_HISTORIES=<folder>). */
async function saveHistory(
  folder: string,
  workflowId: string,
  history: temporal.api.history.v1.IHistory,
): Promise<void> {
  await fs.promises.mkdir(folder, { recursive: true });
  await fs.promises.writeFile(path.join(folder, `${workflowId}.json`), `${historyToJSON(history)}\n`);
}

/**
 * A history's failed workflow tasks: a determinism error in a history that replays cleanly was got past by
 * a retried task (transient); any other failure, or any failure in a history that does not replay, is an error.
 */
export function judgeTaskFailures(
  name: string,
  history: temporal.api.history.v1.IHistory,
  replayed: boolean,
): { errors: string[]; transient: string[] } {
  const errors: string[] = [];
  const transient: string[] = [];
  for (const e of history.events ?? []) {
    const failed = e.workflowTaskFailedEventAttributes;
    if (!failed) continue;
    const line = `${name}: workflow task failed (cause ${String(failed.cause)}): ${failed.failure?.message ?? ''}`;
    const nondeterminism = failed.cause === NONDETERMINISM || /TMPRL1100|nondetermini/i.test(line);
    (nondeterminism && replayed ? transient : errors).push(line.slice(0, 300));
  }
  return { errors, transient };
}

/**
 * Determinism, judged on the record: every demand's whole history is replayed on a fresh worker (a
 * difference between first run and replay shows even where no worker replayed that stretch during the
 * drill). A failed workflow task in a history, or a determinism error in the worker's log, counts as an
 * error unless it was a determinism error and the history replays cleanly: the workflow task was then
 * retried and went on (a killed worker's stale cache or a sticky-queue handover, a worker-side fault
 * Temporal retries by design); those are reported apart, as `transient`.
 */
async function determinismErrors(stack: DrillStack): Promise<{ errors: string[]; transient: string[] }> {
  const errors: string[] = [];
  const transient: string[] = [];
  const logged = stack.worker.lines.filter((l) => /nondetermini|TMPRL1100|WorkflowTaskFailed/i.test(l)).slice(0, 5);
  const keep = process.env.AUDITFLOW_DRILL_HISTORIES;
  for (const d of stack.demands) {
    const history = await stack.client.workflow.getHandle(d.workflowId).fetchHistory();
    const replayed = await Worker.runReplayHistory(
      {
        workflowBundle: { codePath: path.join(stack.dataDir, 'workflow-bundle.js') },
        dataConverter: testDataConverter,
        sinks: (await workerTracing(undefined)).sinks,
      },
      history,
      d.workflowId,
    ).then(
      () => true,
      (err: Error) => {
        errors.push(`${d.spec.id}: replay of its whole history: ${err.message}`.slice(0, 300));
        return false;
      },
    );
    const judged = judgeTaskFailures(d.spec.id, history, replayed);
    errors.push(...judged.errors);
    transient.push(...judged.transient);
    if (keep && (judged.errors.length + judged.transient.length > 0 || !replayed))
      await saveHistory(keep, d.workflowId, history);
  }
  // The log says which run but not whether it recovered: it is judged with the histories.
  (errors.length === 0 ? transient : errors).push(...logged.map((l) => `worker log: ${l}`.slice(0, 300)));
  return { errors, transient };
}

/** Activity retries recorded in the histories: how many sends needed more than one attempt, and the most attempts. */
export async function activityRetries(stack: DrillStack): Promise<{ retried: number; maxAttempt: number }> {
  let retried = 0;
  let maxAttempt = 1;
  for (const d of stack.demands) {
    const history = await stack.client.workflow.getHandle(d.workflowId).fetchHistory();
    for (const e of history.events ?? []) {
      const attempt = e.activityTaskStartedEventAttributes?.attempt ?? 1;
      if (attempt > 1) retried += 1;
      maxAttempt = Math.max(maxAttempt, attempt);
    }
  }
  return { retried, maxAttempt };
}

/** Waits for every demand's end, then counts; `problems` are the drill's own extra findings. */
export async function finish(
  name: string,
  stack: DrillStack,
  t0: number,
  did: string[],
  allowance: number,
  endTimeoutMs: number,
  extra: (finals: Map<string, DemandStatusView>) => string[] | Promise<string[]> = () => [],
): Promise<DrillResult> {
  const { ended, notEnded } = await stack.waitForEnds(endTimeoutMs);
  const finals = new Map<string, DemandStatusView>();
  for (const d of stack.demands) {
    const s = await stack.status(d).catch(() => undefined);
    if (s) finals.set(d.workflowId, s);
  }
  const wrongEnd = stack.demands.filter(
    (d) =>
      finals.get(d.workflowId) &&
      ended &&
      finals.get(d.workflowId)!.status !== d.expectedEnd &&
      !notEnded.includes(d.spec.id),
  );
  const counts = tally(stack.demands, finals, await readLedger(stack.storage), stack.sink.messages);
  const determinism = await determinismErrors(stack);
  if (determinism.transient.length)
    did.push(
      [
        `${determinism.transient.length} transient workflow task failure(s), retried by Temporal;`,
        `every history replays cleanly: ${determinism.transient.join(' | ')}`,
      ]
        .join(' ')
        .slice(0, 600),
    );
  const problems = [
    ...wrongEnd.map((d) => `${d.spec.id} ended ${finals.get(d.workflowId)!.status}, expected ${d.expectedEnd}`),
    ...(await extra(finals)),
  ];
  const ok =
    notEnded.length === 0 &&
    problems.length === 0 &&
    determinism.errors.length === 0 &&
    counts.lost === 0 &&
    counts.differing === 0 &&
    counts.unexpected === 0 &&
    counts.duplicated <= allowance;
  return {
    name,
    did,
    demands: stack.demands.length,
    ended,
    notEnded,
    tally: counts,
    allowance,
    determinismErrors: determinism.errors,
    transientTaskFailures: determinism.transient,
    problems,
    seconds: Math.round((Date.now() - t0) / 1000),
    ok,
  };
}

export interface WorkerKillOptions {
  demands: number;
  kills: number;
  /** Seconds from start to each demand's deadline; the whole ladder ends at 1.75x that. */
  deadlineIn: number;
  /** How long the worker stays dead after each kill. */
  restartAfterMs?: number;
  /** Random source (tests pass a seeded one to make a failure reproducible). */
  random?: () => number;
  log?: (line: string) => void;
}

/**
 * Drill 1: SIGKILL the worker once inside its SMTP transactions (dev/drill/mid-send.ts), then `kills` times
 * at random moments while demands run; restart it after 2 s each time.
 */
export async function workerKillDrill(o: WorkerKillOptions): Promise<DrillResult> {
  const random = o.random ?? Math.random;
  return runDrill(o, {}, async ({ stack, did, log, t0 }) => {
    const start = Date.now();
    const restartAfterMs = o.restartAfterMs ?? 2000;
    const aimed = await killMidSend(stack, { demands: o.demands, deadlineIn: o.deadlineIn, restartAfterMs });
    did.push(aimed.line);
    log(aimed.line);
    const horizon = o.deadlineIn * 1.75 * 1000;
    const moments = Array.from({ length: o.kills }, () => Math.round(random() * horizon)).sort((a, b) => a - b);
    did.push(
      `${o.demands} demands, deadline in ${o.deadlineIn} s, reminder, overdue notice and a 3-step ladder to referral within ${Math.round(horizon / 1000)} s`,
    );
    let readyAt = Date.now();
    for (const [i, at] of moments.entries()) {
      // Each kill hits a worker that has been running for a moment, not one still starting up.
      const wait = Math.max(start + at, readyAt + 1000 + Math.round(random() * 3000)) - Date.now();
      if (wait > 0) await sleep(wait);
      await stack.worker.kill('SIGKILL');
      const line = `kill ${i + 1}/${o.kills}: SIGKILL worker at +${secs(Date.now() - start)} (${stack.sink.messages.length} emails arrived so far)`;
      await sleep(restartAfterMs); // the fault itself: the worker stays dead for 2 s
      await stack.worker.start();
      readyAt = Date.now();
      did.push(`${line}; restarted, ready at +${secs(readyAt - start)}`);
      log(did.at(-1)!);
    }
    // The aimed kill hit before anything reached SMTP: it allows no duplicate.
    return await finish('worker-kill', stack, t0, did, o.kills, Math.max(300_000, horizon * 3), async () => {
      const { retried, maxAttempt } = await activityRetries(stack);
      const settled = aimed.settle();
      did.push(
        settled.line,
        `${retried} activity attempts were retries after a kill (most attempts for one: ${maxAttempt}); ` +
          `all demands ended ${secs(Date.now() - start)} after the start`,
      );
      return [...aimed.problems, ...settled.problems];
    });
  });
}

export interface OutageOptions {
  demands: number;
  deadlineIn: number;
  /** How long outbound SMTP is down, starting just before the reminders fall due. */
  outageSeconds: number;
  log?: (line: string) => void;
}

/** Drill 2: outbound SMTP refuses connections while reminders and notices fall due; everything arrives once afterwards. */
export async function smtpOutageDrill(o: OutageOptions): Promise<DrillResult> {
  return runDrill(o, {}, async ({ stack, did, log, t0 }) => {
    const start = Date.now();
    await startAndAwaitRequests(stack, o.demands, o.deadlineIn, 'smtp');
    await untilReminders(start, o.deadlineIn);
    const before = stack.sink.messages.length;
    stack.smtp.down();
    const downSince = Date.now();
    did.push(
      `${o.demands} demands; outbound SMTP down at +${secs(downSince - start)} for ${o.outageSeconds} s (connections refused)`,
    );
    log(did.at(-1)!);
    await sleep(o.outageSeconds * 1000); // the fault itself
    const duringOutage = stack.sink.messages.length - before;
    stack.smtp.up();
    const upAt = Date.now();
    did.push(`SMTP back at +${secs(upAt - start)}; ${duringOutage} emails arrived while it was down`);
    return finish('smtp-outage', stack, t0, did, 1, 240_000, async () => {
      const { retried, maxAttempt } = await activityRetries(stack);
      const due = stack.sink.messages.filter((m) => inWindow(m, downSince, upAt));
      did.push(
        `${due.length} emails fell due during the outage and arrived afterwards; ` +
          `${retried} send attempts were retries (most attempts for one send: ${maxAttempt})`,
      );
      const problems: string[] = [];
      if (duringOutage > 0)
        problems.push(`${duringOutage} emails arrived while SMTP was down: the outage was not real`);
      if (due.length === 0) problems.push('no email fell due during the outage: the drill proved nothing');
      if (retried === 0) problems.push('no send was retried');
      return problems;
    });
  });
}

/** True when the message was scheduled for an instant inside [from, to]. */
function inWindow(m: { header(name: string): string | undefined }, from: number, to: number): boolean {
  const at = Date.parse(m.header('x-auditflow-scheduled-at') ?? '');
  return at >= from && at <= to;
}

export interface ServerRestartOptions {
  demands: number;
  deadlineIn: number;
  downSeconds: number;
  log?: (line: string) => void;
}

/** Drill 3: SIGKILL the dev server across the reminders' instant and start it again on its SQLite file. */
export async function serverRestartDrill(o: ServerRestartOptions): Promise<DrillResult> {
  return runDrill(o, {}, async ({ stack, did, log, t0 }) => {
    const start = Date.now();
    await startAndAwaitRequests(stack, o.demands, o.deadlineIn, 'server');
    await untilReminders(start, o.deadlineIn);
    await stack.server.kill();
    const downSince = Date.now();
    await sleep(o.downSeconds * 1000); // the fault itself
    const arrivedWhileDown = stack.sink.messages.filter((m) => inWindow(m, downSince, Date.now())).length;
    await stack.server.restart();
    const upAt = Date.now();
    did.push(
      `${o.demands} demands; dev server SIGKILLed at +${secs(downSince - start)}, restarted on its SQLite file at +${secs(upAt - start)}`,
    );
    log(did.at(-1)!);
    return finish('server-restart', stack, t0, did, 0, 240_000, () => {
      const fired = stack.sink.messages.filter((m) => inWindow(m, downSince, upAt));
      did.push(`${fired.length} emails whose timers fell due during the downtime arrived afterwards`);
      const problems: string[] = [];
      if (fired.length === 0) problems.push('no timer fell due during the downtime: the drill proved nothing');
      if (arrivedWhileDown > 0)
        problems.push(`${arrivedWhileDown} emails due in the downtime arrived while the server was down`);
      return problems;
    });
  });
}

export interface GatewayOptions {
  /** Replies sent with the gateway SIGKILLed right after each 250. */
  kills: number;
  /** Also make Temporal unreachable from the gateway (451, then the retry is recorded once); default true. */
  temporalOutage?: boolean;
  /**
   * Replies to the gateway spooled (AUDITFLOW_GATEWAY_ACCEPT=spooled) with no worker running, the gateway
   * SIGKILLed right after each 250: the restarted gateway must claim each from the spool and record it once.
   */
  spooledKills?: number;
  log?: (line: string) => void;
}

/**
 * Drill 4: the gateway process is SIGKILLed the moment it has answered 250 (the reply must already be
 * recorded), and Temporal is unreachable from the gateway (451; the retried message is recorded once).
 * Each demand gets one reply on one item and ends when ops withdraw it, so its end is `withdrawn`.
 */
export async function gatewayDrill(o: GatewayOptions): Promise<DrillResult> {
  return runDrill(o, { gateway: true }, async ({ stack, did, log, t0 }) => {
    const outage = o.temporalOutage ?? true;
    const spooledKills = o.spooledKills ?? 0;
    const demands = await startAndAwaitRequests(stack, o.kills + (outage ? 1 : 0) + spooledKills, 3600, 'gateway');
    const replyFor = (d: DrillDemand, n: number) =>
      drillReply(stack, d, `Stadia ran from 2019 to 2022 (${n}).`, 'drill');
    const answers = async (d: DrillDemand) =>
      (await stack.status(d)).items.find((i) => i.id === 'stadia')!.answers.length;
    const problems: string[] = [];
    for (const [i, d] of demands.slice(0, o.kills).entries()) {
      const { raw, envelope } = await replyFor(d, i);
      const answer = await smtpSend(stack.gatewayPort, raw, envelope);
      await stack.gateway!.kill('SIGKILL');
      if (answer.code !== 250) problems.push(`reply ${i + 1}: gateway answered ${answer.code} ${answer.response}`);
      const recorded = await answers(d);
      did.push(`reply ${i + 1}: gateway answered ${answer.code}, SIGKILLed at once; answers recorded: ${recorded}`);
      log(did.at(-1)!);
      if (recorded !== 1) problems.push(`${d.spec.id}: ${recorded} answers recorded after a 250`);
      await stack.gateway!.start();
    }
    // Temporal unreachable from the gateway: 451, then the sender's retry is recorded once.
    if (outage) await temporalOutageReply(stack, demands.at(o.kills)!, replyFor, did, problems, log);
    if (spooledKills)
      await spooledReplies(stack, demands.slice(-spooledKills), replyFor, answers, { did, problems, log });
    for (const d of demands) {
      d.answered = true;
      d.expectedEnd = 'withdrawn';
      await stack.client.workflow
        .getHandle(d.workflowId)
        .executeUpdate(withdrawUpdate, { args: [{ reason: 'drill over', by: 'drill' }] });
    }
    return finish('gateway', stack, t0, did, 0, 120_000, () => problems);
  });
}

/**
 * Spooled acceptance under a gateway kill: with the worker stopped (nothing can be recorded), each reply's
 * 250 is followed at once by a SIGKILL of the gateway; then the worker and the gateway start again, and the
 * gateway's sweep must claim the reply from the spool and record it, once.
 */
async function spooledReplies(
  stack: DrillStack,
  demands: DrillDemand[],
  replyFor: (d: DrillDemand, n: number) => Promise<{ raw: Buffer; envelope: { from: string; to: string[] } }>,
  answers: (d: DrillDemand) => Promise<number>,
  r: { did: string[]; problems: string[]; log: (l: string) => void },
): Promise<void> {
  const gateway = stack.gateway!;
  await gateway.kill('SIGKILL');
  await gateway.start({ AUDITFLOW_GATEWAY_ACCEPT: 'spooled', AUDITFLOW_GATEWAY_SPOOL_GRACE_SECONDS: '2' });
  for (const [i, d] of demands.entries()) {
    await stack.worker.stop();
    const { raw, envelope } = await replyFor(d, 200 + i);
    const answer = await smtpSend(stack.gatewayPort, raw, envelope);
    await gateway.kill('SIGKILL');
    if (answer.code !== 250)
      r.problems.push(`spooled reply ${i + 1}: gateway answered ${answer.code} ${answer.response}`);
    const mark = gateway.lines.length;
    await stack.worker.start();
    await gateway.start();
    const recorded = await eventually(
      async () => (await answers(d)) || undefined,
      `spooled reply ${i + 1} to be recorded`,
      {
        timeoutMs: 60_000,
        intervalMs: 250,
      },
    ).catch(() => 0);
    const claimed = gateway.lines.slice(mark).some((l) => /claimed spooled messages/.test(l));
    r.did.push(
      `spooled reply ${i + 1}: gateway answered ${answer.code} with no worker running, SIGKILLed at once; ` +
        `restarted: ${claimed ? 'claimed from the spool' : 'not claimed'}, answers recorded: ${recorded}`,
    );
    r.log(r.did.at(-1)!);
    if (recorded !== 1) r.problems.push(`${d.spec.id}: ${recorded} answers recorded after a spooled 250`);
    if (!claimed) r.problems.push(`${d.spec.id}: the restarted gateway did not claim the spooled reply`);
  }
}

/** A reply to a demand's request on the stadia item, as the counterparty's server would deliver it. */
export async function drillReply(stack: DrillStack, d: DrillDemand, text: string, idPrefix: string) {
  const request = stack.sink.messages.find(
    (m) => m.header('x-auditflow-demand') === d.spec.id && m.header('x-auditflow-kind') === 'request',
  )!;
  const to = request.parsed.replyTo?.value[0]?.address ?? '';
  const raw = await compose(
    {
      from: 'Pat Primary <pat@acme.example>',
      to,
      subject: 'Re: audit [stadia]',
      text,
      messageId: `<${idPrefix}-${d.spec.id}@acme.example>`,
      inReplyTo: request.parsed.messageId,
    },
    false,
  );
  return { raw, envelope: { from: 'pat@acme.example', to: [to] } };
}

/** Temporal unreachable from the gateway: it answers 451; the sender's retries are recorded once. */
async function temporalOutageReply(
  stack: DrillStack,
  last: DrillDemand,
  replyFor: (d: DrillDemand, n: number) => Promise<{ raw: Buffer; envelope: { from: string; to: string[] } }>,
  did: string[],
  problems: string[],
  log: (l: string) => void,
): Promise<void> {
  const temporalProxy = stack.temporalProxy!;
  const { raw, envelope } = await replyFor(last, 99);
  temporalProxy.down();
  const refused = await smtpSend(stack.gatewayPort, raw, envelope);
  temporalProxy.up();
  let retried = refused;
  let tries = 1;
  const deadline = Date.now() + 60_000;
  while (retried.code !== 250 && Date.now() < deadline) {
    retried = await smtpSend(stack.gatewayPort, raw, envelope);
    tries += 1;
  }
  const again = await smtpSend(stack.gatewayPort, raw, envelope); // a sender that never saw our 250 retries once more
  const s = await stack.status(last);
  const recorded = s.items.find((i) => i.id === 'stadia')!.answers.length;
  did.push(
    `Temporal unreachable from the gateway: ${refused.code}; ` +
      `sender retried ${tries - 1} time(s) until ${retried.code}, ` +
      `once more after (${again.code}); answers recorded: ${recorded}, ` +
      `duplicates ignored: ${s.duplicatesIgnored}`,
  );
  log(did.at(-1)!);
  if (refused.code !== 451) problems.push(`Temporal unreachable: gateway answered ${refused.code}, expected 451`);
  if (retried.code !== 250) problems.push(`the retried message was not accepted: ${retried.code} ${retried.response}`);
  if (recorded !== 1) problems.push(`the retried message was recorded ${recorded} times`);
}
