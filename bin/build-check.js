// Whether the compiled build in dist/ (npm run build) was built from the sources as they are now. The
// build stamp lists every source file that went into it and when the build started; a file changed since
// (an edit, a git pull, a checkout) makes the build stale, and stale code is never run silently: the
// `auditflow` command and the compiled entry points refuse it, and `npm start` / `npm run worker` /
// `npm run gateway` rebuild it first (`node bin/build-check.js --rebuild`).
// Plain JavaScript with no dependencies: it runs before anything is compiled or loaded.
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const ROOT = path.resolve(__dirname, '..');

/** The stamp of the build in `root`/dist, or undefined when there is none. */
function readStamp(root) {
  try {
    return JSON.parse(fs.readFileSync(path.join(root, 'dist', 'build-stamp.json'), 'utf8'));
  } catch {
    return undefined;
  }
}

/** Why the build in `root`/dist cannot run (not built, or a source changed since), or undefined when it can. */
function staleReason(root = ROOT) {
  const stamp = readStamp(root);
  if (!stamp || !Array.isArray(stamp.inputs)) return 'there is no build in dist/';
  for (const file of stamp.inputs) {
    let mtimeMs;
    try {
      mtimeMs = fs.statSync(path.join(root, file)).mtimeMs;
    } catch {
      return `${file} is gone since the build`;
    }
    if (mtimeMs > stamp.startedAtMs) return `${file} changed since the build`;
  }
  return undefined;
}

/** Ends the process with a message saying what to do when the build in dist/ is stale. */
function exitIfStale(root = ROOT) {
  const reason = staleReason(root);
  if (reason === undefined) return;
  process.stderr.write(
    `auditflow: the compiled build is out of date (${reason}); run: npm run build\n` +
      '(npm install builds it; `npm start` rebuilds it by itself)\n',
  );
  process.exit(1);
}

module.exports = { staleReason, exitIfStale };

if (require.main === module && process.argv.includes('--rebuild')) {
  const reason = staleReason();
  if (reason !== undefined) {
    process.stderr.write(`auditflow: building (${reason}) ...\n`);
    const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'dev', 'build.ts')], {
      cwd: ROOT,
      stdio: 'inherit',
    });
    process.exit(r.status ?? 1);
  }
}
