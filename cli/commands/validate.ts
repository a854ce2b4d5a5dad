/** `auditflow validate <file>`: checks a demand spec and lists every problem at once. */
import type { Command } from 'commander';
import { applyOffset, describeOffset, initialDeadline } from '../../domain/schedule';
import { Exit, localAndUtc, printJson, safeBlock, type GlobalOptions } from '../output';
import { sentWith } from '../../domain/attachments';
import { readSpecWithFiles } from '../attachments';
import { printSpecProblems } from '../spec-file';

export function register(program: Command): void {
  program
    .command('validate')
    .argument('<file>', 'demand spec, YAML or JSON')
    .description('Check a demand spec; every problem is listed with its path (exit 2 when invalid)')
    .option('--json', 'print {ok, id, items, deadline} or {ok: false, problems: [{path, message}]}')
    .addHelpText('after', '\nExample:\n  npx auditflow validate examples/api-usage-audit.yaml\n')
    .action((file: string, opts: GlobalOptions) => {
      const r = readSpecWithFiles(file);
      if (!r.ok) {
        printSpecProblems(r, opts.json);
        process.exitCode = Exit.invalid;
        return;
      }
      const spec = r.spec;
      const zone = spec.counterparty.timezone;
      const deadline = initialDeadline(spec, spec.items[0]!.id);
      if (opts.json) {
        printJson({
          ok: true,
          file,
          id: spec.id,
          items: spec.items.map((i) => i.id),
          deadline: new Date(deadline).toISOString(),
          reminders: spec.reminders.length,
          escalationSteps: spec.escalation.length,
          attachments: r.attachments.map((a) => ({ ...a.ref, path: a.path })),
        });
        return;
      }
      const lines = [
        `ok: ${file} is a valid demand`,
        `  id:          ${spec.id} (workflow audit:${spec.id})`,
        `  counterparty ${spec.counterparty.organisation} (${zone})`,
        `  items:       ${spec.items.length} (${spec.items.map((i) => i.id).join(', ')})`,
        `  deadline:    ${localAndUtc(deadline, zone)}`,
        `  reminders:   ${spec.reminders.map((x) => `${describeOffset(x.before)} before`).join(', ') || 'none'}`,
        `  attachments: ${r.attachments.map((a) => `${a.ref.name} (${a.ref.size.toLocaleString('en-US')} bytes, with ${sentWith(a.ref.attachTo)})`).join('; ') || 'none'}`,
        `  escalation:  ${spec.escalation.map((s, i) => `${i + 1}) ${describeOffset(s.after)} after -> ${s.action === 'refer' ? 'refer' : s.notify.join(' + ')}`).join('; ') || 'none'}`,
      ];
      if (deadline <= Date.now())
        lines.push(
          `  warning:     the deadline is in the past: \`start\` refuses a demand until every deadline is in the future`,
        );
      if (spec.escalation.length)
        lines.push(
          `  last step:   ${localAndUtc(applyOffset(deadline, spec.escalation[spec.escalation.length - 1]!.after, spec, 1), zone)} (before moving into sending hours; see plan)`,
        );
      process.stdout.write(`${safeBlock(lines.join('\n'))}\n`);
    });
}
