/**
 * `npm test` (after typecheck and lint): finds or installs the Temporal binaries and the S3 server
 * (versitygw, built once per machine), starts one real dev server for the run (random free ports,
 * in-memory), builds the workflow bundle once, runs every test file with node:test, stops the server,
 * and ends with a plain `N passed, N failed` line.
 *
 * Usage: node --import tsx dev/run-tests.ts [test files or folders...]
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../platform/paths';
import { parseEncryptionKeys } from '../platform/codec';
import { startCodecServer } from '../platform/codec-server';
import { freePort } from '../platform/net';
import { TEST_ENCRYPTION_KEYS } from './support/temporal';
import { bundleWorkflows } from '../worker/main';
import { startDevServer } from './dev-server';
import { componentLogger } from './log-stream';
import { describeResolved, resolveTemporalBinary, TemporalBinaryNotFoundError } from './temporal-binaries';
import { describeVersitygw, goAvailable, resolveVersitygw, VERSITYGW, VersitygwNotFoundError } from './versitygw';

const ROOT = PROJECT_ROOT;
const ARTIFACTS = path.join(ROOT, '.test-artifacts');
const say = componentLogger('test');

function findTests(targets: string[]): string[] {
  const out: string[] = [];
  const walk = (p: string) => {
    const st = fs.statSync(p);
    if (st.isDirectory()) for (const e of fs.readdirSync(p).sort()) walk(path.join(p, e));
    else if (/\.test\.ts$/.test(p)) out.push(p);
  };
  for (const t of targets.length ? targets : [path.join(ROOT, 'test')]) walk(path.resolve(t));
  return out;
}

function tapCounts(file: string): { pass: number; fail: number; skip: number } {
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const n = (k: string) => Number(new RegExp(`^# ${k} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
  return { pass: n('pass'), fail: n('fail') + n('cancelled'), skip: n('skipped') + n('todo') };
}

/**
 * The S3 server for the storage tests, built once per machine when Go is there (in CI too: the cache is
 * outside the clone). On a machine without Go the S3 tests are skipped, saying how to install it; an
 * AUDITFLOW_VERSITYGW that does not work, or a build that failed, stops the run with the reason.
 */
async function findVersitygw(): Promise<string | undefined> {
  try {
    const found = await resolveVersitygw({ log: say });
    say(`using ${describeVersitygw(found)}`);
    return found.path;
  } catch (err) {
    if (!(err instanceof VersitygwNotFoundError)) throw err;
    // An explicit path that does not work, or a build that failed, is an error; only a machine without Go skips.
    if (process.env[VERSITYGW.envVar] || goAvailable()) throw err;
    say('versitygw (S3 server) is not available, so the S3 tests will be skipped:');
    for (const line of err.message.split('\n')) say(`  ${line}`);
    return undefined;
  }
}

async function main(): Promise<number> {
  const files = findTests(process.argv.slice(2));
  if (files.length === 0) {
    say('no test files found');
    return 1;
  }
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  let cli;
  let testServer;
  try {
    cli = await resolveTemporalBinary('cli', { log: say });
    testServer = await resolveTemporalBinary('testServer', { log: say });
  } catch (err) {
    if (err instanceof TemporalBinaryNotFoundError) {
      process.stderr.write(`${err.message}\n`);
      return 1;
    }
    throw err;
  }
  say(`using ${describeResolved(cli)}`);
  say(`using ${describeResolved(testServer)}`);
  let versitygw: string | undefined;
  try {
    versitygw = await findVersitygw();
  } catch (err) {
    if (!(err instanceof VersitygwNotFoundError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return 1;
  }

  const bundlePath = path.join(ARTIFACTS, 'workflow-bundle.js');
  const { code } = await bundleWorkflows();
  fs.writeFileSync(bundlePath, code);

  // The run's Web UI decodes the tests' encrypted payloads through a codec server, as `npm start`'s does.
  const uiPort = await freePort();
  const codecServer = await startCodecServer({
    keys: parseEncryptionKeys(TEST_ENCRYPTION_KEYS),
    host: '127.0.0.1',
    port: 0,
    origins: [`http://localhost:${uiPort}`, `http://127.0.0.1:${uiPort}`],
  });
  const server = await startDevServer({
    binary: cli,
    dbFile: undefined,
    uiPort,
    uiCodecEndpoint: codecServer.url,
    log: say,
    onLine: () => {},
  });
  say(
    `Temporal dev server for this run: ${server.address} (UI ${server.uiUrl}, codec server ${codecServer.url}), in-memory`,
  );
  const tap = path.join(ARTIFACTS, 'results.tap');
  const concurrency = Number(
    process.env.AUDITFLOW_TEST_CONCURRENCY ?? Math.max(1, Math.min(2, os.availableParallelism())),
  );
  const args = [
    '--import',
    'tsx',
    '--test',
    `--test-concurrency=${concurrency}`,
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=tap',
    `--test-reporter-destination=${tap}`,
    ...files,
  ];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: {
      ...process.env,
      AUDITFLOW_TEST_TEMPORAL_ADDRESS: server.address,
      AUDITFLOW_TEST_UI_URL: server.uiUrl,
      AUDITFLOW_TEST_CODEC_URL: codecServer.url,
      TEMPORAL_CLI_PATH: cli.path,
      TEMPORAL_TEST_SERVER_PATH: testServer.path,
      AUDITFLOW_WORKFLOW_BUNDLE: bundlePath,
      // Tests run the `auditflow` command from the sources (bin/auditflow.js), never from a build in dist/
      // that may be older than them.
      AUDITFLOW_FROM_SOURCE: '1',
      // Empty when it could not be had: the test files then skip instead of each trying to build it.
      [VERSITYGW.envVar]: versitygw ?? '',
    },
  });
  const stop = () => child.kill('SIGTERM');
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const code2 = await new Promise<number>((resolve) => child.once('exit', (c, s) => resolve(c ?? (s ? 1 : 0))));
  await server.stop();
  await codecServer.close();
  const counts = tapCounts(tap);
  const failed = code2 !== 0 && counts.fail === 0 ? 1 : counts.fail;
  process.stdout.write(`\n${counts.pass} passed, ${failed} failed${counts.skip ? `, ${counts.skip} skipped` : ''}\n`);
  return code2 === 0 && failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`test run failed: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
