/**
 * Renders a report document as one self-contained, printable HTML page: inline CSS (with print rules),
 * no scripts, no external assets. Every value is escaped: counterparty mail is hostile input.
 */
import type { AnswerRecord } from '../../domain/state';
import type { ReportDocument, ReportItem } from './model';
import { answerFrom, authText, clean, eventDetail, eventWhat, eventWho, fileLabel, itemState, lateness, outcomeDetail, sourceText, when, whenText } from './text';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML element content and quoted attribute values. */
export function h(value: string | number | undefined): string {
  return clean(value).replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

const CSS = `
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1a1a1a; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin: 0 0 .5rem; } h2 { font-size: 1.25rem; border-bottom: 2px solid #ddd; padding-bottom: .2rem; margin-top: 2rem; }
h3 { font-size: 1.05rem; margin: 1.5rem 0 .4rem; } .id { font-family: ui-monospace, Menlo, Consolas, monospace; color: #555; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: 0; } dl.facts dt { font-weight: 600; color: #444; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0; font-size: 12.5px; } th, td { border: 1px solid #d6d6d6; padding: .25rem .4rem; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } code, .hash { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 11.5px; overflow-wrap: anywhere; }
.item { border: 1px solid #e2e2e2; border-radius: 6px; padding: .2rem 1rem .8rem; margin: 1rem 0; }
.late { color: #a40000; font-weight: 600; } .ontime { color: #1d6b2c; } .muted { color: #666; }
.status { display: inline-block; padding: 0 .4rem; border-radius: 4px; background: #eef; font-weight: 600; }
ul.files { margin: .2rem 0; padding-left: 1.2rem; }
@media print {
  body { margin: 0; max-width: none; font-size: 10.5pt; } a { color: inherit; text-decoration: none; }
  .item, tr { break-inside: avoid; } h2, h3 { break-after: avoid; } th { background: #eee !important; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  @page { margin: 15mm; }
}
`;

/** A time cell: local on the counterparty's clock, UTC below. */
function time(iso: string | undefined, zone: string): string {
  const w = when(iso, zone);
  return `${h(w.local)}${w.utc ? `<br><span class="muted">${h(w.utc)}</span>` : ''}`;
}

function answerRow(a: AnswerRecord, zone: string): string {
  const listed = a.attachmentManifest ? `<span class="muted">${h(a.attachmentManifest.count)} attachments (${h(a.attachmentManifest.bytes)} bytes), listed in the stored manifest sha256 <span class="hash">${h(a.attachmentManifest.sha256)}</span></span>` : '<span class="muted">none</span>';
  const files = a.attachments.length ? `<ul class="files">${a.attachments.map((f) => `<li>${h(fileLabel(f))}, sha256 <span class="hash">${h(f.sha256)}</span></li>`).join('')}</ul>` : listed;
  return `<tr><td>${time(a.receivedAt, zone)}</td><td class="${a.late ? 'late' : 'ontime'}">${h(lateness(a))}</td><td>${h(a.channel)}<br>${h(answerFrom(a))}${a.messageId ? `<br><code>${h(a.messageId)}</code>` : ''}</td><td>${h(a.summary ?? '')}</td><td>${a.auth ? h(authText(a)) : '<span class="muted">not by email</span>'}</td><td>${files}${a.raw ? `<div class="muted">original message: ${h(a.raw.size)} bytes, sha256 <span class="hash">${h(a.raw.sha256)}</span></div>` : ''}</td></tr>`;
}

function itemSection(i: ReportItem, zone: string): string {
  const rounds = i.rounds
    .map((r) => `<p><strong>Round ${r.round} (${h(r.kind)})</strong>${r.requestedAt ? `, asked ${h(whenText(r.requestedAt, zone))}` : ''}, due ${h(whenText(r.dueAt, zone))}</p><ol>${r.questions.map((q) => `<li>${h(q)}</li>`).join('')}</ol>`)
    .join('');
  const answers = i.answers.length
    ? `<table><thead><tr><th>received</th><th>lateness</th><th>from</th><th>summary</th><th>sender authentication</th><th>attachments</th></tr></thead><tbody>${i.answers.map((a) => answerRow(a, zone)).join('')}</tbody></table>`
    : '<p class="muted">No answer received.</p>';
  const reviews = i.reviews.length
    ? `<table><thead><tr><th>when</th><th>round</th><th>decision</th><th>by</th><th>why / questions</th></tr></thead><tbody>${i.reviews
        .map((r) => `<tr><td>${time(r.at, zone)}</td><td>${r.round}</td><td>${h(r.decision)}</td><td>${h(r.by)}</td><td>${h([r.reason ?? '', ...(r.questions ?? []), r.dueAt ? `due ${whenText(r.dueAt, zone)}` : ''].filter(Boolean).join(' / '))}</td></tr>`)
        .join('')}</tbody></table>`
    : '';
  return `<section class="item"><h3><span class="id">[${h(i.id)}]</span> ${h(i.name)}</h3>${i.description ? `<p>${h(i.description)}</p>` : ''}<p>State: <span class="status">${h(itemState(i))}</span>${i.closedAt ? ` at ${h(whenText(i.closedAt, zone))}` : ''}. Deadline: ${h(whenText(i.dueAt, zone))}. Reminders sent: ${i.remindersSent}. Highest escalation step: ${i.maxEscalationLevel}.</p>${rounds}<h4>Answers</h4>${answers}${reviews ? `<h4>Reviews</h4>${reviews}` : ''}</section>`;
}

/** The whole report as a standalone HTML page. */
export function renderReportHtml(doc: ReportDocument): string {
  const zone = doc.demand.timezone;
  const d = doc.demand;
  const fact = (k: string, v: string) => `<dt>${k}</dt><dd>${v}</dd>`;
  const facts = [
    fact('Demand', `<code>${h(d.id)}</code> (workflow <code>${h(d.workflowId)}</code>)`),
    fact('Requester', h(d.requester)),
    fact('Counterparty', `${h(d.counterparty)} <span class="muted">(local times: ${h(zone)})</span>`),
    fact('Basis', h(d.basis)),
    fact('Outcome', `<span class="status">${h(doc.outcome.status)}</span> (${h(outcomeDetail(doc))})`),
    fact('Started', `${h(whenText(d.startedAt, zone))} by ${h(d.startedBy)}`),
    ...(d.finishedAt ? [fact('Ended', h(whenText(d.finishedAt, zone)))] : []),
    ...(d.withdrawn ? [fact('Withdrawn', `${h(whenText(d.withdrawn.at, zone))} by ${h(d.withdrawn.by)}: ${h(d.withdrawn.reason)}`)] : []),
    ...(d.paused ? [fact('Clock stopped', `since ${h(whenText(d.paused.since, zone))} by ${h(d.paused.by)}: ${h(d.paused.reason)}`)] : []),
    fact('Source', `${h(sourceText(doc))}; generated ${h(whenText(doc.generatedAt, zone))}`),
  ].join('');
  const timeline = doc.timeline
    .map((e) => `<tr><td>${time(e.at, zone)}</td><td>${h(eventWhat(e))}</td><td>${h(eventWho(e))}</td><td>${h(e.itemIds.join(', '))}</td><td>${e.messageId ? `<code>${h(e.messageId)}</code>` : ''}</td><td>${h(eventDetail(e))}</td></tr>`)
    .join('\n');
  const extensions = doc.extensionRequests.length
    ? `<h2>Extension requests</h2><table><thead><tr><th>id</th><th>received</th><th>from</th><th>asked until</th><th>decision</th><th>excerpt</th></tr></thead><tbody>${doc.extensionRequests
        .map((r) => `<tr><td>${h(r.id)}</td><td>${time(r.receivedAt, zone)}</td><td>${h(r.from ?? '?')}</td><td>${r.requestedDeadline ? time(r.requestedDeadline, zone) : '-'}</td><td>${h(r.status)}${r.decidedBy ? ` by ${h(r.decidedBy)}` : ''}</td><td>${h(r.excerpt ?? '')}</td></tr>`)
        .join('')}</tbody></table>`
    : '';
  const problems = doc.problems.length ? `<h2>Problems kept for review</h2><ul>${doc.problems.map((p) => `<li>${h(whenText(p.at, zone))} ${h(p.source)}: ${h(p.message)}</li>`).join('')}</ul>` : '';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="auditflow report v${doc.version}">
<title>${h(d.title)} (${h(d.id)})</title>
<style>${CSS}</style>
</head>
<body>
<h1>${h(d.title)}</h1>
<dl class="facts">${facts}</dl>
<h2>Items</h2>
${doc.items.map((i) => itemSection(i, zone)).join('\n')}
<h2>Timeline</h2>
<table><thead><tr><th>when (${h(zone)} / UTC)</th><th>what</th><th>who</th><th>items</th><th>Message-ID</th><th>detail</th></tr></thead><tbody>
${timeline}
</tbody></table>
${extensions}${problems}${doc.duplicatesIgnored ? `<p class="muted">${doc.duplicatesIgnored} duplicate deliveries were counted once.</p>` : ''}
</body>
</html>
`;
}
