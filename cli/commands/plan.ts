/** `auditflow plan <file>`: the dry run, every message the demand sends if nobody answers, and warnings. */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../platform/config';
import { parseDeadline, formatUtc } from '../../domain/time';
import { CliError, Exit, localAndUtc, printJson, safeBlock, table, type GlobalOptions } from '../output';
import { planDemand, type DemandPlan, type PlanEntry } from '../plan';
import { previewPlan, type PreviewEmail } from '../plan-preview';
import { readSpecWithFiles } from '../attachments';
import { printSpecProblems } from '../spec-file';

function message(e: PlanEntry, p: DemandPlan): string {
  if (e.trigger === 'reminder') return `reminder ${e.reminder}`;
  if (e.trigger === 'overdue-notice') return 'overdue notice';
  if (e.signOff)
    return `${e.kind}: ${e.signOff.timedOut ? 'no sign-off for' : 'sign-off asked for'} ${e.signOff.label} (${e.signOff.gate})`;
  if (e.step)
    return `${e.kind}, step ${e.step.index}${e.step.label ? `: ${e.step.label}` : ''}${e.step.action === 'refer' ? ' (refer)' : ''}`;
  return e.trigger === 'demand-ended' ? `${e.kind}: demand ends (${p.outcome}), report` : e.kind;
}

/** The human view: headline, one row per email (local time, UTC, message, recipient, items), warnings. */
export function renderPlan(p: DemandPlan, file: string, zone: string): string {
  const rows = p.entries.flatMap((e) =>
    e.recipients.map((r) => [
      e.local,
      formatUtc(Date.parse(e.at)),
      `${message(e, p)}${e.moved || e.held ? ' *' : ''}`,
      `${r.name} <${r.address}>`,
      `${r.side}:${r.role}`,
      e.itemIds.join(', '),
    ]),
  );
  const out = [
    `plan for ${file}: demand ${p.demandId} (workflow ${p.workflowId}) if nobody answers`,
    `  start:     ${localAndUtc(p.startAt, zone)}`,
    ...p.deadlines.map((d) => `  deadline:  ${localAndUtc(d.at, zone)} for ${d.itemIds.join(', ')}`),
    `  outcome:   ${p.outcome}${p.endsAt ? ` at ${localAndUtc(p.endsAt, zone)}` : ''}`,
    `  messages:  ${rows.length} emails; times are each recipient's local time`,
    '',
    table(['local time', 'UTC', 'message', 'to', 'role', 'items'], rows),
    ...(p.entries.some((e) => e.moved || e.held)
      ? ["* moved from the instant its offset gives, or held to the recipient's sending hours (see warnings)"]
      : []),
    '',
    p.warnings.length ? `warnings (${p.warnings.length}):` : 'warnings: none',
    ...p.warnings.map((w) => `  ${w.code}: ${w.message}${w.itemIds?.length ? ` [${w.itemIds.join(', ')}]` : ''}`),
  ];
  return `${out.join('\n')}\n`;
}

/** Writes the emails as .eml files into `folder` (created if missing); refuses a folder that is a file. */
function writeEml(folder: string, emails: PreviewEmail[]): { folder: string; files: string[] } {
  const abs = path.resolve(folder);
  if (fs.existsSync(abs) && !fs.statSync(abs).isDirectory())
    throw new CliError(`--eml: ${abs} is a file; give a folder (it is created if missing)`, Exit.invalid);
  fs.mkdirSync(abs, { recursive: true });
  const files = emails.map((e) => {
    const address = e.to.replace(/^.*<|>$/g, '').replace(/[^a-z0-9@._-]/gi, '_');
    const name = `${String(e.n).padStart(3, '0')}-${e.kind}-${address}.eml`;
    fs.writeFileSync(path.join(abs, name), e.raw);
    return name;
  });
  return { folder: abs, files };
}

export function register(program: Command): void {
  program
    .command('plan')
    .argument('<file>', 'demand spec, YAML or JSON')
    .description('Show every message the demand will send if nobody answers, with warnings; sends nothing')
    .option(
      '--start <instant>',
      'when the demand would start: an ISO instant, or a local time in the counterparty zone (default: now)',
    )
    .option(
      '--show <n|all>',
      'print email n of the table (or all of them) as its recipient will see it: subject and text',
    )
    .option('--eml <folder>', 'write the emails (those --show picks, else all) as .eml files to open in a mail client')
    .option(
      '--json',
      'print {demandId, workflowId, startAt, outcome, endsAt, deadlines, entries, warnings}, and emails: [{n, at, zone, kind, to, subject, text}] with --show',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  npx auditflow plan examples/api-usage-audit.yaml --start 2027-05-03T09:00:00Z\n' +
        '  npx auditflow plan examples/api-usage-audit.yaml --show 1\n' +
        '  npx auditflow plan examples/api-usage-audit.yaml --eml ./preview\n',
    )
    .action(async (file: string, opts: GlobalOptions & { start?: string; show?: string; eml?: string }) => {
      const r = readSpecWithFiles(file);
      if (!r.ok) {
        printSpecProblems(r, opts.json);
        process.exitCode = Exit.invalid;
        return;
      }
      const zone = r.spec.counterparty.timezone;
      let startAt = Date.now();
      if (opts.start !== undefined) {
        const parsed = parseDeadline(opts.start, zone);
        if ('error' in parsed) throw new CliError(`--start: ${parsed.error}`, Exit.invalid);
        startAt = parsed.ms;
      }
      if (opts.show === undefined && opts.eml === undefined) {
        const plan = planDemand(r.spec, startAt);
        if (opts.json) printJson(plan);
        else process.stdout.write(safeBlock(renderPlan(plan, file, zone)));
        return;
      }
      if (opts.show !== undefined && opts.show !== 'all' && !/^[1-9]\d{0,4}$/.test(opts.show))
        throw new CliError(
          `--show: "${opts.show}" is not an email number (1, 2, ... as the plan lists them) or all`,
          Exit.invalid,
        );
      const { replyDomain, replyLocalPart } = loadConfig();
      const { plan, emails } = await previewPlan(r.spec, startAt, { replyDomain, replyLocalPart }, r.attachments);
      const picked =
        opts.show === undefined || opts.show === 'all' ? emails : emails.filter((e) => e.n === Number(opts.show));
      if (picked.length === 0)
        throw new CliError(
          `--show: this plan has ${emails.length} email(s); give a number from 1 to ${emails.length}`,
          Exit.invalid,
        );
      const written = opts.eml ? writeEml(opts.eml, picked) : undefined;
      const shown = opts.show === undefined ? [] : picked;
      if (opts.json) {
        printJson({ ...plan, emails: shown.map(({ raw: _raw, ...e }) => e), ...(written ? { eml: written } : {}) });
        return;
      }
      const blocks = shown.map(
        (e) =>
          `--- email ${e.n} of ${emails.length}: ${e.kind} to ${e.to}, ${localAndUtc(e.at, e.zone)}\nSubject: ${e.subject}\n\n${e.text}`,
      );
      process.stdout.write(
        safeBlock(
          renderPlan(plan, file, zone) +
            (blocks.length ? `\n${blocks.join('\n')}` : '') +
            (written ? `\n${written.files.length} email(s) written to ${written.folder}\n` : ''),
        ),
      );
    });
}
