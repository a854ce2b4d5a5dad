/**
 * `auditflow demo`: the API-usage audit of examples/api-usage-audit.yaml with every duration compressed
 * (deadline about a minute away), the counterparty played through the real inbound SMTP gateway and ops
 * played through the same updates the CLI sends. Progress is printed live, one line per event; the demo
 * succeeds only if the demand ends as the scenario expects.
 *
 * The scenario, item by item: atlas, beacon and glacier are answered on time with an attachment, cascade
 * on time in plain text; drift only after the reminder; ember first sends an out-of-office, then answers;
 * fjord asks for more time, ops approve, and it answers after the original deadline; harbor never answers
 * and goes up the escalation ladder to referral. Ops accept every answer, so the demand ends `referred`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import nodemailer from 'nodemailer';
import type Mail from 'nodemailer/lib/mailer';
import YAML from 'yaml';
import { createFileEvidenceStore } from '../activities/evidence';
import { connect, loadSettings, type CliContext } from '../cli/client';
import { fetchStatus, sendUpdate } from '../cli/demands';
import { startDemand } from '../cli/commands/start';
import { CliError } from '../cli/output';
import { workflowUrl } from '../cli/ui';
import { checkDemand, type DemandSpec } from '../domain/demand';
import { decideExtensionUpdate, reviewUpdate } from '../domain/messages';
import { TERMINAL_STATUSES, type DemandStatusView, type MessageRecord } from '../domain/state';
import { formatUtc, toWall } from '../domain/time';
import { PROJECT_ROOT, type AuditflowConfig } from '../worker/config';
import { isPortOpen } from './dev-server';

export const DEMO_SPEC = path.join(PROJECT_ROOT, 'examples', 'api-usage-audit.yaml');
const OPS = 'auditflow demo (ops)';

/** What the counterparty does with each item of the example. */
export const SCENARIO = {
  atlas: 'answers on time, with an attachment',
  beacon: 'answers on time, with an attachment',
  cascade: 'answers on time',
  drift: 'answers after the reminder',
  ember: 'sends an out-of-office first, then answers',
  fjord: 'asks for an extension (approved), answers after the original deadline',
  glacier: 'answers on time, with an attachment',
  harbor: 'never answers: escalation ladder to referral',
} as const;
type ItemId = keyof typeof SCENARIO;
const ITEM_IDS = Object.keys(SCENARIO) as ItemId[];
const WITH_ATTACHMENT: ItemId[] = ['atlas', 'beacon', 'glacier'];

export interface DemoOptions {
  /** Seconds from start to the deadline; reminders and the ladder scale with it. */
  deadlineIn: number;
  /** Prints one line (progress, results). */
  out: (line: string) => void;
}

export interface DemoResult {
  ok: boolean;
  demandId: string;
  status: string;
  url: string;
  reportPath?: string;
  caseFile?: string;
  checks: { what: string; ok: boolean }[];
}

/**
 * The example, compressed: an instant deadline `deadlineIn` seconds away, one reminder half-way, a
 * three-step ladder every quarter of that, every day a business day and sending allowed all day (the
 * demo must not wait for office hours), and replies accepted without sender authentication (the demo's
 * counterparty cannot sign as northwind.example.com).
 */
