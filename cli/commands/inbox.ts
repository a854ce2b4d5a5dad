/**
 * `auditflow inbox`: replies kept for review (unmatched, unauthenticated, ambiguous, malformed), and what
 * to do with them. Decided ones leave the inbox workflow for the triage log in the data folder; `--all`
 * shows both.
 */
import type { Command } from 'commander';
import { WorkflowNotFoundError } from '@temporalio/common';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { Storage } from '../../platform/storage';
import { readTriageLog } from '../../platform/triage-log';
import { TRIAGE_LIMITS } from '../../domain/limits';
import {
  inboxWorkflowId,
  assignTriageUpdate,
  discardTriageUpdate,
  inboxQuery,
  type InboxState,
  type TriageEntry,
} from '../../domain/triage';
import { withClient, type CliContext } from '../client';
import { actor, checkDemandId } from '../demands';
import { CliError, Exit, localAndUtc, printJson, table, type GlobalOptions } from '../output';

async function inboxState(ctx: CliContext): Promise<InboxState> {
  try {
    return await ctx.client.workflow.getHandle(inboxWorkflowId(ctx.config.taskQueue)).query(inboxQuery);
  } catch (err) {
    // No message was ever kept: the inbox workflow starts with the first one.
    if (err instanceof WorkflowNotFoundError) return { entries: [], runs: 0 };
    throw new CliError(
      `could not read the inbox: ${(err as Error).message}\nIs a worker running? (npx auditflow doctor)`,
    );
  }
}

/** What `inbox` lists: open entries, and with `all` the decided ones from the triage log too (each once). */
async function listed(
  state: InboxState,
  storage: Storage,
  all: boolean,
): Promise<{ list: TriageEntry[]; unreadable: string[] }> {
  const open = state.entries.filter((e) => all || e.status === 'open');
  if (!all) return { list: open, unreadable: [] };
  const log = await readTriageLog(storage);
  const inState = new Set(open.map((e) => e.id));
  return { list: [...log.entries.filter((e) => !inState.has(e.id)), ...open], unreadable: log.unreadable };
}

async function decide<I>(
  ctx: CliContext,
  def: typeof assignTriageUpdate | typeof discardTriageUpdate,
  input: I,
): Promise<TriageEntry> {
  try {
    return await ctx.client.workflow
      .getHandle(inboxWorkflowId(ctx.config.taskQueue))
      .executeUpdate(def as never, { args: [input] });
  } catch (err) {
    if (err instanceof WorkflowNotFoundError)
      throw new CliError('the inbox is empty: no message was ever kept for review');
    if (err instanceof WorkflowUpdateFailedError) {
      const reason = (err.cause as Error | undefined)?.message ?? err.message;
      // The inbox keeps only the ids of decided messages; the triage log says who decided what.
      const logged = /was already decided/.test(reason)
        ? (await readTriageLog(ctx.storage)).entries.find((e) => e.id === (input as { id: string }).id)
        : undefined;
      throw new CliError(
        `refused: ${logged ? `message "${logged.id}" was already ${logged.status} by ${logged.decidedBy ?? '?'} at ${logged.decidedAt ?? '?'} (${logged.decision ?? ''})` : reason}`,
      );
    }
    throw err;
  }
}

export function register(program: Command): void {
  const inbox = program
    .command('inbox')
    .description('Messages kept for review instead of being recorded, with the reason; assign or discard them')
    .option('--all', 'also show messages already assigned or discarded (from the triage log in the storage)')
    .option(
      '--json',
      'print [{id, receivedAt, channel, reason, from, subject, messageId, hint, status, deliveries, raw: {sha256, size}}]',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  npx auditflow inbox\n  npx auditflow inbox assign 3f2a9c0d1e2b4a5c --demand northwind-api-audit-2027 --item atlas\n  npx auditflow inbox discard 3f2a9c0d1e2b4a5c --reason "newsletter"\n',
    )
    .action(async (opts: GlobalOptions & { all?: boolean }) =>
      withClient(async (ctx) => {
        const state = await inboxState(ctx);
        const { list, unreadable } = await listed(state, ctx.storage, Boolean(opts.all));
        for (const file of unreadable) process.stderr.write(`warning: ${file} in the triage log cannot be read\n`);
        if (opts.json) return printJson(list);
        const waiting = state.entries.filter((e) => e.status === 'open').length;
        if (waiting >= TRIAGE_LIMITS.openEntries * 0.8)
          process.stderr.write(
            `note: ${waiting} of at most ${TRIAGE_LIMITS.openEntries} messages wait; when the inbox is full the gateway defers new ones (451) until some are decided\n`,
          );
        if (list.length === 0)
          return void process.stdout.write(
            opts.all ? 'the inbox is empty\n' : 'nothing waits for review (see --all for decided messages)\n',
          );
        const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
        process.stdout.write(
          `${table(
            ['id', 'received', 'from', 'subject', 'reason', ...(opts.all ? ['status'] : [])],
            list.map((e) => [
              e.id,
              localAndUtc(e.receivedAt, zone),
              e.from ?? '-',
              (e.subject ?? '').slice(0, 40),
              e.reason.slice(0, 90),
              ...(opts.all ? [`${e.status}${e.decision ? `: ${e.decision}` : ''}`] : []),
            ]),
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
    .description("Record a kept message as an answer on a demand's items")
    .action(async (id: string, opts: GlobalOptions & { demand: string; item: string[]; by?: string }) => {
      const demandId = checkDemandId(opts.demand, '--demand');
      return withClient(async (ctx) => {
        const e = await decide(ctx, assignTriageUpdate, { id, demandId, itemIds: opts.item, by: actor(opts.by) });
        if (opts.json) printJson(e);
        else process.stdout.write(`${id}: ${e.decision}\n`);
      });
    });
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
