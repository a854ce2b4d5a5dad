/** `auditflow start <file>`: starts a demand; refused when its id is already in use. */
import type { Command } from 'commander';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import type { DemandSpec } from '../../domain/demand';
import { demandWorkflowId } from '../../domain/ids';
import { AuditCounterparty, AuditDemandId, AuditStatus } from '../../domain/search-attributes';
import { initialDeadline } from '../../domain/schedule';
import { demandSummary } from '../../domain/summary';
import type { auditDemandWorkflow } from '../../workflows';
import { withClient, type CliContext } from '../client';
import { actor } from '../demands';
import { bulkSpecs, BulkFileError, eachLimited, progressBar, type BulkResult } from '../bulk';
import { CliError, Exit, localAndUtc, printJson, safeBlock, table, type GlobalOptions } from '../output';
import { readSpecFile } from '../spec-file';
import { workflowUrl } from '../ui';

export interface StartedDemand {
  demandId: string;
  workflowId: string;
  runId: string;
  url: string;
}

/** Items whose deadline has already passed at `now`: a demand cannot ask for something due in the past. */
export function pastDeadlineProblems(spec: DemandSpec, now: number): { path: string; message: string }[] {
  return spec.items
    .map((item, i) => ({ item, i, due: initialDeadline(spec, item.id) }))
    .filter(({ due }) => due <= now)
    .map(({ item, i, due }) => ({
      path: item.deadline ? `items[${i}].deadline` : 'deadline',
      message: `${item.id} would be due ${localAndUtc(due, spec.counterparty.timezone)}, which has already passed; give a future deadline (the request must leave the counterparty time to answer)`,
    }));
}

/** Starts one validated demand. */
export async function startDemand(ctx: CliContext, spec: DemandSpec, startedBy: string): Promise<StartedDemand> {
  const workflowId = demandWorkflowId(spec.id);
  try {
    const handle = await ctx.client.workflow.start<typeof auditDemandWorkflow>('auditDemandWorkflow', {
      workflowId,
      taskQueue: ctx.config.taskQueue,
      args: [{ spec, startedBy }],
      // A demand id is a business key: reusing one would mix two cases in one case file.
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      staticSummary: demandSummary(spec),
      staticDetails: `${spec.title}\n\nBasis: ${spec.basis}\n\nRequester: ${spec.requester.organisation}. Counterparty: ${spec.counterparty.organisation}. Items: ${spec.items.map((i) => i.id).join(', ')}.`,
      typedSearchAttributes: [
        { key: AuditDemandId, value: spec.id },
        { key: AuditCounterparty, value: spec.counterparty.organisation.slice(0, 255) },
        { key: AuditStatus, value: 'starting' },
      ],
    });
    return { demandId: spec.id, workflowId, runId: handle.firstExecutionRunId, url: workflowUrl(ctx, workflowId) };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      throw new CliError(
        `demand "${spec.id}" already exists (workflow ${workflowId}); a demand id can be used once. See it with: npx auditflow show ${spec.id}   or give the spec a new id`,
      );
    }
    throw err;
  }
}