export function demoSpec(example: unknown, id: string, startMs: number, deadlineIn: number): DemandSpec {
  const spec = structuredClone(example) as Record<string, unknown> & { counterparty: Record<string, unknown>; requester: Record<string, unknown>; items: { id: string }[] };
  const missing = ITEM_IDS.filter((i) => !spec.items?.some((it) => it.id === i));
  if (missing.length) throw new CliError(`${DEMO_SPEC} no longer has the items the demo plays (${missing.join(', ')}); restore it from git`);
  const s = (fraction: number) => `PT${Math.max(1, Math.round(deadlineIn * fraction))}S`;
  // Sending hours end at 23:59: pick zones where the demo's few minutes stay clear of local midnight.
  const zone = safeZone([String(spec.counterparty.timezone), 'America/New_York', 'Europe/London', 'Asia/Tokyo'], startMs, deadlineIn * 3 + 300);
  const requesterZone = safeZone([String(spec.requester.timezone), zone], startMs, deadlineIn * 3 + 300);
  spec.id = id;
  spec.title = `[demo] ${String(spec.title)}`.slice(0, 200);
  spec.counterparty = { ...spec.counterparty, timezone: zone };
  spec.requester = { ...spec.requester, timezone: requesterZone };
  spec.deadline = new Date(startMs + deadlineIn * 1000).toISOString();
  spec.reminders = [{ before: s(0.5), note: 'Demo reminder: the deadline is half a minute away.' }];
  spec.escalation = [
    { after: s(0.25), notify: ['counterparty:escalation'], label: 'notice to deputy GC' },
    { after: s(0.5), notify: ['counterparty:escalation', 'requester:counsel'], message: 'final-notice', label: 'final notice' },
    { after: s(0.75), notify: ['requester:counsel', 'requester:owner'], action: 'refer', label: 'referral for legal action' },
  ];
  spec.calendar = { businessDays: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], holidays: [], sendWindow: { from: '00:00', to: '23:59' } };
  spec.inbound = { authentication: 'none' };
  const checked = checkDemand(spec);
  if (!checked.ok) throw new CliError(`the compressed demo spec is invalid: ${checked.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
  return checked.spec;
}

/** The first zone in which [start, start + seconds] stays between 00:01 and 23:58 local. */
function safeZone(zones: string[], startMs: number, seconds: number): string {
  const clear = (z: string) => {
    const a = toWall(startMs, z);
    const b = toWall(startMs + seconds * 1000, z);
    return a.day === b.day && a.hour * 60 + a.minute >= 1 && b.hour * 60 + b.minute <= 23 * 60 + 58;
  };
  return zones.find(clear) ?? 'Pacific/Kiritimati';
}

/** The running stack the demo uses, or one it started (and stops afterwards). */
interface Stack {
  ctx: CliContext;
  config: AuditflowConfig;
  started?: ChildProcess;
  logFile?: string;
}

async function waitUntil<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new CliError(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Uses the `npm start` stack when it is up; otherwise starts it (embedded defaults) for the demo. */
async function openStack(out: (l: string) => void): Promise<Stack> {
  const { config, target } = loadSettings();
  try {
    return await checkStack(await connect(), config);
  } catch (err) {
    if (target.explicit) throw err;
  }
  fs.mkdirSync(config.dataDir, { recursive: true });
  const logFile = path.join(config.dataDir, 'demo-stack.log');
  out(`no auditflow stack is running: starting one (as npm start does), logging to ${logFile}`);
  const log = fs.openSync(logFile, 'w');
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'dev', 'start.ts')], { cwd: PROJECT_ROOT, env: process.env, stdio: ['ignore', log, log] });
  fs.closeSync(log);
  try {
    await waitUntil(
      'the stack to start',
      () => {
        if (child.exitCode !== null) throw new CliError(`the stack exited (${child.exitCode}) while starting; see ${logFile}:\n${tail(logFile)}`);
        return fs.readFileSync(logFile, 'utf8').includes('auditflow is running') ? true : undefined;
      },
      180_000,
    );
    return { ...(await checkStack(await connect(), config)), started: child, logFile };
  } catch (err) {
    await stopChild(child);
    throw err;
  }
}

function tail(file: string): string {
  return fs.readFileSync(file, 'utf8').trim().split('\n').slice(-15).join('\n');
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  await exited;
}

/** A stack the demo can play on: a worker polling the task queue and the gateway listening. */
async function checkStack(ctx: CliContext, config: AuditflowConfig): Promise<Stack> {
  try {
    const host = config.gateway.host === '0.0.0.0' ? '127.0.0.1' : config.gateway.host;
    if (!(await isPortOpen(host, config.gateway.port))) throw new CliError(`Temporal is up, but no inbound gateway listens on ${host}:${config.gateway.port}; start the whole stack with: npm start`);
    await waitUntil(
      `a worker polling task queue ${config.taskQueue}`,
      async () => {
        const tq = await ctx.client.workflowService.describeTaskQueue({ namespace: ctx.target.namespace, taskQueue: { name: config.taskQueue }, taskQueueType: 1 });
        return (tq.pollers?.length ?? 0) > 0 ? true : undefined;
      },
      30_000,
    );
    return { ctx, config };
  } catch (err) {
    await ctx.close();
    throw err;
  }
}

const oneLine = (text: string) => {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length > 90 ? `${t.slice(0, 89)}…` : t;
};

/** Prints one line per new event in the demand's state. */
function progressPrinter(out: (l: string) => void, startMs: number, zone: string) {
  let messages = 0;
  let decisions = 0;
  const phases = new Map<string, string>();
  let status = '';
  const stamp = (iso: string) => {
    const s = Math.max(0, Math.round((Date.parse(iso) - startMs) / 1000));
    return `+${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
  };
  const items = (ids: string[]) => (ids.length ? ` (${ids.join(', ')})` : '');
  const describe = (m: MessageRecord) =>
    m.direction === 'out' ? `sent ${m.kind} to ${m.to.join(', ')}${items(m.itemIds)}${m.status && m.status !== 'sent' ? ` [${m.status}]` : ''}` : `received ${m.kind} from ${m.from ?? '?'}${items(m.itemIds)}${m.status ? ` [${m.status}]` : ''}`;
  return (s: DemandStatusView) => {
    for (const m of s.messages.slice(messages)) out(`${stamp(m.at)}  ${describe(m)}`);
    messages = s.messages.length;
    for (const d of s.decisions.slice(decisions)) out(`${stamp(d.at)}  ${d.kind}${items(d.itemIds)}${d.by ? ` by ${d.by}` : ''}${d.reason ? `: ${oneLine(d.reason)}` : ''}`);
    decisions = s.decisions.length;
    for (const i of s.items) {
      const p = i.closure ? `closed (${i.closure})` : i.phase;
      if (phases.get(i.id) !== p) {
        if (phases.has(i.id)) out(`${stamp(s.now)}  item ${i.id}: ${p}`);
        phases.set(i.id, p);
      }
    }
    if (s.status !== status) {
      out(`${stamp(s.now)}  demand: ${s.status}  (${formatUtc(Date.parse(s.now))}, counterparty time zone ${zone})`);
      status = s.status;
    }
  };
}

