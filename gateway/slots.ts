/** A counting semaphore: at most `n` tasks run at once, the others wait in arrival order. */
export interface Slots {
  run<T>(task: () => Promise<T>): Promise<T>;
  /** Tasks running and waiting now (logs, tests). */
  readonly active: number;
  readonly waiting: number;
}

export function createSlots(n: number): Slots {
  let active = 0;
  const queue: (() => void)[] = [];
  const release = () => {
    active -= 1;
    const next = queue.shift();
    if (next) {
      active += 1;
      next();
    }
  };
  return {
    async run<T>(task: () => Promise<T>): Promise<T> {
      if (active < n) active += 1;
      else await new Promise<void>((resolve) => queue.push(resolve));
      try {
        return await task();
      } finally {
        release();
      }
    },
    get active() {
      return active;
    },
    get waiting() {
      return queue.length;
    },
  };
}
