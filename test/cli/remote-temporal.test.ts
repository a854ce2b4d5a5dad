/**
 * The CLI against a Temporal that wants TLS, a client certificate or an API key, as a cluster or Temporal
 * Cloud does: the dev server behind a TLS front (dev/support/tls-front.ts). `show` and `list` read through
 * their own connection (platform/temporal-read.ts), the other commands through the Temporal client; both
 * must carry the TEMPORAL_TLS_* and TEMPORAL_API_KEY settings, and a refused connection must say so.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { NativeConnection } from '@temporalio/worker';
import { allDaySpec } from '../../dev/support/specs';
import { startSmtpSink, type SmtpSink } from '../../dev/support/smtp-sink';
import { devServerAddress, TEST_ENCRYPTION_KEYS, uniqueName, workflowBundlePath } from '../../dev/support/temporal';
import {
  makeTestCertificates,
  resolveOpenssl,
  startTlsFront,
  type TestCertificates,
  type TlsFront,
} from '../../dev/support/tls-front';
import { loadConfig } from '../../platform/config';
import { createAuditWorker } from '../../worker/main';
import { auditflow } from '../helpers/cli';

const openssl = resolveOpenssl();

describe(
  'the CLI against a Temporal behind TLS, a client certificate or an API key',
  {
    skip: openssl.ok ? false : `the test certificates need openssl: ${openssl.reason}`,
  },
  () => {
    let sink: SmtpSink;
    let env: Record<string, string>;
    let certs: TestCertificates;
    let files: Record<'ca' | 'cert' | 'key', string>;
    let mtls: TlsFront;
    let keyed: TlsFront;
    let stopWorker: () => Promise<void>;
    const id = uniqueName('remote');

    before(async () => {
      sink = await startSmtpSink();
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'auditflow-remote-'));
      env = {
        TEMPORAL_ADDRESS: await devServerAddress(),
        TEMPORAL_NAMESPACE: 'default',
        AUDITFLOW_TASK_QUEUE: uniqueName('remote'),
        SMTP_URL: sink.url,
        AUDITFLOW_DATA_DIR: dataDir,
        AUDITFLOW_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS,
      };
      assert.ok(openssl.ok);
      certs = makeTestCertificates(openssl.path);
      files = {
        ca: path.join(dataDir, 'ca.pem'),
        cert: path.join(dataDir, 'client.pem'),
        key: path.join(dataDir, 'client.key'),
      };
      fs.writeFileSync(files.ca, certs.caCert);
      fs.writeFileSync(files.cert, certs.clientCert);
      fs.writeFileSync(files.key, certs.clientKey);
      mtls = await startTlsFront({ upstream: env.TEMPORAL_ADDRESS!, certificates: certs, clientCa: certs.caCert });
      keyed = await startTlsFront({ upstream: env.TEMPORAL_ADDRESS!, certificates: certs, apiKey: 'test-api-key' });
      const connection = await NativeConnection.connect({ address: env.TEMPORAL_ADDRESS });
      const { worker, close } = await createAuditWorker(loadConfig(env), connection, 'default', {
        workflowBundlePath: await workflowBundlePath(),
      });
      const running = worker.run();
      stopWorker = async () => {
        worker.shutdown();
        await running;
        await close();
        await connection.close();
      };
      const now = Date.now();
      const spec = path.join(dataDir, 'spec.json');
      fs.writeFileSync(
        spec,
        JSON.stringify(
          allDaySpec(id, now, { deadline: new Date(now + 86_400_000).toISOString().replace(/\.\d+Z$/, 'Z') }),
        ),
      );
      const started = await auditflow(['start', spec], env);
      assert.equal(started.code, 0, started.stderr);
    });

    after(async () => {
      await stopWorker?.();
      await mtls?.close();
      await keyed?.close();
      await sink?.close();
    });

    /** The settings of a TLS connection to a front: its CA, the name in its certificate, and extras. */
    const through = (front: TlsFront, extra: Record<string, string>) => ({
      ...env,
      TEMPORAL_ADDRESS: front.address,
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: files.ca,
      TEMPORAL_TLS_SERVER_NAME: certs.serverName,
      ...extra,
    });

    it('with a client certificate: show and list read the demand, pause changes it, show sees the change', async () => {
      const settings = through(mtls, {
        TEMPORAL_TLS_CLIENT_CERT_PATH: files.cert,
        TEMPORAL_TLS_CLIENT_KEY_PATH: files.key,
      });
      const shown = await auditflow(['show', id], settings);
      assert.equal(shown.code, 0, shown.stderr);
      assert.match(shown.stdout, new RegExp(`demand ${id}  status (active|due)`));
      const listed = await auditflow(['list', '--json'], settings);
      assert.equal(listed.code, 0, listed.stderr);
      assert.ok(
        (JSON.parse(listed.stdout) as { demandId: string }[]).some((d) => d.demandId === id),
        listed.stdout,
      );
      const paused = await auditflow(['pause', id, '--reason', 'waiting for counsel', '--by', 'ops'], settings);
      assert.equal(paused.code, 0, paused.stderr);
      const after = await auditflow(['show', id], settings);
      assert.match(after.stdout, /clock stopped since .* by ops: waiting for counsel/);
      const resumed = await auditflow(['resume', id, '--reason', 'counsel answered', '--by', 'ops'], settings);
      assert.equal(resumed.code, 0, resumed.stderr);
    });

    it('without the client certificate the server refuses, and the CLI says where it could not connect', async () => {
      for (const command of [['show', id], ['list'], ['pause', id, '--reason', 'x']]) {
        const r = await auditflow(command, through(mtls, {}));
        assert.equal(r.code, 1, `${command[0]}: ${r.stderr}`);
        assert.match(
          r.stderr,
          new RegExp(`cannot reach Temporal at ${mtls.address.replace(/\./g, '\\.')} namespace default \\(TLS\\)`),
        );
        assert.match(r.stderr, /TEMPORAL_ADDRESS/);
        assert.doesNotMatch(r.stderr, /Resolution note:\s*$/m, 'no empty note left by grpc-js');
      }
    });

    it('with an API key: every call carries it, the read ones as the others; a wrong key is refused', async () => {
      const settings = through(keyed, { TEMPORAL_API_KEY: 'test-api-key' });
      const shown = await auditflow(['show', id, '--json'], settings);
      assert.equal(shown.code, 0, shown.stderr);
      assert.equal((JSON.parse(shown.stdout) as { demandId: string }).demandId, id);
      const listed = await auditflow(['list'], settings);
      assert.equal(listed.code, 0, listed.stderr);
      assert.match(listed.stdout, new RegExp(id));
      const paused = await auditflow(['pause', id, '--reason', 'key test', '--by', 'ops'], settings);
      assert.equal(paused.code, 0, paused.stderr);
      await auditflow(['resume', id, '--reason', 'key test over', '--by', 'ops'], settings);
      const methods = new Set(keyed.seen.map((c) => c.method));
      for (const method of [
        'DescribeNamespace',
        'DescribeWorkflowExecution',
        'QueryWorkflow',
        'ListWorkflowExecutions',
        'UpdateWorkflowExecution',
      ])
        assert.ok(methods.has(method), `${method} in ${[...methods].join(', ')}`);
      assert.deepEqual(
        keyed.seen.filter((c) => c.authorization !== 'Bearer test-api-key'),
        [],
      );
      const refused = await auditflow(['show', id], through(keyed, { TEMPORAL_API_KEY: 'wrong' }));
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /cannot reach Temporal at .* \(TLS, API key\): 16 UNAUTHENTICATED: API key refused/);
    });
  },
);
