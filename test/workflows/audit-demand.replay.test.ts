/**
 * Replays the recorded histories of every lifecycle path (test/fixtures/histories, refreshed with
 * `npm run fixtures:histories`) against the current workflow code. A planted non-deterministic change
 * must make replay fail, or these tests prove nothing.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { DeterminismViolationError } from '@temporalio/workflow';
import { DefaultLogger, Worker, bundleWorkflowCode } from '@temporalio/worker';
import { HISTORIES_DIR } from '../helpers/histories';
import { testDataConverter, workflowBundlePath } from '../../dev/support/temporal';
import { workerTracing } from '../../platform/tracing';

const fixtures = fs
  .readdirSync(HISTORIES_DIR)
  .filter((f) => f.endsWith('.json'))
  .sort();

describe('replay of recorded demand histories', () => {
  it('has fixtures for the main paths', () => {
    for (const name of [
      'all-answered-on-time',
      'never-answered-referred',
      'extension-mid-ladder',
      'pause-resume',
      'follow-up-round',
      'withdrawal',
      'duplicate-reply',
      'dst-deadline',
      'bounce-verified',
      'replies-by-update',
      'triage-inbox-pruned',
      'referred-by-reference',
      'sign-off-approved-late',
      'digest-sent',
      'sending-hours',
    ]) {
      assert.ok(fixtures.includes(`${name}.json`), `missing fixture ${name}.json`);
    }
  });

  /** The patch ids a fixture's markers record. */
  const patchesOf = (name: string): string[] => {
    const history = JSON.parse(fs.readFileSync(path.join(HISTORIES_DIR, `${name}.json`), 'utf8')) as {
      events: { markerRecordedEventAttributes?: { details?: { 'patch-data'?: { payloads: { data: string }[] } } } }[];
    };
    return history.events.flatMap((e) =>
      (e.markerRecordedEventAttributes?.details?.['patch-data']?.payloads ?? []).map(
        (p) => (JSON.parse(Buffer.from(p.data, 'base64').toString()) as { id: string }).id,
      ),
    );
  };

  it('has a fixture recorded on the slim path (sendEmail and writeReport by reference)', () => {
    const patches = patchesOf('referred-by-reference');
    assert.ok(patches.includes('send-by-reference') && patches.includes('report-by-reference'), patches.join(', '));
  });

  it('has a fixture recorded with sending hours, and fixtures recorded before them (which must replay as they were)', () => {
    assert.ok(patchesOf('sending-hours').includes('send-hours'), patchesOf('sending-hours').join(', '));
    assert.ok(!patchesOf('sign-off-approved-late').includes('send-hours'));
  });

  it('has a fixture recorded with tracing on (its workflow interceptor gated by the otel-tracing patch)', () => {
    assert.ok(
      patchesOf('traced-reply-withdrawal').includes('otel-tracing'),
      patchesOf('traced-reply-withdrawal').join(', '),
    );
  });

  /** The worker's no-op trace sink, as with tracing off: a traced run's history calls it. */
  const replayBundle = async () => ({
    workflowBundle: { codePath: await workflowBundlePath() },
    dataConverter: testDataConverter,
    sinks: (await workerTracing(undefined)).sinks,
  });

  for (const file of fixtures) {
    it(`replays ${file} without a determinism error`, async () => {
      const history = JSON.parse(fs.readFileSync(path.join(HISTORIES_DIR, file), 'utf8'));
      // Fixtures recorded before encryption are in clear (the codec passes them through); newer ones are encrypted.
      await Worker.runReplayHistory(await replayBundle(), history, `replay-${file}`);
    });
  }

  /**
   * The history with one woken task's clock made stale: the task after the first timer fired starts, by its
   * event time, when the task that set the timer did. A worker once completed such a task from a run a query
   * had replayed (an SDK core fault, README "Fault drills"); the loop found nothing due and set the same timer
   * again, which no replay of the history would do.
   */
  const withStaleWake = (name: string) => {
    const history = JSON.parse(fs.readFileSync(path.join(HISTORIES_DIR, `${name}.json`), 'utf8')) as {
      events: { eventType: string; eventTime: string }[];
    };
    const { events } = history;
    const started = (from: number, step: number) => {
      for (let i = from; i >= 0 && i < events.length; i += step)
        if (events[i]!.eventType === 'EVENT_TYPE_WORKFLOW_TASK_STARTED') return events[i]!;
      throw new Error(`${name}: no workflow task started around event ${from + 1}`);
    };
    const fired = events.findIndex((e) => e.eventType === 'EVENT_TYPE_TIMER_FIRED');
    const set = events
      .slice(0, fired)
      .map((e) => e.eventType)
      .lastIndexOf('EVENT_TYPE_TIMER_STARTED');
    assert.ok(fired > 0 && set > 0, `${name}: no timer set and fired`);
    started(fired, 1).eventTime = started(set, -1).eventTime;
    return history;
  };

  it('does what a fired timer was set for even when the woken task reads a stale clock (timer-fired-is-due)', async () => {
    assert.ok(patchesOf('timer-fired-is-due').includes('timer-fired-is-due'));
    await Worker.runReplayHistory(await replayBundle(), withStaleWake('timer-fired-is-due'), 'stale-wake');
  });

  it('sets the same timer again on a stale clock in a run recorded before timer-fired-is-due (control)', async () => {
    await assert.rejects(
      Worker.runReplayHistory(await replayBundle(), withStaleWake('never-answered-referred'), 'stale-wake-old'),
      (err: unknown) => {
        assert.ok(err instanceof DeterminismViolationError, `got ${(err as Error).name}: ${(err as Error).message}`);
        assert.match((err as Error).message, /TimerStarted|Timer/);
        return true;
      },
    );
  });

  it('fails on a planted non-deterministic change (negative control)', async () => {
    const { code } = await bundleWorkflowCode({
      workflowsPath: require.resolve('../fixtures/planted/workflows'),
      logger: new DefaultLogger('WARN'),
    });
    const history = JSON.parse(fs.readFileSync(path.join(HISTORIES_DIR, 'never-answered-referred.json'), 'utf8'));
    await assert.rejects(Worker.runReplayHistory({ workflowBundle: { code } }, history, 'planted'), (err: unknown) => {
      assert.ok(
        err instanceof DeterminismViolationError,
        `expected a DeterminismViolationError, got ${(err as Error).name}: ${(err as Error).message}`,
      );
      return true;
    });
  });
});
