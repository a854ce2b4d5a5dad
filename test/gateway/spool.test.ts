/**
 * Spooled acceptance (AUDITFLOW_GATEWAY_ACCEPT=spooled): 250 once the message is in the evidence store and
 * in Temporal (its spool workflow), recorded right after; a message the accepting gateway could not record
 * is claimed after the grace period by another gateway's sweep and recorded there, once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SPOOL_LAST_CLAIM, spoolQuery, spoolWorkflowIds } from '../../domain/spool';
import { inboxQuery, inboxWorkflowId } from '../../domain/triage';
import { harness, type Harness } from '../../dev/support/harness';
import { compose, dnsFor, resolverFor } from '../../dev/support/mail-auth';
import { sampleSpec } from '../../dev/support/specs';
import { eventually } from '../../platform/wait';
import { startTestGateway } from '../helpers/gateway';
import { exportHistory } from '../helpers/histories';

const PAT = 'pat@acme.example';

describe('spooled acceptance', () => {
  let h: Harness;
  before(async () => {
    h = await harness('dev');
  });
  after(() => h.close());

  const resolver = resolverFor(dnsFor(['acme.example']));

  /** Starts a demand and returns its reply address, once its request arrived. */
  const demand = async (id: string) => {
    await h.start(sampleSpec(id, { deadline: '2030-06-07T17:00' }));
    const mails = await h.sink.waitFor(
      (m) => m.some((x) => x.header('x-auditflow-demand') === id && x.header('x-auditflow-kind') === 'request'),
      `the request of ${id}`,
    );
    const request = mails.find((x) => x.header('x-auditflow-demand') === id)!;
    return request.parsed.replyTo?.value[0]?.address ?? '';
  };
  const reply = (replyTo: string, n: string) =>
    compose(
      {
        from: `Pat Primary <${PAT}>`,
        to: replyTo,
        subject: 'Re: audit [stadia]',
        text: 'Stadia ran from 2019 to 2022.',
        messageId: `<spool-${n}@acme.example>`,
      },
      true,
    );
  /** What the task queue's spool shards hold: messages waiting, and how many were reported done. */
  const spool = async () => {
    let waiting = 0;
    let done = 0;
    for (const id of spoolWorkflowIds(h.config.taskQueue)) {
      const view = await h.env.client.workflow
        .getHandle(id)
        .query(spoolQuery)
        .catch(() => undefined);
      waiting += view?.waiting.length ?? 0;
      done += view?.done ?? 0;
    }
    return { waiting, done };
  };
  const stadiaAnswers = async (id: string) => (await h.status(id)).items.find((i) => i.id === 'stadia')!.answers;

  it('answers 250 once the spool has the message, then records it; the same bytes again are not a second answer', async () => {
    const gw = await startTestGateway(h, resolver, { accept: 'spooled' });
    try {
      const id = `spool-a-${Date.now().toString(36)}`;
      const replyTo = await demand(id);
      const raw = await reply(replyTo, id);
      const before = await spool();
      const r = await gw.send(raw, { from: PAT, to: [replyTo] });
      assert.equal(r.code, 250, r.response);
      assert.match(r.response, /Accepted for recording/);
      await eventually(async () => (await stadiaAnswers(id)).length === 1, 'the spooled reply to be recorded');
      await eventually(async () => {
        const now = await spool();
        return now.done === before.done + 1 && now.waiting === 0;
      }, 'the spool to have the message reported done');
      const again = await gw.send(raw, { from: PAT, to: [replyTo] });
      assert.equal(again.code, 250, again.response);
      await eventually(async () => (await h.status(id)).duplicatesIgnored === 1, 'the redelivery to be a duplicate');
      assert.equal((await stadiaAnswers(id)).length, 1);
      // What an operator's Prometheus sees: two 250s into the spool, then one reply and one duplicate.
      const url = gw.gateway.metricsUrl;
      assert.ok(url, 'the gateway serves metrics');
      const counts = [
        ['spooled', 2],
        ['recorded', 1],
        ['duplicate', 1],
      ] as const;
      const line = (outcome: string, n: number) =>
        new RegExp(`auditflow_gateway_replies_total\\{[^}]*outcome="${outcome}"[^}]*\\} ${n}\\n`);
      let text = '';
      await eventually(
        async () => {
          text = await (await fetch(url)).text();
          return counts.every(([outcome, n]) => line(outcome, n).test(text));
        },
        () => `the gateway's metrics to count them:\n${text}`,
      );
    } finally {
      await gw.close();
    }
  });

  it('a message its gateway could not record is claimed after the grace period and recorded by another gateway', async () => {
    // Gateway A accepts, then cannot parse in time (as when it dies after its 250): the message stays spooled.
    const a = await startTestGateway(h, resolver, { accept: 'spooled', parseTimeoutMs: 1 });
    const id = `spool-b-${Date.now().toString(36)}`;
    const replyTo = await demand(id);
    try {
      const r = await a.send(await reply(replyTo, id), { from: PAT, to: [replyTo] });
      assert.equal(r.code, 250, r.response);
      await eventually(
        () => a.log.some((l) => /not recorded yet/.test(l)),
        () => `gateway A to give up on the message:\n${a.log.join('\n')}`,
      );
    } finally {
      await a.close();
    }
    assert.equal((await stadiaAnswers(id)).length, 0);
    assert.ok((await spool()).waiting >= 1);

    const b = await startTestGateway(h, resolver, { accept: 'spooled', spoolGraceMs: 1000 });
    try {
      await eventually(
        async () => (await stadiaAnswers(id)).length === 1,
        () => `gateway B to record it:\n${b.log.join('\n')}`,
      );
      assert.ok(
        b.log.some((l) => /claimed spooled messages|recorded spooled message/.test(l)),
        b.log.join('\n'),
      );
      await eventually(async () => (await spool()).waiting === 0, 'the spool to be empty');
      assert.equal((await h.status(id)).duplicatesIgnored, 0);
      // A shard that accepted, handed out a claim and was told done: the spool workflow's replay fixture.
      const shards = await Promise.all(
        spoolWorkflowIds(h.config.taskQueue).map(async (w) => {
          const view = await h.env.client.workflow
            .getHandle(w)
            .query(spoolQuery)
            .catch(() => undefined);
          return view && view.done > 0 ? w : undefined;
        }),
      );
      const claimed = shards.find(Boolean);
      if (claimed) await exportHistory(h.env.client.workflow.getHandle(claimed), 'inbound-spool-claimed');
    } finally {
      await b.close();
    }
  });

  it('a message that still cannot be parsed in time at its last claim is kept for triage, not retried for ever', async () => {
    const gw = await startTestGateway(h, resolver, { accept: 'spooled', parseTimeoutMs: 1, spoolGraceMs: 1000 });
    const id = `spool-c-${Date.now().toString(36)}`;
    try {
      const replyTo = await demand(id);
      const r = await gw.send(await reply(replyTo, id), { from: PAT, to: [replyTo] });
      assert.equal(r.code, 250, r.response);
      const inbox = h.env.client.workflow.getHandle(inboxWorkflowId(h.config.taskQueue));
      const kept = await eventually(
        async () =>
          (await inbox.query(inboxQuery).catch(() => undefined))?.entries.find((e) =>
            /parsing ran out of time/.test(e.reason),
          ),
        () => `the message to be kept for triage:\n${gw.log.join('\n')}`,
        { timeoutMs: 60_000 },
      );
      assert.match(kept.reason, new RegExp(`on ${SPOOL_LAST_CLAIM + 1} tries`));
      await eventually(async () => (await spool()).waiting === 0, 'the spool to be empty');
      assert.equal((await stadiaAnswers(id)).length, 0);
    } finally {
      await gw.close();
    }
  });
});
