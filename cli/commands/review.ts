/** `auditflow review`: accept an answered item, ask for more information, or reject it. */
import type { Command } from 'commander';
import { reviewUpdate } from '../../domain/messages';
import { withClient } from '../client';
import { actor, checkDemandId, printUpdateResult, sendUpdate } from '../demands';
import { CliError, Exit, type GlobalOptions } from '../output';

interface ReviewOptions extends GlobalOptions {
  accept?: boolean;
  moreInfo?: boolean;
  reject?: boolean;
  question?: string[];
  due?: string;
  reason?: string;
  by?: string;
}

export function register(program: Command): void {
  program
    .command('review')
    .argument('<demandId>', 'the demand id')
    .argument('<itemId>', 'the item (must be in review)')
    .description(
      'Decide on an answered item: --accept, --more-info (a follow-up round with its own deadline) or --reject',
    )
    .option('--accept', 'the answer is sufficient; the item closes')
    .option('--more-info', 'ask follow-up questions (with --question, repeatable)')
    .option('--reject', 'the answer is rejected (needs --reason); the item closes as a gap')
    .option('--question <text...>', 'follow-up question(s)')
    .option('--due <datetime>', 'follow-up deadline (local or ISO instant; default: review.followUpPeriod from now)')
    .option('--reason <text>', 'why (required for --reject)')
    .option('--by <who>', 'reviewer (default: your user@host)')
    .option('--json', 'print {ok, message, items}')
    .addHelpText(
      'after',
      '\nExamples:\n  npx auditflow review acme-api-usage-2023 xbox --accept\n  npx auditflow review acme-api-usage-2023 psn --more-info --question "Which data fields left the EU?" --due 2027-06-30T17:00\n  npx auditflow review acme-api-usage-2023 stadia --reject --reason "no data inventory given"\n',
    )
    .action(async (demandId: string, itemId: string, opts: ReviewOptions) => {
      checkDemandId(demandId);
      const chosen = [opts.accept && 'accept', opts.moreInfo && 'more-info', opts.reject && 'reject'].filter(
        Boolean,
      ) as ('accept' | 'more-info' | 'reject')[];
      if (chosen.length !== 1)
        throw new CliError('choose exactly one of --accept, --more-info, --reject', Exit.invalid);
      const decision = chosen[0]!;
      if (decision === 'reject' && !opts.reason) throw new CliError('--reject needs --reason', Exit.invalid);
      if (decision === 'more-info' && !opts.question?.length)
        throw new CliError('--more-info needs at least one --question', Exit.invalid);
      await withClient(async (ctx) =>
        printUpdateResult(
          await sendUpdate(ctx, demandId, reviewUpdate, {
            itemId,
            decision,
            by: actor(opts.by),
            ...(opts.reason ? { reason: opts.reason } : {}),
            ...(opts.question ? { questions: opts.question } : {}),
            ...(opts.due ? { dueAt: opts.due } : {}),
          }),
          opts.json,
        ),
      );
    });
}
