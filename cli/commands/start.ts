/** `auditflow start <file>`: starts a demand, now or `--at` a later instant; refused when its id is already in use. */
import type { Command } from 'commander';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import type { AttachmentRef } from '../../domain/attachments';
import type { DemandSpec } from '../../domain/demand';
import { demandWorkflowId } from '../../domain/ids';
import {
  AuditCounterparty,
  AuditDemandId,
  AuditDueAt,
  AuditOpenItems,
  AuditStatus,
} from '../../domain/search-attributes';
import { initialDeadline } from '../../domain/schedule';
import { demandSummary } from '../../domain/summary';
import { isoInstant } from '../../domain/time';
import type { auditDemandWorkflow } from '../../workflows';
import { withClient, type CliContext } from '../client';
import { actor } from '../demands';
import { bulkSpecs, BulkFileError, eachLimited, progressBar, type BulkResult } from '../bulk';
import { CliError, Exit, localAndUtc, printJson, safeBlock, table, type GlobalOptions } from '../output';
import { createEvidenceStore } from '../../platform/evidence';
import { readSpecWithFiles, storeAttachments, type LocalAttachment } from '../attachments';
import { START_AT_MEMO_KEY } from '../scheduled';
import { checkStartAtFormat, startProblems } from '../start-at';
import { workflowUrl } from '../ui';

export interface StartedDemand {
  demandId: string;
  workflowId: string;
  runId: string;
  url: string;
  /** With `--at`: when Temporal runs the workflow (the requests go out then); null when it started at once. */
  startsAt: string | null;
}

/**
 * What differs for a demand that starts at `startAt` rather than now: Temporal's start delay (the workflow
 * exists, and shows in the UI, from now; its first workflow task runs at `startAt`), the instant as given
 * (the execution time Temporal reports is its own clock plus the delay), and, until the workflow runs and
 * publishes its own, search attributes that show the demand as scheduled with its earliest deadline.
 */
function laterStart(spec: DemandSpec, startedBy: string, startAt: number) {
  const zone = spec.counterparty.timezone;
  const startDelay = startAt - Date.now();
  if (startDelay <= 0)
    throw new CliError(`--at ${localAndUtc(startAt, zone)} passed before the demand could be started`, Exit.invalid);
  const earliestDeadline = Math.min(...spec.items.map((item) => initialDeadline(spec, item.id)));
  return {
    options: { startDelay, memo: { [START_AT_MEMO_KEY]: isoInstant(startAt) } },
    details: `Scheduled to start at ${localAndUtc(startAt, zone)} by ${startedBy}.`,
    attributes: [
      { key: AuditStatus, value: 'scheduled' },
      { key: AuditDueAt, value: new Date(earliestDeadline) },
      { key: AuditOpenItems, value: spec.items.length },
    ] as const,
  };
}

/** Starts one validated demand, at once or (`start --at`) at `startAt`. */
export async function startDemand(
  ctx: CliContext,
  spec: DemandSpec,
  startedBy: string,
  startAt?: number,
  attachments: AttachmentRef[] = [],
): Promise<StartedDemand> {
  const workflowId = demandWorkflowId(spec.id);
  const later = startAt === undefined ? undefined : laterStart(spec, startedBy, startAt);
  try {
    const handle = await ctx.client.workflow.start<typeof auditDemandWorkflow>('auditDemandWorkflow', {
      workflowId,
      taskQueue: ctx.config.taskQueue,
      args: [{ spec, startedBy, ...(attachments.length ? { attachments } : {}) }],
      // A demand id is a business key: reusing one would mix two cases in one case file.
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      staticSummary: demandSummary(spec),
      staticDetails: [
        spec.title,
        `Basis: ${spec.basis}`,
        `Requester: ${spec.requester.organisation}. Counterparty: ${spec.counterparty.organisation}. Items: ${spec.items.map((i) => i.id).join(', ')}.`,
        ...(later ? [later.details] : []),
      ].join('\n\n'),
      ...later?.options,
      typedSearchAttributes: [
        { key: AuditDemandId, value: spec.id },
        { key: AuditCounterparty, value: spec.counterparty.organisation.slice(0, 255) },
        ...(later ? later.attributes : [{ key: AuditStatus, value: 'starting' }]),
      ],
    });
    return {
      demandId: spec.id,
      workflowId,
      runId: handle.firstExecutionRunId,
      url: workflowUrl(ctx, workflowId),
      startsAt: startAt === undefined ? null : isoInstant(startAt),
    };
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
  files: LocalAttachment[],
  csvFile: string,
  opts: GlobalOptions & { by?: string; concurrency: string; at?: string },
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
  // A local --at is read in each row's zone, so a row with its own timezone starts at its own instant.
  const startAts = new Map<number, number>();
  for (const r of rows) {
    if (!('spec' in r)) continue;
    const checked = startProblems(r.spec, opts.at, now);
    if (checked.problems.length) Object.assign(r, { problems: checked.problems });
    else if (checked.startAt !== undefined) startAts.set(r.line, checked.startAt);
  }
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
    // Every row sends the same files: stored once, referenced by each demand.
    const refs = await storeAttachments(createEvidenceStore(ctx.storage), files);
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
          const s = await startDemand(ctx, spec, by, startAts.get(line), refs);
          return {
            ...base,
            status: 'started',
            workflowId: s.workflowId,
            url: s.url,
            ...(s.startsAt ? { startsAt: s.startsAt } : {}),
          };
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
        `${started} started, ${refused} refused${started ? `; ${opts.at ? 'each runs from its --at instant; ' : ''}follow them with: npx auditflow list` : ''}\n`,
      );
    }
    if (refused) process.exitCode = Exit.error;
  });
}

