/** Keeps worker logs to warnings in tests, so the runner's output stays readable. */
import { DefaultLogger, Runtime } from '@temporalio/worker';

try {
  Runtime.install({ logger: new DefaultLogger('WARN') });
} catch {
  // Already installed by another helper in this process.
}
