/** `auditflow withdraw`: cancels a demand; the counterparty gets a withdrawal notice. */
import type { Command } from 'commander';
import { withdrawUpdate } from '../../domain/messages';
import { withClient } from '../client';
import { actor, checkDemandId, printUpdateResult, sendUpdate } from '../demands';
import type { GlobalOptions } from '../output';

export function register(program: Command): void {
  program
    .command('withdraw')
    .argument('<demandId>', 'the demand id')
    .description('Withdraw the demand: open items close, a withdrawal notice is sent, the report is written')
    .requiredOption('--reason <text>', 'why (recorded, and told to the counterparty)')
    .option('--by <who>', 'who decided (default: your user@host)')
    .option('--json', 'print {ok, message}')
    .addHelpText('after', '\nExample:\n  npx auditflow withdraw acme-api-usage-2023 --reason "settled out of court"\n')
    .action(async (demandId: string, opts: GlobalOptions & { reason: string; by?: string }) => {
      checkDemandId(demandId);
      await withClient(async (ctx) =>
        printUpdateResult(
          await sendUpdate(ctx, demandId, withdrawUpdate, { reason: opts.reason, by: actor(opts.by) }),
          opts.json,
        ),
      );
    });
}
