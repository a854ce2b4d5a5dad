/**
 * The daily digest on the real dev server (the time-skipping server has no Schedules): `auditflow setup`
 * creates the digest schedule and brings it up to date when run again; `auditflow digest --dry-run` prints
 * what would be sent and sends nothing; `--now` sends it through the worker; bad flags are refused (exit 2).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { replyReceivedSignal } from '../../domain/messages';
import { digestScheduleId } from '../../platform/digest-schedule';
import { eventually } from '../../platform/wait';
import { reply, sampleSpec } from '../../dev/support/specs';
import { cliHarness } from '../helpers/cli-harness';

const OWNER = 'owner@platform.example.com';

describe('auditflow setup and auditflow digest (dev server, real worker and SMTP)', () => {
  const c = cliHarness();
  const suffix = Date.now().toString(36);
  const gated = `dig-gated-${suffix}`;
  const answered = `dig-answered-${suffix}`;
  after(async () => {
    // The schedule is the namespace's, not this test's worker's: removed so that it fires nowhere later.
    await c.h?.env.client.schedule
      .getHandle(digestScheduleId(c.h.config.taskQueue))
      .delete()
      .catch(() => undefined);
  });

  it('setup creates the digest schedule (every 15 minutes, skip overlaps, catch up one hour); run again, it updates it', async () => {
    const r = await c.run('setup');
    assert.equal(r.code, 0, r.stderr);
    const id = digestScheduleId(c.h.config.taskQueue);
    assert.equal(id, `auditflow-digest:${c.h.config.taskQueue}`);
    assert.match(
      r.stdout,
      new RegExp(`daily digest schedule ${id} created: every 15 minutes, task queue ${c.h.config.taskQueue}`),
    );
    const d = await c.h.env.client.schedule.getHandle(id).describe();
    assert.deepEqual(
      d.spec.intervals?.map((i) => i.every),
      [15 * 60_000],
    );
    assert.equal(d.action.workflowType, 'digestWorkflow');
    assert.equal(d.action.taskQueue, c.h.config.taskQueue);
    assert.deepEqual(d.action.args, [{ mode: 'scheduled' }], 'args decoded through the codec');
    assert.equal(d.policies.overlap, 'SKIP');
    assert.equal(d.policies.catchupWindow, 3_600_000);
    assert.equal(d.action.workflowRunTimeout, 600_000);
    const again = await c.run('setup', '--json');
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(JSON.parse(again.stdout).digestSchedule, { id, outcome: 'updated' });
  });

  it('digest --dry-run prints the digest for the owner (a gate waiting, an answer to review) and sends nothing', async () => {
    await c.h.start(sampleSpec(gated, { requestSignOff: { by: 'owner', within: 'P2D', onTimeout: 'hold' } }));
    const handle = await c.h.start(sampleSpec(answered));
    await c.h.settled(answered);
    await handle.signal(
      replyReceivedSignal,
      reply({ messageId: `<a-${suffix}@acme.example>`, itemIds: ['xbox'], receivedAt: Date.now() }),
    );
    await eventually(
      async () => (await c.h.status(answered)).items.find((i) => i.id === 'xbox')?.phase === 'in-review',
      'xbox to wait for review',
    );
    const r = await c.run('digest', '--dry-run');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^To: Dana Owner <owner@platform\.example\.com>\n/);
    assert.match(r.stdout, /\nSubject: \[auditflow\] Daily digest, \w{3} \d{1,2} \w{3} \d{4}: 2 things to do\n/);
    assert.match(r.stdout, /Dana Owner, 2 things wait for you in 2 demands\./);
    assert.match(
      r.stdout,
      new RegExp(
        `${gated}: Audit of API usage \\(Acme Games Ltd\\)\\n\\nSteps waiting for sign-off \\(1\\):\\n\\n  g1 the request for xbox, psn, stadia: waits for owner until `,
      ),
    );
    assert.match(r.stdout, new RegExp(`Act: npx auditflow approve ${gated} <gate> --by "<your name>"`));
    assert.match(
      r.stdout,
      new RegExp(
        `${answered}: Audit of API usage \\(Acme Games Ltd\\)\\n\\nAnswers waiting for review \\(1\\):\\n\\n  \\[xbox\\] Xbox companion app, answered `,
      ),
    );
    assert.match(r.stdout, new RegExp(`Act: npx auditflow review ${answered} <item> --accept`));
    const json = await c.run('digest', '--dry-run', '--json', '--owner', OWNER);
    assert.equal(json.code, 0, json.stderr);
    const listed = JSON.parse(json.stdout) as {
      to: { address: string };
      count: number;
      demands: { demandId: string }[];
    }[];
    assert.deepEqual(
      listed.map((d) => [d.to.address, d.count, d.demands.map((m) => m.demandId).sort()]),
      [[OWNER, 2, [answered, gated].sort()]],
    );
    const nobody = await c.run('digest', '--dry-run', '--owner', 'counsel@platform.example.com');
    assert.equal(
      nobody.stdout,
      'nobody (owner counsel@platform.example.com) has anything to do: no digest would be sent\n',
    );
    assert.equal(
      c.h.sink.messages.filter((m) => m.header('x-auditflow-digest') !== undefined).length,
      0,
      'a dry run sends nothing',
    );
  });

  it('digest --now sends it at once through the worker; the flags are checked first', async () => {
    const r = await c.run('digest', '--now', '--owner', OWNER);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^sent to owner@platform\.example\.com: \[auditflow\] Daily digest, .*: 2 things to do \(<af\./,
    );
    const mail = await c.h.sink.waitFor(
      (m) => m.some((x) => x.header('x-auditflow-digest') !== undefined),
      'the digest email',
    );
    const digest = mail.find((x) => x.header('x-auditflow-digest') !== undefined)!;
    assert.deepEqual(digest.envelope.to, [OWNER]);
    assert.match(digest.parsed.text ?? '', /Steps waiting for sign-off \(1\)/);

    const neither = await c.run('digest');
    assert.equal(neither.code, 2);
    assert.match(neither.stderr, /say --now to send the digest now, or --dry-run to print what it would send/);
    const bad = await c.run('digest', '--dry-run', '--owner', 'Dana <owner@platform.example.com>');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--owner "Dana <owner@platform\.example\.com>" must be a plain address/);
  });
});
