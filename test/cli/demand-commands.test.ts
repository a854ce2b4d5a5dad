/**
 * The CLI as ops use it, against the real dev server and a real worker: every demand command, its
 * exit status, its refusals, and the email that reached the SMTP server.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import YAML from 'yaml';
import type { DemandStatusView } from '../../domain/state';
import { auditflow, ROOT, type RunResult } from '../helpers/cli';
import { harness, type Harness } from '../../dev/support/harness';
import { ANY_HOUR } from '../../dev/support/specs';

describe('auditflow demand commands (dev server, real worker, real SMTP)', () => {
  let h: Harness;
  let env: Record<string, string>;
  let id: string;
  let specFile: string;
  const run = (...args: string[]): Promise<RunResult> => auditflow(args, env);
  const show = async (): Promise<DemandStatusView> =>
    JSON.parse((await run('show', id, '--json')).stdout) as DemandStatusView;

  before(async () => {
    h = await harness('dev');
    env = h.cliEnv();
    id = `cli-${Date.now().toString(36)}`;
    const spec = YAML.parse(fs.readFileSync(path.join(ROOT, 'examples', 'api-usage-audit.yaml'), 'utf8'));
    spec.id = id;
    // On the wall clock: the example's sending hours would hold its requests at night and on weekends.
    spec.calendar = ANY_HOUR;
    specFile = path.join(h.config.dataDir, 'demand.yaml');
    fs.writeFileSync(specFile, YAML.stringify(spec));
  });
  after(() => h.close());

  it('validate: the example passes (exit 0); a broken copy lists every problem (exit 2)', async () => {
    const ok = await run('validate', path.join(ROOT, 'examples', 'api-usage-audit.yaml'));
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /ok: .* is a valid demand\n +id: +northwind-api-audit-2027/);
    assert.match(ok.stdout, /deadline: +Mon 7 Jun 2027, 17:00 PDT \(2027-06-08 00:00Z\)/);
    const broken = path.join(h.config.dataDir, 'broken.yaml');
    const original = fs.readFileSync(path.join(ROOT, 'examples', 'api-usage-audit.yaml'), 'utf8');
    fs.writeFileSync(
      broken,
      original
        .replace(/^title: .*$/m, 'title: ""')
        .replace('roles: [owner]', 'roles: [boss]')
        .replace(/^reminders:/m, 'remindres:'),
    );
    const bad = await run('validate', broken);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /: 4 problems\n/);
    assert.match(bad.stderr, /escalation\[2\]\.notify\[1\]: no requester contact has the role "owner"/);
    assert.match(bad.stderr, /title: must not be empty/);
    assert.match(bad.stderr, /\(top level\): unknown field "remindres"/);
    assert.match(bad.stderr, /requester\.people: needs at least one person with role "owner"/);
    const json = JSON.parse((await run('validate', broken, '--json')).stdout) as { ok: boolean; problems: unknown[] };
    assert.equal(json.ok, false);
    assert.ok(json.problems.length >= 3);
    const missing = await run('validate', '/nonexistent.yaml');
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no such file: \/nonexistent\.yaml/);
  });

  it('start: sends the request to each contact with their items; a second start is refused', async () => {
    const started = await run('start', specFile, '--by', 'Dana Reyes');
    assert.equal(started.code, 0, started.stderr);
    assert.match(started.stdout, new RegExp(`started demand ${id} \\(workflow audit:${id}\\)`));
    assert.match(started.stdout, /Audit of Northwind Interactive, Inc\.: 8 items, due 7 Jun 17:00 PDT/);
    assert.match(
      started.stdout,
      new RegExp(`in the UI: http://localhost:\\d+/namespaces/default/workflows/audit%3A${id}`),
    );
    await h.sink.waitFor((m) => m.length === 2, 'two requests');
    const byRecipient = Object.fromEntries(
      h.sink.messages.map((m) => [m.envelope.to[0], m.header('x-auditflow-items')]),
    );
    assert.deepEqual(byRecipient, {
      'priya.shah@northwind.example.com': 'atlas,cascade,drift,ember,fjord,harbor',
      'lena.vogt@northwind.example.com': 'beacon,glacier',
    });
    const again = await run('start', specFile);
    assert.equal(again.code, 1);
    assert.match(
      again.stderr,
      new RegExp(`demand "${id}" already exists \\(workflow audit:${id}\\); a demand id can be used once`),
    );
  });

  it('show and list: the state, as JSON and as a table, and filters that quote what they are given', async () => {
    const s = await show();
    assert.equal(s.demandId, id);
    assert.equal(s.startedBy, 'Dana Reyes');
    assert.deepEqual(
      s.items.map((i) => i.phase),
      Array(8).fill('awaiting'),
    );
    assert.equal(s.nextAction?.description, 'reminder 1 for 8 items (atlas, beacon, cascade, ...)');
    const human = await run('show', id);
    assert.match(human.stdout, /item +state +due \(America\/Los_Angeles\) +due \(UTC\) +esc +answers +last message/);
    assert.match(human.stdout, /atlas +awaiting +Mon 7 Jun 2027, 17:00 PDT +2027-06-08 00:00Z/);
    assert.match(
      human.stdout,
      /next: reminder 1 for 8 items \(atlas, beacon, cascade, \.\.\.\) at Mon 24 May 2027, 17:00 PDT \(2027-05-25 00:00Z\)/,
    );

    const deadline = Date.now() + 30_000;
    let listed: { demandId: string; counterparty: string; openItems: number }[] = [];
    while (!listed.some((r) => r.demandId === id) && Date.now() < deadline) {
      listed = JSON.parse((await run('list', '--counterparty', 'Northwind Interactive, Inc.', '--json')).stdout);
    }
    const mine = listed.find((r) => r.demandId === id);
    assert.ok(mine, 'the demand is listed by counterparty');
    assert.equal(mine.openItems, 8);
    const injected = await run('list', '--counterparty', 'x" OR WorkflowType != "', '--json');
    assert.equal(injected.code, 0, injected.stderr);
    assert.deepEqual(JSON.parse(injected.stdout), [], 'a quote in a filter value cannot widen the query');
    const unknown = await run('show', 'no-such-demand');
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /demand "no-such-demand" not found; list demands with: npx auditflow list/);
  });

  it('extend, pause, resume: accepted with what changed, refused with the reason and a non-zero status', async () => {
    const ext = await run(
      'extend',
      id,
      '--item',
      'atlas',
      '--for',
      'P7D',
      '--reason',
      'vendor delay',
      '--by',
      'Dana Reyes',
    );
    assert.equal(ext.code, 0, ext.stderr);
    assert.match(ext.stdout, /deadline of atlas moved to Mon 14 Jun 2027, 17:00 PDT/);
    const past = await run('extend', id, '--until', '2020-01-01T17:00', '--reason', 'x');
    assert.equal(past.code, 1);
    assert.match(
      past.stderr,
      /refused: the new deadline Wed 1 Jan 2020, 17:00 PST \(2020-01-02 01:00Z\) is not later than the current one \(Mon 14 Jun 2027, 17:00 PDT\) for item "atlas"/,
    );
    const noReason = await run('extend', id, '--for', 'P7D');
    assert.equal(noReason.code, 2);
    assert.match(noReason.stderr, /required option '--reason <text>' not specified/);
    const both = await run('extend', id, '--for', 'P7D', '--until', '2030-01-01T00:00', '--reason', 'x');
    assert.equal(both.code, 2);
    assert.match(both.stderr, /give --until or --for, not both/);

    assert.equal((await run('pause', id, '--reason', 'we owe them a clarification')).code, 0);
    const twice = await run('pause', id, '--reason', 'again', '--json');
    assert.equal(twice.code, 1);
    assert.match(JSON.parse(twice.stdout).error, /refused: the clock is already stopped/);
    const resumed = await run('resume', id, '--json');
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(JSON.parse(resumed.stdout).message, /clock restarted; 8 deadline\(s\) moved/);
    await h.sink.waitFor(
      (m) => m.filter((x) => x.header('x-auditflow-kind') === 'deadline-update').length >= 3,
      'extension, pause and resume notices',
    );
  });

  it('record and review: an answer by post with a file, accepted; reviewing an unanswered item is refused', async () => {
    const scan = path.join(h.config.dataDir, 'letter.pdf');
    fs.writeFileSync(scan, '%PDF-1.4 signed letter');
    const rec = await run(
      'record',
      id,
      '--item',
      'atlas',
      '--channel',
      'post',
      '--summary',
      'signed letter, 12 pages',
      '--attach',
      scan,
    );
    assert.equal(rec.code, 0, rec.stderr);
    const atlas = (await show()).items.find((i) => i.id === 'atlas')!;
    assert.equal(atlas.phase, 'in-review');
    assert.equal(atlas.answers[0]!.channel, 'post');
    assert.equal(atlas.answers[0]!.attachments[0]!.filename, 'letter.pdf');
    const sha = crypto.createHash('sha256').update('%PDF-1.4 signed letter').digest('hex');
    assert.equal(atlas.answers[0]!.attachments[0]!.sha256, sha);
    assert.equal(
      fs.readFileSync(path.join(h.config.dataDir, 'evidence', 'sha256', sha.slice(0, 2), sha.slice(2, 4), sha), 'utf8'),
      '%PDF-1.4 signed letter',
    );
    const notAnswered = await run('review', id, 'beacon', '--accept');
    assert.equal(notAnswered.code, 1);
    assert.match(
      notAnswered.stderr,
      /refused: item "beacon" is awaiting; only answered items \(in-review\) can be reviewed/,
    );
    const neither = await run('review', id, 'atlas');
    assert.equal(neither.code, 2);
    const accepted = await run('review', id, 'atlas', '--accept', '--by', 'Chris Okafor');
    assert.equal(accepted.code, 0, accepted.stderr);
    assert.equal((await show()).items.find((i) => i.id === 'atlas')!.closure, 'accepted');
  });

  it('withdraw: ends the demand; later commands say it has ended', async () => {
    const w = await run('withdraw', id, '--reason', 'settled');
    assert.equal(w.code, 0, w.stderr);
    await h.sink.waitFor(
      (m) => m.filter((x) => x.header('x-auditflow-kind') === 'withdrawal').length === 2,
      'withdrawal notices to both contacts',
    );
    const deadline = Date.now() + 20_000;
    let status = '';
    while (status !== 'withdrawn' && Date.now() < deadline) status = (await show()).status;
    assert.equal(status, 'withdrawn');
    const late = await run('pause', id, '--reason', 'x');
    assert.equal(late.code, 1);
    assert.match(late.stderr, new RegExp(`demand "${id}" has ended`));
  });

  it('approve and hold: a request that needs the owner sign-off waits, is held, then approved and sent', async () => {
    const gated = `${id}-gated`;
    const spec = YAML.parse(fs.readFileSync(specFile, 'utf8'));
    Object.assign(spec, { id: gated, requestSignOff: { by: 'owner', within: 'P2D' } });
    const file = path.join(h.config.dataDir, 'gated.yaml');
    fs.writeFileSync(file, YAML.stringify(spec));
    const ofGated = (m: (typeof h.sink.messages)[number]) => m.header('x-auditflow-demand') === gated;
    assert.equal((await run('start', file)).code, 0);
    await h.sink.waitFor((m) => m.some((x) => ofGated(x) && /Sign-off needed/.test(x.parsed.subject ?? '')), 'the ask');
    const shown = await run('show', gated);
    assert.match(
      shown.stdout,
      /waiting for sign-off .*\n {2}g1 the request for atlas, beacon, .*: 2 message\(s\); role owner until /,
    );
    const stranger = await run('approve', gated, 'request', '--by', 'Chris Okafor');
    assert.equal(stranger.code, 1);
    assert.match(
      stranger.stderr,
      /Chris Okafor may not sign off g1: it needs a requester person with the role "owner"/,
    );
    const noReason = await run('hold', gated, 'g1', '--by', 'Dana Reyes');
    assert.equal(noReason.code, 2);
    assert.match(noReason.stderr, /--reason/);
    const held = await run('hold', gated, 'g1', '--by', 'Dana Reyes', '--reason', 'wait for the notice of breach');
    assert.equal(held.code, 0, held.stderr);
    assert.match(held.stdout, /held g1 \(the request\)/);
    const ok = await run('approve', gated, 'request', '--by', 'dana.reyes@platform.example.com', '--json');
    assert.equal(ok.code, 0, ok.stderr);
    assert.match((JSON.parse(ok.stdout) as { message: string }).message, /signed off g1 \(the request\)/);
    await h.sink.waitFor(
      (m) => m.filter((x) => ofGated(x) && x.header('x-auditflow-kind') === 'request').length === 2,
      'the requests',
    );
    const after = JSON.parse((await run('show', gated, '--json')).stdout) as DemandStatusView;
    assert.deepEqual(
      after.gates?.map((g) => [g.status, g.decidedBy]),
      [['approved', 'Dana Reyes']],
    );
    assert.deepEqual(
      after.decisions
        .filter((d) => d.kind.startsWith('sign-off') || d.kind === 'signed-off')
        .map((d) => [d.kind, d.by]),
      [
        ['sign-off-requested', 'auditflow'],
        ['sign-off-held', 'Dana Reyes'],
        ['signed-off', 'Dana Reyes'],
      ],
    );
    assert.equal((await run('withdraw', gated, '--reason', 'test done')).code, 0);
  });

  it('contact and item corrections: accepted with what changed (--json too), refused with the reason and exit 1, bad options exit 2', async () => {
    const fixed = `${id}-fix`;
    const spec = YAML.parse(fs.readFileSync(specFile, 'utf8'));
    spec.id = fixed;
    const file = path.join(h.config.dataDir, 'fix.yaml');
    fs.writeFileSync(file, YAML.stringify(spec));
    const ofFixed = (m: (typeof h.sink.messages)[number]) => m.header('x-auditflow-demand') === fixed;
    assert.equal((await run('start', file)).code, 0);
    await h.sink.waitFor((m) => m.filter(ofFixed).length === 2, 'the two requests');

    const badAddress = await run(
      'contact',
      'replace',
      fixed,
      'priya.shah@northwind.example.com',
      '--name',
      'Ana',
      '--address',
      'not-an-address',
      '--reason',
      'left',
    );
    assert.equal(badAddress.code, 2);
    assert.match(badAddress.stderr, /--address: must be a plain address like name@example\.com/);
    const noReason = await run('item', 'cancel', fixed, 'beacon');
    assert.equal(noReason.code, 2);
    assert.match(noReason.stderr, /--reason/);

    const replaced = await run(
      'contact',
      'replace',
      fixed,
      'priya.shah@northwind.example.com',
      '--name',
      'Ana Ortiz',
      '--address',
      'ana.ortiz@northwind.example.com',
      '--by',
      'Dana Reyes',
      '--reason',
      'Priya left Northwind',
      '--json',
    );
    assert.equal(replaced.code, 0, replaced.stderr);
    assert.match(
      (JSON.parse(replaced.stdout) as { message: string }).message,
      /Ana Ortiz <ana\.ortiz@northwind\.example\.com> replaces Priya Shah/,
    );
    const toAna = await h.sink.waitFor(
      (m) => m.some((x) => ofFixed(x) && x.envelope.to[0] === 'ana.ortiz@northwind.example.com'),
      'the request to Ana',
    );
    assert.equal(
      toAna
        .find((x) => ofFixed(x) && x.envelope.to[0] === 'ana.ortiz@northwind.example.com')
        ?.header('x-auditflow-kind'),
      'request',
    );

    const itemFile = path.join(h.config.dataDir, 'item.yaml');
    fs.writeFileSync(
      itemFile,
      YAML.stringify({
        id: 'zephyr',
        name: 'Zephyr internal tool',
        questions: ['Which API data did Zephyr read?'],
        deadline: '2027-06-21T17:00',
      }),
    );
    const added = await run('item', 'add', fixed, '--file', itemFile, '--reason', 'found in the API logs');
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /added item zephyr, due Mon 21 Jun 2027, 17:00 PDT; its request goes out now/);
    const again = await run('item', 'add', fixed, '--file', itemFile, '--reason', 'twice');
    assert.equal(again.code, 1);
    assert.match(again.stderr, /refused: item id "zephyr" is already used in this demand; choose another/);
    const question = await run('item', 'question', fixed, 'zephyr', 'two', '--text', 'x', '--reason', 'r');
    assert.equal(question.code, 2);
    assert.match(question.stderr, /<number>: "two" is not a question number/);
    const cancelled = await run('item', 'cancel', fixed, 'beacon', '--reason', 'not in scope', '--by', 'Dana Reyes');
    assert.equal(cancelled.code, 0, cancelled.stderr);
    const after = JSON.parse((await run('show', fixed, '--json')).stdout) as DemandStatusView;
    assert.deepEqual(
      after.decisions
        .filter((d) => ['contact-replaced', 'item-added', 'item-cancelled'].includes(d.kind))
        .map((d) => [d.kind, d.reason]),
      [
        ['contact-replaced', 'Priya left Northwind'],
        ['item-added', 'found in the API logs'],
        ['item-cancelled', 'not in scope'],
      ],
    );
    assert.equal(after.items.find((i) => i.id === 'beacon')?.closure, 'withdrawn');
    assert.equal((await run('withdraw', fixed, '--reason', 'test done')).code, 0);
  });
});
