/** Short human summaries of a demand, shared by the workflow (UI metadata) and the CLI. */
import type { DemandSpec } from './demand';
import { MONTH_ABBREVIATIONS, parseDeadline, toWall, zoneAbbreviation } from './time';

/** "7 Jun 17:00 PDT": short local form for summaries and tables. */
export function shortLocal(ms: number, zone: string): string {
  const w = toWall(ms, zone);
  return `${w.day} ${MONTH_ABBREVIATIONS[w.month - 1]} ${String(w.hour).padStart(2, '0')}:${String(w.minute).padStart(2, '0')} ${zoneAbbreviation(ms, zone)}`;
}

/** The one-line static summary set at start: "Audit of Acme Games: 8 items, due 7 Jun 17:00 PDT". */
export function demandSummary(spec: DemandSpec): string {
  const due = parseDeadline(spec.deadline, spec.counterparty.timezone);
  const when = 'ms' in due ? `, due ${shortLocal(due.ms, spec.counterparty.timezone)}` : '';
  const line = `Audit of ${spec.counterparty.organisation}: ${spec.items.length} item${spec.items.length === 1 ? '' : 's'}${when}`;
  // The UI limit is 200 bytes; organisation names can be long.
  return new TextEncoder().encode(line).length <= 200 ? line : `${line.slice(0, 180)}...`;
}
