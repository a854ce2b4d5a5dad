/**
 * The rules behind the metrics' labels and settings: every triage reason the intake pipeline can give
 * falls in a named category (none in `other`), and the endpoint addresses are read or refused clearly.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { TRIAGE_CATEGORIES, triageCategory } from '../../gateway/metrics';
import { ConfigError, loadConfig } from '../../platform/config';
import { PROJECT_ROOT } from '../../platform/paths';

/** The reasons as gateway/intake.ts words them: each `keep(` / `triage(` text, placeholders filled in. */
function intakeReasons(): string[] {
  const source = fs.readFileSync(path.join(PROJECT_ROOT, 'gateway', 'intake.ts'), 'utf8');
  // A reason is a literal, or either branch of `cond ? literal : literal`.
  const literal = "(`[^`]*`|'[^']*')";
  const call = new RegExp(`(?:keep|triage)\\(\\s*(?:[\\w.' =]+\\?\\s*)?${literal}(?:\\s*:\\s*${literal})?`, 'g');
  const literals = [...source.matchAll(call)].flatMap((m) => [m[1]!, ...(m[2] ? [m[2]] : [])]);
  return literals.map((l) =>
    l
      .slice(1, -1)
      .replace(/\$\{[^}]*\}/g, 'x')
      .replace(/ \(x\)$/, ''),
  );
}

describe('triage reason categories', () => {
  it('puts every reason the intake pipeline gives in a named category', () => {
    const reasons = intakeReasons();
    assert.ok(reasons.length >= 14, `found only ${reasons.length} reasons: the scan no longer reads intake.ts`);
    for (const r of reasons) assert.notEqual(triageCategory(r), 'other', `"${r}" has no category`);
    const used = new Set(reasons.map(triageCategory));
    assert.deepEqual(
      TRIAGE_CATEGORIES.map(([c]) => c).filter((c) => !used.has(c)),
      [],
      'every category matches some reason',
    );
  });

  it('reads real reasons, and anything new as other', () => {
    assert.equal(
      triageCategory('unauthenticated: dmarc fail (spf=fail, dkim=none, dmarc=fail, arc=none)'),
      'unauthenticated',
    );
    assert.equal(triageCategory('demand d-1 has ended (completed)'), 'demand-ended');
    assert.equal(triageCategory('sender eve@x.example is not a listed contact of demand d-1'), 'unknown-sender');
    assert.equal(triageCategory('something nobody wrote yet'), 'other');
  });
});

describe('metrics endpoint settings', () => {
  it('defaults to 127.0.0.1:9464 (worker) and :9465 (gateway), and reads host:port, :port and off', () => {
    assert.deepEqual(loadConfig({}).metrics, {
      worker: { host: '127.0.0.1', port: 9464 },
      gateway: { host: '127.0.0.1', port: 9465 },
      pollSeconds: 30,
    });
    const c = loadConfig({ AUDITFLOW_WORKER_METRICS: '0.0.0.0:9100', AUDITFLOW_GATEWAY_METRICS: 'off' });
    assert.deepEqual(c.metrics.worker, { host: '0.0.0.0', port: 9100 });
    assert.equal(c.metrics.gateway, undefined);
    assert.deepEqual(loadConfig({ AUDITFLOW_GATEWAY_METRICS: ':9200' }).metrics.gateway, {
      host: '127.0.0.1',
      port: 9200,
    });
  });

  it('refuses an address without a port, naming the variable', () => {
    assert.throws(
      () => loadConfig({ AUDITFLOW_WORKER_METRICS: 'localhost' }),
      (err: Error) => err instanceof ConfigError && /AUDITFLOW_WORKER_METRICS.*must be host:port/.test(err.message),
    );
  });
});
