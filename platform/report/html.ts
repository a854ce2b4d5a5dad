/**
 * Renders a report document as one self-contained, printable HTML page: inline CSS (with print rules),
 * no scripts, no external assets. Every value is escaped: counterparty mail is hostile input.
 */
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
import { escapeHtml } from '../text';

/** A value from the report as HTML text: control characters cleaned, then escaped. */
export function htmlText(value: string | number | undefined): string {
  return escapeHtml(clean(value));
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
  return `${htmlText(w.local)}${w.utc ? `<br><span class="muted">${htmlText(w.utc)}</span>` : ''}`;
}

function answerRow(a: AnswerRecord, zone: string): string {
  const listed = a.attachmentManifest
    ? `<span class="muted">${htmlText(a.attachmentManifest.count)} attachments (${htmlText(a.attachmentManifest.bytes)} bytes), listed in the stored manifest sha256 <span class="hash">${htmlText(a.attachmentManifest.sha256)}</span></span>`
    : '<span class="muted">none</span>';
  const files = a.attachments.length
    ? `<ul class="files">${a.attachments.map((f) => `<li>${htmlText(fileLabel(f))}, sha256 <span class="hash">${htmlText(f.sha256)}</span></li>`).join('')}</ul>`
    : listed;
  return `<tr><td>${time(a.receivedAt, zone)}</td><td class="${a.late ? 'late' : 'ontime'}">${htmlText(lateness(a))}</td><td>${htmlText(a.channel)}<br>${htmlText(answerFrom(a))}${a.messageId ? `<br><code>${htmlText(a.messageId)}</code>` : ''}</td><td>${htmlText(a.summary ?? '')}</td><td>${a.auth ? htmlText(authText(a)) : '<span class="muted">not by email</span>'}</td><td>${files}${a.raw ? `<div class="muted">original message: ${htmlText(a.raw.size)} bytes, sha256 <span class="hash">${htmlText(a.raw.sha256)}</span></div>` : ''}</td></tr>`;
}

function itemSection(i: ReportItem, zone: string): string {
  const rounds = i.rounds
    .map(
      (r) =>
        `<p><strong>Round ${r.round} (${htmlText(r.kind)})</strong>${r.requestedAt ? `, asked ${htmlText(whenText(r.requestedAt, zone))}` : ''}, due ${htmlText(whenText(r.dueAt, zone))}</p><ol>${r.questions.map((q) => `<li>${htmlText(q)}</li>`).join('')}</ol>`,
    )
    .join('');
  const answers = i.answers.length
    ? `<table><thead><tr><th>received</th><th>lateness</th><th>from</th><th>summary</th><th>sender authentication</th><th>attachments</th></tr></thead><tbody>${i.answers.map((a) => answerRow(a, zone)).join('')}</tbody></table>`
    : '<p class="muted">No answer received.</p>';
  const reviews = i.reviews.length
    ? `<table><thead><tr><th>when</th><th>round</th><th>decision</th><th>by</th><th>why / questions</th></tr></thead><tbody>${i.reviews
        .map(
          (r) =>
            `<tr><td>${time(r.at, zone)}</td><td>${r.round}</td><td>${htmlText(r.decision)}</td><td>${htmlText(r.by)}</td><td>${htmlText([r.reason ?? '', ...(r.questions ?? []), r.dueAt ? `due ${whenText(r.dueAt, zone)}` : ''].filter(Boolean).join(' / '))}</td></tr>`,
        )
        .join('')}</tbody></table>`
    : '';
  return `<section class="item"><h3><span class="id">[${htmlText(i.id)}]</span> ${htmlText(i.name)}</h3>${i.description ? `<p>${htmlText(i.description)}</p>` : ''}<p>State: <span class="status">${htmlText(itemState(i))}</span>${i.closedAt ? ` at ${htmlText(whenText(i.closedAt, zone))}` : ''}. Deadline: ${htmlText(whenText(i.dueAt, zone))}. Reminders sent: ${i.remindersSent}. Highest escalation step: ${i.maxEscalationLevel}.</p>${rounds}<h4>Answers</h4>${answers}${reviews ? `<h4>Reviews</h4>${reviews}` : ''}</section>`;
}

