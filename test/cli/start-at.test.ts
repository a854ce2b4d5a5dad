/**
 * `auditflow start --at` against the real dev server and worker: the demand is scheduled with Temporal's
 * start delay, its workflow does not run and sends nothing; show, list and withdraw handle it without
 * sending it a query or an update (which would run it at once); instants it could not keep are refused.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import YAML from 'yaml';
import type { BulkResult } from '../../cli/bulk';
import type { StartedDemand } from '../../cli/commands/start';
import { localAndUtc } from '../../cli/output';
import type { NotStartedDemand } from '../../cli/scheduled';
import { demandWorkflowId } from '../../domain/ids';
import { toWall } from '../../domain/time';
import { eventually } from '../../platform/wait';
import { ROOT } from '../helpers/cli';
import { ANY_HOUR } from '../../dev/support/specs';
import { cliHarness } from '../helpers/cli-harness';

const ZONE = 'America/Los_Angeles';
const HOUR = 3_600_000;

/** A whole minute at least `ms` from now, so that the instant survives a round trip through the text forms. */
const minuteAfter = (ms: number) => Math.ceil((Date.now() + ms) / 60_000) * 60_000;

/** "2027-05-03T10:00:00+02:00": the instant written with a +02:00 offset. */
const withOffset = (ms: number) => `${new Date(ms + 2 * HOUR).toISOString().slice(0, 19)}+02:00`;

