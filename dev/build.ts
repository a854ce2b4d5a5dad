/**
 * `npm run build` (run by `npm install` too): compiles the product for production into dist/. Each entry
 * point becomes one JavaScript file with esbuild (our code bundled, packages from node_modules left as
 * requires): dist/cli.js, worker.js, gateway.js and start.js (`npm start`). The workflow code is bundled
 * once into dist/workflow-bundle.js, which the compiled worker loads, and the check of the shipped message
 * templates is stored (dist/template-checks.json, used while they are unchanged), as are the Temporal API
 * messages the CLI reads without the Temporal client (dist/temporal-protos.json). dist/build-stamp.json, written last,
 * lists every source file that went in; bin/build-check.js refuses the build once one of them changes.
 * Type checking stays with `npm run typecheck` (tsc); esbuild only strips the types.
 */
import fs from 'node:fs';
import path from 'node:path';
import { build, type Metafile } from 'esbuild';
import { PREBUILT_TEMPLATE_CHECKS, shippedTemplateChecks } from '../activities/templates/engine';
import { DIST_DIR, PROJECT_ROOT } from '../platform/paths';
import { cutTemporalProtos, PREBUILT_TEMPORAL_PROTOS } from '../platform/temporal-protos';
import { bundleWorkflows, PREBUILT_WORKFLOW_BUNDLE } from '../worker/main';

/** dist/<name>.js from each entry point. */
const ENTRIES: Record<string, string> = {
  cli: 'cli/index.ts',
  worker: 'worker/main.ts',
  gateway: 'gateway/main.ts',
  start: 'dev/start.ts',
};

/** Writes a file whole or not at all: a worker restarting during a build never reads half a bundle. */
function writeAtomically(file: string, contents: string | Uint8Array): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, contents);
  fs.renameSync(tmp, file);
}

/** Our source files in a metafile (relative to the project root), without node_modules. */
function sourceInputs(meta: Metafile): string[] {
  return Object.keys(meta.inputs).filter((f) => !f.includes('node_modules/'));
}

async function main(): Promise<void> {
  // Taken before any source is read: a file saved during the build counts as changed since.
  const startedAtMs = Date.now();
  const began = performance.now();
  const common = {
    absWorkingDir: PROJECT_ROOT,
    outdir: DIST_DIR,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    packages: 'external',
    // Error names and stack frames read as in the sources; the worker and gateway run with --enable-source-maps.
    keepNames: true,
    sourcemap: 'linked',
    metafile: true,
    write: false,
    logLevel: 'warning',
  } as const;
  const results = await Promise.all([
    // bin/auditflow.js checks the build before it loads the CLI.
    build({ ...common, entryPoints: { cli: ENTRIES.cli! } }),
    // The long-running processes check theirs as they start, however they are started.
    build({
      ...common,
      entryPoints: Object.fromEntries(Object.entries(ENTRIES).filter(([name]) => name !== 'cli')),
      banner: { js: "require('../bin/build-check.js').exitIfStale();" },
    }),
  ]);
  for (const out of results.flatMap((r) => r.outputFiles)) writeAtomically(out.path, out.contents);
  // The workflow code's own import graph (type-only imports are gone from it), for the stamp.
  const workflows = await build({
    absWorkingDir: PROJECT_ROOT,
    entryPoints: ['workflows/index.ts'],
    bundle: true,
    platform: 'neutral',
    packages: 'external',
    metafile: true,
    write: false,
    logLevel: 'error',
  });
  const { code } = await bundleWorkflows();
  writeAtomically(PREBUILT_WORKFLOW_BUNDLE, code);
  writeAtomically(PREBUILT_TEMPLATE_CHECKS, JSON.stringify(shippedTemplateChecks()));
  writeAtomically(PREBUILT_TEMPORAL_PROTOS, JSON.stringify(cutTemporalProtos()));
  const inputs = [
    ...new Set([...results.flatMap((r) => sourceInputs(r.metafile)), ...sourceInputs(workflows.metafile)]),
  ].sort();
  writeAtomically(path.join(DIST_DIR, 'build-stamp.json'), `${JSON.stringify({ startedAtMs, inputs }, null, 2)}\n`);
  process.stdout.write(
    `auditflow: built ${Object.keys(ENTRIES).length} entry points and the workflow bundle into dist/ ` +
      `from ${inputs.length} source files in ${((performance.now() - began) / 1000).toFixed(1)} s\n`,
  );
}

main().catch((err) => {
  process.stderr.write(`build failed: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