/** Runs the demo; never throws for a scenario that went wrong (that is `ok: false`), only for setup failures. */
export async function runDemo(opts: DemoOptions): Promise<DemoResult> {
  const { out } = opts;
  const stack = await openStack(out);
  const { ctx, config } = stack;
  try {
    const startMs = Date.now();
    const stamp = new Date(startMs).toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
    const id = `demo-${stamp}`.toLowerCase();
    const spec = demoSpec(YAML.parse(fs.readFileSync(DEMO_SPEC, 'utf8')), id, startMs, opts.deadlineIn);
    const zone = spec.counterparty.timezone;
    const started = await startDemand(ctx, spec, OPS);
    const url = workflowUrl(ctx, started.workflowId);
    out(`demo demand ${id}: ${spec.items.length} items, deadline in ${opts.deadlineIn} s (${formatUtc(Date.parse(spec.deadline))})`);
    out(`watch it in the Temporal UI: ${url}`);
    for (const i of ITEM_IDS) out(`  ${i.padEnd(8)} ${SCENARIO[i]}`);

    const counterparty = new Counterparty(config, spec, out);
    const print = progressPrinter(out, startMs, zone);
    const done = new Set<string>();
    const once = async (key: string, fn: () => Promise<void>) => {
      if (done.has(key)) return;
      done.add(key);
      await fn();
    };
    const deadlineMs = Date.parse(spec.deadline);
    const limit = startMs + opts.deadlineIn * 4000 + 120_000;
    let s = await fetchStatus(ctx, id);
    while (!TERMINAL_STATUSES.includes(s.status)) {
      if (Date.now() > limit) {
        out(`the demand did not end in time (status ${s.status})`);
        break;
      }
      print(s);
      const sent = (kind: string, item: string) => s.messages.find((m) => m.direction === 'out' && m.kind === kind && m.itemIds.includes(item) && m.raw);
      const item = (i: string) => s.items.find((x) => x.id === i)!;
      // The counterparty.
      for (const i of ['atlas', 'beacon', 'cascade', 'glacier'] as const) {
        const req = sent('request', i);
        if (req) await once(`answer:${i}`, () => counterparty.answer(req, i, WITH_ATTACHMENT.includes(i)));
      }
      const emberReq = sent('request', 'ember');
      if (emberReq) await once('ooo:ember', () => counterparty.outOfOffice(emberReq, 'ember'));
      if (emberReq && s.decisions.some((d) => d.kind === 'out-of-office')) await once('answer:ember', () => counterparty.answer(emberReq, 'ember', false));
      const driftReminder = sent('reminder', 'drift');
      if (driftReminder) await once('answer:drift', () => counterparty.answer(driftReminder, 'drift', false));
      const fjordReq = sent('request', 'fjord');
      if (fjordReq) await once('extension:fjord', () => counterparty.askExtension(fjordReq, 'fjord'));
      if (fjordReq && Date.now() > deadlineMs + 2000 && s.extensionRequests.some((r) => r.status === 'approved')) await once('answer:fjord', () => counterparty.answer(fjordReq, 'fjord', false));
      // Ops.
      for (const r of s.extensionRequests.filter((x) => x.status === 'pending')) {
        await once(`approve:${r.id}`, async () => {
          out(`        ops: approving ${r.id} (${r.itemIds.join(', ')}) for ${opts.deadlineIn} s more`);
          await sendUpdate(ctx, id, decideExtensionUpdate, { requestId: r.id, approve: true, by: `PT${opts.deadlineIn}S`, reason: 'demo: the data export needs more time', decidedBy: OPS });
        });
      }
      for (const i of s.items.filter((x) => x.phase === 'in-review')) {
        await once(`accept:${i.id}:${item(i.id).round}`, async () => {
          out(`        ops: accepting the answer on ${i.id}`);
          await sendUpdate(ctx, id, reviewUpdate, { itemId: i.id, decision: 'accept', reason: 'demo: complete', by: OPS });
        });
      }
      await new Promise((r) => setTimeout(r, 500));
      s = await fetchStatus(ctx, id);
    }
    if (TERMINAL_STATUSES.includes(s.status)) {
      // The status turns final before the report is written: wait for the workflow itself to finish.
      await ctx.client.workflow.getHandle(started.workflowId).result();
      s = await fetchStatus(ctx, id);
    }
    print(s);
    const checks = expectations(s);
    let caseFile: string | undefined;
    if (TERMINAL_STATUSES.includes(s.status)) {
      caseFile = path.join(config.reportsDir, id, 'case-file.tar.gz');
      checks.push({ what: `the case file was exported and verifies (${caseFile})`, ok: exportAndVerify(id, caseFile, out) });
    }
    for (const c of checks) out(`${c.ok ? 'ok  ' : 'FAIL'}  ${c.what}`);
    return { ok: checks.every((c) => c.ok), demandId: id, status: s.status, url, ...(s.report ? { reportPath: s.report.path } : {}), ...(caseFile ? { caseFile } : {}), checks };
  } finally {
    await ctx.close();
    if (stack.started) {
      out('stopping the stack the demo started');
      await stopChild(stack.started);
    }
  }
}

