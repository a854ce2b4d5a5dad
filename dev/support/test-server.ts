/**
 * A throw-away server a test starts as a child (Prometheus, the OpenTelemetry Collector): its output kept
 * for diagnostics, killed if the test process exits first, and a stop that asks, then insists, and removes
 * its temp folder.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { eventually } from '../../platform/wait';

/** A running child server. */
export interface TestServer {
  /** Everything it printed so far, stdout and stderr. */
  output(): string;
  exited(): boolean;
  /** Stops it (SIGTERM, SIGKILL after 10 s) and removes `dir`; safe to call twice. */
  stop(): Promise<void>;
  /** Waits until `ready()` holds, failing early with its last lines when it exits; stops it on failure. */
  ready(ready: () => boolean | Promise<boolean | undefined>, what: string, timeoutMs: number): Promise<void>;
}

/** Starts `binary` with `args`; `dir` is its temp folder, removed at stop. */
export function startTestServer(binary: string, args: string[], name: string, dir: string): TestServer {
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  const onExit = () => child.kill('SIGKILL');
  process.once('exit', onExit);
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      process.removeListener('exit', onExit);
      if (!exited()) {
        child.kill('SIGTERM');
        await eventually(exited, `${name} to exit`, 10_000).catch(() => child.kill('SIGKILL'));
      }
      fs.rmSync(dir, { recursive: true, force: true });
    })());
  return {
    output: () => output,
    exited,
    stop,
    async ready(ready, what, timeoutMs) {
      try {
        await eventually(ready, what, {
          timeoutMs,
          giveUp: () => (exited() ? `${name} exited: ${output.trim().split('\n').slice(-5).join(' | ')}` : undefined),
        });
      } catch (err) {
        await stop();
        throw err;
      }
    },
  };
}
