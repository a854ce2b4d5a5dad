/**
 * `auditflow withdraw`: cancels a demand; the counterparty gets a withdrawal notice. A demand scheduled
 * with `start --at` that has not started is called off without running it: its workflow is terminated
 * with the reason, and nothing is ever sent.
 */
import type { WorkflowHandle } from '@temporalio/client';
import type { Command } from 'commander';
import { withdrawUpdate } from '../../domain/messages';
import { withClient, type CliContext } from '../client';
import { actor, checkDemandId, describeDemand, printUpdateResult, sendUpdate } from '../demands';
import { CliError, printJson, safeBlock, type GlobalOptions } from '../output';
import { notStartedDemand, startsAtText, type NotStartedDemand } from '../scheduled';

/** Closer to its start than this, terminating could cut off a workflow that has just begun sending. */
const START_MARGIN_MS = 60_000;

/**
 * Calls off a scheduled demand by terminating its workflow before it runs: an update or a cancellation
 * would make Temporal run it at once (its requests would go out, then the withdrawal notice). Temporal
 * records the reason and who terminated it in the history; the demand shows as withdrawn before it started.
 */
async function withdrawScheduled(
  ctx: CliContext,
  handle: WorkflowHandle,
  scheduled: NotStartedDemand,
  reason: string,
  by: string,
): Promise<void> {
  if (Date.parse(scheduled.startsAt) - Date.now() < START_MARGIN_MS)
    throw new CliError(
      `demand "${scheduled.demandId}" starts at ${startsAtText(scheduled)}, in less than a minute: wait until it has started ` +
        `(npx auditflow show ${scheduled.demandId}), then withdraw it; the counterparty then gets a withdrawal notice`,
    );
  await handle.terminate(`withdrawn before it started by ${by}: ${reason}`);
  const after = await notStartedDemand(ctx, scheduled.demandId, await ctx.reader.describe(handle.workflowId));
  if (after?.status !== 'withdrawn-before-start')
    throw new CliError(
      `demand "${scheduled.demandId}" started before it could be withdrawn and was then terminated: its requests may have gone out ` +
        `without a withdrawal notice; check with: npx auditflow report ${scheduled.demandId}`,
    );
}

export function register(program: Command): void {
  program
    .command('withdraw')
    .argument('<demandId>', 'the demand id')
    .description('Withdraw the demand: open items close, a withdrawal notice is sent, the report is written')
    .requiredOption('--reason <text>', 'why (recorded, and told to the counterparty)')
    .option('--by <who>', 'who decided (default: your user@host)')
    .option('--json', 'print {ok, message}')
    .addHelpText(
      'after',
      '\nExample:\n  npx auditflow withdraw acme-api-usage-2023 --reason "settled out of court"\n\n' +
        'A demand scheduled with start --at that has not started is called off without being run: nothing is\n' +
        'sent, and Temporal records the reason (the workflow ends as terminated).\n',
    )
    .action(async (demandId: string, opts: GlobalOptions & { reason: string; by?: string }) => {
      checkDemandId(demandId);
      const by = actor(opts.by);
      await withClient(async (ctx) => {
        const desc = await describeDemand(ctx, demandId);
        const notStarted = await notStartedDemand(ctx, demandId, desc);
        if (notStarted?.status === 'scheduled') {
          await withdrawScheduled(ctx, ctx.client.workflow.getHandle(desc.workflowId), notStarted, opts.reason, by);
          const message = `demand ${demandId} withdrawn before it started (it was to start at ${startsAtText(notStarted)}); nothing was sent`;
          if (opts.json) printJson({ ok: true, message });
          else process.stdout.write(`${safeBlock(message)}\n`);
          return;
        }
        printUpdateResult(await sendUpdate(ctx, demandId, withdrawUpdate, { reason: opts.reason, by }), opts.json);
      });
    });
}
