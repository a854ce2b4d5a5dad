/** The one way every process and test waits for something it can observe: poll a condition, never sleep a fixed time. */

/** How long to wait in all, how often to look, and what ends the wait at once. */
export interface WaitOptions {
  /** Default 30 s. */
  timeoutMs?: number;
  /** Default 200 ms. */
  intervalMs?: number;
  /** Says why waiting longer is pointless (a process exited), which ends the wait with that reason. */
  giveUp?: () => string | undefined;
  /** Builds the error thrown (default: Error). */
  error?: (message: string) => Error;
}

/**
 * Polls `fn` until it returns a value other than undefined or false, and returns it; throws naming
 * `what` (a text, or a function giving one with the latest details) after the timeout.
 */
export async function eventually<T>(
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  what: string | (() => string),
  opts: number | WaitOptions = {},
): Promise<T> {
  const o = typeof opts === 'number' ? { timeoutMs: opts } : opts;
  const timeoutMs = o.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  const fail = (message: string) => (o.error ?? ((m: string) => new Error(m)))(message);
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    const stop = o.giveUp?.();
    const label = typeof what === 'function' ? what() : what;
    if (stop) throw fail(`${stop} (while waiting for ${label})`);
    if (Date.now() > deadline) throw fail(`timed out after ${Math.round(timeoutMs / 100) / 10} s waiting for ${label}`);
    await new Promise((r) => setTimeout(r, o.intervalMs ?? 200));
  }
}
