/**
 * Child processes of the development tools (npm start, the drills, the benchmark, tests): one of the
 * project's TypeScript entry points run by node through tsx (the worker with its heap limit), and a
 * stop that asks first and insists after a grace period.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import path from 'node:path';
import { workerNodeFlags } from '../../platform/config';
import { PROJECT_ROOT } from '../../platform/paths';

/** Runs `script` (a path from the project root, e.g. `worker/main.ts`) as a child node process. */
export function spawnEntry(script: string, opts: { env?: NodeJS.ProcessEnv; stdio?: StdioOptions } = {}): ChildProcess {
  const env = opts.env ?? process.env;
  const flags = script.endsWith('worker/main.ts') ? workerNodeFlags(env) : [];
  return spawn(process.execPath, [...flags, '--import', 'tsx', path.join(PROJECT_ROOT, script)], {
    cwd: PROJECT_ROOT,
    env,
    stdio: opts.stdio ?? ['ignore', 'pipe', 'pipe'],
  });
}
