/**
 * `auditflow plan` as ops run it (the real command, a child process; no Temporal needed): the table in
 * local time and UTC, the warnings, the JSON fields, and invalid input refused like `validate` does.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import YAML from 'yaml';
import type { DemandPlan } from '../../cli/plan';
import { planDemand } from '../../cli/plan';
import { DemandSpec, type DemandSpecInput } from '../../domain/demand';
import { auditflow, ROOT } from '../helpers/cli';

const EXAMPLE = path.join(ROOT, 'examples', 'api-usage-audit.yaml');
const LADDER = path.join(ROOT, 'test', 'fixtures', 'specs', 'plan-ladder.yaml');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'auditflow-plan-cli-'));
const plan = (...args: string[]) => auditflow(['plan', ...args], {});
const ladder = (): DemandSpecInput => YAML.parse(fs.readFileSync(LADDER, 'utf8')) as DemandSpecInput;

function specFile(name: string, spec: unknown): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, YAML.stringify(spec));
  return file;
}

describe('auditflow plan', () => {
  it('plans the example: every email in local time and UTC, the moved reminder and referral as warnings', async () => {
    const r = await plan(EXAMPLE, '--start', '2027-05-03T09:00:00Z');
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^plan for .*api-usage-audit\.yaml: demand northwind-api-audit-2027 \(workflow audit:northwind-api-audit-2027\) if nobody answers\n/,
    );
    assert.match(
      r.stdout,
      /\n {2}deadline: {2}Mon 7 Jun 2027, 17:00 PDT \(2027-06-08 00:00Z\) for atlas, beacon, cascade, drift, ember, fjord, glacier, harbor\n/,
    );
    assert.match(r.stdout, /\n {2}outcome: {3}referred at Wed 23 Jun 2027, 00:00 PDT \(2027-06-23 07:00Z\)\n/);
    assert.match(r.stdout, /\nlocal time +UTC +message +to +role +items\n-+ /);
    assert.match(
      r.stdout,
      new RegExp(
        String.raw`\nMon 3 May 2027, 08:00 PDT +2027-05-03 15:00Z +request \* +Priya Shah <priya\.shah@northw` +
          String.raw`ind\.example\.com> +counterparty:primary +atlas, cascade, drift, ember, fjord, harbor\n`,
      ),
    );
    assert.match(
      r.stdout,
      /\nMon 3 May 2027, 08:00 PDT +2027-05-03 15:00Z +request \* +Lena Vogt <lena\.vogt@northwind\.example\.com> +counterparty:data +beacon, glacier\n/,
    );
    assert.match(r.stdout, /\nFri 4 Jun 2027, 18:00 PDT +2027-06-05 01:00Z +reminder 3 \* +Priya Shah/);
    assert.match(
      r.stdout,
      new RegExp(
        String.raw`\nTue 15 Jun 2027, 01:00 GMT\+1 +2027-06-15 00:00Z +internal, step 2: final notice +Chris ` +
          String.raw`Okafor <chris\.okafor@platform\.example\.com> +requester:counsel +atlas, beacon`,
      ),
    );
    assert.match(
      r.stdout,
      /\nWed 23 Jun 2027, 08:00 GMT\+1 +2027-06-23 07:00Z +internal, step 3: referral for legal action \(refer\) \* +Dana Reyes .* +requester:owner /,
    );
    assert.match(
      r.stdout,
      new RegExp(
        String.raw`\nwarnings \(4\):\n {2}held-to-sending-hours: request to priya\.shah@northwind\.example\.c` +
          String.raw`om would go at Mon 3 May 2027, 02:00 PDT \(2027-05-03 09:00Z\), outside sending hours 08:0` +
          String.raw`0-18:00 in their zone; held to Mon 3 May 2027, 08:00 PDT \(2027-05-03 15:00Z\) \[atlas, ca` +
          String.raw`scade, drift, ember, fjord, harbor\]\n.*\n {2}reminder-moved: reminder 3 would fall on Sun` +
          String.raw` 6 Jun 2027, 17:00 PDT \(2027-06-07 00:00Z\), a non-business day; moved earlier to Fri 4 J` +
          String.raw`un 2027, 18:00 PDT \(2027-06-05 01:00Z\) \[atlas, beacon, cascade, drift, ember, fjord, gl` +
          String.raw`acier, harbor\]\n`,
      ),
    );
    assert.match(
      r.stdout,
      new RegExp(
        String.raw`\n {2}notice-moved: escalation step 3 \(referral for legal action\) would fall on Wed 23 J` +
          String.raw`un 2027, 01:00 GMT\+1 \(2027-06-23 00:00Z\), outside sending hours 08:00-18:00; moved late` +
          String.raw`r to Wed 23 Jun 2027, 08:00 GMT\+1 \(2027-06-23 07:00Z\)`,
      ),
    );
    assert.equal((r.stdout.match(/ request \* /g) ?? []).length, 2, 'one request per contact, not per item');

    const now = await plan(EXAMPLE);
    assert.equal(now.code, 0, now.stderr);
    assert.match(now.stdout, /\n {2}outcome: {3}(referred at|waiting)/, 'the default start is now');
  });

  it('--json: stable fields, one entry per instant, message, items and zone', async () => {
    const r = await plan(EXAMPLE, '--json', '--start', '2027-05-03T02:00');
    assert.equal(r.code, 0, r.stderr);
    const p = JSON.parse(r.stdout) as DemandPlan;
    assert.deepEqual(Object.keys(p), [
      'demandId',
      'workflowId',
      'startAt',
      'outcome',
      'endsAt',
      'deadlines',
      'entries',
      'warnings',
    ]);
    assert.equal(p.startAt, '2027-05-03T09:00:00.000Z', 'a local --start is read in the counterparty zone');
    // Started at 02:00 in the recipients' zone: the requests wait for 08:00 there.
    assert.deepEqual(p.entries[0], {
      at: '2027-05-03T15:00:00.000Z',
      local: 'Mon 3 May 2027, 08:00 PDT',
      zone: 'America/Los_Angeles',
      kind: 'request',
      trigger: 'request',
      recipients: [
        { side: 'counterparty', role: 'primary', name: 'Priya Shah', address: 'priya.shah@northwind.example.com' },
      ],
      itemIds: ['atlas', 'cascade', 'drift', 'ember', 'fjord', 'harbor'],
      held: { from: '2027-05-03T09:00:00.000Z', reason: 'outside-send-window' },
    });
    const refer = p.entries.find((e) => e.trigger === 'referral')!;
    assert.deepEqual(refer.step, { index: 3, label: 'referral for legal action', action: 'refer' });
    assert.deepEqual(
      refer.recipients.map((x) => `${x.side}:${x.role} ${x.address}`),
      ['requester:counsel chris.okafor@platform.example.com', 'requester:owner dana.reyes@platform.example.com'],
    );
    assert.deepEqual(refer.moved, { from: '2027-06-23T00:00:00.000Z', reason: 'outside-send-window' });
    assert.equal(refer.zone, 'Europe/Dublin');
    assert.deepEqual(
      p.entries.map((e) => e.trigger).filter((t, i, all) => all.indexOf(t) === i),
      ['request', 'reminder', 'overdue-notice', 'escalation', 'referral', 'demand-ended'],
    );
    assert.deepEqual(
      p.warnings.map((w) => [w.code, w.at]),
      [
        ['held-to-sending-hours', '2027-05-03T15:00:00.000Z'],
        ['held-to-sending-hours', '2027-05-03T15:00:00.000Z'],
        ['reminder-moved', '2027-06-05T01:00:00.000Z'],
        ['notice-moved', '2027-06-23T07:00:00.000Z'],
      ],
    );
  });

  it('warns of a holiday, a weekend and the night, a skipped and a superseded reminder, a missing address', async () => {
    const r = await plan(LADDER, '--start', '2026-11-28T19:00:00Z');
    assert.equal(r.code, 0, r.stderr);
    const warnings = r.stdout.slice(r.stdout.indexOf('\nwarnings'));
    assert.match(warnings, /^\nwarnings \(21\):\n/);
    // Each recipient's own sending hours: Quinn reads mail in New York, where 18:00 in Los Angeles is 21:00.
    assert.match(
      warnings,
      new RegExp(
        String.raw`\n {2}held-to-sending-hours: reminder to quinn@acme\.example would go at Fri 21 May 2027, ` +
          String.raw`21:00 EDT \(2027-05-22 01:00Z\), outside sending hours 08:00-18:00 in their zone; held to ` +
          String.raw`Tue 25 May 2027, 08:00 EDT \(2027-05-25 12:00Z\) \[xbox\]\n`,
      ),
    );
    assert.match(
      warnings,
      new RegExp(
        String.raw`\n {2}reminder-skipped: reminder 1 would be at Fri 5 Jun 2026, 18:00 PDT \(2026-06-06 01:0` +
          String.raw`0Z\), before the request at Sat 28 Nov 2026, 11:00 PST \(2026-11-28 19:00Z\): it is not se` +
          String.raw`nt \[xbox\]\n`,
      ),
    );
    assert.match(
      warnings,
      new RegExp(
        String.raw`\n {2}reminder-moved: reminder 2 would fall on Mon 24 May 2027, 17:00 PDT \(2027-05-25 00:` +
          String.raw`00Z\), a holiday; moved earlier to Fri 21 May 2027, 18:00 PDT \(2027-05-22 01:00Z\) \[xbox` +
          String.raw`\]\n`,
      ),
    );
    assert.match(
      warnings,
      new RegExp(
        String.raw`\n {2}reminder-moved: reminder 3 would fall on Wed 2 Jun 2027, 02:00 GMT\+2 \(2027-06-02 0` +
          String.raw`0:00Z\), outside sending hours 08:00-18:00; moved earlier to Tue 1 Jun 2027, 18:00 GMT\+2 ` +
          String.raw`\(2027-06-01 16:00Z\) \[glacier\]\n`,
      ),
    );
    assert.match(
      warnings,
      new RegExp(
        String.raw`\n {2}reminder-moved: reminder 5 would fall on Sun 6 Jun 2027, 17:00 PDT \(2027-06-07 00:0` +
          String.raw`0Z\), a non-business day; moved earlier to Thu 3 Jun 2027, 18:00 PDT \(2027-06-04 01:00Z\)` +
          String.raw` \[xbox\]\n`,
      ),
    );
    assert.match(
      warnings,
      new RegExp(
        String.raw`\n {2}reminder-superseded: reminder 4 superseded by reminder 5: both fall due at Thu 3 Jun` +
          String.raw` 2027, 18:00 PDT \(2027-06-04 01:00Z\) and only one reminder is sent \[xbox\]\n`,
      ),
    );
    assert.match(
      warnings,
      new RegExp(
        String.raw`\n {2}notice-moved: overdue notice would fall on Tue 8 Jun 2027, 02:00 GMT\+2 \(2027-06-08` +
          String.raw` 00:00Z\), outside sending hours 08:00-18:00; moved later to Tue 8 Jun 2027, 08:00 GMT\+2 ` +
          String.raw`\(2027-06-08 06:00Z\) \[glacier\]\n`,
      ),
    );
    assert.match(
      warnings,
      /\n {2}no-address: counterparty:escalation: Acme Legal \(post only\) has no address; step 1 could not reach them \[xbox, glacier, psn\]\n/,
    );
    // Lena reads mail in Berlin: her rows are in her local time, next to UTC.
    assert.match(
      r.stdout,
      /\nTue 8 Jun 2027, 08:00 GMT\+2 +2027-06-08 06:00Z +overdue notice \* +Lena Data <lena@acme\.example> +counterparty:data +glacier\n/,
    );
    assert.match(
      r.stdout,
      /\nMon 30 Nov 2026, 08:00 EST +2026-11-30 13:00Z +request \* +Quinn Partner <quinn@acme\.example> +counterparty:primary +xbox, psn\n/,
    );
  });

  it('warns of a step held back behind the one above it, and of a primary contact without an address', async () => {
    const spec = ladder();
    spec.counterparty.contacts.push({ name: 'Acme Front Desk', roles: ['primary'] });
    spec.escalation = [
      { after: 'P1D', notify: ['counterparty:escalation'] },
      // One hour after the deadline is 02:00 in Dublin: moved to 08:00 Dublin, still before step 1.
      { after: 'PT1H', notify: ['requester:counsel'], action: 'refer' },
    ];
    const r = await plan(specFile('held-back.yaml', spec), '--start', '2026-11-28T19:00:00Z', '--json');
    assert.equal(r.code, 0, r.stderr);
    const p = JSON.parse(r.stdout) as DemandPlan;
    const held = p.warnings.find((w) => w.code === 'step-held-back');
    assert.deepEqual(held, {
      code: 'step-held-back',
      at: '2027-06-09T00:00:00.000Z',
      message:
        'escalation step 2: its offset puts it at Tue 8 Jun 2027, 02:00 GMT+1 (2027-06-08 01:00Z), before ' +
        'the step above it; held back to Wed 9 Jun 2027, 01:00 GMT+1 (2027-06-09 00:00Z)',
      itemIds: ['xbox', 'glacier'],
    });
    assert.ok(
      p.warnings.some(
        (w) => w.code === 'no-address' && w.message.startsWith('counterparty:primary: Acme Front Desk has no address'),
      ),
    );
  });

  it('a deadline already past at the start: only the requests go out, and the demand waits', async () => {
    // Thu 1 Jul 09:00 PDT: inside the recipients' sending hours, so the requests go at once.
    const r = await plan(EXAMPLE, '--json', '--start', '2027-07-01T16:00:00Z');
    assert.equal(r.code, 0, r.stderr);
    const p = JSON.parse(r.stdout) as DemandPlan;
    assert.equal(p.outcome, 'waiting');
    assert.equal(p.endsAt, undefined);
    assert.deepEqual([...new Set(p.entries.map((e) => e.trigger))], ['request']);
    assert.deepEqual(
      p.warnings.map((w) => w.code),
      [
        'reminder-skipped',
        'reminder-skipped',
        'reminder-skipped',
        'already-past',
        'already-past',
        'already-past',
        'already-past',
        'never-ends',
      ],
    );
    assert.equal(
      p.warnings.at(-1)!.message,
      'nothing is scheduled after Thu 1 Jul 2027, 09:00 PDT (2027-07-01 16:00Z): the demand waits until someone answers, extends or withdraws it',
    );
  });

  it('a step after the referral is reported as never firing (a spec the schema alone lets through)', () => {
    const spec = DemandSpec.parse({
      ...ladder(),
      escalation: [
        { after: 'P1D', notify: ['requester:counsel'], action: 'refer' },
        { after: 'P3D', notify: ['counterparty:escalation'] },
      ],
    });
    const p = planDemand(spec, Date.parse('2026-11-28T19:00:00Z'));
    assert.deepEqual(
      p.warnings.filter((w) => w.code === 'after-referral').map((w) => [w.message, w.itemIds]),
      [['escalation step 2 comes after the referral and never fires', ['xbox', 'psn', 'glacier']]],
    );
    assert.equal(p.entries.filter((e) => e.trigger === 'escalation').length, 0);
  });

  it('a step that waits for sign-off: the request to the approver, and what its timeout does', () => {
    const base = ladder();
    const spec = DemandSpec.parse({
      ...base,
      escalation: base.escalation!.map((s, i) =>
        i === 1 ? { ...s, signOff: { by: 'counsel', within: 'P1D', onTimeout: 'send' } } : s,
      ),
    });
    const p = planDemand(spec, Date.parse('2026-11-28T19:00:00Z'));
    // Two deadlines (psn's is its own), so two gates: each asks counsel, and tells owner and counsel at its timeout.
    const signOff = p.entries.filter((e) => e.trigger === 'sign-off');
    assert.deepEqual(
      signOff
        .map(
          (e) =>
            `${e.signOff?.gate} ${e.signOff?.timedOut ? 'timeout' : 'asked'} ${e.recipients.map((r) => r.role).join(',')}`,
        )
        .sort(),
      ['g1 asked counsel', 'g1 timeout owner,counsel', 'g2 asked counsel', 'g2 timeout owner,counsel'],
    );
    // Sent as it is when the day to decide is over: one day after its gate asked.
    const asked = new Set(signOff.filter((e) => !e.signOff?.timedOut).map((e) => Date.parse(e.at)));
    const step2 = p.entries.filter((e) => e.step?.index === 2);
    assert.ok(step2.length > 0);
    for (const e of step2) assert.ok(asked.has(Date.parse(e.at) - 86_400_000), `${e.at} is a day after a gate asked`);
    const warning = p.warnings.find((w) => w.code === 'sign-off');
    assert.match(
      warning?.message ?? '',
      /waits for sign-off by counsel until .*; without it, it is sent as it is then/,
    );
    assert.equal(p.outcome, 'referred');
  });

  it('an invalid spec is refused like validate does: same problems, exit 2', async () => {
    const original = fs.readFileSync(EXAMPLE, 'utf8');
    const broken = path.join(dir, 'broken.yaml');
    fs.writeFileSync(broken, original.replace(/^title: .*$/m, 'title: ""').replace('before: P14D', 'before: 14 days'));
    const [p, v] = await Promise.all([plan(broken), auditflow(['validate', broken], {})]);
    assert.equal(p.code, 2);
    assert.equal(p.stdout, '');
    assert.equal(p.stderr, v.stderr);
    assert.match(p.stderr, /: 2 problems\n {2}title: must not be empty\n {2}reminders\[0\]\.before: /);
    const json = await plan(broken, '--json');
    assert.equal(json.code, 2);
    assert.deepEqual(
      (JSON.parse(json.stdout) as { problems: { path: string }[] }).problems.map((x) => x.path),
      ['title', 'reminders[0].before'],
    );
    const missing = await plan(path.join(dir, 'nope.yaml'));
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /\(file\): no such file: /);
  });

  it('a bad --start is invalid input (exit 2); --help shows an example', async () => {
    const bad = await plan(EXAMPLE, '--start', 'next monday');
    assert.equal(bad.code, 2);
    assert.match(
      bad.stderr,
      /^error: --start: "next monday" is not a date-time: write a local time like 2027-06-07T17:00/,
    );
    const help = await plan('--help');
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: auditflow plan \[options\] <file>/);
    assert.match(help.stdout, /--start <instant>/);
    assert.match(
      help.stdout,
      /Examples:\n {2}npx auditflow plan examples\/api-usage-audit\.yaml --start 2027-05-03T09:00:00Z\n/,
    );
  });

  it('--show prints an email as its recipient will see it, --eml writes them to open in a mail client; bad values exit 2', async () => {
    const one = await plan(EXAMPLE, '--start', '2027-05-03T16:00:00Z', '--show', '3');
    assert.equal(one.code, 0, one.stderr);
    assert.match(
      one.stdout,
      new RegExp(
        String.raw`\n--- email 3 of 16: reminder to Priya Shah <priya\.shah@northwind\.example\.com>, Mon 24 ` +
          String.raw`May 2027, 17:00 PDT \(2027-05-25 00:00Z\)\nSubject: Reminder 1: Compliance audit .*: 6 ite` +
          String.raw`ms due Mon 7 Jun 2027, 17:00 PDT\n\nDear Priya Shah,\n\nThis is reminder 1 about the audit` +
          String.raw` demand`,
      ),
    );
    assert.equal((one.stdout.match(/\n--- email /g) ?? []).length, 1);
    // An internal notice is on its own recipient's clock (Dublin), as the plan's table and its text are.
    const notice = await plan(EXAMPLE, '--start', '2027-05-03T16:00:00Z', '--show', '13');
    assert.match(
      notice.stdout,
      /\n--- email 13 of 16: internal to Chris Okafor <[^>]+>, Tue 15 Jun 2027, 01:00 GMT\+1 \(2027-06-15 00:00Z\)\n/,
    );

    const folder = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'auditflow-eml-')), 'preview');
    const eml = await plan(EXAMPLE, '--start', '2027-05-03T16:00:00Z', '--eml', folder, '--json');
    assert.equal(eml.code, 0, eml.stderr);
    const out = JSON.parse(eml.stdout) as { emails: unknown[]; eml: { folder: string; files: string[] } };
    assert.deepEqual(out.emails, [], 'nothing shown without --show');
    assert.equal(out.eml.files.length, 16);
    assert.equal(out.eml.files[0], '001-request-priya.shah@northwind.example.com.eml');
    const first = fs.readFileSync(path.join(folder, out.eml.files[0]!), 'latin1');
    assert.match(first, /^From: Example Platform Legal <legal@platform\.example\.com>\r\n/m);
    assert.match(first, /^Subject: Audit demand: Compliance audit/m);
    assert.match(first, /^Date: Mon, 03 May 2027 16:00:00 \+0000\r\n/m);

    const past = await plan(EXAMPLE, '--show', '99');
    assert.equal(past.code, 2);
    assert.match(past.stderr, /--show: this plan has 16 email\(s\); give a number from 1 to 16/);
    const word = await plan(EXAMPLE, '--show', 'first');
    assert.equal(word.code, 2);
    assert.match(word.stderr, /--show: "first" is not an email number/);
    const file = path.join(folder, out.eml.files[0]!);
    const onFile = await plan(EXAMPLE, '--eml', file);
    assert.equal(onFile.code, 2);
    assert.match(onFile.stderr, /--eml: .* is a file; give a folder/);
  });
});
