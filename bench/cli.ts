/**
 * Scenario 8, the CLI as an operator scripts it: `auditflow validate`, `plan`, `show` and `list`, each a
 * whole process (node bin/auditflow.js, the compiled build that npm install makes), against
 * `temporal workflow describe` of the same demand on the same server. Every command runs 5 times after a
 * warm-up, in turns (so a change in the machine's load falls on all of them alike); the median is kept
 * and each is divided by the Temporal CLI's.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { demandWorkflowId } from '../domain/ids';
import { resolveTemporalBinary } from '../dev/temporal-binaries';
import { PROJECT_ROOT } from '../platform/paths';
import { eventually } from '../platform/wait';
import { benchSpec } from './specs';
import type { BenchStack } from './stack';
import { round, startOurs } from './util';

const RUNS = 5;
const EXAMPLE = path.join(PROJECT_ROOT, 'examples', 'api-usage-audit.yaml');

export interface CliResult {
  runs: number;
  demandId: string;
  /** Median wall time of each whole process, ms. */
  medianMs: Record<'temporalDescribe' | 'validate' | 'plan' | 'show' | 'list', number>;
  samplesMs: Record<string, number[]>;
  ratios: { cliValidate: number; cliPlan: number; cliShow: number; cliList: number };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Runs one process to its end; ms of wall time, or an error with its output when it failed. */
function timed(name: string, command: string, args: string[], env: NodeJS.ProcessEnv): number {
  const t0 = performance.now();
  const r = spawnSync(command, args, { cwd: PROJECT_ROOT, env, encoding: 'utf8', maxBuffer: 16 << 20 });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${name} exited ${r.status ?? r.signal}: ${r.stderr || r.stdout}`);
  return ms;
}

export async function cliLatency(stack: BenchStack, o: { progress: (l: string) => void }): Promise<CliResult> {
  // The compiled CLI is what an operator runs: rebuilt here when the sources changed since the last build.
  const build = spawnSync(process.execPath, [path.join(PROJECT_ROOT, 'bin', 'build-check.js'), '--rebuild'], {
    cwd: PROJECT_ROOT,
    stdio: 'inherit',
  });
  if (build.status !== 0) throw new Error('npm run build failed');
  const temporal = await resolveTemporalBinary('cli');
  const demandId = `bench-cli-${Date.now()}`;
  await startOurs(stack.client, stack.taskQueue, benchSpec({ id: demandId, items: 8, startMs: Date.now() }));
  const env: NodeJS.ProcessEnv = { ...stack.env, AUDITFLOW_FROM_SOURCE: undefined };
  const node = (args: string[]): [string, string[]] => [
    process.execPath,
    [path.join(PROJECT_ROOT, 'bin', 'auditflow.js'), ...args],
  ];
  const commands: Record<keyof CliResult['medianMs'], [string, string[]]> = {
    // The Temporal CLI reads TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE from the environment, as auditflow does.
    temporalDescribe: [temporal.path, ['workflow', 'describe', '--workflow-id', demandWorkflowId(demandId)]],
    validate: node(['validate', EXAMPLE]),
    plan: node(['plan', EXAMPLE]),
    show: node(['show', demandId]),
    list: node(['list']),
  };
  const run = (name: keyof CliResult['medianMs']) => {
    const [command, args] = commands[name];
    return timed(name, command, args, env);
  };
  // The demand answers its status query once its first workflow task has run.
  await eventually(() => {
    try {
      run('show');
      return true;
    } catch {
      return undefined;
    }
  }, 'the demand to answer `auditflow show`');
  const names = Object.keys(commands) as (keyof CliResult['medianMs'])[];
  for (const name of names) run(name);
  const samplesMs: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let i = 0; i < RUNS; i++) {
    o.progress(`cli: round ${i + 1} of ${RUNS}`);
    for (const name of names) samplesMs[name]!.push(Math.round(run(name)));
  }
  const medianMs = Object.fromEntries(names.map((n) => [n, median(samplesMs[n]!)])) as CliResult['medianMs'];
  const vs = (ms: number) => round(ms / medianMs.temporalDescribe, 2);
  return {
    runs: RUNS,
    demandId,
    medianMs,
    samplesMs,
    ratios: {
      cliValidate: vs(medianMs.validate),
      cliPlan: vs(medianMs.plan),
      cliShow: vs(medianMs.show),
      cliList: vs(medianMs.list),
    },
  };
}
