/** `auditflow pause` / `auditflow resume`: stop the clock, and restart it (deadlines move by the time paused). */
import type { Command } from 'commander';
import { pauseUpdate, resumeUpdate } from '../../domain/messages';
import { withClient } from '../client';
import { actor, checkDemandId, printUpdateResult, sendUpdate } from '../demands';
import type { GlobalOptions } from '../output';

export function register(program: Command): void {
  program
    .command('pause')
    .argument('<demandId>', 'the demand id')
    .description('Stop the clock (for example while we owe the counterparty a clarification)')
    .requiredOption('--reason <text>', 'why (recorded, and told to the counterparty)')
    .option('--by <who>', 'who decided (default: your user@host)')
    .option('--json', 'print {ok, message}')
    .addHelpText(
      'after',
      '\nExample:\n  npx auditflow pause acme-api-usage-2023 --reason "we owe them the list of API keys"\n',
    )
    .action(async (demandId: string, opts: GlobalOptions & { reason: string; by?: string }) => {
      checkDemandId(demandId);
      await withClient(async (ctx) =>
        printUpdateResult(
          await sendUpdate(ctx, demandId, pauseUpdate, { reason: opts.reason, by: actor(opts.by) }),
          opts.json,
        ),
      );
    });
  program
    .command('resume')
    .argument('<demandId>', 'the demand id')
    .description('Restart the clock: the time paused is added to every pending deadline')
    .option('--reason <text>', 'why (recorded)')
    .option('--by <who>', 'who decided (default: your user@host)')
    .option('--json', 'print {ok, message, items: [{itemId, dueAt, phase}]}')
    .addHelpText('after', '\nExample:\n  npx auditflow resume acme-api-usage-2023 --reason "clarification sent"\n')
    .action(async (demandId: string, opts: GlobalOptions & { reason?: string; by?: string }) => {
      checkDemandId(demandId);
      await withClient(async (ctx) =>
        printUpdateResult(
          await sendUpdate(ctx, demandId, resumeUpdate, {
            by: actor(opts.by),
            ...(opts.reason ? { reason: opts.reason } : {}),
          }),
          opts.json,
        ),
      );
    });
}
