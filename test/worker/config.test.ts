import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../platform/config';
import { runNode, ROOT } from '../helpers/cli';

describe('worker settings from the environment', () => {
  it('fills defaults: data folder, task queue audit-demands, the local catcher', () => {
    const c = loadConfig({});
    assert.equal(c.taskQueue, 'audit-demands');
    assert.equal(c.smtpUrl, 'smtp://127.0.0.1:1025');
    assert.equal(c.smtpExplicit, false);
    assert.equal(c.dataDir, path.join(ROOT, '.data'));
    assert.equal(c.outboxDir, path.join(ROOT, '.data', 'mail', 'outbox'));
  });

  it('turns traces on with OTEL_EXPORTER_OTLP_ENDPOINT only, and names a bad endpoint or service name', () => {
    assert.equal(loadConfig({}).tracing, undefined);
    assert.deepEqual(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318/' }).tracing, {
      endpoint: 'http://127.0.0.1:4318',
    });
    const named = loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otel.example', OTEL_SERVICE_NAME: 'audit-eu' });
    assert.deepEqual(named.tracing, { endpoint: 'https://otel.example', serviceName: 'audit-eu' });
    assert.throws(
      () => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: '127.0.0.1:4318', OTEL_SERVICE_NAME: 'a b' }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, /OTEL_EXPORTER_OTLP_ENDPOINT="127.0.0.1:4318": must be the OTLP\/HTTP base URL/);
        assert.match(err.message, /OTEL_SERVICE_NAME="a b": must be a service name/);
        return true;
      },
    );
  });

  it('lists every bad variable by name, with what is expected', () => {
    assert.throws(
      () =>
        loadConfig({
          SMTP_URL: 'http://mail',
          AUDITFLOW_UI_PORT: '70000',
          AUDITFLOW_SECRET: 'short',
          AUDITFLOW_REPLY_DOMAIN: 'not a domain',
        }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.problems.length, 4);
        assert.match(err.message, /SMTP_URL="http:\/\/mail": must be a URL like smtp:\/\//);
        assert.match(err.message, /AUDITFLOW_UI_PORT="70000": must be between 1 and 65535/);
        assert.match(err.message, /AUDITFLOW_SECRET="short": must be at least 32 characters/);
        assert.match(err.message, /AUDITFLOW_REPLY_DOMAIN="not a domain": must be a domain name/);
        return true;
      },
    );
  });

  it('takes the gateway acceptance mode and spool grace, and names bad values', () => {
    const d = loadConfig({});
    assert.equal(d.gateway.accept, 'recorded');
    assert.equal(d.gateway.spoolGraceMs, 60_000);
    const spooled = loadConfig({ AUDITFLOW_GATEWAY_ACCEPT: 'spooled', AUDITFLOW_GATEWAY_SPOOL_GRACE_SECONDS: '5' });
    assert.equal(spooled.gateway.accept, 'spooled');
    assert.equal(spooled.gateway.spoolGraceMs, 5000);
    assert.throws(
      () => loadConfig({ AUDITFLOW_GATEWAY_ACCEPT: 'queued', AUDITFLOW_GATEWAY_SPOOL_GRACE_SECONDS: '0' }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, /AUDITFLOW_GATEWAY_ACCEPT="queued": must be recorded or spooled/);
        assert.match(err.message, /AUDITFLOW_GATEWAY_SPOOL_GRACE_SECONDS="0": must be at least 1/);
        return true;
      },
    );
  });

  it('stops the worker process with status 2 and the variable named', async () => {
    const r = await runNode(['--import', 'tsx', path.join(ROOT, 'worker', 'main.ts')], { AUDITFLOW_LOG_LEVEL: 'LOUD' });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /AUDITFLOW_LOG_LEVEL="LOUD": must be one of TRACE, DEBUG, INFO, WARN, ERROR/);
  });
});
