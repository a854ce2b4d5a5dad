/**
 * Debian's Chromium for tests of what a person sees in a browser, driven by playwright-core: installed
 * on first use (dev/apt.ts), launched headless, and always closed together with every process it forked.
 */
import { chromium, type Browser } from 'playwright-core';
import { resolveProgram, type DebianProgram, type Resolved } from '../../dev/apt';
import {
  childProcesses,
  isRunning,
  processExecutable,
  processGroupMembers,
  runningProcesses,
} from '../../dev/processes';
import { eventually } from '../../platform/wait';

const CHROMIUM: DebianProgram = { binaries: ['chromium', 'chromium-browser'], package: 'chromium' };

/** Chromium's path, installing the Debian package as root when it is missing, or why it cannot be had. */
export function resolveChromium(): Resolved {
  return resolveProgram(CHROMIUM);
}

export interface TestBrowser {
  browser: Browser;
  /** The browser's running processes (its process group). */
  pids(): number[];
  /** Closes the browser and waits until none of its processes is left; safe to call twice. */
  close(): Promise<void>;
}

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];

async function until(what: string, cond: () => boolean, timeoutMs: number): Promise<void> {
  await eventually(cond, what, { timeoutMs, intervalMs: 50 });
}

function kill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/** Launches headless Chromium from `executablePath`. */
export async function launchChromium(executablePath: string): Promise<TestBrowser> {
  const before = new Set(runningProcesses());
  const browser = await chromium.launch({ executablePath, args: ARGS, timeout: 60_000 });
  // playwright starts the browser as our child in a process group of its own (detached); its crash
  // handler leaves that group (it is re-parented to init), so it is tracked by its pid.
  const pgid = childProcesses(process.pid).find(
    (pid) => !before.has(pid) && /chrom/.test(processExecutable(pid) ?? ''),
  );
  const crashHandlers = runningProcesses().filter(
    (pid) => !before.has(pid) && /crashpad/.test(processExecutable(pid) ?? ''),
  );
  const pids = () => [...(pgid === undefined ? [] : processGroupMembers(pgid)), ...crashHandlers.filter(isRunning)];
  const killAll = () => {
    if (pgid !== undefined) kill(-pgid);
    crashHandlers.forEach(kill);
  };
  // If the test process ends without close(), the browser must not outlive it.
  process.once('exit', killAll);
  let closed: Promise<void> | undefined;
  return {
    browser,
    pids,
    close() {
      closed ??= (async () => {
        try {
          await browser.close();
        } finally {
          process.removeListener('exit', killAll);
          await until('the browser processes to end', () => pids().length === 0, 10_000).catch(killAll);
          await until('the browser processes to end after SIGKILL', () => pids().length === 0, 5_000);
        }
      })();
      return closed;
    },
  };
}
