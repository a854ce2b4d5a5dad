/**
 * The start-up every long-running process shares (worker, gateway): settings read and checked before
 * anything connects (exit 2 with the reason), a connection to Temporal retried while the server starts
 * (npm start launches them together), and never outliving the `npm start` that launched it.
 */
import type { ChildProcess } from 'node:child_process';
import type { DataConverter } from '@temporalio/common';
import { dataConverterFor } from './codec';
import { loadConfigOrExit, loadEncryptionKeys, loadSecretOrExit, type AuditflowConfig } from './config';
import type { Storage } from './storage';
import { isRemoteTarget, loadTemporalTarget, type TemporalTarget } from './temporal-target';

/**
 * The process's settings, Temporal target and payload data converter (encryption); a bad value ends the
 * process with exit 2 and the reason.
 */
export function loadProcessSettings(): {
  config: AuditflowConfig;
  target: TemporalTarget;
  dataConverter: DataConverter;
} {
  const config = loadConfigOrExit();
  loadSecretOrExit(config);
  try {
    const target = loadTemporalTarget(process.env, `localhost:${config.temporalPort}`);
    return {
      config,
      target,
      dataConverter: dataConverterFor(loadEncryptionKeys(config, { remote: isRemoteTarget(target) })),
    };
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(2);
  }
}

/**
 * Checks the shared storage before a worker or gateway starts: a definite refusal (no such bucket,
 * credentials refused, folder not writable) stops the process with the reason (exit 2); an endpoint that
 * does not answer is logged and the process starts anyway (the gateway answers 451, activities retry).
 */
export async function checkStorageOrExit(storage: Storage, log: (line: string) => void): Promise<void> {
  const r = await storage.check();
  if (r.ok) return log(`storage: ${r.detail}`);
  if (r.problem === 'refused') {
    process.stderr.write(
      `storage problem: ${r.detail}
Fix AUDITFLOW_STORAGE_URL or the credentials, then start again (npx auditflow doctor checks it).
`,
    );
    process.exit(2);
  }
  log(`storage not reachable yet (${r.detail}); starting anyway: nothing is accepted or sent until it answers`);
}

/** Calls `connect` once a second until it succeeds, or throws its last error, with what to do, after `timeoutMs`. */
export async function connectWithRetry<T>(
  connect: () => Promise<T>,
  target: TemporalTarget,
  opts: { timeoutMs: number; log?: (line: string) => void },
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await connect();
    } catch (err) {
      if (attempt === 1)
        opts.log?.(`waiting for Temporal at ${target.description}: ${(err as Error).message.split('\n')[0]}`);
      if (Date.now() > deadline)
        throw new Error(
          `cannot reach Temporal at ${target.description}: ${(err as Error).message}. Is the server running? (npm start starts one; see README for TEMPORAL_ADDRESS)`,
          { cause: err },
        );
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

/** When AUDITFLOW_EXIT_WITH_PARENT=1 (set by npm start), ends this process once its parent is gone, even if it was killed without a chance to stop us. */
export function exitWithParent(env: NodeJS.ProcessEnv = process.env): void {
  if (env.AUDITFLOW_EXIT_WITH_PARENT !== '1') return;
  const parent = process.ppid;
  setInterval(() => process.ppid !== parent && process.kill(process.pid, 'SIGTERM'), 1000).unref();
}

/** Stops a child process: SIGTERM, then SIGKILL after `graceMs`. Resolves once it has exited. */
export function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