/** "2027-05-03T01:00": the wall time in the counterparty's zone, as a spec deadline is written. */
function localText(ms: number, zone: string): string {
  const w = toWall(ms, zone);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${w.year}-${two(w.month)}-${two(w.day)}T${two(w.hour)}:${two(w.minute)}`;
}

/** Temporal's execution time is its own clock at the start plus the delay the CLI computed on its clock. */
const nearly = (t: Date | undefined, ms: number) => t !== undefined && Math.abs(t.getTime() - ms) < 2_000;

describe('auditflow start --at (dev server, real worker, real SMTP)', () => {
  const cli = cliHarness();
  const { run } = cli;
  const tag = Date.now().toString(36);
  const spec = (id: string) => {
    const s = YAML.parse(fs.readFileSync(path.join(ROOT, 'examples', 'api-usage-audit.yaml'), 'utf8'));
    s.id = id;
    s.calendar = ANY_HOUR;
    return cli.write(`${id}.yaml`, YAML.stringify(s));
  };
  const history = (id: string) => cli.h.env.client.workflow.getHandle(demandWorkflowId(id)).describe();
  const listed = (status: string, id: string) =>
    eventually(async () => {
      const rows = JSON.parse((await run('list', '--status', status, '--json')).stdout) as Record<string, unknown>[];
      return rows.find((r) => r.demandId === id);
    }, `demand ${id} listed as ${status}`);

  const scheduled = `at-${tag}`;
  const startsAt = minuteAfter(HOUR);

  it('schedules the demand: it says when it starts, the workflow does not run, and nothing is sent', async () => {
    const started = await run('start', spec(scheduled), '--at', withOffset(startsAt), '--by', 'Dana Reyes');
    assert.equal(started.code, 0, started.stderr);
    assert.match(started.stdout, new RegExp(`scheduled demand ${scheduled} \\(workflow audit:${scheduled}\\)`));
    assert.ok(
      started.stdout.includes(`starts at: ${localAndUtc(startsAt, ZONE)}; nothing is sent before then`),
      started.stdout,
    );
    assert.match(started.stdout, new RegExp(`call it off before it starts: npx auditflow withdraw ${scheduled}`));

    // A demand started at once on the same worker sends its requests; by then the scheduled one would have too.
    const control = `at-control-${tag}`;
    const now = await run('start', spec(control), '--json');
    assert.equal(now.code, 0, now.stderr);
    assert.equal((JSON.parse(now.stdout) as StartedDemand).startsAt, null);
    await cli.h.sink.waitFor(
      (m) => m.filter((x) => x.header('x-auditflow-demand') === control).length === 2,
      'the control demand requests',
    );
    assert.deepEqual(
      cli.h.sink.messages.filter((m) => m.header('x-auditflow-demand') === scheduled),
      [],
      'the scheduled demand sent nothing',
    );
    const desc = await history(scheduled);
    assert.equal(desc.status.name, 'RUNNING');
    assert.equal(desc.historyLength, 1, 'only WorkflowExecutionStarted: no workflow task has run');
    assert.ok(
      nearly(desc.executionTime, startsAt),
      `Temporal runs it at --at, not ${desc.executionTime?.toISOString()}`,
    );
  });

  it('show says when it starts, from the spec, without querying the workflow; --json gives status scheduled', async () => {
    const shown = await run('show', scheduled);
    assert.equal(shown.code, 0, shown.stderr);
    assert.ok(
      shown.stdout.includes(`status scheduled: scheduled to start at ${localAndUtc(startsAt, ZONE)}`),
      shown.stdout,
    );
    assert.match(shown.stdout, /Audit of Northwind Interactive, Inc\.: 8 items, due 7 Jun 17:00 PDT/);
    assert.match(shown.stdout, /by Dana Reyes/);
    assert.match(shown.stdout, /nothing has been sent; the requests go out when it starts/);
    const json = JSON.parse((await run('show', scheduled, '--json')).stdout) as NotStartedDemand;
    assert.equal(json.status, 'scheduled');
    assert.equal(json.startsAt, new Date(startsAt).toISOString());
    assert.equal(json.startedBy, 'Dana Reyes');
    assert.equal(json.spec?.id, scheduled);
    assert.equal(json.demandId, scheduled);
    assert.equal((await history(scheduled)).historyLength, 1, 'show sent nothing that would run the workflow');
  });

  it('list shows it as scheduled with its start; report and updates are refused without starting it', async () => {
    const row = await listed('scheduled', scheduled);
    assert.equal(row.status, 'scheduled');
    assert.equal(row.startsAt, new Date(startsAt).toISOString());
    assert.equal(row.openItems, 8);
    assert.equal(row.dueAt, '2027-06-08T00:00:00.000Z');
    const table = await run('list', '--status', 'scheduled');
    assert.match(table.stdout, new RegExp(`${scheduled} +scheduled, starts `));

    const paused = await run('pause', scheduled, '--reason', 'not yet');
    assert.equal(paused.code, 1);
    assert.match(
      paused.stderr,
      /is scheduled to start at .* and has not started: nothing can change it before it starts/,
    );
    const report = await run('report', scheduled);
    assert.equal(report.code, 1);
    assert.match(report.stderr, /has not started: there is nothing to report until it starts/);
    assert.equal((await history(scheduled)).historyLength, 1, 'no update reached the workflow');
  });

  it('withdraw calls it off without running it: terminated with the reason, nothing sent', async () => {
    const withdrawn = await run('withdraw', scheduled, '--reason', 'settled before it began', '--by', 'Chris Okafor');
    assert.equal(withdrawn.code, 0, withdrawn.stderr);
    assert.match(withdrawn.stdout, new RegExp(`demand ${scheduled} withdrawn before it started .*; nothing was sent`));
    const desc = await history(scheduled);
    assert.equal(desc.status.name, 'TERMINATED');
    assert.equal(desc.historyLength, 2, 'started, then terminated: the workflow never ran');
    const json = JSON.parse((await run('show', scheduled, '--json')).stdout) as NotStartedDemand;
    assert.equal(json.status, 'withdrawn-before-start');
    assert.equal(json.withdrawn?.reason, 'withdrawn before it started by Chris Okafor: settled before it began');
    assert.match((await run('show', scheduled)).stdout, /status withdrawn before it started/);
    assert.equal((await listed('withdrawn', scheduled)).status, 'withdrawn-before-start');
    const again = await run('withdraw', scheduled, '--reason', 'again');
    assert.equal(again.code, 1);
    assert.match(
      again.stderr,
      /never started \(withdrawn before it started by Chris Okafor: settled before it began\)/,
    );
    assert.deepEqual(
      cli.h.sink.messages.filter((m) => m.header('x-auditflow-demand') === scheduled),
      [],
    );
  });

  it('reads a local --at in the counterparty zone', async () => {
    const id = `at-local-${tag}`;
    const at = minuteAfter(2 * HOUR);
    const res = await run('start', spec(id), '--at', localText(at, ZONE), '--json');
    assert.equal(res.code, 0, res.stderr);
    assert.equal((JSON.parse(res.stdout) as StartedDemand).startsAt, new Date(at).toISOString());
    assert.ok(nearly((await history(id)).executionTime, at));
  });

  it('runs at its instant: the requests go out then, and show and list give the running demand', async () => {
    const id = `at-soon-${tag}`;
    // Room for the CLI to start under load; the wait below is for the mail, not a fixed time.
    const at = Date.now() + 15_000;
    const res = await run('start', spec(id), '--at', new Date(at).toISOString());
    assert.equal(res.code, 0, res.stderr);
    const requests = await cli.h.sink.waitFor(
      (m) => m.filter((x) => x.header('x-auditflow-demand') === id).length === 2,
      'the requests of the scheduled demand, at its start',
    );
    const sent = requests.filter((m) => m.header('x-auditflow-demand') === id);
    // The Date header is the workflow's clock when it sent: a header has whole seconds.
    const dates = sent.map((m) => m.parsed.date?.getTime() ?? 0);
    assert.ok(
      dates.every((d) => d >= Math.floor(at / 1000) * 1000),
      `no request dated before --at: ${dates.map((d) => new Date(d).toISOString()).join(', ')}`,
    );
    const state = JSON.parse((await run('show', id, '--json')).stdout) as { status: string; startedBy: string };
    assert.notEqual(state.status, 'scheduled');
    const row = await eventually(async () => {
      const rows = JSON.parse((await run('list', '--json')).stdout) as Record<string, unknown>[];
      const mine = rows.find((r) => r.demandId === id);
      return mine && mine.status !== 'scheduled' ? mine : undefined;
    }, `demand ${id} listed with the status its workflow published`);
    assert.equal(row.startsAt, new Date(at).toISOString());
  });

  it('refuses, naming --at, an unreadable instant, a past one, and one not before the earliest deadline', async () => {
    const id = `at-refused-${tag}`;
    const file = spec(id);
    const unreadable = await run('start', file, '--at', 'next monday');
    assert.equal(unreadable.code, 2);
    assert.match(unreadable.stderr, /--at: "next monday" is not a date-time/);
    const past = await run('start', file, '--at', '2020-01-01T00:00:00Z');
    assert.equal(past.code, 2);
    assert.match(
      past.stderr,
      /cannot start at 2020-01-01T00:00:00Z \(--at\):\n {2}--at: .*\(2020-01-01 00:00Z\) has already passed/,
    );
    // The deadline is 7 June 2027, 17:00 in Los Angeles: a start at 17:00 or later could ask nothing in time.
    const late = await run('start', file, '--at', '2027-06-07T17:00', '--json');
    assert.equal(late.code, 2);
    const error = JSON.parse(late.stdout) as { error: string };
    assert.match(error.error, /cannot start at 2027-06-07T17:00 \(--at\)/);
    assert.match(
      error.error,
      /\n {2}deadline: atlas, beacon, cascade, drift, ember, fjord, glacier, harbor would be due Mon 7 Jun 2027, 17:00 PDT \(2027-06-08 00:00Z\), not after the start \(--at Mon 7 Jun 2027, 17:00 PDT/,
    );
    assert.match(error.error, /nothing could be asked in time/);
    const none = await run('show', id);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /not found/);
  });

  it('with --for, each row starts at --at read in its own zone', async () => {
    const csv = cli.write(
      'rows.csv',
      'id,organisation,timezone,primary_email,escalation_email\n' +
        `at-ny-${tag},NY Corp,America/New_York,pat@ny.example,gc@ny.example\n` +
        `at-ldn-${tag},London Ltd,Europe/London,sam@ldn.example,gc@ldn.example\n`,
    );
    const local = '2027-05-03T08:00';
    const res = await run(
      'start',
      path.join(ROOT, 'examples', 'api-usage-audit.yaml'),
      '--for',
      csv,
      '--at',
      local,
      '--json',
    );
    assert.equal(res.code, 0, res.stderr);
    const rows = JSON.parse(res.stdout) as BulkResult[];
    assert.deepEqual(
      rows.map((r) => [r.demandId, r.status, r.startsAt]),
      [
        [`at-ny-${tag}`, 'started', '2027-05-03T12:00:00.000Z'],
        [`at-ldn-${tag}`, 'started', '2027-05-03T07:00:00.000Z'],
      ],
    );
    assert.equal((await history(`at-ny-${tag}`)).historyLength, 1);
  });
});
