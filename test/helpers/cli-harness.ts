/**
 * A dev-server harness for a describe block that drives the real CLI: registers its before/after hooks,
 * and gives `run` (auditflow with the harness's environment) and `write` (a file in its data folder).
 */
import fs from 'node:fs';
import path from 'node:path';
import { after, before } from 'node:test';
import { harness, type Harness } from '../../dev/support/harness';
import { auditflow, type RunResult } from './cli';

export interface CliHarness {
  /** The harness (set once the block's `before` hook has run). */
  readonly h: Harness;
  run(...args: string[]): Promise<RunResult>;
  /** Writes a file into the harness's data folder and returns its path. */
  write(name: string, text: string): string;
}

/** Call inside a `describe` block. */
export function cliHarness(): CliHarness {
  let h: Harness | undefined;
  let env: Record<string, string> = {};
  before(async () => {
    h = await harness('dev');
    env = h.cliEnv();
  });
  after(() => h?.close());
  return {
    get h() {
      return h!;
    },
    run: (...args) => auditflow(args, env),
    write(name, text) {
      const file = path.join(h!.config.dataDir, name);
      fs.writeFileSync(file, text);
      return file;
    },
  };
}
