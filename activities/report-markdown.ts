/** Renders a demand's state as a Markdown report: outcome, items with answers and reviews, timeline. */
import type { DemandState } from '../domain/state';
import { formatLocal, formatSpan, formatUtc } from '../domain/time';

function cell(s: string | undefined): string {
  return (s ?? '').replace(/\|/g, '\\|').replace(/[\r\n]+/g, ' ');
}

/** The whole report as Markdown. */
export function renderReportMarkdown(state: DemandState): string {
  const zone = state.spec.counterparty.timezone;
  const at = (iso: string) => `${formatLocal(Date.parse(iso), zone)} / ${formatUtc(Date.parse(iso))}`;
  const out: string[] = [
    `# ${state.spec.title}`,
    '',
    `- Demand: \`${state.demandId}\` (workflow \`${state.workflowId}\`)`,
    `- Requester: ${state.spec.requester.organisation}; counterparty: ${state.spec.counterparty.organisation}`,
    `- Basis: ${cell(state.spec.basis)}`,
    `- Outcome: **${state.status}**`,
    `- Started: ${at(state.startedAt)} by ${state.startedBy}${state.finishedAt ? `; ended: ${at(state.finishedAt)}` : ''}`,
    ...(state.withdrawn ? [`- Withdrawn by ${state.withdrawn.by}: ${cell(state.withdrawn.reason)}`] : []),
    '',
    '## Items',
    '',
  ];
  for (const item of state.items) {
    out.push(`### [${item.id}] ${item.name}`, '', `State: ${item.phase === 'closed' ? `closed (${item.closure})` : item.phase}. Deadline: ${at(item.dueAt)}. Highest escalation step: ${item.maxEscalationLevel}.`, '');
    for (const round of item.rounds) {
      out.push(`Round ${round.round}${round.round === 0 ? ' (request)' : ' (follow-up)'}, due ${at(round.dueAt)}:`, '', ...round.questions.map((q, i) => `${i + 1}. ${q}`), '');
    }
    if (item.answers.length) {
      out.push('| received | channel | from | late | attachments |', '|---|---|---|---|---|');
      for (const a of item.answers) {
        const files = a.attachments.map((f) => `${f.filename ?? '(unnamed)'} (${f.size} B, sha256 ${f.sha256})`).join('; ') || '-';
        out.push(`| ${at(a.receivedAt)} | ${a.channel} | ${cell(a.from ?? a.recordedBy)} | ${a.late ? `late by ${formatSpan(a.lateByMs ?? 0)}` : 'on time'}${a.afterClose ? ' (after close)' : ''} | ${cell(files)} |`);
      }
      out.push('');
    } else {
      out.push('No answer received.', '');
    }
    for (const r of item.reviews) out.push(`- Review ${at(r.at)} by ${r.by}: **${r.decision}**${r.reason ? ` (${cell(r.reason)})` : ''}`);
    if (item.reviews.length) out.push('');
  }
  out.push('## Timeline', '', '| when | what | who | items | detail |', '|---|---|---|---|---|');
  const events = [
    ...state.messages.map((m) => ({ at: m.at, what: `${m.direction === 'out' ? 'sent' : 'received'} ${m.kind}`, who: m.direction === 'out' ? m.to.join(', ') : (m.from ?? ''), items: m.itemIds, detail: `${m.messageId ?? ''}${m.status && m.status !== 'sent' && m.status !== 'recorded' ? ` (${m.status})` : ''}` })),
    ...state.decisions.map((d) => ({ at: d.at, what: d.kind, who: d.by ?? '', items: d.itemIds, detail: [d.detail, d.reason].filter(Boolean).join(': ') })),
  ].sort((a, b) => a.at.localeCompare(b.at));
  for (const e of events) out.push(`| ${at(e.at)} | ${e.what} | ${cell(e.who)} | ${e.items.join(', ')} | ${cell(e.detail)} |`);
  if (state.problems.length) {
    out.push('', '## Problems kept for review', '');
    for (const p of state.problems) out.push(`- ${at(p.at)} ${p.source}: ${cell(p.message)}`);
  }
  return `${out.join('\n')}\n`;
}
