/**
 * Every operation's validator on the real dev server: bad input is refused with its reason and
 * changes nothing (the state read before and after is identical).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import {
  decideExtensionUpdate,
  extendDeadlineUpdate,
  pauseUpdate,
  recordResponseUpdate,
  replyReceivedSignal,
  resumeUpdate,
  reviewUpdate,
  statusQuery,
  withdrawUpdate,
} from '../../domain/messages';
import { harness, rejectsWith, type Harness } from '../../dev/support/harness';
import { reply, sampleSpec } from '../../dev/support/specs';

describe('updates refuse bad input and change nothing (dev server)', () => {
  let h: Harness;
  let handle: WorkflowHandle;
  const snapshot = async () => {
    const { now: _now, ...rest } = await handle.query(statusQuery);
    return JSON.stringify(rest);
  };
  const id = `upd-${Date.now().toString(36)}`;
  before(async () => {
    h = await harness('dev');
    handle = await h.start(sampleSpec(id, { deadline: '2030-06-07T17:00' }));
    await h.sink.waitFor((m) => m.length === 1, 'the request');
    await handle.signal(
      replyReceivedSignal,
      reply({ messageId: '<u1@acme.example>', itemIds: ['psn'], receivedAt: new Date().toISOString() }),
    );
    await h.sink.waitFor((m) => m.length === 2, 'the acknowledgement');
    await h.settled(id);
  });
  after(() => h.close());

  const cases: [string, () => Promise<unknown>, RegExp][] = [
    [
      'extend to the past',
      () =>
        handle.executeUpdate(extendDeadlineUpdate, {
          args: [{ newDeadline: '2020-01-01T17:00', reason: 'x', approvedBy: 'ops' }],
        }),
      /not later than the current one/,
    ],
    [
      'extend an unknown item',
      () =>
        handle.executeUpdate(extendDeadlineUpdate, {
          args: [{ itemIds: ['nope'], by: 'P7D', reason: 'x', approvedBy: 'ops' }],
        }),
      /item "nope" is not part of demand .* \(items: xbox, psn, stadia\)/,
    ],
    [
      'extend an answered item',
      () =>
        handle.executeUpdate(extendDeadlineUpdate, {
          args: [{ itemIds: ['psn'], by: 'P7D', reason: 'x', approvedBy: 'ops' }],
        }),
      /item "psn" is in-review; only items still waiting/,
    ],
    [
      'extend with both forms',
      () =>
        handle.executeUpdate(extendDeadlineUpdate, {
          args: [{ newDeadline: '2030-07-01T17:00', by: 'P7D', reason: 'x', approvedBy: 'ops' }],
        }),
      /give exactly one of newDeadline or by/,
    ],
    [
      'extend with no reason',
      () =>
        handle.executeUpdate(extendDeadlineUpdate, { args: [{ by: 'P7D', reason: ' ', approvedBy: 'ops' }] as never }),
      /reason: must give a reason/,
    ],
    [
      'extend by a non-duration',
      () => handle.executeUpdate(extendDeadlineUpdate, { args: [{ by: 'a week', reason: 'x', approvedBy: 'ops' }] }),
      /"a week" is not an ISO 8601 duration/,
    ],
    [
      'extend to a non-date',
      () =>
        handle.executeUpdate(extendDeadlineUpdate, {
          args: [{ newDeadline: 'next friday', reason: 'x', approvedBy: 'ops' }],
        }),
      /is not a date-time/,
    ],
    [
      'decide an unknown request',
      () =>
        handle.executeUpdate(decideExtensionUpdate, {
          args: [{ requestId: 'ext-1', approve: true, reason: 'x', decidedBy: 'ops' }],
        }),
      /there is no extension request "ext-1"/,
    ],
    [
      'resume when not paused',
      () => handle.executeUpdate(resumeUpdate, { args: [{ by: 'ops' }] }),
      /the clock is not stopped/,
    ],
    [
      'review an item not in review',
      () => handle.executeUpdate(reviewUpdate, { args: [{ itemId: 'xbox', decision: 'accept', by: 'ops' }] }),
      /item "xbox" is awaiting; only answered items \(in-review\) can be reviewed/,
    ],
    [
      'reject without a reason',
      () => handle.executeUpdate(reviewUpdate, { args: [{ itemId: 'psn', decision: 'reject', by: 'ops' }] }),
      /a rejection needs a reason/,
    ],
    [
      'more-info without questions',
      () => handle.executeUpdate(reviewUpdate, { args: [{ itemId: 'psn', decision: 'more-info', by: 'ops' }] }),
      /needs at least one question/,
    ],
    [
      'more-info due in the past',
      () =>
        handle.executeUpdate(reviewUpdate, {
          args: [{ itemId: 'psn', decision: 'more-info', questions: ['q'], dueAt: '2020-01-01T00:00:00Z', by: 'ops' }],
        }),
      /is in the past/,
    ],
    [
      'record a response in the future',
      () =>
        handle.executeUpdate(recordResponseUpdate, {
          args: [
            {
              itemIds: ['xbox'],
              channel: 'post',
              summary: 'letter',
              receivedAt: '2099-01-01T00:00:00Z',
              attachments: [],
              by: 'ops',
            },
          ],
        }),
      /is in the future/,
    ],
    [
      'record with an unknown channel',
      () =>
        handle.executeUpdate(recordResponseUpdate, {
          args: [{ itemIds: ['xbox'], channel: 'pigeon', summary: 'letter', attachments: [], by: 'ops' }] as never,
        }),
      /channel: must be post, portal, call, email or other/,
    ],
    [
      'withdraw without saying who',
      () => handle.executeUpdate(withdrawUpdate, { args: [{ reason: 'x' }] as never }),
      /by: must say who/,
    ],
    [
      'an unknown field',
      () => handle.executeUpdate(pauseUpdate, { args: [{ reason: 'x', by: 'ops', until: 'tomorrow' }] as never }),
      /Unrecognized key: "until"/,
    ],
  ];

  for (const [name, call, reason] of cases) {
    it(`refuses: ${name}`, async () => {
      const before = await snapshot();
      await rejectsWith(call(), reason);
      assert.equal(await snapshot(), before);
    });
  }

  it('refuses a second pause while paused, then accepts a resume', async () => {
    await handle.executeUpdate(pauseUpdate, { args: [{ reason: 'clarification owed', by: 'ops' }] });
    await h.sink.waitFor((m) => m.some((x) => x.header('x-auditflow-kind') === 'deadline-update'), 'the pause notice');
    await h.settled(id);
    const before = await snapshot();
    await rejectsWith(
      handle.executeUpdate(pauseUpdate, { args: [{ reason: 'again', by: 'ops' }] }),
      /the clock is already stopped since .* \(by ops: clarification owed\)/,
    );
    assert.equal(await snapshot(), before);
    const r = await handle.executeUpdate(resumeUpdate, { args: [{ by: 'ops' }] });
    assert.match(r.message, /clock restarted; 2 deadline\(s\) moved/);
  });

  it('refuses everything once the demand has ended', async () => {
    await handle.executeUpdate(withdrawUpdate, { args: [{ reason: 'test over', by: 'ops' }] });
    const result = await handle.result();
    assert.equal(result.status, 'withdrawn');
    await assert.rejects(handle.executeUpdate(resumeUpdate, { args: [{ by: 'ops' }] }), /already completed|not found/i);
  });
});
