/**
 * The compiled build (npm run build, dist/): the CLI it makes answers as the sources do, a build older
 * than the sources is refused with what to do, and the compiled worker runs a demand from the pre-built
 * workflow bundle. The other tests run everything from the sources through tsx.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startSmtpSink, type ReceivedMail, type SmtpSink } from '../../dev/support/smtp-sink';
import { allDaySpec } from '../../dev/support/specs';
import { devServerAddress, TEST_ENCRYPTION_KEYS, uniqueName } from '../../dev/support/temporal';
import { stopChild } from '../../platform/process';
import { eventually } from '../../platform/wait';
import { auditflow, runNode, ROOT, type RunResult } from '../helpers/cli';

// bin/build-check.js is plain JavaScript (it runs before anything is compiled): required, not imported.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { staleReason } = require('../../bin/build-check.js') as { staleReason: (root: string) => string | undefined };

const EXAMPLE = path.join(ROOT, 'examples', 'api-usage-audit.yaml');
/** The compiled CLI: bin/auditflow.js without AUDITFLOW_FROM_SOURCE. */
const compiled = (...args: string[]) => auditflow(args, { AUDITFLOW_FROM_SOURCE: undefined });
const fromSource = (...args: string[]) => auditflow(args, {});

/** Runs the compiled CLI and lists the packages it loaded from node_modules (`@temporalio/client`, `yaml`, ...). */
async function compiledPackages(
  args: string[],
  env: Record<string, string | undefined>,
): Promise<RunResult & { packages: string[] }> {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'auditflow-loaded-')), 'packages.json');
  const bin = path.join(ROOT, 'bin', 'auditflow.js');
  const script =
    `process.argv = [process.argv[0], ${JSON.stringify(bin)}, ...${JSON.stringify(args)}];` +
    `process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(out)}, JSON.stringify(Object.keys(require.cache))));` +
    `require(${JSON.stringify(bin)});`;
  const r = await runNode(['-e', script], { ...env, AUDITFLOW_FROM_SOURCE: undefined });
  const files = JSON.parse(fs.readFileSync(out, 'utf8')) as string[];
  const packages = new Set(
    files.map((f) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(f)?.[1]).filter((p) => p !== undefined),
  );
  return { ...r, packages: [...packages].sort() };
}

/** A project folder with only bin/ and a build stamp listing one source file built `ageMs` before it was saved. */
function fakeProject(ageMs: number): { root: string; source: string } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'auditflow-build-'));
  fs.mkdirSync(path.join(root, 'bin'));
  fs.mkdirSync(path.join(root, 'dist'));
  fs.mkdirSync(path.join(root, 'cli'));
  for (const f of ['auditflow.js', 'build-check.js'])
    fs.copyFileSync(path.join(ROOT, 'bin', f), path.join(root, 'bin', f));
  const source = path.join(root, 'cli', 'index.ts');
  fs.writeFileSync(source, '');
  const saved = Date.now();
  fs.utimesSync(source, saved / 1000, saved / 1000);
  const stamp = { startedAtMs: saved - ageMs, inputs: ['cli/index.ts'] };
  fs.writeFileSync(path.join(root, 'dist', 'build-stamp.json'), JSON.stringify(stamp));
  return { root, source };
}

describe('the compiled build', () => {
  before(() => {
    // The build under test is the one of these sources: made now unless it is already theirs.
    const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'build-check.js'), '--rebuild'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(staleReason(ROOT), undefined);
  });

  it('validate and --help print what the sources print', async () => {
    const cases = [['validate', EXAMPLE, '--json'], ['validate', EXAMPLE], ['--help'], ['show', '--help'], ['nope']];
    for (const args of cases) {
      const [built, source] = await Promise.all([compiled(...args), fromSource(...args)]);
      assert.equal(built.code, source.code, args.join(' '));
      assert.equal(built.stdout, source.stdout, args.join(' '));
      assert.equal(built.stderr, source.stderr, args.join(' '));
    }
    const v = JSON.parse((await compiled('validate', EXAMPLE, '--json')).stdout) as { ok: boolean; id: string };
    assert.deepEqual([v.ok, v.id], [true, 'northwind-api-audit-2027']);
  });

  it('a build older than a source it was made from is refused, naming the file and npm run build', async () => {
    const { root, source } = fakeProject(60_000);
    assert.equal(staleReason(root), 'cli/index.ts changed since the build');
    const r = await runNode([path.join(root, 'bin', 'auditflow.js'), 'validate', EXAMPLE], {
      AUDITFLOW_FROM_SOURCE: undefined,
    });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(
      r.stderr,
      /the compiled build is out of date \(cli\/index\.ts changed since the build\); run: npm run build/,
    );
    fs.utimesSync(source, (Date.now() - 120_000) / 1000, (Date.now() - 120_000) / 1000);
    assert.equal(staleReason(root), undefined);
    fs.rmSync(source);
    assert.equal(staleReason(root), 'cli/index.ts is gone since the build');
    fs.rmSync(path.join(root, 'dist', 'build-stamp.json'));
    assert.equal(staleReason(root), 'there is no build in dist/');
  });
});

