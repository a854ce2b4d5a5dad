/**
 * Text that came from outside (a counterparty's email, a spec) on ops' terminal (issue 10, point 8):
 * `show`, `list`, `inbox` and `report` write escape sequences, carriage returns, C1 codes and bidi controls out
 * visibly instead of letting them clear the screen, retitle the window or fake a line; `--json` stays exact.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { WithStartWorkflowOperation } from '@temporalio/client';
import { safeBlock, safeLine, table } from '../../cli/output';
import { replyReceivedSignal } from '../../domain/messages';
import type { DemandStatusView } from '../../domain/state';
import { addTriageUpdate, inboxWorkflowId } from '../../domain/triage';
import { auditflow, type RunResult } from '../helpers/cli';
import { eventually } from '../../platform/wait';
import { harness, type Harness } from '../../dev/support/harness';
import { reply, sampleSpec } from '../../dev/support/specs';

// Clear screen, set the window title, return to column 0 and overwrite, reverse the text, CSI as one C1
// byte, a Unicode line separator and a right-to-left mark.
const EXCERPT =
  'Need more time\x1b[2J\x1b]0;owned\x07\rFAKE: approved by counsel\u202esdrawkcab\u009b31m\nsecond line\u2028third\u200f';
const EXCERPT_SHOWN =
  'Need more time\\x1b[2J\\x1b]0;owned\\x07\\x0dFAKE: approved by counsel\\u202esdrawkcab\\x9b31m ↵ second line\\u2028third\\u200f';
const RETURN_DATE = 'Monday\x1b[31m\u2066red\u2069\r[ok] all items accepted';
const RETURN_DATE_SHOWN = 'Monday\\x1b[31m\\u2066red\\u2069\\x0d[ok] all items accepted';
const TITLE = 'Audit \u202eof API usage';
const ORGANISATION = 'Acme \u009b2J Games\u2067';

/** What a terminal would obey: any C0 control but newline, DEL, C1, bidi controls and Unicode line separators. */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const OBEYED = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

function assertInert(out: string, what: string): void {
  const hit = OBEYED.exec(out);
  assert.equal(
    hit,
    null,
    `${what} prints U+${hit?.[0].charCodeAt(0).toString(16).padStart(4, '0')} at ${hit?.index}: ${JSON.stringify(out.slice(Math.max(0, (hit?.index ?? 0) - 40), (hit?.index ?? 0) + 40))}`,
  );
}

describe('safeLine, safeBlock and table', () => {
  it('write every control out, keep ordinary text (accents, CJK, emoji) as it is', () => {
    assert.equal(safeLine(EXCERPT), EXCERPT_SHOWN);
    assert.equal(safeLine('Zoë 東京 ✓'), 'Zoë 東京 ✓');
    assert.equal(safeLine('a\r\nb\tc\u2028d\u200fe\u0085f\u007f'), 'a ↵ b c\\u2028d\\u200fe\\x85f\\x7f');
    assert.equal(safeLine(undefined), '');
  });

  it('keep newlines and tabs in a block, and drop the CR of a CRLF', () => {
    assert.equal(safeBlock('# Report\r\n\tline\x1b[2J\rover\n'), '# Report\n\tline\\x1b[2J\\x0dover\n');
  });

  it('make every table cell safe, aligned on what is shown', () => {
    assert.equal(
      table(
        ['a', 'b'],
        [
          ['x\x1by', 'z'],
          ['\n', 'w'],
        ],
      ),
      'a       b\n------  -\nx\\x1by  z\n ↵      w',
    );
  });
});

