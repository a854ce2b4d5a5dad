/** `auditflow demo`: the example demand compressed to minutes, the counterparty played through the real gateway. */
import type { Command } from 'commander';
import { runDemo } from '../demo/run';
import { SCENARIO } from '../demo/scenario';
import { loadSecret } from '../../platform/config';
import { LANGUAGES, type Language } from '../../domain/time';
import { loadSettings } from '../client';
import { CliError, Exit, printJson, type GlobalOptions } from '../output';

export function register(program: Command): void {
  program
    .command('demo')
    .description(
      'Run the example audit (examples/api-usage-audit.yaml, or its French version with --lang fr) with its deadline ' +
        'a minute away, play the counterparty through the inbound gateway, and check the demand ends as expected',
    )
    .option(
      '--deadline-in <seconds>',
      'seconds until the deadline (reminder at half, escalation steps every quarter after it)',
      '60',
    )
    .option(
      '--lang <language>',
      'en: examples/api-usage-audit.yaml; fr: examples/api-usage-audit.fr.yaml (in French)',
      'en',
    )
    .option(
      '--json',
      'print {ok, demandId, status, url, reportPath, caseFile, checks: [{what, ok}]} at the end (progress goes to stderr)',
    )
    .addHelpText(
      'after',
      '\nUses the stack of `npm start` when it runs, else starts one for the demo and stops it afterwards.\n' +
        `The scenario:\n${Object.entries(SCENARIO)
          .map(([i, what]) => `  ${i.padEnd(8)} ${what}`)
          .join('\n')}\n` +
        'Exit 0 only if the demand ends referred with every other item accepted.\n\n' +
        'Examples:\n  npx auditflow demo\n' +
        '  npx auditflow demo --lang fr      # the same audit in French, for a French-speaking counterparty\n',
    )
    .action(async (opts: GlobalOptions & { deadlineIn: string; lang: string }) => {
      const deadlineIn = Number(opts.deadlineIn);
      if (!Number.isInteger(deadlineIn) || deadlineIn < 20 || deadlineIn > 3600)
        throw new CliError('--deadline-in must be a whole number of seconds from 20 to 3600', Exit.invalid);
      if (!(LANGUAGES as readonly string[]).includes(opts.lang))
        throw new CliError(`--lang must be one of ${LANGUAGES.join(', ')} (en: English, fr: French)`, Exit.invalid);
      const language = opts.lang as Language;
      // The stack the demo may start signs every reply address with it: a broken secret file is said now, not after a stack failed.
      loadSecret(loadSettings().config);
      const out = (line: string) => (opts.json ? process.stderr : process.stdout).write(`${line}\n`);
      const result = await runDemo({ deadlineIn, out, language });
      if (opts.json) printJson(result);
      else {
        out(
          result.ok
            ? `\ndemo passed: demand ${result.demandId} ended ${result.status}`
            : `\ndemo FAILED: demand ${result.demandId} is ${result.status}; see the checks above`,
        );
        out(`  Temporal UI:  ${result.url}`);
        out(`  report:       ${result.reportPath ?? '(not written)'}`);
        out(
          `  case file:    ${result.caseFile ?? '(not written)'}${result.caseFile ? `  (check it with: npx auditflow verify ${result.caseFile})` : ''}`,
        );
      }
      if (!result.ok) process.exitCode = Exit.error;
    });
}
