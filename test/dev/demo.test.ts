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
import { auditflow } from '../helpers/cli';

describe('auditflow demo', () => {
  it('runs the compressed example end to end through the real gateway and exits 0', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'auditflow-demo-'));
    const env = {
      AUDITFLOW_DATA_DIR: dataDir,
      AUDITFLOW_TEMPORAL_PORT: String(await freePort()),
      AUDITFLOW_UI_PORT: String(await freePort()),
      AUDITFLOW_SMTP_PORT: String(await freePort()),
      AUDITFLOW_CODEC_PORT: String(await freePort()),
      AUDITFLOW_GATEWAY_PORT: String(await freePort()),
      TEMPORAL_ADDRESS: undefined,
      SMTP_URL: undefined,
      AUDITFLOW_SECRET: undefined,
    };
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
    const order = [
      /sent request to priya\.shah@northwind\.example\.com/,
      /received out-of-office from priya\.shah/,
      /ops: approving ext-1 \(fjord\)/,
      /sent reminder to priya\.shah/,
      /received answer from priya\.shah@northwind\.example\.com \(drift\)/,
      /sent escalation to tom\.becker/,
      /refer \(harbor\)/,
      /demand: referred/,
    ];
    let at = 0;
    for (const re of order) {
      const i = progress.slice(at).search(re);
      assert.ok(i >= 0, `${re} after position ${at} in:\n${progress}`);
      at += i;
    }

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
});
