/**
 * What the Temporal Web UI shows of a demand: typed search attributes (upserted only when they change)
 * and the "current details" markdown table of the items.
 */
import { setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import {
  AuditCounterparty,
  AuditDemandId,
  AuditDueAt,
  AuditEscalationLevel,
  AuditItemId,
  AuditOpenItems,
  AuditOverdueItems,
  AuditStatus,
} from '../domain/search-attributes';
import type { DemandState } from '../domain/state';
import { shortLocal } from '../domain/summary';
import { formatLocal } from '../domain/time';
import { describeAction, isAwaiting, isOpen, isOpenGate, nextActionGroup } from './model';
import { describeGate } from './sign-off';

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/[\r\n]+/g, ' ');
}

/** The current-details markdown: a headline, what happens next, and one row per item. */
export function detailsMarkdown(state: DemandState): string {
  const zone = state.spec.counterparty.timezone;
  const next = nextActionGroup(state);
  const head = [
    `**${cell(state.spec.title)}** (${state.status})`,
    state.paused
      ? `Clock stopped since ${formatLocal(Date.parse(state.paused.since), zone)} by ${cell(state.paused.by)}: ${cell(state.paused.reason)}`
      : next
        ? `Next: ${describeAction(next.action, next.itemIds)} at ${formatLocal(next.action.at, zone)}`
        : 'Next: nothing scheduled',
    // Steps waiting for sign-off: what waits, for whom, and what happens at the timeout.
    ...(state.gates ?? []).filter(isOpenGate).map((g) => `Sign-off: ${cell(describeGate(g, zone))}`),
    '',
    '| item | state | due | escalation | last message |',
    '|---|---|---|---|---|',
  ];
  const rows = state.items.map((i) => {
    const stateText =
      i.phase === 'closed' ? `closed: ${i.closure}` : i.round > 0 ? `${i.phase} (follow-up ${i.round})` : i.phase;
    const last = i.lastMessage
      ? `${i.lastMessage.direction === 'in' ? 'received' : 'sent'} ${i.lastMessage.kind} ${shortLocal(Date.parse(i.lastMessage.at), zone)}`
      : '-';
    return `| ${cell(i.id)} | ${stateText} | ${shortLocal(Date.parse(i.dueAt), zone)} | ${i.escalationLevel || '-'} | ${last} |`;
  });
  const text = [...head, ...rows].join('\n');
  // Current details are limited to 20 KB; very large demands show the first rows.
  return text.length <= 19_000
    ? text
    : `${text.slice(0, 18_900)}\n\n(truncated: ${state.items.length} items; see auditflow show ${state.demandId})`;
}

/** Tracks what was last published so that unchanged values cause no history events. */
export class Publisher {
  private lastAttributes = '';
  private lastDetails = '';

  publish(state: DemandState, now: number): void {
    const awaiting = state.items.filter(isAwaiting).sort((a, b) => Date.parse(a.dueAt) - Date.parse(b.dueAt));
    const first = awaiting[0];
    const attrs = {
      status: state.status,
      open: state.items.filter(isOpen).length,
      overdue: awaiting.filter((i) => now >= Date.parse(i.dueAt)).length,
      level: Math.max(0, ...state.items.map((i) => i.maxEscalationLevel)),
      due: first?.dueAt ?? null,
      item: first?.id ?? null,
    };
    const key = JSON.stringify(attrs);
    if (key !== this.lastAttributes) {
      upsertSearchAttributes([
        { key: AuditDemandId, value: state.demandId },
        { key: AuditCounterparty, value: state.spec.counterparty.organisation.slice(0, 255) },
        { key: AuditStatus, value: attrs.status },
        { key: AuditOpenItems, value: attrs.open },
        { key: AuditOverdueItems, value: attrs.overdue },
        { key: AuditEscalationLevel, value: attrs.level },
        { key: AuditDueAt, value: attrs.due ? new Date(attrs.due) : null },
        { key: AuditItemId, value: attrs.item },
      ]);
      this.lastAttributes = key;
    }
    const details = detailsMarkdown(state);
    if (details !== this.lastDetails) {
      setCurrentDetails(details);
      this.lastDetails = details;
    }
  }
}