/** Starts one demand per CSV row; nothing starts unless every row is valid. */
async function startMany(
  template: DemandSpec,
  csvFile: string,
  opts: GlobalOptions & { by?: string; concurrency: string },
): Promise<void> {
  const concurrency = Number(opts.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 32)
    throw new CliError('--concurrency must be a whole number from 1 to 32', Exit.invalid);
  let rows;
  try {
    rows = bulkSpecs(template, csvFile);
  } catch (err) {
    if (err instanceof BulkFileError) throw new CliError(err.message, Exit.invalid);
    throw err;
  }
  const now = Date.now();
  for (const r of rows)
    if ('spec' in r && pastDeadlineProblems(r.spec, now).length)
      Object.assign(r, { problems: pastDeadlineProblems(r.spec, now) });
  const invalid = rows.filter((r) => 'problems' in r);
  if (invalid.length) {
    const lines = invalid.flatMap((r) =>
      'problems' in r ? r.problems.map((p) => `  line ${r.line} (${r.id || 'no id'}): ${p.path}: ${p.message}`) : [],
    );
    throw new CliError(
      `${csvFile}: ${invalid.length} of ${rows.length} rows are not valid demands, so none was started:\n${lines.join('\n')}`,
      Exit.invalid,
      invalid,
    );
  }
  const specs = rows.flatMap((r) => ('spec' in r ? [{ line: r.line, spec: r.spec }] : []));
  const by = actor(opts.by);
  await withClient(async (ctx) => {
    let started = 0;
    let refused = 0;
    const tty = process.stderr.isTTY === true;
    const show = (last?: BulkResult) => {
      const bar = progressBar(started + refused, specs.length, started, refused);
      // On a terminal the bar redraws in place; in a log, one line per row as it finishes.
      if (tty) process.stderr.write(`\r${bar}`);
      else if (last) process.stderr.write(`${bar}  line ${last.line} ${last.demandId}: ${last.status}\n`);
    };
    show();
    const results = await eachLimited(
      specs,
      concurrency,
      async ({ line, spec }): Promise<BulkResult> => {
        const base = { line, demandId: spec.id, counterparty: spec.counterparty.organisation };
        try {
          const s = await startDemand(ctx, spec, by);
          return { ...base, status: 'started', workflowId: s.workflowId, url: s.url };
        } catch (err) {
          return { ...base, status: 'refused', reason: (err as Error).message.split('\n')[0] };
        }
      },
      (r) => {
        if (r.status === 'started') started += 1;
        else refused += 1;
        show(r);
      },
    );
    if (tty) process.stderr.write('\n');
    if (opts.json) printJson(results);
    else {
      process.stdout.write(
        `${table(
          ['line', 'demand', 'counterparty', 'result', 'workflow or reason'],
          results.map((r) => [
            r.line,
            r.demandId,
            r.counterparty,
            r.status,
            r.status === 'started' ? r.workflowId : r.reason,
          ]),
        )}\n`,
      );
      process.stdout.write(
        `${started} started, ${refused} refused${started ? '; follow them with: npx auditflow list' : ''}\n`,
      );
    }
    if (refused) process.exitCode = Exit.error;
  });
}

export function register(program: Command): void {
  program
    .command('start')
    .argument('<file>', 'demand spec, YAML or JSON')
    .description('Validate a demand spec and start it: the request emails go out at once')
    .option('--by <who>', 'who starts it (recorded in the timeline; default: your user@host)')
    .option(
      '--for <csv>',
      'start one demand per row of this CSV of counterparties, the spec being the template (columns: id, organisation, and optional timezone, domains, deadline, title, <role>_email, <role>_name, <role>_title)',
    )
    .option('--concurrency <n>', 'with --for: how many demands start at once', '4')
    .option(
      '--json',
      'print {demandId, workflowId, runId, url}; with --for, [{line, demandId, counterparty, status: started|refused, workflowId?, url?, reason?}]',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  npx auditflow start examples/api-usage-audit.yaml --by "Dana Reyes"\n  npx auditflow start examples/api-usage-audit.yaml --for examples/counterparties.csv\n\n' +
        'With --for, every row is checked first and nothing starts if one is invalid; rows whose demand id is\n' +
        'already used are refused and the others start. Exit 0 when every row started, 1 when some were refused.\n',
    )
    .action(async (file: string, opts: GlobalOptions & { by?: string; for?: string; concurrency: string }) => {
      const r = readSpecFile(file);
      if (!r.ok)
        throw new CliError(
          `${file} is not a valid demand:\n${r.problems.map((p) => `  ${p.path}: ${p.message}`).join('\n')}`,
          Exit.invalid,
          r.problems,
        );
      if (opts.for) return startMany(r.spec, opts.for, opts);
      const past = pastDeadlineProblems(r.spec, Date.now());
      if (past.length)
        throw new CliError(
          `${file} cannot start now:\n${past.map((p) => `  ${p.path}: ${p.message}`).join('\n')}`,
          Exit.invalid,
          past,
        );
      await withClient(async (ctx) => {
        const started = await startDemand(ctx, r.spec, actor(opts.by));
        if (opts.json) printJson(started);
        else {
          const zone = r.spec.counterparty.timezone;
          process.stdout.write(
            safeBlock(
              [
                `started demand ${started.demandId} (workflow ${started.workflowId})`,
                `  ${demandSummary(r.spec)}`,
                `  deadline: ${localAndUtc(initialDeadline(r.spec, r.spec.items[0]!.id), zone)}`,
                `  follow it: npx auditflow show ${started.demandId}`,
                `  in the UI: ${started.url}`,
              ].join('\n'),
            ) + '\n',
          );
        }
      });
    });
}
