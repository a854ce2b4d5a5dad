/**
 * The typed search attributes auditflow upserts so that the Temporal Web UI can act as the dashboard.
 * Keep within the dev server's SQLite limits: 10 Keyword, 3 Int, 3 Datetime per namespace.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** The demand's business key (the `id` of the spec). */
export const AuditDemandId = defineSearchAttributeKey('AuditDemandId', SearchAttributeType.KEYWORD);
/** The counterparty organisation's name, as written in the spec. */
export const AuditCounterparty = defineSearchAttributeKey('AuditCounterparty', SearchAttributeType.KEYWORD);
/** The demand's phase: active, due, overdue, escalated, in-review, paused, or a terminal outcome. */
export const AuditStatus = defineSearchAttributeKey('AuditStatus', SearchAttributeType.KEYWORD);
/** The open item that needs attention first (earliest due), so the list can show what each demand waits for. */
export const AuditItemId = defineSearchAttributeKey('AuditItemId', SearchAttributeType.KEYWORD);
/** The earliest deadline among open items. */
export const AuditDueAt = defineSearchAttributeKey('AuditDueAt', SearchAttributeType.DATETIME);
/** How many items are not closed yet. */
export const AuditOpenItems = defineSearchAttributeKey('AuditOpenItems', SearchAttributeType.INT);
/** How many open items are past their deadline. */
export const AuditOverdueItems = defineSearchAttributeKey('AuditOverdueItems', SearchAttributeType.INT);
/** The highest escalation step reached by any item (0 = none). */
export const AuditEscalationLevel = defineSearchAttributeKey('AuditEscalationLevel', SearchAttributeType.INT);

/** Every key, in the order they are registered and documented. */
export const AUDIT_SEARCH_ATTRIBUTES = [
  AuditDemandId,
  AuditCounterparty,
  AuditStatus,
  AuditItemId,
  AuditDueAt,
  AuditOpenItems,
  AuditOverdueItems,
  AuditEscalationLevel,
] as const;

/** Type names as `temporal server start-dev --search-attribute Name=Type` spells them. */
export const SEARCH_ATTRIBUTE_CLI_TYPES: Record<string, string> = {
  KEYWORD: 'Keyword',
  INT: 'Int',
  DATETIME: 'Datetime',
};

/** `Name=Type` pairs for the dev server command line. */
export function searchAttributeFlags(): string[] {
  return AUDIT_SEARCH_ATTRIBUTES.flatMap((k) => [
    '--search-attribute',
    `${k.name}=${SEARCH_ATTRIBUTE_CLI_TYPES[k.type]}`,
  ]);
}