describe('outside text in show, list and report (dev server, real worker)', () => {
  let h: Harness;
  let env: Record<string, string>;
  const id = `term-${Date.now().toString(36)}`;
  const run = (...args: string[]): Promise<RunResult> => auditflow(args, env);

  before(async () => {
    h = await harness('dev');
    env = h.cliEnv();
    const spec = sampleSpec(id, { title: TITLE, deadline: '2030-06-07T17:00' });
    spec.counterparty.organisation = ORGANISATION;
    const handle = await h.start(spec);
    const at = Date.now();
    await handle.signal(
      replyReceivedSignal,
      reply({
        messageId: `<ext-${id}@acme.example>`,
        kind: 'extension-request',
        itemIds: ['xbox'],
        receivedAt: at,
        body: EXCERPT,
        requestedDeadline: '2030-07-01T00:00:00.000Z',
      }),
    );
    await handle.signal(replyReceivedSignal, {
      ...reply({ messageId: `<ooo-${id}@acme.example>`, kind: 'out-of-office', receivedAt: at, body: 'away' }),
      returnDate: RETURN_DATE,
    });
    await handle.signal(
      replyReceivedSignal,
      reply({
        messageId: `<ans-${id}@acme.example>`,
        itemIds: ['psn', 'ghost\x1b[5m'],
        receivedAt: at,
        body: 'Here\x1b[8m hidden',
      }),
    );
    await eventually(async () => {
      const s = await h.status(id);
      return s.extensionRequests.length === 1 &&
        s.decisions.some((d) => d.kind === 'out-of-office') &&
        s.problems.length > 0
        ? s
        : undefined;
    }, 'the three replies recorded');
  });
  after(() => h.close());

  it("show writes the counterparty's text out visibly: no escape, CR, C1 or bidi control reaches the terminal", async () => {
    const r = await run('show', id);
    assert.equal(r.code, 0, r.stderr);
    assertInert(r.stdout, 'show');
    assert.ok(r.stdout.includes(`(${EXCERPT_SHOWN})`), r.stdout);
    assert.ok(r.stdout.includes(`back on ${RETURN_DATE_SHOWN}`), r.stdout);
    assert.ok(r.stdout.includes('names unknown item(s) ghost\\x1b[5m'), r.stdout);
    assert.ok(r.stdout.startsWith('Audit \\u202eof API usage\n'), r.stdout);
    assert.match(r.stdout, /counterparty Acme \\x9b2J Games\\u2067 \(America\/Los_Angeles\)/);
    assert.doesNotMatch(r.stdout, /^(FAKE|\[ok\]|second line)/m, 'no crafted text starts a line of its own');
  });

  it('show --json stays exact', async () => {
    const s = JSON.parse((await run('show', id, '--json')).stdout) as DemandStatusView;
    assert.equal(s.extensionRequests[0]!.excerpt, EXCERPT);
    assert.equal(s.decisions.find((d) => d.kind === 'out-of-office')!.detail, `back on ${RETURN_DATE}`);
    assert.equal(s.spec.title, TITLE);
  });

  it('list writes the organisation out visibly', async () => {
    const r = await eventually(async () => {
      const out = await run('list', '--counterparty', ORGANISATION);
      return out.stdout.includes(id) ? out : undefined;
    }, 'the demand in the visibility store');
    assertInert(r.stdout, 'list');
    assert.match(r.stdout, new RegExp(`^${id} +\\S+ +Acme \\\\x9b2J Games\\\\u2067 +3 `, 'm'));
  });

  it('report to stdout keeps its lines and tabs but nothing a terminal obeys; --format json stays exact', async () => {
    const md = await run('report', id);
    assert.equal(md.code, 0, md.stderr);
    assertInert(md.stdout.replace(/\t/g, ' '), 'report (md)');
    assert.ok(md.stdout.includes('FAKE: approved by counsel') && md.stdout.includes('third\\u200f'), md.stdout);
    assert.doesNotMatch(md.stdout, /^FAKE/m);
    const json = JSON.parse((await run('report', id, '--format', 'json')).stdout) as {
      demand: { title: string };
      extensionRequests: { excerpt?: string }[];
    };
    assert.equal(json.demand.title, TITLE);
    assert.equal(json.extensionRequests[0]!.excerpt, EXCERPT);
  });

  it("inbox writes a kept message's subject, sender and reason out visibly; --json stays exact", async () => {
    const entry = {
      id: crypto.randomBytes(8).toString('hex'),
      receivedAt: new Date().toISOString(),
      channel: 'smtp' as const,
      reason: `unmatched: ${RETURN_DATE}`,
      from: 'pat@acme.example',
      subject: EXCERPT.slice(0, 200),
      envelope: { to: [] },
      raw: { sha256: crypto.randomBytes(32).toString('hex'), size: 1 },
      attachments: [],
      status: 'open' as const,
      deliveries: 1,
    };
    await h.env.client.workflow.executeUpdateWithStart(addTriageUpdate, {
      args: [entry],
      startWorkflowOperation: new WithStartWorkflowOperation('inboxWorkflow', {
        workflowId: inboxWorkflowId(h.config.taskQueue),
        taskQueue: h.config.taskQueue,
        args: [{}],
        workflowIdConflictPolicy: 'USE_EXISTING',
      }),
    });
    const r = await run('inbox');
    assert.equal(r.code, 0, r.stderr);
    assertInert(r.stdout, 'inbox');
    assert.ok(r.stdout.includes('Need more time\\x1b[2J'), r.stdout);
    assert.doesNotMatch(r.stdout, /^(FAKE|\[ok\])/m);
    const listed = JSON.parse((await run('inbox', '--json')).stdout) as { subject: string }[];
    assert.equal(listed[0]!.subject, entry.subject);
  });

  it('the data really is in the workflow, raw (a control for the tests above)', async () => {
    const s = await h.status(id);
    assert.ok(JSON.stringify(s).includes('\\u001b[2J'));
  });
});
