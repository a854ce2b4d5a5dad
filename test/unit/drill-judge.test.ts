/**
 * How the drills judge failed workflow tasks: a determinism error is transient only where the recorded
 * history replays cleanly (a retried task got past it); anything else fails the drill.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { temporal } from '@temporalio/proto';
import { judgeTaskFailures } from '../../dev/drill/drills';

const Cause = temporal.api.enums.v1.WorkflowTaskFailedCause;
const failedTask = (cause: temporal.api.enums.v1.WorkflowTaskFailedCause, message: string) => ({
  workflowTaskFailedEventAttributes: { cause, failure: { message } },
});
const nde = failedTask(
  Cause.WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR,
  '[TMPRL1100] Nondeterminism error: Timer machine does not handle this event: HistoryEvent(id: 37, ActivityTaskScheduled)',
);
const thrown = failedTask(
  Cause.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE,
  'TypeError: undefined is not a function',
);

describe('drill: failed workflow tasks', () => {
  it('a determinism error in a history that replays cleanly is transient', () => {
    const r = judgeTaskFailures('d-0', { events: [{}, nde] }, true);
    assert.deepEqual(r.errors, []);
    assert.equal(r.transient.length, 1);
    assert.match(r.transient[0]!, /^d-0: workflow task failed .*Timer machine/);
  });

  it('the same error in a history that does not replay is an error', () => {
    const r = judgeTaskFailures('d-0', { events: [nde] }, false);
    assert.deepEqual(r.transient, []);
    assert.equal(r.errors.length, 1);
  });

  it('a workflow task that failed for another reason is an error even when the history replays', () => {
    const r = judgeTaskFailures('d-1', { events: [thrown, nde] }, true);
    assert.equal(r.errors.length, 1);
    assert.match(r.errors[0]!, /undefined is not a function/);
    assert.equal(r.transient.length, 1);
  });

  it('a history without failed tasks has nothing to report', () => {
    assert.deepEqual(judgeTaskFailures('d-2', { events: [{}] }, true), { errors: [], transient: [] });
  });
});