/** The whole report as a standalone HTML page. */
export function renderReportHtml(doc: ReportDocument): string {
  const zone = doc.demand.timezone;
  const d = doc.demand;
  const fact = (k: string, v: string) => `<dt>${k}</dt><dd>${v}</dd>`;
  const facts = [
    fact('Demand', `<code>${htmlText(d.id)}</code> (workflow <code>${htmlText(d.workflowId)}</code>)`),
    fact('Requester', htmlText(d.requester)),
    fact('Counterparty', `${htmlText(d.counterparty)} <span class="muted">(local times: ${htmlText(zone)})</span>`),
    fact('Basis', htmlText(d.basis)),
    fact('Outcome', `<span class="status">${htmlText(doc.outcome.status)}</span> (${htmlText(outcomeDetail(doc))})`),
    fact('Started', `${htmlText(whenText(d.startedAt, zone))} by ${htmlText(d.startedBy)}`),
    ...(d.finishedAt ? [fact('Ended', htmlText(whenText(d.finishedAt, zone)))] : []),
    ...(d.withdrawn
      ? [
          fact(
            'Withdrawn',
            `${htmlText(whenText(d.withdrawn.at, zone))} by ${htmlText(d.withdrawn.by)}: ${htmlText(d.withdrawn.reason)}`,
          ),
        ]
      : []),
    ...(d.paused
      ? [
          fact(
            'Clock stopped',
            `since ${htmlText(whenText(d.paused.since, zone))} by ${htmlText(d.paused.by)}: ${htmlText(d.paused.reason)}`,
          ),
        ]
      : []),
    fact('Source', `${htmlText(sourceText(doc))}; generated ${htmlText(whenText(doc.generatedAt, zone))}`),
  ].join('');
  const timeline = doc.timeline
    .map(
      (e) =>
        `<tr><td>${time(e.at, zone)}</td><td>${htmlText(eventWhat(e))}</td><td>${htmlText(eventWho(e))}</td><td>${htmlText(e.itemIds.join(', '))}</td><td>${e.messageId ? `<code>${htmlText(e.messageId)}</code>` : ''}</td><td>${htmlText(eventDetail(e))}</td></tr>`,
    )
    .join('\n');
  const extensions = doc.extensionRequests.length
    ? `<h2>Extension requests</h2><table><thead><tr><th>id</th><th>received</th><th>from</th><th>asked until</th><th>decision</th><th>excerpt</th></tr></thead><tbody>${doc.extensionRequests
        .map(
          (r) =>
            `<tr><td>${htmlText(r.id)}</td><td>${time(r.receivedAt, zone)}</td><td>${htmlText(r.from ?? '?')}</td><td>${r.requestedDeadline ? time(r.requestedDeadline, zone) : '-'}</td><td>${htmlText(r.status)}${r.decidedBy ? ` by ${htmlText(r.decidedBy)}` : ''}</td><td>${htmlText(r.excerpt ?? '')}</td></tr>`,
        )
        .join('')}</tbody></table>`
    : '';
  const signOffs = doc.signOffs?.length
    ? `<h2>Sign-offs</h2><table><thead><tr><th>gate</th><th>step</th><th>items</th><th>to</th><th>asked of</th><th>asked</th><th>until (then)</th><th>decision</th><th>note</th></tr></thead><tbody>${doc.signOffs
        .map(
          (g) =>
            `<tr><td>${htmlText(g.id)}</td><td>${htmlText(g.label)}</td><td>${htmlText(g.itemIds.join(', '))}</td><td>${htmlText(g.recipients.join(', '))}</td><td>${htmlText(g.approverRole)}</td><td>${time(g.openedAt, zone)}</td><td>${time(g.expiresAt, zone)} (${htmlText(g.onTimeout)})</td><td>${htmlText(g.status)}${g.decidedBy ? ` by ${htmlText(g.decidedBy)}` : ''}${g.decidedAt ? ` at ${time(g.decidedAt, zone)}` : ''}${g.reason ? ` (${htmlText(g.reason)})` : ''}</td><td>${htmlText(g.note ?? '')}</td></tr>`,
        )
        .join('')}</tbody></table>`
    : '';
  const sentFiles = doc.attachments?.length
    ? `<h2>Files sent</h2><ul>${doc.attachments.map((a) => `<li>${htmlText(sentFileLabel(a))}; sha256 <code>${htmlText(a.sha256)}</code></li>`).join('')}</ul>\n`
    : '';
  const problems = doc.problems.length
    ? `<h2>Problems kept for review</h2><ul>${doc.problems.map((p) => `<li>${htmlText(whenText(p.at, zone))} ${htmlText(p.source)}: ${htmlText(p.message)}</li>`).join('')}</ul>`
    : '';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="auditflow report v${doc.version}">
<title>${htmlText(d.title)} (${htmlText(d.id)})</title>
<style>${CSS}</style>
</head>
<body>
<h1>${htmlText(d.title)}</h1>
<dl class="facts">${facts}</dl>
${sentFiles}<h2>Items</h2>
${doc.items.map((i) => itemSection(i, zone)).join('\n')}
<h2>Timeline</h2>
<table><thead><tr><th>when (${htmlText(zone)} / UTC)</th><th>what</th><th>who</th><th>items</th><th>Message-ID</th><th>detail</th></tr></thead><tbody>
${timeline}
</tbody></table>
${extensions}${signOffs}${problems}${doc.duplicatesIgnored ? `<p class="muted">${doc.duplicatesIgnored} duplicate deliveries were counted once.</p>` : ''}
</body>
</html>
`;
}
