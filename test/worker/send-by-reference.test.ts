/**
 * Slim histories (dev server, real worker, real SMTP): the sendEmail activity is scheduled with the demand
 * id and the message key only, reads the message through the workflow's outgoingMail query, and the email
 * that arrives still carries every question. A send retried after a transient refusal sends the message
 * the workflow fixed when it scheduled it, even when the demand changed in between.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { decodeArrayFromPayloads, loadDataConverter } from '@temporalio/common/lib/internal-non-workflow';
import { harness, type Harness } from '../../dev/support/harness';
import { sampleSpec } from '../../dev/support/specs';
import { testDataConverter } from '../../dev/support/temporal';
import type { ReceivedMail } from '../../dev/support/smtp-sink';
import { demandWorkflowId } from '../../domain/ids';
import { extendDeadlineUpdate, outgoingMailQuery } from '../../domain/messages';
import { eventually } from '../../platform/wait';

const ofDemand = (id: string) => (m: ReceivedMail) => m.parsed.headers.get('x-auditflow-demand') === id;

describe('sendEmail by reference (dev server, real worker, real SMTP)', () => {
  let h: Harness;
  before(async () => {
    h = await harness('dev');
  });
  after(() => h?.close());

  it('history holds the demand id and the message key; the email holds the questions', async () => {
    const id = `byref-${Date.now().toString(36)}`;
    const handle = await h.start(sampleSpec(id, { deadline: '2030-06-07T17:00' }));
    const [request] = await h.sink.waitFor((m) => m.some(ofDemand(id)), 'the request');
    const mail = h.sink.messages.find(ofDemand(id)) ?? request!;
    assert.match(mail.parsed.text ?? '', /Xbox companion app/);
    assert.match(mail.parsed.text ?? '', /Which use cases were never declared\?/);
    const state = await h.settled(id);
    const sent = state.messages.filter((m) => m.direction === 'out');
    assert.equal(sent.length, 1);

    const history = await handle.fetchHistory();
    const converter = loadDataConverter(testDataConverter);
    const inputs = await Promise.all(
      (history.events ?? [])
        .map((e) => e.activityTaskScheduledEventAttributes)
        .filter((a) => a?.activityType?.name === 'sendEmail')
        .map(async (a) => (await decodeArrayFromPayloads(converter, a!.input?.payloads))[0]),
    );
    assert.deepEqual(inputs, [{ demandId: id, key: sent[0]!.key }]);
    // Once sent, the workflow no longer holds the message for the activity.
    assert.equal(await handle.query(outgoingMailQuery, sent[0]!.key!), null);
    assert.equal(await handle.query(outgoingMailQuery, 'no-such-key'), null);
  });

  it('a send retried after a 451 sends the message fixed when it was scheduled, though the deadline moved meanwhile', async () => {
    const id = `byref-retry-${Date.now().toString(36)}`;
    h.sink.failNext(1, 451);
    const handle = await h.start(sampleSpec(id, { deadline: '2030-06-07T17:00' }));
    // The first attempt was refused: the send waits for its retry (5 s later).
    await eventually(
      async () => {
        const d = await handle.describe();
        return (d.raw.pendingActivities ?? []).some((a) => (a.attempt ?? 0) >= 2) || undefined;
      },
      () => 'the request to be retried after the 451',
      { intervalMs: 100 },
    );
    await handle.executeUpdate(extendDeadlineUpdate, {
      args: [{ by: 'P14D', reason: 'asked by phone', approvedBy: 'Dana Owner' }],
    });
    const both = await h.sink.waitFor(
      (m) => m.filter(ofDemand(id)).length === 2,
      'the request (retried) and the deadline update',
    );
    const [request, update] = both.filter(ofDemand(id));
    assert.equal(request!.parsed.headers.get('x-auditflow-kind'), 'request');
    assert.equal(update!.parsed.headers.get('x-auditflow-kind'), 'deadline-update');
    assert.match(request!.parsed.text ?? '', /due by Fri 7 Jun 2030, 17:00 PDT/);
    assert.doesNotMatch(request!.parsed.text ?? '', /21 Jun 2030/);
    assert.match(update!.parsed.text ?? '', /21 Jun 2030/);
    // What arrived is byte for byte the evidence the timeline records for it.
    const state = await h.settled(id);
    const recorded = state.messages.find((m) => m.direction === 'out' && m.kind === 'request')!;
    assert.equal(crypto.createHash('sha256').update(request!.raw).digest('hex'), recorded.raw!.sha256);
    assert.equal(h.sink.messages.filter(ofDemand(id)).length, 2, 'one request, one update');
    await h.env.client.workflow.getHandle(demandWorkflowId(id)).terminate('test done');
  });
});
