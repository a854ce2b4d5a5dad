/**
 * Child processes of the development tools (npm start, the drills, the benchmark, tests): one of the
 * project's entry points run by node (the worker with its heap limit), and a stop that asks first and
 * insists after a grace period. A compiled process (`npm start` from dist/) starts the compiled worker and
 * gateway; one that tsx runs from the sources (tests, drills, the benchmark) starts theirs through tsx.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import path from 'node:path';
import { workerNodeFlags } from '../../platform/config';
import { DIST_DIR, PROJECT_ROOT, RUNNING_COMPILED } from '../../platform/paths';

/** The entry points `npm run build` compiles, and their files in dist/. */
const COMPILED: Record<string, string> = { 'worker/main.ts': 'worker.js', 'gateway/main.ts': 'gateway.js' };

/** Runs `script` (a path from the project root, e.g. `worker/main.ts`) as a child node process. */
export function spawnEntry(script: string, opts: { env?: NodeJS.ProcessEnv; stdio?: StdioOptions } = {}): ChildProcess {
  const env = opts.env ?? process.env;
  const entry = script.split(path.sep).join('/');
  const flags = entry === 'worker/main.ts' ? workerNodeFlags(env) : [];
  const compiled = RUNNING_COMPILED ? COMPILED[entry] : undefined;
  const run = compiled
    ? ['--enable-source-maps', path.join(DIST_DIR, compiled)]
    : ['--import', 'tsx', path.join(PROJECT_ROOT, script)];
  return spawn(process.execPath, [...flags, ...run], {
    cwd: PROJECT_ROOT,
    env,
    stdio: opts.stdio ?? ['ignore', 'pipe', 'pipe'],
  });
}
