/** `auditflow inbox`: replies kept for review (unmatched, unauthenticated, ambiguous, malformed), and what to do with them. */
import type { Command } from 'commander';
import { WorkflowNotFoundError } from '@temporalio/common';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { inboxWorkflowId, assignTriageUpdate, discardTriageUpdate, inboxQuery, type TriageEntry } from '../../domain/triage';
import { withClient, type CliContext } from '../client';
import { actor } from '../demands';
import { CliError, Exit, localAndUtc, printJson, table, type GlobalOptions } from '../output';

async function entries(ctx: CliContext): Promise<TriageEntry[]> {
  try {
    return (await ctx.client.workflow.getHandle(inboxWorkflowId(ctx.config.taskQueue)).query(inboxQuery)).entries;
  } catch (err) {
    // No message was ever kept: the inbox workflow starts with the first one.
    if (err instanceof WorkflowNotFoundError) return [];
    throw new CliError(`could not read the inbox: ${(err as Error).message}\nIs a worker running? (npx auditflow doctor)`);
  }
}

async function decide<I>(ctx: CliContext, def: typeof assignTriageUpdate | typeof discardTriageUpdate, input: I): Promise<TriageEntry> {
  try {
    return await ctx.client.workflow.getHandle(inboxWorkflowId(ctx.config.taskQueue)).executeUpdate(def as never, { args: [input] });
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new CliError('the inbox is empty: no message was ever kept for review');
    if (err instanceof WorkflowUpdateFailedError) throw new CliError(`refused: ${(err.cause as Error | undefined)?.message ?? err.message}`);
    throw err;
  }
}

export function register(program: Command): void {
  const inbox = program
    .command('inbox')
    .description('Messages kept for review instead of being recorded, with the reason; assign or discard them')
    .option('--all', 'also show messages already assigned or discarded')
    .option('--json', 'print [{id, receivedAt, channel, reason, from, subject, messageId, hint, status, deliveries, raw: {sha256, size}}]')
    .addHelpText('after', '\nExamples:\n  npx auditflow inbox\n  npx auditflow inbox assign 3f2a9c0d1e2b4a5c --demand northwind-api-audit-2027 --item atlas\n  npx auditflow inbox discard 3f2a9c0d1e2b4a5c --reason "newsletter"\n')
    .action(async (opts: GlobalOptions & { all?: boolean }) =>
      withClient(async (ctx) => {
        const list = (await entries(ctx)).filter((e) => opts.all || e.status === 'open');
        if (opts.json) return printJson(list);
        if (list.length === 0) return void process.stdout.write(opts.all ? 'the inbox is empty\n' : 'nothing waits for review (see --all for decided messages)\n');
        const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
        process.stdout.write(
          `${table(
            ['id', 'received', 'from', 'subject', 'reason', ...(opts.all ? ['status'] : [])],
            list.map((e) => [e.id, localAndUtc(e.receivedAt, zone), e.from ?? '-', (e.subject ?? '').slice(0, 40), e.reason.slice(0, 90), ...(opts.all ? [`${e.status}${e.decision ? `: ${e.decision}` : ''}`] : [])]),
          )}\n`,
        );
      }),
    );
  inbox
    .command('assign')
    .argument('<id>', 'the message id shown by `auditflow inbox`')
    .requiredOption('--demand <demandId>', 'the demand it answers')
    .requiredOption('--item <itemId...>', 'the item(s) it answers')
    .option('--by <who>', 'who decided (default: your user@host)')
    .option('--json', 'print the entry after the decision')
    .description('Record a kept message as an answer on a demand\'s items')
    .action(async (id: string, opts: GlobalOptions & { demand: string; item: string[]; by?: string }) =>
      withClient(async (ctx) => {
        const e = await decide(ctx, assignTriageUpdate, { id, demandId: opts.demand, itemIds: opts.item, by: actor(opts.by) });
        if (opts.json) printJson(e);
        else process.stdout.write(`${id}: ${e.decision}\n`);
      }),
    );
  inbox
    .command('discard')
    .argument('<id>', 'the message id shown by `auditflow inbox`')
    .requiredOption('--reason <text>', 'why (recorded; the message stays in the evidence store)')
    .option('--by <who>', 'who decided (default: your user@host)')
    .option('--json', 'print the entry after the decision')
    .description('Discard a kept message, with the reason')
    .action(async (id: string, opts: GlobalOptions & { reason: string; by?: string }) =>
      withClient(async (ctx) => {
        if (!opts.reason.trim()) throw new CliError('--reason must not be empty', Exit.invalid);
        const e = await decide(ctx, discardTriageUpdate, { id, reason: opts.reason, by: actor(opts.by) });
        if (opts.json) printJson(e);
        else process.stdout.write(`${id}: ${e.decision}\n`);
      }),
    );
}
