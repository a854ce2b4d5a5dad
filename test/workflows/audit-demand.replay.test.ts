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

  for (const file of fixtures) {
    it(`replays ${file} without a determinism error`, async () => {
      const history = JSON.parse(fs.readFileSync(path.join(HISTORIES_DIR, file), 'utf8'));
      await Worker.runReplayHistory(
        // Fixtures recorded before encryption are in clear (the codec passes them through); newer ones are encrypted.
        // The worker's no-op trace sink, as with tracing off: a traced run's history calls it.
        {
          workflowBundle: { codePath: await workflowBundlePath() },
          dataConverter: testDataConverter,
          sinks: (await workerTracing(undefined)).sinks,
        },
        history,
        `replay-${file}`,
      );
    });
  }

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
