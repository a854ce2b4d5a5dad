/** `auditflow plan <file>`: the dry run, every message the demand sends if nobody answers, and warnings. */
import type { Command } from 'commander';
import { parseDeadline, formatUtc } from '../../domain/time';
import { CliError, Exit, localAndUtc, printJson, safeBlock, table, type GlobalOptions } from '../output';
import { planDemand, type DemandPlan, type PlanEntry } from '../plan';
import { printSpecProblems, readSpecFile } from '../spec-file';

function message(e: PlanEntry, p: DemandPlan): string {
  if (e.trigger === 'reminder') return `reminder ${e.reminder}`;
  if (e.trigger === 'overdue-notice') return 'overdue notice';
  if (e.signOff)
    return `${e.kind}: ${e.signOff.timedOut ? `no sign-off for ${e.signOff.label} (${e.signOff.gate})` : `sign-off asked for ${e.signOff.label} (${e.signOff.gate})`}`;
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

export function register(program: Command): void {
  program
    .command('plan')
    .argument('<file>', 'demand spec, YAML or JSON')
    .description('Show every message the demand will send if nobody answers, with warnings; sends nothing')
    .option(
      '--start <instant>',
      'when the demand would start: an ISO instant, or a local time in the counterparty zone (default: now)',
    )
    .option('--json', 'print {demandId, workflowId, startAt, outcome, endsAt, deadlines, entries, warnings}')
    .addHelpText(
      'after',
      '\nExample:\n  npx auditflow plan examples/api-usage-audit.yaml --start 2027-05-03T09:00:00Z\n',
    )
    .action((file: string, opts: GlobalOptions & { start?: string }) => {
      const r = readSpecFile(file);
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
      const plan = planDemand(r.spec, startAt);
      if (opts.json) printJson(plan);
      else process.stdout.write(safeBlock(renderPlan(plan, file, zone)));
    });
}
