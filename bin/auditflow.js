#!/usr/bin/env node
// The `auditflow` command: loads the TypeScript CLI through tsx (no build step).
require('tsx/cjs');
require('../cli/index.ts');
