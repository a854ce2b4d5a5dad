/**
 * `auditflow setup`: registers auditflow's search attributes on your own Temporal namespace, and creates (or
 * brings up to date) the Schedule of the owners' daily digest.
 */
import type { Command } from 'commander';
import { CliError, Exit, printJson, type GlobalOptions } from '../output';
import { withClient } from '../client';
import { ensureDigestSchedule } from '../../platform/digest-schedule';
import { checkSearchAttributes, cliCreateCommand, registerSearchAttributes } from '../search-attributes';

export function register(program: Command): void {
  program
    .command('setup')
    .description(
      'Register the Audit* search attributes on the target namespace (the dev server of npm start has them already) and create the daily digest schedule',
    )
    .option('--json', 'print {ok, registered, present, digestSchedule: {id, outcome}} as JSON')
    .addHelpText(
      'after',
      '\nExample:\n  TEMPORAL_ADDRESS=temporal.internal:7233 TEMPORAL_NAMESPACE=legal npx auditflow setup\n',
    )
    .action(async (opts: GlobalOptions) =>
      withClient(async ({ client, config, connection, target }) => {
        const before = await checkSearchAttributes(connection, target.namespace);
        if (before.wrongType.length) {
          throw new CliError(
            `these search attributes exist with another type and must be renamed or removed by hand: ${before.wrongType.map((w) => `${w.name} (is ${w.has}, needs ${w.want})`).join(', ')}`,
          );
        }
        if (before.missing.length) {
          try {
            await registerSearchAttributes(connection, target.namespace, before.missing);
          } catch (err) {
            throw new CliError(
              `could not register ${before.missing.join(', ')}: ${(err as Error).message}\n` +
                `On Temporal Cloud, add them in the Cloud UI or with tcld; on a self-hosted cluster an admin can run:\n  ${cliCreateCommand(target.namespace, before.missing)}`,
            );
          }
        }
        const after = await checkSearchAttributes(connection, target.namespace);
        if (after.missing.length) throw new CliError(`still missing after registration: ${after.missing.join(', ')}`);
        let schedule;
        try {
          schedule = await ensureDigestSchedule(client, config.taskQueue);
        } catch (err) {
          throw new CliError(
            `could not create the daily digest schedule on ${target.namespace}: ${(err as Error).message}\n` +
              'The search attributes are registered. Creating a Schedule needs permission to write schedules on the namespace; run setup again once you have it.',
          );
        }
        if (opts.json)
          printJson({ ok: true, registered: before.missing, present: after.present, digestSchedule: schedule });
        else
          process.stdout.write(
            `${
              before.missing.length
                ? `registered on ${target.namespace}: ${before.missing.join(', ')}`
                : `all ${after.present.length} search attributes were already registered on ${target.namespace}`
            }\ndaily digest schedule ${schedule.id} ${schedule.outcome}: every 15 minutes, task queue ${config.taskQueue}; owners get it at 09:00 on business days\n`,
          );
        process.exitCode = Exit.ok;
      }),
    );
}
