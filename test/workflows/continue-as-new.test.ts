/**
 * Continue-as-new on a real dev server whose suggestion threshold is lowered to 40 events: the demand
 * carries its whole state into each new run, sends nothing twice, and still finishes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startDevServer, type DevServer } from '../../dev/dev-server';
import { ACK_LIMITS } from '../../domain/limits';
import { replyReceivedSignal, reviewUpdate } from '../../domain/messages';
import { eventually } from '../../platform/wait';
import { harness, type Harness } from '../../dev/support/harness';
import { reply, sampleSpec } from '../../dev/support/specs';

describe('continue-as-new keeps the state (dev server, threshold 40 events)', () => {
  let server: DevServer;
  let h: Harness;
  before(async () => {
    server = await startDevServer({ uiPort: false, dynamicConfig: ['limit.historyCount.suggestContinueAsNew=40'] });
    h = await harness('dev', {}, { address: server.address });
  });
  after(async () => {
    await h.close();
    await server.stop();
  });

  it('answers, acknowledgements and decisions survive several runs; the request is never sent again', async () => {
    const id = `can-${Date.now().toString(36)}`;
    const handle = await h.start(sampleSpec(id, { deadline: '2030-06-07T17:00' }));
    await h.sink.waitFor((m) => m.length === 1, 'the request');
    const items = ['xbox', 'psn', 'stadia'];
    for (let i = 0; i < 12; i++) {
      await handle.signal(
        replyReceivedSignal,
        reply({
          messageId: `<can-${i}@acme.example>`,
          itemIds: [items[i % 3]!],
          receivedAt: new Date().toISOString(),
          body: `answer number ${i}`,
        }),
      );
      // Acknowledgements stop at ACK_LIMITS.perHour per sender; the answers do not.
      await eventually(
        async () => ((await h.settled(id)).seenMessageIds.length === i + 1 ? true : undefined),
        `answer ${i + 1}`,
      );
      if (i < ACK_LIMITS.perHour) await h.sink.waitFor((m) => m.length === 2 + i, `acknowledgement ${i + 1}`);
    }
    const s = await eventually(
      async () => {
        const now = await h.status(id);
        return now.runs >= 2 ? now : undefined;
      },
      'a second run',
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    const desc = await handle.describe();
    assert.notEqual(desc.runId, handle.firstExecutionRunId, 'the demand continued as new at least once');
    assert.ok(s.runs >= 2, `runs = ${s.runs}`);
    assert.ok(s.decisions.some((d) => d.kind === 'continue-as-new'));
    assert.deepEqual(
      s.items.map((i) => i.answers.length),
      [4, 4, 4],
    );
    assert.equal(s.messages.filter((m) => m.direction === 'out' && m.kind === 'request').length, 1);
    assert.equal(s.seenMessageIds.length, 12);
    assert.ok(s.threadRoots['pat@acme.example'], 'the thread root is carried over');

    // A duplicate of a reply recorded in an earlier run is still recognised.
    await handle.signal(
      replyReceivedSignal,
      reply({
        messageId: '<can-0@acme.example>',
        itemIds: ['xbox'],
        receivedAt: new Date().toISOString(),
        body: 'answer number 0',
      }),
    );
    for (const itemId of items)
      await h.env.client.workflow
        .getHandle(`audit:${id}`)
        .executeUpdate(reviewUpdate, { args: [{ itemId, decision: 'accept', by: 'reviewer' }] });
    const result = await h.env.client.workflow.getHandle(`audit:${id}`).result();
    assert.equal(result.status, 'completed');
    const final = await h.status(id);
    assert.equal(final.duplicatesIgnored, 1);
    assert.equal(h.sink.messages.filter((m) => m.header('x-auditflow-kind') === 'request').length, 1);
    assert.equal(
      h.sink.messages.filter((m) => m.header('x-auditflow-kind') === 'acknowledgement').length,
      ACK_LIMITS.perHour,
      'acknowledgements stop at the hourly limit',
    );
  });
});
