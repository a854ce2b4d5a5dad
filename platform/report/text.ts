/**
 * Wording shared by the Markdown and HTML reports, so both say the same thing: times on the
 * counterparty's clock and in UTC, lateness, sender-authentication verdicts, timeline lines. Text that
 * came from email or a spec is made safe to print here (no terminal or bidi control characters); each
 * renderer then escapes it for its own syntax.
 */
import { sentWith, type AttachmentRef } from '../../domain/attachments';
import type { AnswerRecord, EvidenceRef } from '../../domain/state';
import { formatLocal, formatSpan } from '../../domain/time';
import type { ReportDocument, ReportEvent, ReportItem } from './model';

// C0/C1 controls (ANSI escape sequences in a terminal) and bidi overrides (a filename that reads backwards).
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/** A value from email or a spec, made printable: unsafe controls become U+FFFD. */
export function clean(value: string | number | undefined): string {
  return String(value ?? '').replace(UNSAFE, '\ufffd');
}

/** "Mon 7 Jun 2027, 17:00 PDT" and "2027-06-08 00:00:00Z" (a record keeps the seconds in UTC). */
export function when(iso: string | undefined, zone: string): { local: string; utc: string } {
  const ms = iso === undefined ? NaN : Date.parse(iso);
  if (Number.isNaN(ms)) return { local: iso ?? '-', utc: '' };
  return { local: formatLocal(ms, zone), utc: `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')}Z` };
}

/** "Mon 7 Jun 2027, 17:00 PDT (2027-06-08 00:00:00Z)". */
export function whenText(iso: string | undefined, zone: string): string {
  const w = when(iso, zone);
  return w.utc ? `${w.local} (${w.utc})` : w.local;
}

/** "on time", "late by 2d 3h", plus "received after the item closed". */
export function lateness(a: AnswerRecord): string {
  const base = a.late ? `late by ${formatSpan(a.lateByMs ?? 0)}` : 'on time';
  return a.afterClose ? `${base}, received after the item closed` : base;
}

/** "spf pass, dkim pass, dmarc pass, decision pass", or "" when the answer was not authenticated by the gateway. */
export function authText(a: AnswerRecord): string {
  const order = ['decision', 'dmarc', 'dkim', 'spf', 'arc', 'policy'];
  const keys = Object.keys(a.auth ?? {}).sort(
    (x, y) => (order.indexOf(x) + 1 || 99) - (order.indexOf(y) + 1 || 99) || x.localeCompare(y),
  );
  return keys.map((k) => `${k} ${a.auth![k]}`).join(', ');
}

/** Who an answer came from. */
export function answerFrom(a: AnswerRecord): string {
  return a.from ?? (a.recordedBy ? `recorded by ${a.recordedBy}` : '-');
}

/** "inventory.pdf, 1,234 bytes" (the renderers add the sha256 in their own type). */
export function fileLabel(f: EvidenceRef): string {
  return `${f.filename ?? '(unnamed)'}, ${f.size.toLocaleString('en-US')} bytes`;
}

/** "breach-notice.pdf, 48,213 bytes (application/pdf), sent with the request and the final notice" (sha256 added by the renderer). */
export function sentFileLabel(a: AttachmentRef): string {
  return `${a.name}, ${a.size.toLocaleString('en-US')} bytes (${a.contentType}), sent with ${sentWith(a.attachTo)}`;
}

/** The item's state in words: "closed (accepted)", "awaiting". */
export function itemState(i: ReportItem): string {
  return i.phase === 'closed' ? `closed (${i.closure ?? '?'})` : i.phase;
}

/** What the outcome's status is made of: "1 accepted, 2 withdrawn", "still running; 1 accepted, 2 open". */
export function outcomeDetail(doc: ReportDocument): string {
  const parts = Object.entries(doc.outcome.closures).map(([k, n]) => `${n} ${k}`);
  return `${doc.outcome.ended ? '' : 'still running; '}${parts.join(', ')}`;
}

/** What a timeline event was: "sent request", "received answer", "extend". */
export function eventWhat(e: ReportEvent): string {
  if (e.type === 'decision') return e.kind;
  const verb = e.direction === 'out' ? 'sent' : 'received';
  return `${verb} ${e.kind}${e.status && e.status !== 'sent' && e.status !== 'recorded' ? ` (${e.status})` : ''}`;
}

/** Who acted or who was written to: "to a@x", "from b@y", "by Dana". */
export function eventWho(e: ReportEvent): string {
  if (e.type === 'decision') return e.by ? `by ${e.by}` : '';
  return e.direction === 'out' ? `to ${(e.to ?? []).join(', ')}` : `from ${e.from ?? '?'}`;
}

/** The rest: subject, detail and reason. */
export function eventDetail(e: ReportEvent): string {
  return [e.subject ? `"${e.subject}"` : '', e.detail ?? '', e.reason ? `why: ${e.reason}` : '']
    .filter(Boolean)
    .join('; ');
}

/** Where the data came from, for the report's header. */
export function sourceText(doc: ReportDocument): string {
  if (doc.source.kind === 'workflow') return "the demand's workflow state";
  return `the final report written when the demand ended${doc.source.path ? ` (${doc.source.path})` : ''}${doc.source.note ? `; ${doc.source.note}` : ''}`;
}
