/** `auditflow list`: demands from the visibility store, filtered with quoted (never pasted) values. */
import type { Command } from 'commander';
import {
  AuditCounterparty,
  AuditDemandId,
  AuditDueAt,
  AuditEscalationLevel,
  AuditOpenItems,
  AuditOverdueItems,
  AuditStatus,
} from '../../domain/search-attributes';
import { withReader } from '../client';
import { CliError, Exit, printJson, safeLine, table, type GlobalOptions } from '../output';
import { formatLocal, formatUtc } from '../../domain/time';
import { scheduledStart } from '../scheduled';

/** A string literal for a visibility query: the value is escaped, so it can never change the query. */
export function quoteValue(value: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what this refuses
  if (/[\u0000-\u001f]/.test(value))
    throw new CliError('filter values cannot contain control characters', Exit.invalid);
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export interface ListFilters {
  status?: string;
  counterparty?: string;
  overdue?: boolean;
}

/**
 * `start --at` sets AuditStatus "scheduled" and the workflow replaces it when it runs; a scheduled demand
 * withdrawn before its start never ran, so it keeps "scheduled" on a terminated workflow.
 */
function statusFilter(status: string): string {
  const scheduled = `${AuditStatus.name} = ${quoteValue('scheduled')}`;
  if (status === 'scheduled') return `${scheduled} AND ExecutionStatus = ${quoteValue('Running')}`;
  if (status === 'withdrawn')
    return `(${AuditStatus.name} = ${quoteValue('withdrawn')} OR (${scheduled} AND ExecutionStatus = ${quoteValue('Terminated')}))`;
  return `${AuditStatus.name} = ${quoteValue(status)}`;
}

/** What the list shows as a demand's status: the AuditStatus, or that it was withdrawn before it started. */
export function listedStatus(auditStatus: string | undefined, workflowStatus: string): string {
  if (auditStatus === 'scheduled' && workflowStatus !== 'RUNNING') return 'withdrawn-before-start';
  return auditStatus ?? '?';
}

/** Builds the visibility query for the filters. */
export function buildListQuery(f: ListFilters): string {
  const parts = [`WorkflowType = ${quoteValue('auditDemandWorkflow')}`];
  if (f.status) parts.push(statusFilter(f.status));
  if (f.counterparty) parts.push(`${AuditCounterparty.name} = ${quoteValue(f.counterparty)}`);
  if (f.overdue) parts.push(`${AuditOverdueItems.name} > 0`);
  return parts.join(' AND ');
}

export function register(program: Command): void {
  program
    .command('list')
    .description('List demands, newest first')
    .option(
      '--status <status>',
      'only this AuditStatus (scheduled, active, due, overdue, escalated, in-review, paused, completed, completed-with-gaps, referred, withdrawn)',
    )
    .option('--counterparty <name>', 'only this counterparty (exact organisation name)')
    .option('--overdue', 'only demands with at least one overdue item')
    .option('--limit <n>', 'at most this many', '100')
    .option(
      '--json',
      'print [{demandId, workflowId, status, counterparty, openItems, overdueItems, escalationLevel, dueAt, workflowStatus, startTime, startsAt}]',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  npx auditflow list --overdue\n  npx auditflow list --status escalated --counterparty "Acme Games Ltd" --json\n',
    )
    .action(async (opts: GlobalOptions & ListFilters & { limit: string }) => {
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1)
        throw new CliError('--limit must be a whole number >= 1', Exit.invalid);
      const query = buildListQuery(opts);
      await withReader(async ({ reader }) => {
        const rows = [];
        for await (const wf of reader.list(query, Math.min(limit, 1000))) {
          const sa = wf.typedSearchAttributes;
          const due = sa.get(AuditDueAt);
          const startsAt = scheduledStart(wf);
          rows.push({
            demandId: sa.get(AuditDemandId) ?? wf.workflowId,
            workflowId: wf.workflowId,
            status: listedStatus(sa.get(AuditStatus), wf.status.name),
            counterparty: sa.get(AuditCounterparty) ?? '',
            openItems: sa.get(AuditOpenItems) ?? 0,
            overdueItems: sa.get(AuditOverdueItems) ?? 0,
            escalationLevel: sa.get(AuditEscalationLevel) ?? 0,
            dueAt: due ? due.toISOString() : null,
            workflowStatus: wf.status.name,
            startTime: wf.startTime.toISOString(),
            startsAt: startsAt ? startsAt.toISOString() : null,
          });
          if (rows.length >= limit) break;
        }
        if (opts.json) return printJson(rows);
        if (rows.length === 0) {
          process.stdout.write(`no demands match (${safeLine(query)})\n`);
          return;
        }
        const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
        process.stdout.write(
          `${table(
            ['demand', 'status', 'counterparty', 'open', 'overdue', 'esc', `next due (${zone})`, 'next due (UTC)'],
            rows.map((r) => [
              r.demandId,
              r.status === 'scheduled' && r.startsAt
                ? `scheduled, starts ${formatLocal(Date.parse(r.startsAt), zone)}`
                : r.status,
              r.counterparty,
              r.openItems,
              r.overdueItems,
              r.escalationLevel,
              r.dueAt ? formatLocal(Date.parse(r.dueAt), zone) : '-',
              r.dueAt ? formatUtc(Date.parse(r.dueAt)) : '-',
            ]),
          )}\n`,
        );
      });
    });
}
