/**
 * A storage that reports how long each write takes (put: evidence, ledger records, reports), so the
 * worker and the gateway can publish a latency histogram without the backends knowing about metrics.
 */
import type { Storage } from './storage';

/** Receives one write's duration in seconds, with the backend's kind and whether it succeeded. */
export type WriteObserver = (seconds: number, labels: { backend: Storage['kind']; result: 'ok' | 'error' }) => void;

/** Wraps `storage` so that every `put` is timed; everything else passes through unchanged. */
export function timedStorage(storage: Storage, observe: WriteObserver): Storage {
  const timed: Storage = Object.create(storage) as Storage;
  return Object.assign(timed, {
    async put(...args: Parameters<Storage['put']>) {
      const started = performance.now();
      let result: 'ok' | 'error' = 'error';
      try {
        const r = await storage.put(...args);
        result = 'ok';
        return r;
      } finally {
        observe((performance.now() - started) / 1000, { backend: storage.kind, result });
      }
    },
  });
}
