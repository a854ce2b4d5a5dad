/**
 * What the counterparty, or anyone holding a reply address, can make Temporal hold (issue 10, points 2,
 * 3 and 5). Before 250 the gateway applies every check the demand would: what one message may put in
 * history (attachment lists go by reference to a stored manifest, a Message-ID is bounded, a reused
 * Message-ID is not recorded in place of the first), and what one demand and the triage inbox keep. A
 * demand flooded with 200 replies of 500 attachments each keeps answering queries and firing its ladder.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { demandWorkflowId } from '../../domain/ids';
import { INBOUND_LIMITS, TRIAGE_LIMITS } from '../../domain/limits';
import { reviewUpdate } from '../../domain/messages';
import type { DemandStatusView } from '../../domain/state';
import { addTriageUpdate, inboxQuery, inboxWorkflowId, type TriageEntry } from '../../domain/triage';
import { auditflow } from '../helpers/cli';
import { eventually } from '../../platform/wait';
import { startTestGateway, type TestGateway } from '../helpers/gateway';
import { harness, type Harness } from '../../dev/support/harness';
import { exportHistory } from '../helpers/histories';
import { compose, dnsFor, resolverFor } from '../../dev/support/mail-auth';
import type { ReceivedMail } from '../../dev/support/smtp-sink';
import { allDaySpec, sampleSpec } from '../../dev/support/specs';

const PAT = 'pat@acme.example';
const ERIN = 'erin@acme.example';
const longName = (n: number) => `${'quarterly-user-data-inventory-export-'.repeat(5)}${String(n).padStart(4, '0')}.csv`;

describe('what a reply may make Temporal hold (real gateway, worker and SMTP)', () => {
  let h: Harness;
  let gw: TestGateway;
  let cli: Record<string, string>;
  const run = Date.now().toString(36);
  const main = `limits-${run}`;
  const flood = `limits-flood-${run}`;
  let request: ReceivedMail;
  let floodRequest: ReceivedMail;

  before(async () => {
    h = await harness('dev');
    gw = await startTestGateway(h, resolverFor(dnsFor(['acme.example'])));
    cli = h.cliEnv();
    await h.start(sampleSpec(main, { deadline: '2030-06-07T17:00' }));
    const now = Date.now();
    await h.start(
      allDaySpec(flood, now, {
        deadline: new Date(now + 86_400_000).toISOString().replace(/\.\d+Z$/, 'Z'),
        escalation: [{ after: 'PT2S', notify: ['counterparty:escalation'], label: 'notice to deputy GC' }],
        inbound: { authentication: 'none' },
      }),
    );
    const requests = await h.sink.waitFor(
      (m) => m.filter((x) => x.header('x-auditflow-kind') === 'request').length === 2,
      'the two requests',
    );
    request = requests.find((m) => m.header('x-auditflow-demand') === main)!;
    floodRequest = requests.find((m) => m.header('x-auditflow-demand') === flood)!;
  });
  after(async () => {
    await gw?.close();
    await h?.close();
  });

  const replyTo = (r: ReceivedMail) => r.parsed.replyTo?.value[0]?.address ?? '';
  const inbox = async (): Promise<TriageEntry[]> =>
    (await h.env.client.workflow.getHandle(inboxWorkflowId(h.config.taskQueue)).query(inboxQuery)).entries;
  const reply = (to: string, subject: string, attachments: number, extra: Record<string, unknown> = {}) =>
    compose(
      {
        from: `Pat Primary <${PAT}>`,
        to,
        subject,
        text: 'Our export is attached.',
        messageId: `<${crypto.randomUUID()}@acme.example>`,
        attachments: Array.from({ length: attachments }, (_, n) => ({ filename: longName(n), content: `row ${n}\n` })),
        ...extra,
      },
      true,
    );

  async function kept(answer: { code: number; response: string }, reason: RegExp): Promise<TriageEntry> {
    assert.equal(answer.code, 250, answer.response);
    const id = /Kept for review \(([0-9a-f]{16})\)/.exec(answer.response)?.[1];
    assert.ok(id, `expected "Kept for review", got: ${answer.response}`);
    const entry = await eventually(async () => (await inbox()).find((e) => e.id === id), `triage entry ${id}`);
    assert.match(entry.reason, reason);
    return entry;
  }

  it('records 600 attachments by reference to a stored manifest, and the report lists every one', async () => {
    const raw = await reply(replyTo(request), 'Re: Audit demand [xbox]', 600);
    const answer = await gw.send(raw, { from: PAT, to: [replyTo(request)] });
    assert.match(answer.response, new RegExp(`Recorded for ${main} \\(answer\\)`));
    const s = await h.settled(main);
    const a = s.items.find((i) => i.id === 'xbox')!.answers[0]!;
    assert.deepEqual(
      [a.attachments.length, a.attachmentManifest?.count],
      [0, 600],
      'history holds the reference, not the list',
    );
    const report = await auditflow(['report', main, '--format', 'json'], cli);
    assert.equal(report.code, 0, report.stderr);
    const listed = (
      JSON.parse(report.stdout) as { items: { id: string; answers: { attachments: { filename: string }[] }[] }[] }
    ).items.find((i) => i.id === 'xbox')!.answers[0]!.attachments;
    assert.equal(listed.length, 600);
    assert.ok(
      listed.every((f) => f.filename.length <= INBOUND_LIMITS.fileNameChars),
      'names are cut to the limit',
    );
    assert.ok(
      listed.some((f) => f.filename.endsWith('0599.csv')),
      'a cut name keeps its end',
    );
  });

  it(`keeps a message with more than ${INBOUND_LIMITS.attachmentsPerMessage} attachments as malformed`, async () => {
    const raw = await reply(replyTo(request), 'Re: Audit demand [psn]', INBOUND_LIMITS.attachmentsPerMessage + 1);
    await kept(
      await gw.send(raw, { from: PAT, to: [replyTo(request)] }),
      new RegExp(
        `^malformed: ${INBOUND_LIMITS.attachmentsPerMessage + 1} attachments \\(limit ${INBOUND_LIMITS.attachmentsPerMessage}\\)$`,
      ),
    );
  });

  it('keeps a message whose Message-ID is over the limit, under a name made from its hash', async () => {
    const messageId = `<${'x'.repeat(1200)}@acme.example>`;
    const raw = await reply(replyTo(request), 'Re: Audit demand [psn]', 0, { messageId });
    const entry = await kept(
      await gw.send(raw, { from: PAT, to: [replyTo(request)] }),
      new RegExp(
        `^malformed: its Message-ID has ${messageId.length} characters \\(limit ${INBOUND_LIMITS.messageIdChars}\\)$`,
      ),
    );
    assert.match(entry.reply?.messageId ?? '', /^<[0-9a-f]{64}@long-message-id\.invalid>$/);
    assert.equal((await h.settled(main)).items.find((i) => i.id === 'psn')!.answers.length, 0);
  });

  it('keeps a different message that reuses a recorded Message-ID, instead of answering "Recorded"', async () => {
    const messageId = `<reused-${run}@acme.example>`;
    const first = await reply(replyTo(request), 'Re: Audit demand [stadia]', 0, {
      messageId,
      text: 'Stadia ran from 2019.',
    });
    assert.match((await gw.send(first, { from: PAT, to: [replyTo(request)] })).response, /Recorded for/);
    const again = await gw.send(first, { from: PAT, to: [replyTo(request)] });
    assert.match(again.response, new RegExp(`Already recorded for ${main}`), 'the same bytes again: a redelivery');
    const other = await reply(replyTo(request), 'Re: Audit demand [stadia]', 0, {
      messageId,
      text: 'Stadia never ran.',
    });
    await kept(
      await gw.send(other, { from: PAT, to: [replyTo(request)] }),
      new RegExp(
        `^refused by demand ${main}: a different message with the Message-ID ${messageId} was recorded already`,
      ),
    );
    const s = await h.settled(main);
    assert.deepEqual(
      s.items.find((i) => i.id === 'stadia')!.answers.map((a) => a.summary),
      ['Stadia ran from 2019.'],
    );
    assert.equal(s.duplicatesIgnored, 1);
  });

  it('keeps answering queries and firing its ladder after 200 replies of 500 attachments each', async () => {
    const to = replyTo(floodRequest);
    const composed = await compose(
      {
        from: `Pat Primary <${PAT}>`,
        to,
        subject: 'Re: Audit demand [psn]',
        text: 'Our export is attached.',
        attachments: Array.from({ length: 500 }, (_, n) => ({ filename: longName(n), content: `row ${n}\n` })),
      },
      false,
    );
    const template = Buffer.from(composed.toString('latin1').replace(/^Message-ID: .*\r\n/im, ''), 'latin1');
    const answers: string[] = [];
    let next = 0;
    // Four senders at once, as a flood would come.
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < 200) {
          const n = next++;
          const raw = Buffer.concat([Buffer.from(`Message-ID: <flood-${n}-${run}@acme.example>\r\n`), template]);
          const answer = await gw.send(raw, { from: PAT, to: [to] });
          assert.equal(answer.code, 250, answer.response);
          answers.push(answer.response);
        }
      }),
    );
    const shown = await auditflow(['show', flood, '--json'], cli);
    assert.equal(shown.code, 0, shown.stderr);
    assert.equal((JSON.parse(shown.stdout) as DemandStatusView).items.find((i) => i.id === 'psn')!.phase, 'in-review');
    assert.ok(
      shown.stdout.length < INBOUND_LIMITS.stateBytes * 1.5,
      `the state stays small: ${shown.stdout.length} bytes`,
    );

    // The ladder still fires: a follow-up round due in seconds runs to its first escalation step.
    const handle = h.env.client.workflow.getHandle(demandWorkflowId(flood));
    await handle.executeUpdate(reviewUpdate, {
      args: [
        {
          itemId: 'psn',
          decision: 'more-info',
          questions: ['Which fields left the EU?'],
          dueAt: new Date(Date.now() + 8_000).toISOString(),
          by: 'reviewer',
        },
      ],
    });
    await h.sink.waitFor(
      (m) =>
        m.some(
          (x) =>
            x.header('x-auditflow-demand') === flood &&
            x.header('x-auditflow-kind') === 'escalation' &&
            x.envelope.to.includes(ERIN),
        ),
      'the escalation step of the follow-up round',
      60_000,
    );
    const history = await handle.fetchHistory();
    assert.ok(!(history.events ?? []).some((e) => e.workflowTaskFailedEventAttributes), 'no workflow task failed');

    // What the gateway answered: recorded up to the item's limit, the rest kept for review, none lost.
    const recorded = answers.filter((a) => /Recorded for/.test(a)).length;
    assert.equal(recorded, INBOUND_LIMITS.answersPerItem, 'an item keeps this many answers');
    assert.equal(answers.filter((a) => /Kept for review/.test(a)).length, 200 - recorded);
    const reasons = new Set(
      (await inbox())
        .filter((e) => e.hint?.demandId === flood)
        .map((e) => e.reason.replace(/\d+ answers/, 'N answers')),
    );
    assert.deepEqual(
      [...reasons],
      [
        `refused by demand ${flood}: item psn has N answers recorded, the most one item keeps; assign this one if it matters (README, "Limits")`,
      ],
    );
  });

  it(`keeps 7 messages of ${INBOUND_LIMITS.attachmentsPerMessage} attachments to the plain address with each attachment listed once, by reference`, async () => {
    const plain = `audit@${h.config.replyDomain}`;
    const raw = await reply(plain, 'Our documents', INBOUND_LIMITS.attachmentsPerMessage);
    const entries: TriageEntry[] = [];
    for (let n = 0; n < 7; n++) {
      const one = Buffer.concat([Buffer.from(`X-Copy: ${n}\r\n`), raw]);
      entries.push(await kept(await gw.send(one, { from: PAT, to: [plain] }), /^unmatched: /));
    }
    for (const e of entries) {
      assert.deepEqual(
        [e.attachments.length, e.attachmentManifest?.count, e.reply?.attachments],
        [0, INBOUND_LIMITS.attachmentsPerMessage, undefined],
      );
      assert.ok(JSON.stringify(e).length < 4096, `an entry stays small: ${JSON.stringify(e).length} bytes`);
    }
    // A decided message leaves the inbox for the triage log; `inbox --all` still shows it.
    const discarded = await auditflow(
      ['inbox', 'discard', entries[0]!.id, '--reason', 'not an answer', '--by', 'Dana Owner'],
      cli,
    );
    assert.equal(discarded.code, 0, discarded.stderr);
    assert.ok(!(await inbox()).some((e) => e.id === entries[0]!.id), 'pruned from the inbox state');
    const all = JSON.parse((await auditflow(['inbox', '--all', '--json'], cli)).stdout) as TriageEntry[];
    assert.equal(all.find((e) => e.id === entries[0]!.id)?.status, 'discarded');
    const twice = await auditflow(['inbox', 'discard', entries[0]!.id, '--reason', 'again'], cli);
    assert.match(twice.stderr, /was already discarded by Dana Owner/);
    await exportHistory(h.env.client.workflow.getHandle(inboxWorkflowId(h.config.taskQueue)), 'triage-inbox-pruned');
  });

  it(`defers new messages with 451 when ${TRIAGE_LIMITS.openEntries} wait for review, and takes them again once some are decided`, async () => {
    const handle = h.env.client.workflow.getHandle(inboxWorkflowId(h.config.taskQueue));
    const open = (await inbox()).filter((e) => e.status === 'open').length;
    for (let n = open; n < TRIAGE_LIMITS.openEntries; n++) {
      const id = crypto.randomBytes(8).toString('hex');
      await handle.executeUpdate(addTriageUpdate, {
        args: [
          {
            id,
            receivedAt: new Date().toISOString(),
            channel: 'smtp',
            reason: 'filler',
            envelope: { to: [] },
            raw: { sha256: crypto.randomBytes(32).toString('hex'), size: 1 },
            attachments: [],
            status: 'open',
            deliveries: 1,
          },
        ],
      });
    }
    const plain = `audit@${h.config.replyDomain}`;
    const raw = await reply(plain, 'One more', 0);
    const refused = await gw.send(raw, { from: PAT, to: [plain] });
    assert.equal(refused.code, 451, refused.response);
    assert.match(refused.response, /4\.3\.1 The review inbox is full/);
    const [first] = await inbox();
    assert.equal((await auditflow(['inbox', 'discard', first!.id, '--reason', 'filler'], cli)).code, 0);
    await kept(await gw.send(raw, { from: PAT, to: [plain] }), /^unmatched: /);
  });
});
