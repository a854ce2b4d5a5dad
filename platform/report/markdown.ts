/** Renders a report document as Markdown: outcome, items with questions, answers and reviews, timeline. */
import type { AnswerRecord } from '../../domain/state';
import type { ReportDocument, ReportItem } from './model';
import {
  answerFrom,
  authText,
  clean,
  eventDetail,
  eventWhat,
  eventWho,
  fileLabel,
  sentFileLabel,
  itemState,
  lateness,
  outcomeDetail,
  sourceText,
  when,
  whenText,
} from './text';

/** Inline text from email or a spec: no raw HTML, links, code spans or table breaks; one line. */
function md(value: string | number | undefined): string {
  return clean(value)
    .replace(/[\\<>[\]|`]/g, (c) => `\\${c}`)
    .replace(/[\r\n]+/g, ' ');
}

/** An identifier (Message-ID, hash) as a code span, unless it would break out of one. */
function code(value: string): string {
  return /[`\r\n]/.test(value) ? md(value) : `\`${clean(value)}\``;
}

function answerLines(a: AnswerRecord, n: number, zone: string): string[] {
  const how = a.channel === 'email' ? `by email from ${md(answerFrom(a))}` : `by ${a.channel}, ${md(answerFrom(a))}`;
  return [
    `- Answer ${n} (round ${a.round}), received ${whenText(a.receivedAt, zone)}, **${lateness(a)}**, ${how}${a.messageId ? `, Message-ID ${code(a.messageId)}` : ''}`,
    ...(a.summary ? [`  - Summary: ${md(a.summary)}`] : []),
    ...(a.auth ? [`  - Sender authentication: ${md(authText(a))}`] : []),
    ...(a.raw ? [`  - Original message: ${md(a.raw.size)} bytes, sha256 ${code(a.raw.sha256)}`] : []),
    ...a.attachments.map((f) => `  - Attachment: ${md(fileLabel(f))}, sha256 ${code(f.sha256)}`),
    ...(a.attachmentManifest && a.attachments.length === 0
      ? [
          `  - Attachments: ${md(a.attachmentManifest.count)} (${md(a.attachmentManifest.bytes)} bytes), listed in the stored manifest sha256 ${code(a.attachmentManifest.sha256)}`,
        ]
      : []),
    ...(a.recordedBy && a.from ? [`  - Recorded by ${md(a.recordedBy)}`] : []),
  ];
}

function itemLines(i: ReportItem, zone: string): string[] {
  const out = [`### \\[${md(i.id)}\\] ${md(i.name)}`, ''];
  if (i.description) out.push(md(i.description), '');
  out.push(
    `State: ${itemState(i)}${i.closedAt ? ` at ${whenText(i.closedAt, zone)}` : ''}. Deadline: ${whenText(i.dueAt, zone)}. Reminders sent: ${i.remindersSent}. Highest escalation step: ${i.maxEscalationLevel}.`,
    '',
  );
  for (const r of i.rounds) {
    out.push(
      `Round ${r.round} (${r.kind})${r.requestedAt ? `, asked ${whenText(r.requestedAt, zone)}` : ''}, due ${whenText(r.dueAt, zone)}:`,
      '',
      ...r.questions.map((q, n) => `${n + 1}. ${md(q)}`),
      '',
    );
  }
  if (i.answers.length) out.push('Answers:', '', ...i.answers.flatMap((a, n) => answerLines(a, n + 1, zone)), '');
  else out.push('No answer received.', '');
  if (i.reviews.length) {
    out.push('Reviews:', '');
    for (const r of i.reviews) {
      const extra = [
        r.reason ? md(r.reason) : '',
        r.questions?.length ? `questions: ${r.questions.map(md).join(' / ')}` : '',
        r.dueAt ? `due ${whenText(r.dueAt, zone)}` : '',
      ]
        .filter(Boolean)
        .join('; ');
      out.push(
        `- ${whenText(r.at, zone)}, round ${r.round}: **${r.decision}** by ${md(r.by)}${extra ? ` (${extra})` : ''}`,
      );
    }
    out.push('');
  }
  return out;
}

/** The whole report as Markdown. */
export function renderReportMarkdown(doc: ReportDocument): string {
  const zone = doc.demand.timezone;
  const d = doc.demand;
  const out: string[] = [
    `# ${md(d.title)}`,
    '',
    `- Demand: ${code(d.id)} (workflow ${code(d.workflowId)})`,
    `- Requester: ${md(d.requester)}; counterparty: ${md(d.counterparty)} (local times are ${md(zone)})`,
    `- Basis: ${md(d.basis)}`,
    `- Outcome: **${doc.outcome.status}** (${outcomeDetail(doc)})`,
    `- Started: ${whenText(d.startedAt, zone)} by ${md(d.startedBy)}${d.finishedAt ? `; ended: ${whenText(d.finishedAt, zone)}` : ''}`,
    ...(d.withdrawn
      ? [`- Withdrawn by ${md(d.withdrawn.by)}: ${md(d.withdrawn.reason)} (${whenText(d.withdrawn.at, zone)})`]
      : []),
    ...(d.paused
      ? [`- Clock stopped since ${whenText(d.paused.since, zone)} by ${md(d.paused.by)}: ${md(d.paused.reason)}`]
      : []),
    `- Source: ${md(sourceText(doc))}; generated ${whenText(doc.generatedAt, zone)}`,
    '',
    ...(doc.attachments?.length
      ? ['## Files sent', '', ...doc.attachments.map((a) => `- ${md(sentFileLabel(a))}; sha256 ${code(a.sha256)}`), '']
      : []),
    '## Items',
    '',
    ...doc.items.flatMap((i) => itemLines(i, zone)),
    '## Timeline',
    '',
    `| when (${md(zone)}) | when (UTC) | what | who | items | Message-ID | detail |`,
    '|---|---|---|---|---|---|---|',
  ];
  for (const e of doc.timeline) {
    const w = when(e.at, zone);
    out.push(
      `| ${w.local} | ${w.utc} | ${md(eventWhat(e))} | ${md(eventWho(e))} | ${md(e.itemIds.join(', '))} | ${e.messageId ? code(e.messageId) : ''} | ${md(eventDetail(e))} |`,
    );
  }
  if (doc.extensionRequests.length) {
    out.push('', '## Extension requests', '');
    for (const r of doc.extensionRequests) {
      out.push(
        `- ${md(r.id)}: from ${md(r.from ?? '?')} at ${whenText(r.receivedAt, zone)}${r.requestedDeadline ? `, asked until ${whenText(r.requestedDeadline, zone)}` : ''}; **${r.status}**${r.decidedBy ? ` by ${md(r.decidedBy)}` : ''}${r.decidedAt ? ` at ${whenText(r.decidedAt, zone)}` : ''}${r.excerpt ? ` ("${md(r.excerpt)}")` : ''}`,
      );
    }
  }
  if (doc.signOffs?.length) {
    out.push('', '## Sign-offs', '');
    for (const g of doc.signOffs) {
      out.push(
        `- ${md(g.id)} ${md(g.label)} for ${md(g.itemIds.join(', '))} (to ${md(g.recipients.join(', '))}): asked of ${md(g.approverRole)} at ${whenText(g.openedAt, zone)}, until ${whenText(g.expiresAt, zone)} (then ${g.onTimeout === 'send' ? 'send' : 'hold'}); **${md(g.status)}**${g.decidedBy ? ` by ${md(g.decidedBy)}` : ''}${g.decidedAt ? ` at ${whenText(g.decidedAt, zone)}` : ''}${g.reason ? ` (${md(g.reason)})` : ''}${g.note ? `; note: "${md(g.note)}"` : ''}`,
      );
    }
  }
  if (doc.problems.length) {
    out.push('', '## Problems kept for review', '');
    for (const p of doc.problems) out.push(`- ${whenText(p.at, zone)} ${md(p.source)}: ${md(p.message)}`);
  }
  if (doc.duplicatesIgnored) out.push('', `${doc.duplicatesIgnored} duplicate deliveries were counted once.`);
  return `${out.join('\n')}\n`;
}
