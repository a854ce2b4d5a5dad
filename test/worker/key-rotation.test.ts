/**
 * Rotating the payload encryption key (dev server, real worker, the real CLI): demands started under k1
 * carry on after everything restarts with k2 first and k1 kept; they replay and answer queries, and new
 * payloads use k2. A reader without k1 gets an error naming k1, never a garbled value. A history that mixes
 * both keys replays with both, and not without the old one.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Worker } from '@temporalio/worker';
import { Client } from '@temporalio/client';
import { harness, type Harness } from '../../dev/support/harness';
import { sampleSpec } from '../../dev/support/specs';
import { uniqueName, workflowBundlePath } from '../../dev/support/temporal';
import { demandWorkflowId } from '../../domain/ids';
import { statusQuery } from '../../domain/messages';
import { dataConverterFor, parseEncryptionKeys } from '../../platform/codec';
import { auditflow } from '../helpers/cli';

const K1 = `k1:${'a1'.repeat(32)}`;
const K2 = `k2:${'b2'.repeat(32)}`;
const converter = (keys: string) => dataConverterFor(parseEncryptionKeys(keys));
const keyIds = (history: Awaited<ReturnType<ReturnType<Client['workflow']['getHandle']>['fetchHistory']>>) =>
  new Set(
    (history.events ?? []).flatMap((e) =>
      (e.activityTaskScheduledEventAttributes?.input?.payloads ?? []).map((p) =>
        Buffer.from(p.metadata?.['encryption-key-id'] ?? []).toString(),
      ),
    ),
  );

describe('payload key rotation (dev server, real worker, real CLI)', () => {
  const taskQueue = uniqueName('rotation');
  const id = `rotation-${Date.now().toString(36)}`;
  let before1: Harness;
  let h: Harness;
  before(async () => {
    // Everything on k1: the demand starts and sends its request.
    before1 = await harness(
      'dev',
      { AUDITFLOW_ENCRYPTION_KEYS: K1, AUDITFLOW_TASK_QUEUE: taskQueue },
      {
        dataConverter: converter(K1),
      },
    );
    await before1.start(sampleSpec(id, { deadline: '2030-06-07T17:00' }));
    await before1.sink.waitFor((m) => m.length === 1, 'the request under k1');
    await before1.close();
    // Everything restarted with k2 first and k1 kept.
    h = await harness(
      'dev',
      { AUDITFLOW_ENCRYPTION_KEYS: `${K2},${K1}`, AUDITFLOW_TASK_QUEUE: taskQueue },
      {
        dataConverter: converter(`${K2},${K1}`),
      },
    );
  });
  after(() => h?.close());

  it('the demand started under k1 carries on: queried, changed through the CLI, new payloads under k2', async () => {
    const env = { ...h.cliEnv(), AUDITFLOW_ENCRYPTION_KEYS: `${K2},${K1}` };
    const shown = await auditflow(['show', id, '--json'], env);
    assert.equal(shown.code, 0, shown.stderr);
    assert.equal((JSON.parse(shown.stdout) as { demandId: string }).demandId, id);
    const ext = await auditflow(
      ['extend', id, '--item', 'stadia', '--for', 'P7D', '--reason', 'rotation', '--by', 'Dana'],
      env,
    );
    assert.equal(ext.code, 0, ext.stderr);
    const status = await h.env.client.workflow.getHandle(demandWorkflowId(id)).query(statusQuery);
    const due = (item: string) => Date.parse(status.items.find((i) => i.id === item)!.dueAt);
    assert.equal(due('stadia') - due('psn'), 7 * 86_400_000, 'the extension is in the state');
    const withdrawn = await auditflow(['withdraw', id, '--reason', 'done'], env);
    assert.equal(withdrawn.code, 0, withdrawn.stderr);
    await h.env.client.workflow.getHandle(demandWorkflowId(id)).result();
    const ids = keyIds(await h.env.client.workflow.getHandle(demandWorkflowId(id)).fetchHistory());
    assert.deepEqual([...ids].sort(), ['k1', 'k2'], 'activities before the rotation under k1, after it under k2');
  });

  it('a reader without k1 gets an error that names k1', async () => {
    const client = new Client({ connection: h.env.connection, namespace: 'default', dataConverter: converter(K2) });
    await assert.rejects(
      client.workflow
        .getHandle(demandWorkflowId(id))
        .describe()
        .then((d) => d.memo),
      /key "k1", which is not in AUDITFLOW_ENCRYPTION_KEYS/,
    );
    const cli = await auditflow(['show', id], { ...h.cliEnv(), AUDITFLOW_ENCRYPTION_KEYS: K2 });
    assert.notEqual(cli.code, 0);
    assert.match(cli.stderr, /key "k1", which is not in AUDITFLOW_ENCRYPTION_KEYS/);
  });

  it('its history, under both keys, replays with both and fails without the old one', async () => {
    const history = await h.env.client.workflow.getHandle(demandWorkflowId(id)).fetchHistory();
    const bundle = { codePath: await workflowBundlePath() };
    await Worker.runReplayHistory({ workflowBundle: bundle, dataConverter: converter(`${K2},${K1}`) }, history, 'both');
    await assert.rejects(
      Worker.runReplayHistory({ workflowBundle: bundle, dataConverter: converter(K2) }, history, 'k2-only'),
      /k1/,
    );
  });
});
