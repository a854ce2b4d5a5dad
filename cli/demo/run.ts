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
import type { Language } from '../../domain/time';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { decideExtensionUpdate, reviewUpdate } from '../../domain/messages';
import { TERMINAL_STATUSES, type DemandStatusView, type MessageRecord } from '../../domain/state';
import { formatUtc } from '../../domain/time';
import { createEvidenceStore } from '../../platform/evidence';
import { PROJECT_ROOT } from '../../platform/paths';
import { stopChild } from '../../platform/process';
import { oneLine } from '../../platform/text';
import { readAttachments, storeAttachments } from '../attachments';
import { startDemand } from '../commands/start';
import { fetchStatus, sendUpdate } from '../demands';
import { workflowUrl } from '../ui';
import { Counterparty } from './counterparty';
import { DEMO_SPECS, demoSpec, expectations, ITEM_IDS, SCENARIO, WITH_ATTACHMENT } from './scenario';
import { openStack } from './stack';

const OPS = 'auditflow demo (ops)';

export interface DemoOptions {
  /** Seconds from start to the deadline; reminders and the ladder scale with it. */
  deadlineIn: number;
  /** Prints one line (progress, results). */
  out: (line: string) => void;
  /** Which example to play: English (examples/api-usage-audit.yaml) or French (api-usage-audit.fr.yaml). */
  language?: Language;
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
    m.direction === 'out'
      ? `sent ${m.kind} to ${m.to.join(', ')}${items(m.itemIds)}${m.status && m.status !== 'sent' ? ` [${m.status}]` : ''}`
      : `received ${m.kind} from ${m.from ?? '?'}${items(m.itemIds)}${m.status ? ` [${m.status}]` : ''}`;
  return (s: DemandStatusView) => {
    for (const m of s.messages.slice(messages)) out(`${stamp(m.at)}  ${describe(m)}`);
    messages = s.messages.length;
    for (const d of s.decisions.slice(decisions))
      out(
        `${stamp(d.at)}  ${d.kind}${items(d.itemIds)}${d.by ? ` by ${d.by}` : ''}${d.reason ? `: ${oneLine(d.reason, 90, { ellipsis: true })}` : ''}`,
      );
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
    const file = DEMO_SPECS[opts.language ?? 'en'];
    const spec = demoSpec(YAML.parse(fs.readFileSync(file, 'utf8')), id, startMs, opts.deadlineIn, file);
    const zone = spec.counterparty.timezone;
    // The example's files, if it lists any, are stored as `start` stores them.
    const files = readAttachments(spec, file);
    if (files.problems.length) throw new Error(files.problems.map((p) => `${p.path}: ${p.message}`).join('; '));
    const refs = await storeAttachments(createEvidenceStore(ctx.storage), files.attachments);
    const started = await startDemand(ctx, spec, OPS, undefined, refs);
    const url = workflowUrl(ctx, started.workflowId);
    out(
      `demo demand ${id}: ${spec.items.length} items, deadline in ${opts.deadlineIn} s (${formatUtc(Date.parse(spec.deadline))})`,
    );
    out(`watch it in the Temporal UI: ${url}`);
    for (const i of ITEM_IDS) out(`  ${i.padEnd(8)} ${SCENARIO[i]}`);

    const counterparty = new Counterparty(config, spec, out, opts.language ?? 'en');
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
      const sent = (kind: string, item: string) =>
        s.messages.find((m) => m.direction === 'out' && m.kind === kind && m.itemIds.includes(item) && m.raw);
      const item = (i: string) => s.items.find((x) => x.id === i)!;
      // The counterparty.
      for (const i of ['atlas', 'beacon', 'cascade', 'glacier'] as const) {
        const req = sent('request', i);
        if (req) await once(`answer:${i}`, () => counterparty.answer(req, i, WITH_ATTACHMENT.includes(i)));
      }
      const emberReq = sent('request', 'ember');
      if (emberReq) await once('ooo:ember', () => counterparty.outOfOffice(emberReq, 'ember'));
      if (emberReq && s.decisions.some((d) => d.kind === 'out-of-office'))
        await once('answer:ember', () => counterparty.answer(emberReq, 'ember', false));
      const driftReminder = sent('reminder', 'drift');
      if (driftReminder) await once('answer:drift', () => counterparty.answer(driftReminder, 'drift', false));
      const fjordReq = sent('request', 'fjord');
      if (fjordReq) await once('extension:fjord', () => counterparty.askExtension(fjordReq, 'fjord'));
      if (fjordReq && Date.now() > deadlineMs + 2000 && s.extensionRequests.some((r) => r.status === 'approved'))
        await once('answer:fjord', () => counterparty.answer(fjordReq, 'fjord', false));
      // Ops.
      for (const r of s.extensionRequests.filter((x) => x.status === 'pending')) {
        await once(`approve:${r.id}`, async () => {
          out(`        ops: approving ${r.id} (${r.itemIds.join(', ')}) for ${opts.deadlineIn} s more`);
          await sendUpdate(ctx, id, decideExtensionUpdate, {
            requestId: r.id,
            approve: true,
            by: `PT${opts.deadlineIn}S`,
            reason: 'demo: the data export needs more time',
            decidedBy: OPS,
          });
        });
      }
      for (const i of s.items.filter((x) => x.phase === 'in-review')) {
        await once(`accept:${i.id}:${item(i.id).round}`, async () => {
          out(`        ops: accepting the answer on ${i.id}`);
          await sendUpdate(ctx, id, reviewUpdate, {
            itemId: i.id,
            decision: 'accept',
            reason: 'demo: complete',
            by: OPS,
          });
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
      caseFile = path.join(config.dataDir, 'exports', `${id}-case-file.tar.gz`);
      checks.push({
        what: `the case file was exported and verifies (${caseFile})`,
        ok: exportAndVerify(id, caseFile, out),
      });
    }
    for (const c of checks) out(`${c.ok ? 'ok  ' : 'FAIL'}  ${c.what}`);
    return {
      ok: checks.every((c) => c.ok),
      demandId: id,
      status: s.status,
      url,
      ...(s.report ? { reportPath: s.report.path } : {}),
      ...(caseFile ? { caseFile } : {}),
      checks,
    };
  } finally {
    await ctx.close();
    if (stack.started) {
      out('stopping the stack the demo started');
      await stopChild(stack.started, 10_000);
    }
  }
}

/** Exports the case file and verifies it with the CLI, exactly as a user would. */
function exportAndVerify(demandId: string, file: string, out: (l: string) => void): boolean {
  const cli = (args: string[]) =>
    spawnSync(process.execPath, [path.join(PROJECT_ROOT, 'bin', 'auditflow.js'), ...args], {
      cwd: PROJECT_ROOT,
      env: process.env,
      encoding: 'utf8',
      timeout: 120_000,
    });
  for (const args of [
    ['export', demandId, '--out', file],
    ['verify', file],
  ]) {
    const r = cli(args);
    if (r.status !== 0) {
      out(`auditflow ${args.join(' ')} failed (${r.status}): ${`${r.stdout}${r.stderr}`.trim()}`);
      return false;
    }
  }
  return true;
}
