/**
 * Demands started with `start --at` whose workflow has not run yet. Temporal holds back the first
 * workflow task until the start delay is over, so until then no workflow code has run: nothing was sent,
 * the status query is refused ("Workflow task is not scheduled yet"), and an update or a cancellation
 * would make Temporal run the workflow at once. What the CLI knows of such a demand comes from its
 * history: the start event (the spec, who started it) and, once it was withdrawn, the termination.
 */
import { DemandSpec } from '../domain/demand';
import { demandSummary } from '../domain/summary';
import type { WorkflowSummary } from '../platform/temporal-read';
import type { AuditDemandInput } from '../workflows';
import type { ReaderContext } from './client';
import { localAndUtc } from './output';

/** Memo key of the `--at` instant as given: Temporal's execution time is the server's start time plus the delay. */
export const START_AT_MEMO_KEY = 'auditflowStartAt';

/**
 * When a demand started with `--at` starts (or started): the instant given, else Temporal's execution
 * time; undefined for a demand started at once (its execution time is its start time).
 */
export function scheduledStart(info: Pick<WorkflowSummary, 'memo' | 'executionTime' | 'startTime'>): Date | undefined {
  const executionTime = info.executionTime;
  if (!executionTime || executionTime.getTime() <= info.startTime.getTime()) return undefined;
  const given = info.memo?.[START_AT_MEMO_KEY];
  const ms = typeof given === 'string' ? Date.parse(given) : NaN;
  return Number.isNaN(ms) ? executionTime : new Date(ms);
}

/** The start-event page is enough: a workflow that ran has a workflow task within its first events. */
const FIRST_EVENTS = 50;

/** A demand whose workflow has not run: still waiting for its start, or withdrawn before it. */
export interface NotStartedDemand {
  status: 'scheduled' | 'withdrawn-before-start';
  demandId: string;
  workflowId: string;
  /** When Temporal runs (or would have run) the workflow: the `--at` instant. */
  startsAt: string;
  /** When `start --at` was run. */
  scheduledAt: string;
  startedBy?: string;
  summary?: string;
  spec?: DemandSpec;
  /** Set once the demand was withdrawn before its start: when, and the reason Temporal recorded. */
  withdrawn?: { at: string; reason: string; identity?: string };
}

/**
 * The not-yet-started view of a demand, or undefined when its workflow has run (or is about to: its
 * start instant has passed). Reads the history only for a delayed start, and then only its first page.
 */
export async function notStartedDemand(
  ctx: Pick<ReaderContext, 'reader'>,
  demandId: string,
  desc: WorkflowSummary,
): Promise<NotStartedDemand | undefined> {
  const startsAt = scheduledStart(desc);
  if (!startsAt) return undefined;
  const status = desc.status.name;
  if (status !== 'RUNNING' && status !== 'TERMINATED') return undefined;
  if (status === 'RUNNING' && startsAt.getTime() <= Date.now()) return undefined;
  const events = await ctx.reader.firstEvents(desc.workflowId, desc.runId, FIRST_EVENTS);
  // A signal does not end a start delay, an update or a cancellation request does: only a workflow task counts.
  if (events.some((e) => e.type === 'WORKFLOW_TASK_SCHEDULED')) return undefined;
  const started = events.find((e) => e.type === 'WORKFLOW_EXECUTION_STARTED');
  const terminated = events.find((e) => e.type === 'WORKFLOW_EXECUTION_TERMINATED');
  if (status === 'TERMINATED' && !terminated) return undefined;
  const view: NotStartedDemand = {
    status: terminated ? 'withdrawn-before-start' : 'scheduled',
    demandId,
    workflowId: desc.workflowId,
    startsAt: startsAt.toISOString(),
    scheduledAt: desc.startTime.toISOString(),
  };
  const { spec, startedBy } = (started?.input?.[0] ?? {}) as Partial<AuditDemandInput>;
  const checked = DemandSpec.safeParse(spec);
  if (checked.success) Object.assign(view, { spec: checked.data, summary: demandSummary(checked.data) });
  if (typeof startedBy === 'string') view.startedBy = startedBy;
  if (terminated) {
    view.withdrawn = {
      at: (terminated.time ?? new Date(0)).toISOString(),
      reason: terminated.terminated?.reason ?? '',
      ...(terminated.terminated?.identity ? { identity: terminated.terminated.identity } : {}),
    };
  }
  return view;
}

/** "scheduled to start at Mon 3 May 2027, 08:00 CEST (2027-05-03 06:00Z)", in the counterparty's zone. */
export function startsAtText(d: NotStartedDemand): string {
  return localAndUtc(d.startsAt, d.spec?.counterparty.timezone ?? 'UTC');
}

/** Why a command cannot act on the demand, and what can be done instead. */
export function notStartedRefusal(
  d: NotStartedDemand,
  ifScheduled: string,
  ifWithdrawn = 'nothing can change it now',
): string {
  return d.status === 'scheduled'
    ? `demand "${d.demandId}" is scheduled to start at ${startsAtText(d)} and has not started: ${ifScheduled}.\n` +
        `See it with: npx auditflow show ${d.demandId}   call it off with: npx auditflow withdraw ${d.demandId} --reason "..."`
    : `demand "${d.demandId}" never started (${d.withdrawn?.reason || 'terminated before its start'}): ${ifWithdrawn}`;
}
