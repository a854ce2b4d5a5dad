#!/usr/bin/env node
// The `auditflow` command: runs the compiled CLI (dist/cli.js, built by `npm run build`, which npm install
// runs), after checking it was built from the sources as they are. AUDITFLOW_FROM_SOURCE=1 runs the
// TypeScript sources through tsx instead, as the tests do.
if (process.env.AUDITFLOW_FROM_SOURCE === '1') {
  require('tsx/cjs');
  require('../cli/index.ts');
} else {
  require('./build-check.js').exitIfStale();
  require('../dist/cli.js');
}