export function register(program: Command): void {
  program
    .command('start')
    .argument('<file>', 'demand spec, YAML or JSON')
    .description('Validate a demand spec and start it: the request emails go out at once, or at --at')
    .option('--by <who>', 'who starts it (recorded in the timeline; default: your user@host)')
    .option(
      '--at <instant>',
      'start later: an ISO instant with offset (2027-05-03T08:00:00+02:00) or a local time in the counterparty zone (2027-05-03T08:00); before the earliest deadline',
    )
    .option(
      '--for <csv>',
      'start one demand per row of this CSV of counterparties, the spec being the template (columns: id, organisation, and optional timezone, domains, deadline, title, <role>_email, <role>_name, <role>_title)',
    )
    .option('--concurrency <n>', 'with --for: how many demands start at once', '4')
    .option(
      '--json',
      'print {demandId, workflowId, runId, url, startsAt}; with --for, [{line, demandId, counterparty, status: started|refused, workflowId?, url?, startsAt?, reason?}]',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  npx auditflow start examples/api-usage-audit.yaml --by "Dana Reyes"\n  npx auditflow start examples/api-usage-audit.yaml --at 2027-05-03T08:00 --by "Dana Reyes"\n' +
        '  npx auditflow start examples/api-usage-audit.yaml --for examples/counterparties.csv\n\n' +
        'With --at nothing is sent before that instant: show and list say when it starts, withdraw calls it off.\n' +
        'With --for, every row is checked first and nothing starts if one is invalid; rows whose demand id is\n' +
        'already used are refused and the others start. Exit 0 when every row started, 1 when some were refused.\n',
    )
    .action(
      async (file: string, opts: GlobalOptions & { by?: string; for?: string; concurrency: string; at?: string }) => {
        const r = readSpecWithFiles(file);
        if (!r.ok)
          throw new CliError(
            `${file} is not a valid demand:\n${r.problems.map((p) => `  ${p.path}: ${p.message}`).join('\n')}`,
            Exit.invalid,
            r.problems,
          );
        const zone = r.spec.counterparty.timezone;
        if (opts.at !== undefined) checkStartAtFormat(opts.at, zone);
        if (opts.for) return startMany(r.spec, r.attachments, opts.for, opts);
        const { startAt, problems } = startProblems(r.spec, opts.at, Date.now());
        if (problems.length)
          throw new CliError(
            `${file} cannot start ${opts.at === undefined ? 'now' : `at ${opts.at} (--at)`}:\n${problems.map((p) => `  ${p.path}: ${p.message}`).join('\n')}`,
            Exit.invalid,
            problems,
          );
        await withClient(async (ctx) => {
          const refs = await storeAttachments(createEvidenceStore(ctx.storage), r.attachments);
          const started = await startDemand(ctx, r.spec, actor(opts.by), startAt, refs);
          if (opts.json) return printJson(started);
          const lines = [
            started.startsAt
              ? `scheduled demand ${started.demandId} (workflow ${started.workflowId})`
              : `started demand ${started.demandId} (workflow ${started.workflowId})`,
            ...(started.startsAt
              ? [`  starts at: ${localAndUtc(started.startsAt, zone)}; nothing is sent before then`]
              : []),
            `  ${demandSummary(r.spec)}`,
            `  deadline: ${localAndUtc(initialDeadline(r.spec, r.spec.items[0]!.id), zone)}`,
            ...refs.map(
              (a) => `  attached: ${a.name} (sha256 ${a.sha256.slice(0, 12)}, stored in ${ctx.storage.description})`,
            ),
            `  follow it: npx auditflow show ${started.demandId}`,
            ...(started.startsAt
              ? [`  call it off before it starts: npx auditflow withdraw ${started.demandId} --reason "..."`]
              : []),
            `  in the UI: ${started.url}`,
          ];
          process.stdout.write(`${safeBlock(lines.join('\n'))}\n`);
        });
      },
    );
}
