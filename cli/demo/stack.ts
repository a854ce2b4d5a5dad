/** The stack the demo plays on: the running `npm start` stack, or one it starts (and stops afterwards). */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { AuditflowConfig } from '../../platform/config';
import { isPortOpen } from '../../platform/net';
import { PROJECT_ROOT } from '../../platform/paths';
import { stopChild } from '../../platform/process';
import { eventually } from '../../platform/wait';
import { connect, loadSettings, type CliContext } from '../client';
import { CliError } from '../output';

/** The running stack the demo uses, or one it started (and stops afterwards). */
export interface Stack {
  ctx: CliContext;
  config: AuditflowConfig;
  started?: ChildProcess;
  logFile?: string;
}

function waitUntil<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs: number): Promise<T> {
  return eventually(fn, what, { timeoutMs, intervalMs: 250, error: (m) => new CliError(m) });
}

/** Uses the `npm start` stack when it is up; otherwise starts it (embedded defaults) for the demo. */
export async function openStack(out: (l: string) => void): Promise<Stack> {
  const { config, target } = loadSettings();
  try {
    return await checkStack(await connect(), config);
  } catch (err) {
    if (target.explicit) throw err;
  }
  fs.mkdirSync(config.dataDir, { recursive: true });
  const logFile = path.join(config.dataDir, 'demo-stack.log');
  out(`no auditflow stack is running: starting one (as npm start does), logging to ${logFile}`);
  const log = fs.openSync(logFile, 'w');
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'dev', 'start.ts')], {
    cwd: PROJECT_ROOT,
    env: process.env,
    stdio: ['ignore', log, log],
  });
  fs.closeSync(log);
  try {
    await waitUntil(
      'the stack to start',
      () => {
        if (child.exitCode !== null)
          throw new CliError(`the stack exited (${child.exitCode}) while starting; see ${logFile}:\n${tail(logFile)}`);
        return fs.readFileSync(logFile, 'utf8').includes('auditflow is running') ? true : undefined;
      },
      180_000,
    );
    return { ...(await checkStack(await connect(), config)), started: child, logFile };
  } catch (err) {
    await stopChild(child, 10_000);
    throw err;
  }
}

function tail(file: string): string {
  return fs.readFileSync(file, 'utf8').trim().split('\n').slice(-15).join('\n');
}

/** A stack the demo can play on: a worker polling the task queue and the gateway listening. */
async function checkStack(ctx: CliContext, config: AuditflowConfig): Promise<Stack> {
  try {
    const host = config.gateway.host === '0.0.0.0' ? '127.0.0.1' : config.gateway.host;
    if (!(await isPortOpen(host, config.gateway.port)))
      throw new CliError(
        `Temporal is up, but no inbound gateway listens on ${host}:${config.gateway.port}; start the whole stack with: npm start`,
      );
    await waitUntil(
      `a worker polling task queue ${config.taskQueue}`,
      async () => {
        const tq = await ctx.client.workflowService.describeTaskQueue({
          namespace: ctx.target.namespace,
          taskQueue: { name: config.taskQueue },
          taskQueueType: 1,
        });
        return (tq.pollers?.length ?? 0) > 0 ? true : undefined;
      },
      30_000,
    );
    return { ctx, config };
  } catch (err) {
    await ctx.close();
    throw err;
  }
}
