/**
 * `auditflow show <demandId>`: the demand's whole state, as the status query returns it; for a demand
 * started with `--at` that has not started yet, when it starts and what it will ask (no query is sent).
 */
import type { Command } from 'commander';
import type { DemandStatusView } from '../../domain/state';
import { withReader } from '../client';
import { checkDemandId, describeDemand, queryStatus } from '../demands';
import { localAndUtc, printJson, safeStrings, table, type GlobalOptions } from '../output';
import { notStartedDemand, startsAtText, type NotStartedDemand } from '../scheduled';
import { workflowUrl } from '../ui';
import { isOpenGate } from '../../workflows/model';

/** The human view: headline, items table, pending requests, recent timeline, problems. */
export function renderStatus(view: DemandStatusView, url: string): string {
  // Excerpts, return dates, subjects, names and problems come from email and specs: one safe line each.
  const s = safeStrings(view);
  const zone = s.spec.counterparty.timezone;
  const held = s.outbox
    .filter((m) => m.dueAt && Date.parse(m.at) > Date.parse(s.now))
    .sort((a, b) => a.at.localeCompare(b.at));
  const firstHeld = held[0];
  const out: string[] = [
    `${s.spec.title}`,
    `  demand ${s.demandId}  status ${s.status}  counterparty ${s.spec.counterparty.organisation} (${zone})`,
    s.paused
      ? `  clock stopped since ${localAndUtc(s.paused.since, zone)} by ${s.paused.by}: ${s.paused.reason}`
      : firstHeld && (!s.nextAction || firstHeld.at < s.nextAction.at)
        ? `  next: ${firstHeld.kind} to ${firstHeld.to.address}, waiting for their sending hours, at ${localAndUtc(firstHeld.at, firstHeld.to.zone)}`
        : s.nextAction
          ? `  next: ${s.nextAction.description} at ${localAndUtc(s.nextAction.at, zone)}`
          : '  next: nothing scheduled',
    `  UI: ${url}`,
    '',
    table(
      ['item', 'state', `due (${zone})`, 'due (UTC)', 'esc', 'answers', 'last message'],
      s.items.map((i) => {
        const due = localAndUtc(i.dueAt, zone);
        const [local, utc] = [due.replace(/ \(.*\)$/, ''), due.replace(/^.*\((.*)\)$/, '$1')];
        const late = i.answers.some((a) => a.late) ? ' (late)' : '';
        return [
          i.id,
          i.phase === 'closed' ? `closed: ${i.closure}` : i.round ? `${i.phase} (follow-up ${i.round})` : i.phase,
          local,
          utc,
          i.escalationLevel || '-',
          `${i.answers.length}${late}`,
          i.lastMessage
            ? `${i.lastMessage.direction === 'in' ? 'in' : 'out'} ${i.lastMessage.kind} ${i.lastMessage.at.slice(0, 16).replace('T', ' ')}Z`
            : '-',
        ];
      }),
    ),
  ];
  const pending = s.extensionRequests.filter((r) => r.status === 'pending');
  if (pending.length) {
    out.push('', 'extension requests waiting for a decision:');
    for (const r of pending)
      out.push(
        `  ${r.id} from ${r.from ?? '?'} at ${localAndUtc(r.receivedAt, zone)}` +
          `${r.requestedDeadline ? `, asks until ${localAndUtc(r.requestedDeadline, zone)}` : ''} (items: ${r.itemIds.join(', ') || 'all'})`,
      );
    out.push(
      `  decide: npx auditflow extend ${s.demandId} --request <id> [--until <date>] --reason "..."   or add --deny`,
    );
  }
  const gates = (s.gates ?? []).filter(isOpenGate);
  if (gates.length) {
    out.push('', 'waiting for sign-off (nothing goes out for these items, nor later steps, until approved):');
    for (const g of gates) {
      const state =
        g.status === 'waiting'
          ? `role ${g.approverRole} until ${localAndUtc(g.expiresAt, zone)}, then ${g.onTimeout === 'send' ? 'sent as it is' : 'held'}`
          : `${g.status} by ${g.decidedBy ?? '?'}${g.reason ? ` (${g.reason})` : ''}`;
      out.push(`  ${g.id} ${g.label} for ${g.itemIds.join(', ')}: ${g.mails.length} message(s); ${state}`);
    }
    out.push(
      `  decide: npx auditflow approve ${s.demandId} <gate> --by "<name>" [--note "..."]   ` +
        `or: npx auditflow hold ${s.demandId} <gate> --by "<name>" --reason "..."`,
    );
  }
  if (held.length) {
    out.push('', "waiting for the recipient's sending hours:");
    for (const m of held)
      out.push(
        `  ${m.kind} to ${m.to.address} [${m.itemIds.join(', ')}] goes at ${localAndUtc(m.at, m.to.zone)} (due ${localAndUtc(m.dueAt, m.to.zone)})`,
      );
  }
  const timeline = [
    ...s.messages.map((m) => ({
      at: m.at,
      text:
        `${m.direction === 'out' ? 'sent' : 'received'} ${m.kind} ` +
        `${m.direction === 'out' ? `to ${m.to.join(', ')}` : `from ${m.from}`} ${m.itemIds.length ? `[${m.itemIds.join(', ')}]` : ''}`,
    })),
    ...s.decisions.map((d) => ({
      at: d.at,
      text: `${d.kind}${d.by ? ` by ${d.by}` : ''}${d.detail ? `: ${d.detail}` : ''}${d.reason ? ` (${d.reason})` : ''}`,
    })),
  ].sort((a, b) => a.at.localeCompare(b.at));
  out.push('', `timeline (${timeline.length} events, last 15):`);
  for (const e of timeline.slice(-15)) out.push(`  ${localAndUtc(e.at, zone)}  ${e.text}`);
  if (s.duplicatesIgnored)
    out.push('', `${s.duplicatesIgnored} duplicate deliver${s.duplicatesIgnored === 1 ? 'y' : 'ies'} counted once`);
  if (s.problems.length) {
    out.push('', 'problems kept for review:');
    for (const p of s.problems) out.push(`  ${p.at} ${p.source}: ${p.message}`);
  }
  if (s.report) out.push('', `report: ${s.report.path}`);
  return `${out.join('\n')}\n`;
}