describe('the compiled worker', () => {
  let sink: SmtpSink;
  let env: Record<string, string | undefined>;
  let worker: ReturnType<typeof spawn> | undefined;
  let log = '';

  before(async () => {
    sink = await startSmtpSink();
    env = {
      TEMPORAL_ADDRESS: await devServerAddress(),
      AUDITFLOW_TASK_QUEUE: uniqueName('compiled'),
      AUDITFLOW_DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'auditflow-compiled-')),
      SMTP_URL: sink.url,
      AUDITFLOW_SECRET: 'compiled-worker-test-secret-0123456789abcdef',
      AUDITFLOW_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS,
      // The test run's own bundle would be used instead of the pre-built one.
      AUDITFLOW_WORKFLOW_BUNDLE: undefined,
    };
  });
  after(async () => {
    if (worker) await stopChild(worker, 8000);
    await sink.close();
  });

  it(
    'loads dist/workflow-bundle.js and runs a demand: the request goes out, rendered from the templates; ' +
      'show and list read it without the Temporal client',
    async () => {
      const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'worker.js')], {
        cwd: ROOT,
        env: { ...process.env, ...env, AUDITFLOW_WORKFLOW_BUNDLE: undefined },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      worker = child;
      child.stdout.on('data', (d) => (log += d));
      child.stderr.on('data', (d) => (log += d));
      await eventually(
        () => log.includes('worker ready'),
        () => `the compiled worker to start:\n${log}`,
        {
          timeoutMs: 60_000,
          giveUp: () =>
            child.exitCode !== null ? `the compiled worker exited (${child.exitCode}):\n${log}` : undefined,
        },
      );
      assert.match(log, /workflows from dist\/workflow-bundle\.js/);
      const id = uniqueName('compiled');
      const now = Date.now();
      const spec = allDaySpec(id, now, { deadline: new Date(now + 86_400_000).toISOString().replace(/\.\d+Z$/, 'Z') });
      const file = path.join(env.AUDITFLOW_DATA_DIR!, 'spec.json');
      fs.writeFileSync(file, JSON.stringify(spec));
      const started = await auditflow(['start', file], env);
      assert.equal(started.code, 0, started.stderr);
      const isRequest = (x: ReceivedMail) =>
        x.header('x-auditflow-demand') === id && x.header('x-auditflow-kind') === 'request';
      const request = (await sink.waitFor((m) => m.some(isRequest), 'the request from the compiled worker')).find(
        isRequest,
      )!;
      // Rendered from the shipped templates, which the compiled worker reads from activities/templates.
      assert.match(request.parsed.subject ?? '', /\S/);
      assert.ok((request.parsed.text ?? '').includes(spec.items[0]!.name), request.parsed.text);
      // What a command loads is most of its time: show and list read without the Temporal client (and its
      // 1.4 MB API descriptor) and without the mail libraries; validate and plan connect to no Temporal at all.
      const temporalClient = /^@temporalio\/(client|proto|worker)$/;
      const mail = /^(nodemailer|mailparser|smtp-server|imapflow|mailauth)$/;
      const cases: [string[], RegExp[]][] = [
        [
          ['show', id],
          [temporalClient, mail],
        ],
        [['list'], [temporalClient, mail]],
        // With the shipped templates, validate uses the build's check of them: no Handlebars either.
        [
          ['validate', EXAMPLE],
          [temporalClient, /^@grpc\//, /^handlebars$/],
        ],
        [
          ['plan', EXAMPLE],
          [temporalClient, /^@grpc\//],
        ],
      ];
      for (const [args, unwanted] of cases) {
        const r = await compiledPackages(args, env);
        assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
        assert.deepEqual(
          r.packages.filter((p) => unwanted.some((u) => u.test(p))),
          [],
          args.join(' '),
        );
        if (args[0] === 'show') assert.match(r.stdout, new RegExp(`demand ${id}  status`));
        if (args[0] === 'list') assert.match(r.stdout, new RegExp(id));
      }
      const withdrawn = await auditflow(['withdraw', id, '--reason', 'test over'], env);
      assert.equal(withdrawn.code, 0, withdrawn.stderr);
    },
  );
});
