/**
 * The Temporal Schedule that runs the owners' daily digest: every quarter hour it starts `digestWorkflow`
 * on the worker's task queue, and the workflow sends a digest to each owner for whom it is 09:00 on a
 * business day. `auditflow setup` and `npm start` create it, or bring it up to date when it exists.
 */
import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleDescription,
  type ScheduleOptions,
} from '@temporalio/client';
import { DEFAULT_TASK_QUEUE } from './config';

/** The schedule of the default task queue; other queues (tests, a second deployment) get their own. */
export const DIGEST_SCHEDULE_ID = 'auditflow-digest';
/** The workflow type the schedule starts (workflows/digest.ts). */
export const DIGEST_WORKFLOW_TYPE = 'digestWorkflow';

/** `auditflow-digest`, or `auditflow-digest:<queue>` for another task queue (as the triage inbox is per queue). */
export function digestScheduleId(taskQueue: string): string {
  return taskQueue === DEFAULT_TASK_QUEUE ? DIGEST_SCHEDULE_ID : `${DIGEST_SCHEDULE_ID}:${taskQueue}`;
}

/** The schedule as auditflow wants it. */
export function digestScheduleOptions(taskQueue: string): ScheduleOptions {
  const scheduleId = digestScheduleId(taskQueue);
  return {
    scheduleId,
    // Every quarter hour from the epoch: 09:00 comes in every zone, also those 30 or 45 minutes off the hour.
    spec: { intervals: [{ every: '15 minutes' }] },
    action: {
      type: 'startWorkflow',
      workflowType: DIGEST_WORKFLOW_TYPE,
      // The server appends each run's scheduled time to this id.
      workflowId: scheduleId,
      taskQueue,
      args: [{ mode: 'scheduled' }],
      // A run nobody picks up ends before the next quarter hour, so that it does not hold back the next one.
      workflowRunTimeout: '10 minutes',
      staticSummary: 'auditflow daily digest: owners with something to do get it at 09:00 on business days',
    },
    policies: {
      overlap: ScheduleOverlapPolicy.SKIP,
      // After a server outage, only a run that can still send before 10:00 is worth taking.
      catchupWindow: '1 hour',
      pauseOnFailure: false,
    },
  };
}

/** Creates the schedule, or updates it to the options above when it exists already. */
export async function ensureDigestSchedule(
  client: Client,
  taskQueue: string,
): Promise<{ id: string; outcome: 'created' | 'updated' }> {
  const { scheduleId, ...wanted } = digestScheduleOptions(taskQueue);
  try {
    await client.schedule.create({ scheduleId, ...wanted });
    return { id: scheduleId, outcome: 'created' };
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
  await client.schedule.getHandle(scheduleId).update((previous) => ({
    ...wanted,
    // Someone may have paused it on purpose (temporal schedule toggle): that stays as it is.
    state: { paused: previous.state.paused, ...(previous.state.note ? { note: previous.state.note } : {}) },
  }));
  return { id: scheduleId, outcome: 'updated' };
}

/** The schedule's description, or undefined when it does not exist. */
export async function describeDigestSchedule(
  client: Client,
  taskQueue: string,
): Promise<ScheduleDescription | undefined> {
  try {
    return await client.schedule.getHandle(digestScheduleId(taskQueue)).describe();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return undefined;
    throw err;
  }
}