/** Exports the case file and verifies it with the CLI, exactly as a user would. */
function exportAndVerify(demandId: string, file: string, out: (l: string) => void): boolean {
  const cli = (args: string[]) => spawnSync(process.execPath, [path.join(PROJECT_ROOT, 'bin', 'auditflow.js'), ...args], { cwd: PROJECT_ROOT, env: process.env, encoding: 'utf8', timeout: 120_000 });
  for (const args of [['export', demandId, '--out', file], ['verify', file]]) {
    const r = cli(args);
    if (r.status !== 0) {
      out(`auditflow ${args.join(' ')} failed (${r.status}): ${`${r.stdout}${r.stderr}`.trim()}`);
      return false;
    }
  }
  return true;
}

/** What must hold at the end for the demo to pass. */
export function expectations(s: DemandStatusView): { what: string; ok: boolean }[] {
  const item = (i: string) => s.items.find((x) => x.id === i);
  const answered = (i: string) => item(i)?.answers.find((a) => !a.afterClose);
  const firstOut = (kind: string, i: string) => s.messages.find((m) => m.direction === 'out' && m.kind === kind && m.itemIds.includes(i));
  const ooo = s.decisions.find((d) => d.kind === 'out-of-office' && d.itemIds.includes('ember'));
  const ext = s.extensionRequests.find((r) => r.itemIds.includes('fjord'));
  return [
    { what: `the demand ended referred (it is ${s.status})`, ok: s.status === 'referred' },
    ...ITEM_IDS.filter((i) => i !== 'harbor').map((i) => ({ what: `${i} was answered and accepted`, ok: item(i)?.closure === 'accepted' && answered(i) !== undefined })),
    ...WITH_ATTACHMENT.map((i) => ({ what: `${i}'s answer carries its attachment`, ok: (answered(i)?.attachments.length ?? 0) > 0 })),
    { what: 'drift was answered after its reminder', ok: Boolean(firstOut('reminder', 'drift') && answered('drift') && Date.parse(answered('drift')!.receivedAt) > Date.parse(firstOut('reminder', 'drift')!.at)) },
    { what: 'ember\'s out-of-office was recorded, not taken as an answer', ok: Boolean(ooo && answered('ember') && Date.parse(answered('ember')!.receivedAt) > Date.parse(ooo.at)) },
    { what: 'fjord\'s extension request was approved and its late-looking answer is on time', ok: ext?.status === 'approved' && answered('fjord')?.late === false },
    { what: 'harbor went up the ladder to referral', ok: item('harbor')?.closure === 'referred' && item('harbor')?.maxEscalationLevel === 3 },
    { what: 'the final report was written', ok: Boolean(s.report?.path && fs.existsSync(s.report.path)) },
  ];
}

