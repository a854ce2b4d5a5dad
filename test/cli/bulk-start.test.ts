/**
 * `auditflow start <spec> --for contacts.csv` against the real dev server and worker: one demand per row,
 * a progress line per row, the per-row outcome (started, or refused with the reason), the request email
 * to each row's own contacts; an invalid row starts nothing.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { BulkResult } from '../../cli/bulk';
import type { DemandStatusView } from '../../domain/state';
import { anyHourExample } from '../helpers/cli';
import { cliHarness } from '../helpers/cli-harness';

describe('auditflow start --for (dev server, real worker, real SMTP)', () => {
  const cli = cliHarness();
  const { run } = cli;
  const csv = (name: string, text: string) => cli.write(name, text);
  const tag = Date.now().toString(36);
  const example = anyHourExample();

  it('starts one demand per row with its own contacts, shows progress, and refuses a row whose id is taken', async () => {
    const taken = `bulk-taken-${tag}`;
    const first = await run(
      'start',
      example,
      '--for',
      csv(
        'taken.csv',
        `id,organisation,primary_email,escalation_email\n${taken},Taken Corp,pat@taken.example,gc@taken.example\n`,
      ),
    );
    assert.equal(first.code, 0, first.stderr);

    const file = csv(
      'counterparties.csv',
      '\ufeffid,organisation,timezone,language,primary_name,primary_email,escalation_email,deadline\r\n' +
        `bulk-a-${tag},"Contoso Games, Ltd",Europe/London,,Sam Hale,sam@contoso.example,ada@contoso.example,2031-06-14T17:00\r\n` +
        `${taken},Taken Corp,,,,pat@taken.example,gc@taken.example,\r\n` +
        `bulk-b-${tag},Fabrikam GmbH,Europe/Berlin,fr,Jonas Weber,jonas@fabrikam.example,jonas@fabrikam.example,\r\n`,
    );
    const res = await run('start', example, '--for', file, '--by', 'Dana Reyes');
    assert.equal(res.code, 1, `one row was refused: ${res.stdout}${res.stderr}`);
    // Not a terminal: one progress line per finished row, the last one complete.
    const progress = res.stderr.trim().split('\n');
    assert.equal(progress.length, 3, res.stderr);
    assert.match(progress[2]!, /^\[#{24}\] 3\/3 {2}started 2 {2}refused 1 {2}line \d+ /);
    assert.match(res.stdout, new RegExp(`^2 +bulk-a-${tag} +Contoso Games, Ltd +started +audit:bulk-a-${tag}$`, 'm'));
    assert.match(res.stdout, new RegExp(`^3 +${taken} +Taken Corp +refused +demand "${taken}" already exists`, 'm'));
    assert.match(res.stdout, /^2 started, 1 refused; follow them with: npx auditflow list$/m);

    // Each started demand went to its own row's contacts, in its own zone, with its own deadline.
    const mail = await cli.h.sink.waitFor(
      (m) =>
        m.some((x) => x.envelope.to.includes('sam@contoso.example')) &&
        m.some((x) => x.envelope.to.includes('jonas@fabrikam.example')),
      'the requests of both rows',
    );
    const toSam = mail.find((m) => m.envelope.to.includes('sam@contoso.example'))!;
    assert.match(toSam.parsed.text ?? '', /Contoso Games, Ltd|Sam Hale/);
    assert.match(toSam.parsed.subject ?? '', /^Audit demand: /);
    // The row's language column: Fabrikam is written to in French.
    const toJonas = mail.find((m) => m.envelope.to.includes('jonas@fabrikam.example'))!;
    assert.match(toJonas.parsed.subject ?? '', /^Demande d'audit : /);
    assert.match(toJonas.parsed.text ?? '', /^Bonjour Jonas Weber,/);
    const a = JSON.parse((await run('show', `bulk-a-${tag}`, '--json')).stdout) as DemandStatusView;
    assert.equal(a.spec.counterparty.organisation, 'Contoso Games, Ltd');
    assert.equal(a.spec.counterparty.timezone, 'Europe/London');
    assert.deepEqual(a.spec.counterparty.domains, ['contoso.example']);
    assert.deepEqual(
      a.spec.counterparty.contacts.map((c) => [c.address, c.roles]),
      [
        ['sam@contoso.example', ['primary']],
        ['ada@contoso.example', ['escalation']],
      ],
    );
    assert.equal(a.items[0]!.dueAt, '2031-06-14T16:00:00.000Z');
    assert.equal(a.startedBy, 'Dana Reyes');
    const b = JSON.parse((await run('show', `bulk-b-${tag}`, '--json')).stdout) as DemandStatusView;
    assert.deepEqual(
      b.spec.counterparty.contacts.map((c) => [c.address, c.roles]),
      [['jonas@fabrikam.example', ['primary', 'escalation']]],
    );
  });

  it('--json gives one result per row with stable fields', async () => {
    const res = await run(
      'start',
      example,
      '--for',
      csv(
        'json.csv',
        `id,organisation,primary_email,escalation_email\nbulk-j-${tag},Json Corp,pat@json.example,gc@json.example\n`,
      ),
      '--json',
    );
    assert.equal(res.code, 0, res.stderr);
    const rows = JSON.parse(res.stdout) as BulkResult[];
    assert.equal(rows.length, 1);
    assert.deepEqual(Object.keys(rows[0]!).sort(), ['counterparty', 'demandId', 'line', 'status', 'url', 'workflowId']);
    assert.equal(rows[0]!.status, 'started');
    assert.match(rows[0]!.url ?? '', new RegExp(`/namespaces/default/workflows/audit%3Abulk-j-${tag}`));
  });

  it('starts nothing when a row is invalid, and names the line and the field of every problem (exit 2)', async () => {
    const file = csv(
      'bad.csv',
      `id,organisation,timezone,primary_email,escalation_email\nbulk-ok-${tag},Fine Ltd,Europe/Paris,ok@fine.example,gc@fine.example\nBad Id,Broken Ltd,Mars/Olympus,not-an-address,gc@broken.example\nbulk-ok-${tag},Twice Ltd,,x@twice.example,gc@twice.example\n`,
    );
    const res = await run('start', example, '--for', file);
    assert.equal(res.code, 2, res.stdout + res.stderr);
    assert.match(res.stderr, /bad\.csv: 2 of 3 rows are not valid demands, so none was started:/);
    assert.match(res.stderr, /line 3 \(Bad Id\): id: a demand id must be/);
    assert.match(res.stderr, /line 3 \(Bad Id\): counterparty\.timezone: must be an IANA time zone/);
    assert.match(res.stderr, /line 3 \(Bad Id\): counterparty\.contacts\[0\]\.address: must be a plain address/);
    assert.match(res.stderr, new RegExp(`line 4 \\(bulk-ok-${tag}\\): id: "bulk-ok-${tag}" is also the id on line 2`));
    const list = await run('list', '--json');
    assert.ok(!list.stdout.includes(`bulk-ok-${tag}`), 'the valid row did not start either');
  });

  it('refuses to start a demand whose deadline has passed, alone or in a CSV row (exit 2)', async () => {
    const past = path.join(cli.h.config.dataDir, 'past.yaml');
    fs.writeFileSync(
      past,
      fs
        .readFileSync(example, 'utf8')
        .replace(/^id: .*$/m, `id: past-${tag}`)
        .replace(/^deadline: .*$/m, 'deadline: "2020-06-05T17:00"'),
    );
    const alone = await run('start', past);
    assert.equal(alone.code, 2, alone.stdout);
    assert.match(
      alone.stderr,
      /cannot start now:\n {2}deadline: atlas would be due Fri 5 Jun 2020, 17:00 PDT \(2020-06-06 00:00Z\), which has already passed; give a future deadline/,
    );
    const rows = await run(
      'start',
      example,
      '--for',
      csv('past.csv', `id,organisation,deadline\npast-row-${tag},Late Ltd,2020-06-05T17:00\n`),
    );
    assert.equal(rows.code, 2);
    assert.match(
      rows.stderr,
      new RegExp(`line 2 \\(past-row-${tag}\\): deadline: atlas would be due .* which has already passed`),
    );
    const list = await run('list', '--json');
    assert.ok(!list.stdout.includes(`past-${tag}`) && !list.stdout.includes(`past-row-${tag}`), 'neither started');
  });

  it('refuses a file with unknown or missing columns before reading any row (exit 2)', async () => {
    const unknown = await run('start', example, '--for', csv('unknown.csv', 'id,organisation,primary_emial\nx,y,z\n'));
    assert.equal(unknown.code, 2, unknown.stderr);
    assert.match(
      unknown.stderr,
      /unknown column "primary_emial"; the columns are id, organisation, timezone, language, domains, deadline, title and <role>_email/,
    );
    const missing = await run('start', example, '--for', csv('missing.csv', 'id,primary_email\nx,a@b.example\n'));
    assert.equal(missing.code, 2, missing.stderr);
    assert.match(missing.stderr, /the column "organisation" is required/);
    const ragged = await run('start', example, '--for', csv('ragged.csv', 'id,organisation\nx,y,z\n'));
    assert.equal(ragged.code, 2, ragged.stderr);
    assert.match(ragged.stderr, /is not valid CSV: .*line 2/i);
    const none = await run('start', example, '--for', '/nonexistent.csv');
    assert.equal(none.code, 2, none.stderr);
    assert.match(none.stderr, /no such file: \/nonexistent\.csv/);
  });
});