/** The human view of a demand whose workflow has not run: when it starts (or that it never will), and its spec. */
export function renderNotStarted(view: NotStartedDemand, url: string): string {
  // The spec, who started it and a termination reason come from outside: one safe line each.
  const d = safeStrings(view);
  const zone = d.spec?.counterparty.timezone ?? 'UTC';
  const scheduled = d.status === 'scheduled';
  const out = [
    d.spec?.title ?? d.demandId,
    scheduled
      ? `  demand ${d.demandId}  status scheduled: scheduled to start at ${startsAtText(d)}`
      : `  demand ${d.demandId}  status withdrawn before it started (it was to start at ${startsAtText(d)})`,
    ...(d.summary ? [`  ${d.summary}`] : []),
    `  scheduled ${localAndUtc(d.scheduledAt, zone)}${d.startedBy ? ` by ${d.startedBy}` : ''}`,
    ...(d.withdrawn ? [`  ended ${localAndUtc(d.withdrawn.at, zone)}: ${d.withdrawn.reason}`] : []),
    ...(d.spec ? [`  items: ${d.spec.items.map((i) => i.id).join(', ')}`] : []),
    scheduled ? '  nothing has been sent; the requests go out when it starts' : '  nothing was sent',
    ...(scheduled ? [`  call it off before then: npx auditflow withdraw ${d.demandId} --reason "..."`] : []),
    `  UI: ${url}`,
  ];
  return `${out.join('\n')}\n`;
}

export function register(program: Command): void {
  program
    .command('show')
    .argument('<demandId>', "the demand id (the spec's id)")
    .description('Show a demand: items, deadlines, next action, messages and decisions')
    .option(
      '--json',
      'print the status query result as is (see README, "JSON output"); before a --at start, {status: scheduled, startsAt, ...}',
    )
    .addHelpText(
      'after',
      '\nExample:\n  npx auditflow show acme-api-usage-2023\n  npx auditflow show acme-api-usage-2023 --json | jq .items\n',
    )
    .action(async (demandId: string, opts: GlobalOptions) => {
      checkDemandId(demandId);
      await withReader(async (ctx) => {
        const desc = await describeDemand(ctx, demandId);
        // A delayed workflow has not run: the query would be refused, and nothing it could say exists yet.
        const notStarted = await notStartedDemand(ctx, demandId, desc);
        if (notStarted) {
          if (opts.json) printJson(notStarted);
          else process.stdout.write(renderNotStarted(notStarted, workflowUrl(ctx, notStarted.workflowId)));
          return;
        }
        const s = await queryStatus(ctx, demandId);
        if (opts.json) printJson(s);
        else process.stdout.write(renderStatus(s, workflowUrl(ctx, s.workflowId)));
      });
    });
}
