/**
 * Building a tool from Go source into the per-user cache: the lock that lets concurrent runs (test files,
 * npm start) build it once, a file holding the builder's pid, taken over when that process is gone or the
 * file is stale; and the go command run with a time limit, whose failure carries the end of its output.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { eventually } from '../../platform/wait';
import { isRunning } from '../processes';

/** A lock older than this belongs to a build that died without removing it. */
const LOCK_STALE_MS = 15 * 60_000;

type LockState = { state: 'free' } | { state: 'stale'; why: string } | { state: 'held'; pid: number | undefined };

/** Who holds the build lock: nobody, a live process, or a build that died (Ctrl-C) or hung without removing it. */
function lockState(lockFile: string): LockState {
  let text: string;
  let age: number;
  try {
    text = fs.readFileSync(lockFile, 'utf8').trim();
    age = Date.now() - fs.statSync(lockFile).mtimeMs;
  } catch {
    return { state: 'free' };
  }
  if (age > LOCK_STALE_MS) return { state: 'stale', why: `older than ${LOCK_STALE_MS / 60_000} minutes` };
  // An empty file is a lock whose owner is writing its pid this instant.
  if (text === '') return { state: 'held', pid: undefined };
  const pid = Number(text);
  if (!Number.isInteger(pid) || pid <= 0 || !isRunning(pid)) return { state: 'stale', why: `process ${text} is gone` };
  return { state: 'held', pid };
}

/** Takes the build lock of `what`, waiting while another live process holds it; returns its release. */
export async function takeBuildLock(lockFile: string, what: string, log: (line: string) => void): Promise<() => void> {
  for (;;) {
    try {
      fs.writeFileSync(lockFile, `${process.pid}\n`, { flag: 'wx' });
      return () => fs.rmSync(lockFile, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const lock = lockState(lockFile);
    if (lock.state === 'stale') {
      log(`removing the stale ${what} build lock ${lockFile} (${lock.why})`);
      fs.rmSync(lockFile, { force: true });
    } else if (lock.state === 'held') {
      log(
        `another process${lock.pid ? ` (pid ${lock.pid})` : ''} is building ${what}; waiting for it (lock ${lockFile})`,
      );
      await eventually(() => lockState(lockFile).state !== 'held', `the other ${what} build to finish`, {
        timeoutMs: LOCK_STALE_MS + 60_000,
        intervalMs: 500,
      });
    }
  }
}

/** Runs go with `args`; resolves when it exits 0, rejects with the last 20 lines of its output otherwise. */
export function runGo(
  goBinary: string,
  args: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv; command: string; timeoutMs: number },
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(goBinary, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    const fail = (why: string) => {
      const tail = output.trim().split('\n').slice(-20).join('\n');
      reject(new Error(`${opts.command} ${why}${tail ? `; its last output:\n${tail}` : ''}`));
    };
    child.once('error', (err) => {
      clearTimeout(timer);
      fail(`could not start: ${err.message}`);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else if (signal === 'SIGKILL') fail(`did not finish within ${opts.timeoutMs / 60_000} minutes`);
      else fail(`failed (exit ${code ?? signal})`);
    });
  });
}
