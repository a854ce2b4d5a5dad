/**
 * `auditflow digest`: the owners' daily digest on demand. `--now` sends it at once to every owner with
 * something to do (or `--owner` only), whatever the hour; `--dry-run` prints what that would send and
 * sends nothing. The schedule (`auditflow setup`, `npm start`) sends it at 09:00 on business days.
 */
import type { Command } from 'commander';
import { WorkflowFailedError } from '@temporalio/client';
import { renderMail } from '../../activities/templates/render';
import { EmailAddress } from '../../domain/demand';
import type { DigestResult } from '../../domain/digest';
import { isoInstant } from '../../domain/time';
import { collectDigestSources } from '../../platform/digest-source';
import { DIGEST_WORKFLOW_TYPE, digestScheduleId } from '../../platform/digest-schedule';
import { buildDigests, digestMailInput, digestMailKey } from '../../workflows/digest-model';
import { withClient, type CliContext } from '../client';
import { CliError, Exit, printJson, safeBlock, type GlobalOptions } from '../output';

interface DigestOptions extends GlobalOptions {
  now?: boolean;
  dryRun?: boolean;
  owner?: string;
}

/** How long `--now` waits for the worker to send: a run nobody picks up ends then. */
const NOW_TIMEOUT = '2 minutes';

function checkedOwner(owner: string | undefined): string | undefined {
  if (owner === undefined) return undefined;
  const parsed = EmailAddress.safeParse(owner);
  if (!parsed.success)
    throw new CliError(`--owner ${JSON.stringify(owner)} ${parsed.error.issues[0]?.message}`, Exit.invalid);
  return parsed.data;
}

async function dryRun(ctx: CliContext, owner: string | undefined, json: boolean | undefined): Promise<void> {
  const now = Date.now();
  const { sources, unreadable } = await collectDigestSources(ctx.client, ctx.config.taskQueue, now);
  for (const problem of unreadable)
    process.stderr.write(`warning: left out, its state cannot be read: ${safeBlock(problem)}\n`);
  const digests = buildDigests(sources, now, { mode: 'now', ...(owner ? { owner } : {}) });
  const rendered = digests.map((d) => {
    const { mail, demand } = digestMailInput(d, digestMailKey(d, 'now', 'dry-run'));
    const { subject, text } = renderMail({ mail, demand, items: [], digest: d });
    return { to: d.owner, subject, count: d.count, text, demands: d.demands, unassigned: d.unassigned };
  });
  if (json) return printJson(rendered);
  if (rendered.length === 0)
    return void process.stdout.write(
      `nobody${owner ? ` (owner ${owner})` : ''} has anything to do: no digest would be sent\n`,
    );
  for (const r of rendered)
    process.stdout.write(safeBlock(`To: ${r.to.name} <${r.to.address}>\nSubject: ${r.subject}\n\n${r.text}\n`));
}

async function sendNow(ctx: CliContext, owner: string | undefined, json: boolean | undefined): Promise<void> {
  const taskQueue = ctx.config.taskQueue;
  let result: DigestResult;
  try {
    result = await ctx.client.workflow.execute(DIGEST_WORKFLOW_TYPE, {
      workflowId: `${digestScheduleId(taskQueue)}:now:${isoInstant(Date.now())}`,
      taskQueue,
      args: [{ mode: 'now', ...(owner ? { owner } : {}) }],
      workflowRunTimeout: NOW_TIMEOUT,
      staticSummary: `auditflow digest --now${owner ? ` --owner ${owner}` : ''}`,
    });
  } catch (err) {
    if (!(err instanceof WorkflowFailedError)) throw err;
    const why = (err.cause as Error | undefined)?.message ?? err.message;
    throw new CliError(
      `the digest was not sent: ${why}\nIs a worker running on task queue ${taskQueue}? (npx auditflow doctor)`,
    );
  }
  if (json) return printJson({ ok: true, ...result });
  if (result.sent.length === 0)
    return void process.stdout.write(`nobody${owner ? ` (owner ${owner})` : ''} has anything to do: no digest sent\n`);
  for (const s of result.sent)
    process.stdout.write(
      safeBlock(`${s.alreadySent ? 'already sent' : 'sent'} to ${s.owner}: ${s.subject} (${s.messageId})\n`),
    );
}

export function register(program: Command): void {
  program
    .command('digest')
    .description("The owners' daily digest: --now sends it at once, --dry-run prints what it would send")
    .option('--now', 'send it now to every owner with something to do, whatever the hour')
    .option('--dry-run', 'print each digest that --now would send (recipient, subject, text); send nothing')
    .option('--owner <address>', 'only the digest of this owner (a requester person with the role owner)')
    .option('--json', '--dry-run: [{to, subject, count, text, demands, unassigned}]; --now: {ok, at, mode, sent[]}')
    .addHelpText(
      'after',
      '\nExamples:\n  npx auditflow digest --dry-run\n  npx auditflow digest --now --owner owner@platform.example.com\n',
    )
    .action(async (opts: DigestOptions) => {
      if (Boolean(opts.now) === Boolean(opts.dryRun))
        throw new CliError(
          'say --now to send the digest now, or --dry-run to print what it would send (one of them)',
          Exit.invalid,
        );
      const owner = checkedOwner(opts.owner);
      await withClient((ctx) => (opts.now ? sendNow(ctx, owner, opts.json) : dryRun(ctx, owner, opts.json)));
    });
}
