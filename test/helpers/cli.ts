/** Runs the real `auditflow` command (bin/auditflow.js) or another entry point as a child process. */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { ANY_HOUR } from '../../dev/support/specs';
import { PROJECT_ROOT } from '../../platform/paths';

export const ROOT = PROJECT_ROOT;

// Every `auditflow` a test starts (here or in a child) runs from the sources through tsx, never from a
// build in dist/ that may be older than them; test/cli/build.test.ts checks the build itself.
process.env.AUDITFLOW_FROM_SOURCE = '1';

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node <args>` in the project root with extra environment variables. */
export function runNode(
  args: string[],
  env: Record<string, string | undefined>,
  timeoutMs = 60_000,
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`node ${args.join(' ')} did not finish within ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs `auditflow <args>`. */
export function auditflow(
  args: string[],
  env: Record<string, string | undefined>,
  timeoutMs?: number,
): Promise<RunResult> {
  return runNode([path.join(ROOT, 'bin', 'auditflow.js'), ...args], env, timeoutMs);
}

/**
 * A copy of the example spec that sends at any hour (tests on the dev server run on the wall clock, and the
 * example's sending hours would hold its requests at night and on weekends); returns its path.
 */
export function anyHourExample(): string {
  const spec = YAML.parse(fs.readFileSync(path.join(ROOT, 'examples', 'api-usage-audit.yaml'), 'utf8')) as Record<
    string,
    unknown
  >;
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'auditflow-example-')), 'api-usage-audit.yaml');
  fs.writeFileSync(file, YAML.stringify({ ...spec, calendar: ANY_HOUR }));
  return file;
}
