/**
 * `auditflow approve` and `auditflow hold`: decide a step that waits for sign-off (an escalation step or
 * the request whose spec says `signOff`). The demand checks that `--by` names a requester person with
 * the approver role; who may send updates at all is Temporal's authorization.
 */
import type { Command } from 'commander';
import { approveStepUpdate, holdStepUpdate } from '../../domain/messages';
import { withClient } from '../client';
import { checkDemandId, printUpdateResult, sendUpdate } from '../demands';
import type { GlobalOptions } from '../output';

const STEP_HELP = 'the step waiting: its gate id (g1, see `show`), request, the step number or its label';

export function register(program: Command): void {
  program
    .command('approve')
    .argument('<demandId>', 'the demand id')
    .argument('<step>', STEP_HELP)
    .description(
      "Sign off a step that waits for it: its messages go out now (or at their recipients' next sending hour); later steps move by the time waited",
    )
    .requiredOption('--by <who>', 'your name or address, as a requester person with the approver role in the spec')
    .option('--note <text>', "replaces the step's note in the messages")
    .option('--reason <text>', 'recorded with the decision')
    .option('--json', 'print {ok, message}')
    .addHelpText(
      'after',
      '\nExamples:\n  npx auditflow approve acme-api-usage-2023 g1 --by "Chris Counsel"\n  npx auditflow approve acme-api-usage-2023 "final notice" --by counsel@platform.example.com --note "Last chance before we refer."\n',
    )
    .action(
      async (demandId: string, step: string, opts: GlobalOptions & { by: string; note?: string; reason?: string }) => {
        checkDemandId(demandId);
        await withClient(async (ctx) =>
          printUpdateResult(
            await sendUpdate(ctx, demandId, approveStepUpdate, {
              step,
              by: opts.by,
              ...(opts.note ? { note: opts.note } : {}),
              ...(opts.reason ? { reason: opts.reason } : {}),
            }),
            opts.json,
          ),
        );
      },
    );

  program
    .command('hold')
    .argument('<demandId>', 'the demand id')
    .argument('<step>', STEP_HELP)
    .description('Hold a step that waits for sign-off: nothing goes out for its items until someone approves it')
    .requiredOption('--by <who>', 'your name or address, as a requester person with the approver role in the spec')
    .requiredOption('--reason <text>', 'why (recorded)')
    .option('--json', 'print {ok, message}')
    .addHelpText(
      'after',
      '\nExample:\n  npx auditflow hold acme-api-usage-2023 g1 --by "Chris Counsel" --reason "board meets on Friday"\n',
    )
    .action(async (demandId: string, step: string, opts: GlobalOptions & { by: string; reason: string }) => {
      checkDemandId(demandId);
      await withClient(async (ctx) =>
        printUpdateResult(
          await sendUpdate(ctx, demandId, holdStepUpdate, { step, by: opts.by, reason: opts.reason }),
          opts.json,
        ),
      );
    });
}
