/**
 * What the inbound gateway needs to know about a demand without a worker: kept in the workflow's memo
 * (readable with DescribeWorkflowExecution), set by the workflow itself at the start of every run.
 */
import type { DemandSpec } from './demand';

export const INBOUND_MEMO_KEY = 'auditflowInbound';

/** The memo: who may answer, how replies must authenticate, which items exist. */
export interface InboundProfile {
  v: 1;
  demandId: string;
  contacts: string[];
  domains: string[];
  authentication: DemandSpec['inbound']['authentication'];
  warnDomains: string[];
  items: { id: string; name: string }[];
  /** The counterparty's zone and the local time of day of the deadline, to read a date asked for by email. */
  timezone: string;
  deadlineTime: string;
}

export function inboundProfile(spec: DemandSpec): InboundProfile {
  return {
    v: 1,
    demandId: spec.id,
    contacts: spec.counterparty.contacts.flatMap((c) => (c.address ? [c.address.toLowerCase()] : [])),
    domains: spec.counterparty.domains,
    authentication: spec.inbound.authentication,
    warnDomains: spec.inbound.warnDomains,
    items: spec.items.map((i) => ({ id: i.id, name: i.name })),
    timezone: spec.counterparty.timezone,
    deadlineTime: /T(\d\d:\d\d)/.exec(spec.deadline)?.[1] ?? '17:00',
  };
}
