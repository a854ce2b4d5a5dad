/**
 * `auditflow demo` from nothing: it starts the stack itself (dev server, worker, gateway, mail catcher,
 * on free ports and a fresh data folder), plays the whole scenario through the real SMTP gateway, ends
 * with the demand referred and every other item accepted, writes the report and the case file, and stops
 * every process it started.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { freePort } from '../../platform/net';
import type { DemoResult } from '../../cli/demo/run';
import { simpleParser } from 'mailparser';
import { auditflow } from '../helpers/cli';

/** A fresh data folder and free ports: the demo starts a stack of its own. */
async function demoEnv() {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'auditflow-demo-'));
  return {
    dataDir,
    env: {
      AUDITFLOW_DATA_DIR: dataDir,
      AUDITFLOW_TEMPORAL_PORT: String(await freePort()),
      AUDITFLOW_UI_PORT: String(await freePort()),
      AUDITFLOW_SMTP_PORT: String(await freePort()),
      AUDITFLOW_CODEC_PORT: String(await freePort()),
      AUDITFLOW_GATEWAY_PORT: String(await freePort()),
      TEMPORAL_ADDRESS: undefined,
      SMTP_URL: undefined,
      AUDITFLOW_SECRET: undefined,
    },
  };
}

/** Asserts each pattern appears in `text` after the previous one. */
function inOrder(text: string, order: RegExp[]): void {
  let at = 0;
  for (const re of order) {
    const i = text.slice(at).search(re);
    assert.ok(i >= 0, `${re} after position ${at} in:\n${text}`);
    at += i;
  }
}

describe('auditflow demo', () => {
  it('runs the compressed example end to end through the real gateway and exits 0', async () => {
    const { dataDir, env } = await demoEnv();
    const res = await auditflow(['demo', '--deadline-in', '30', '--json'], env, 420_000);
    const progress = res.stderr;
    assert.equal(res.code, 0, `${res.stdout}\n${progress}`);
    const result = JSON.parse(res.stdout) as DemoResult;
    assert.equal(result.ok, true);
    assert.equal(result.status, 'referred');
    assert.deepEqual(
      result.checks.filter((c) => !c.ok),
      [],
    );

    // What a user watching the terminal saw, in order.
    assert.match(progress, /no auditflow stack is running: starting one/);
    assert.match(
      progress,
      new RegExp(
        `watch it in the Temporal UI: http://localhost:${env.AUDITFLOW_UI_PORT}/namespaces/default/workflows/audit%3Ademo-`,
      ),
    );
    inOrder(progress, [
      /sent request to priya\.shah@northwind\.example\.com/,
      /received out-of-office from priya\.shah/,
      /ops: approving ext-1 \(fjord\)/,
      /sent reminder to priya\.shah/,
      /received answer from priya\.shah@northwind\.example\.com \(drift\)/,
      /sent escalation to tom\.becker/,
      /refer \(harbor\)/,
      /demand: referred/,
    ]);

    // The report and the case file are where the demo said.
    assert.ok(result.reportPath && fs.existsSync(result.reportPath), result.reportPath);
    assert.match(fs.readFileSync(result.reportPath, 'utf8'), /harbor/);
    assert.ok(result.caseFile && fs.existsSync(result.caseFile), result.caseFile);

    // The mail the stack's catcher stored: the requests, reminder, ladder and notices, as .eml files.
    const outbox = fs.readdirSync(path.join(dataDir, 'mail', 'outbox')).filter((f) => f.endsWith('.eml'));
    assert.ok(outbox.length >= 10, `${outbox.length} messages in the outbox`);

    // Nothing it started is left running.
    const left = spawnSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
      .stdout.split('\n')
      .filter((l) => l.includes(env.AUDITFLOW_TEMPORAL_PORT) && !l.includes('ps -eo'));
    assert.deepEqual(left, []);
  });

  it('plays the French example with --lang fr: mail in French, French replies read as what they are', async () => {
    const { dataDir, env } = await demoEnv();
    const res = await auditflow(['demo', '--lang', 'fr', '--deadline-in', '30', '--json'], env, 420_000);
    const progress = res.stderr;
    assert.equal(res.code, 0, `${res.stdout}\n${progress}`);
    const result = JSON.parse(res.stdout) as DemoResult;
    assert.deepEqual(
      result.checks.filter((c) => !c.ok),
      [],
    );
    assert.equal(result.status, 'referred');
    // Nordvent's "Réponse automatique" and "Pourriez-vous nous accorder deux semaines de plus ?" were read
    // as an out-of-office and a request for more time, not as answers.
    inOrder(progress, [
      /sent request to camille\.martin@nordvent\.example\.com/,
      /received out-of-office from camille\.martin/,
      /received extension-request from camille\.martin@nordvent\.example\.com \(fjord\)/,
      /ops: approving ext-1 \(fjord\)/,
      /demand: referred/,
    ]);
    // What Nordvent received was written in French, on the Paris clock.
    const outbox = path.join(dataDir, 'mail', 'outbox');
    const mails = await Promise.all(
      fs
        .readdirSync(outbox)
        .filter((f) => f.endsWith('.eml'))
        .map(async (f) => simpleParser(fs.readFileSync(path.join(outbox, f)))),
    );
    const request = mails.find((m) => m.subject?.startsWith("Demande d'audit : [demo] Audit de conformité"));
    assert.ok(request, `no French request among: ${mails.map((m) => m.subject).join(' | ')}`);
    assert.match(request.text ?? '', /^Bonjour (Camille Martin|Sophie Bernard),/);
    assert.match(request.text ?? '', /échéance : \S+ \d+(er)? \S+ 20\d\d à \d\d:\d\d UTC[+−-]?\d* \(20/);
    assert.ok(
      mails.some((m) => m.subject?.startsWith('Reçu : ')),
      'acknowledgements in French',
    );
  });
});
