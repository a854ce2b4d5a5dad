/** `auditflow extend <demandId>`: moves deadlines later, or decides a counterparty's emailed request. */
import type { Command } from 'commander';
import { decideExtensionUpdate, extendDeadlineUpdate } from '../../domain/messages';
import { withClient } from '../client';
import { actor, checkDemandId, printUpdateResult, sendUpdate } from '../demands';
import { CliError, Exit, type GlobalOptions } from '../output';

interface ExtendOptions extends GlobalOptions {
  item?: string[];
  until?: string;
  for?: string;
  reason?: string;
  by?: string;
  request?: string;
  deny?: boolean;
}

export function register(program: Command): void {
  program
    .command('extend')
    .argument('<demandId>', 'the demand id')
    .description(
      'Extend deadlines (reminders and escalation are planned again), or approve / deny an emailed request for more time',
    )
    .option('--item <itemId...>', 'only these items (default: every item still waiting for an answer)')
    .option('--until <datetime>', 'new deadline: local to the counterparty (2027-06-21T17:00) or an ISO instant')
    .option('--for <duration>', 'or: how much later, ISO 8601 (P7D, PT48H)')
    .requiredOption('--reason <text>', 'why (recorded, and told to the counterparty)')
    .option('--by <who>', 'who approved it (default: your user@host)')
    .option('--request <id>', 'the emailed extension request this decides (see `show`)')
    .option('--deny', 'with --request: refuse the request; deadlines stay')
    .option('--json', 'print {ok, message, items: [{itemId, dueAt, phase}]}')
    .addHelpText(
      'after',
      '\nExamples:\n  npx auditflow extend acme-api-usage-2023 --until 2027-06-21T17:00 --reason "counsel agreed on call" --by "Dana Reyes"\n  npx auditflow extend acme-api-usage-2023 --item xbox --for P7D --reason "data export delayed"\n  npx auditflow extend acme-api-usage-2023 --request ext-1 --deny --reason "no grounds given"\n',
    )
    .action(async (demandId: string, opts: ExtendOptions) => {
      checkDemandId(demandId);
      if (opts.until && opts.for) throw new CliError('give --until or --for, not both', Exit.invalid);
      if (opts.deny && !opts.request) throw new CliError('--deny needs --request <id>', Exit.invalid);
      if (!opts.request && !opts.until && !opts.for)
        throw new CliError(
          'say how long: --until <datetime> or --for <duration> (or decide a request with --request)',
          Exit.invalid,
        );
      const reason = opts.reason!;
      await withClient(async (ctx) => {
        const result = opts.request
          ? await sendUpdate(ctx, demandId, decideExtensionUpdate, {
              requestId: opts.request,
              approve: !opts.deny,
              reason,
              decidedBy: actor(opts.by),
              ...(opts.until ? { newDeadline: opts.until } : {}),
              ...(opts.for ? { by: opts.for } : {}),
            })
          : await sendUpdate(ctx, demandId, extendDeadlineUpdate, {
              reason,
              approvedBy: actor(opts.by),
              ...(opts.item ? { itemIds: opts.item } : {}),
              ...(opts.until ? { newDeadline: opts.until } : {}),
              ...(opts.for ? { by: opts.for } : {}),
            });
        printUpdateResult(result, opts.json);
      });
    });
}
