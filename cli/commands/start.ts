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
import { CliError, Exit, localAndUtc, printJson, type GlobalOptions } from '../output';
import { readSpecFile } from '../spec-file';
import { workflowUrl } from '../ui';

export interface StartedDemand {
  demandId: string;
  workflowId: string;
  runId: string;
  url: string;
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
      throw new CliError(`demand "${spec.id}" already exists (workflow ${workflowId}); a demand id can be used once. See it with: npx auditflow show ${spec.id}   or give the spec a new id`);
    }
    throw err;
  }
}

export function register(program: Command): void {
  program
    .command('start')
    .argument('<file>', 'demand spec, YAML or JSON')
    .description('Validate a demand spec and start it: the request emails go out at once')
    .option('--by <who>', 'who starts it (recorded in the timeline; default: your user@host)')
    .option('--json', 'print {demandId, workflowId, runId, url}')
    .addHelpText('after', '\nExample:\n  npx auditflow start examples/api-usage-audit.yaml --by "Dana Reyes"\n')
    .action(async (file: string, opts: GlobalOptions & { by?: string }) => {
      const r = readSpecFile(file);
      if (!r.ok) throw new CliError(`${file} is not a valid demand:\n${r.problems.map((p) => `  ${p.path}: ${p.message}`).join('\n')}`, Exit.invalid, r.problems);
      await withClient(async (ctx) => {
        const started = await startDemand(ctx, r.spec, actor(opts.by));
        if (opts.json) printJson(started);
        else {
          const zone = r.spec.counterparty.timezone;
          process.stdout.write(
            [
              `started demand ${started.demandId} (workflow ${started.workflowId})`,
              `  ${demandSummary(r.spec)}`,
              `  deadline: ${localAndUtc(initialDeadline(r.spec, r.spec.items[0]!.id), zone)}`,
              `  follow it: npx auditflow show ${started.demandId}`,
              `  in the UI: ${started.url}`,
            ].join('\n') + '\n',
          );
        }
      });
    });
}