/** The counterparty's mail, sent to the reply address of the message it answers, through the gateway. */
class Counterparty {
  private readonly transport;
  private readonly evidence;

  constructor(
    private readonly config: AuditflowConfig,
    private readonly spec: DemandSpec,
    private readonly out: (l: string) => void,
  ) {
    const host = config.gateway.host === '0.0.0.0' ? '127.0.0.1' : config.gateway.host;
    this.transport = nodemailer.createTransport({ host, port: config.gateway.port, secure: false, ignoreTLS: true });
    this.evidence = createFileEvidenceStore(config.evidenceDir);
  }

  /** The message's Reply-To, Message-ID and subject, read back from the evidence store. */
  private async thread(m: MessageRecord): Promise<{ replyTo: string; messageId: string; subject: string; to: string }> {
    const parsed = await simpleParser(await this.evidence.get(m.raw!.sha256));
    const replyTo = parsed.replyTo?.value[0]?.address;
    if (!replyTo || !parsed.messageId) throw new Error(`the ${m.kind} sent at ${m.at} has no Reply-To or Message-ID`);
    return { replyTo, messageId: parsed.messageId, subject: parsed.subject ?? '', to: m.to[0]! };
  }

  private name(address: string): string {
    return this.spec.counterparty.contacts.find((c) => c.address === address)?.name ?? address;
  }

  private async send(m: MessageRecord, itemId: string, text: string, extra: Mail.Options & { subjectPrefix?: string }, what: string): Promise<void> {
    const { subjectPrefix = 'Re: ', ...mail } = extra;
    const t = await this.thread(m);
    const from = { name: this.name(t.to), address: t.to };
    this.out(`        counterparty: ${from.name} ${what} on ${itemId}`);
    await this.transport.sendMail({
      from,
      to: t.replyTo,
      // Only this item's tag: the original subject may tag every item the message covered.
      subject: `${subjectPrefix}${t.subject.replace(/^re:\s*/i, '').replace(/\s*\[[a-z0-9-]+\]/g, '')} [${itemId}]`,
      inReplyTo: t.messageId,
      references: [t.messageId],
      text: `${text}\n\n${from.name}\n${this.spec.counterparty.organisation}\n`,
      envelope: { from: from.address, to: [t.replyTo] },
      ...mail,
    });
  }

  answer(m: MessageRecord, itemId: string, attachment: boolean): Promise<void> {
    const item = this.spec.items.find((i) => i.id === itemId)!;
    return this.send(
      m,
      itemId,
      `Our answer for ${item.name}: the application requested the permissions listed in the attached inventory; data was processed in our EU data centre and deleted in May 2023. No undeclared use cases.`,
      attachment ? { attachments: [{ filename: `${itemId}-data-inventory.csv`, content: `field,purpose,retention\nuser_id,login,deleted 2023-05\nfriends_list,${itemId} feature,deleted 2023-05\n`, contentType: 'text/csv' }] } : {},
      attachment ? 'answers, with an attachment,' : 'answers',
    );
  }

  outOfOffice(m: MessageRecord, itemId: string): Promise<void> {
    const back = new Date(Date.now() + 3 * 86_400_000).toISOString().slice(0, 10);
    return this.send(m, itemId, `I am out of the office until ${back} with limited access to email.`, { subjectPrefix: 'Automatic reply: ', headers: { 'Auto-Submitted': 'auto-replied', 'X-Autoreply': 'yes' } }, 'sends an out-of-office');
  }

  askExtension(m: MessageRecord, itemId: string): Promise<void> {
    return this.send(m, itemId, 'We need more time for this one: the advertising partners have not yet returned their data. Could we have an extension?', {}, 'asks for an extension');
  }
}
