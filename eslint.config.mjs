// ESLint flat config: TypeScript rules that guard promises and imports, and the workflow-sandbox rule
// (no Node built-ins or I/O packages) for workflows/** and domain/**, which run inside the sandbox.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX, { createNodeResolver } from 'eslint-plugin-import-x';

const sandboxBanned = [
  'nodemailer',
  'smtp-server',
  'mailparser',
  'imapflow',
  'mailauth',
  '@temporalio/client',
  '@temporalio/worker',
  '@temporalio/activity',
  '@temporalio/testing',
];

// The layers, read from the folder names alone: domain <- platform <- activities, gateway <- workflows <-
// worker <- cli. Each folder imports only what is listed for it; tooling (dev, bench, test) may import all
// the product, and the product never imports tooling. A wrong import fails `npm test`.
const PRODUCT = ['domain', 'platform', 'activities', 'gateway', 'workflows', 'worker', 'cli'];
const TOOLING = ['dev', 'bench', 'test'];
const MAY_IMPORT = {
  domain: [],
  platform: ['domain'],
  activities: ['domain', 'platform'],
  gateway: ['domain', 'platform'],
  // Workflow code runs in Temporal's sandbox: it takes its activities' types (import type), never
  // platform or gateway code, which needs Node.
  workflows: ['domain', 'activities'],
  worker: ['domain', 'platform', 'activities', 'gateway', 'workflows'],
  cli: ['domain', 'platform', 'activities', 'gateway', 'workflows', 'worker'],
};
const layerZones = PRODUCT.map((folder) => ({
  target: `./${folder}`,
  from: [...PRODUCT, ...TOOLING].filter((f) => f !== folder && !MAY_IMPORT[folder].includes(f)).map((f) => `./${f}`),
  message: `${folder}/ may import only from ${MAY_IMPORT[folder].join(', ') || 'nothing of ours'} (layers: domain <- platform <- activities, gateway <- workflows <- worker <- cli; dev, bench and test are tooling)`,
}));
const toolingZones = [
  { target: './dev', from: ['./test'], message: 'dev/ tools share helpers through dev/support, never test/' },
  { target: './bench', from: ['./test'], message: 'bench/ shares helpers through dev/support, never test/' },
];

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      'dist/**',
      '.data/**',
      '.tools/**',
      '.test-artifacts/**',
      'test-artifacts/**',
      'bench-results.json',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { 'import-x': importX },
    // Our imports are extensionless TypeScript paths: without a resolver the import rules see nothing.
    settings: { 'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.d.ts', '.js', '.json'] })] },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', name: ['describe', 'it', 'test', 'suite'], package: 'node:test' },
          ],
        },
      ],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      '@typescript-eslint/no-non-null-assertion': 'off',
      'import-x/no-cycle': 'error',
      'import-x/no-duplicates': 'error',
      'import-x/no-restricted-paths': ['error', { zones: [...layerZones, ...toolingZones] }],
      eqeqeq: ['error', 'always'],
      'no-console': 'error',
    },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox: no Node built-ins, no I/O libraries.
    files: ['workflows/**/*.ts', 'domain/**/*.ts'],
    plugins: { 'import-x': importX },
    rules: {
      'import-x/no-nodejs-modules': 'error',
      'no-restricted-imports': [
        'error',
        {
          paths: sandboxBanned.map((name) => ({
            name,
            message: 'not allowed in workflow sandbox code; use an activity',
          })),
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'process', message: 'not available in the workflow sandbox' },
        { name: 'Buffer', message: 'not available in the workflow sandbox; use TextEncoder' },
        { name: 'setTimeout', message: 'use sleep() or condition() from @temporalio/workflow' },
      ],
    },
  },
  {
    // Modules loaded only when needed: a CLI command's module (cli/registry.ts), the S3 backend.
    files: ['cli/registry.ts', 'platform/storage-open.ts'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['bin/**/*.js', 'eslint.config.mjs'],
    languageOptions: {
      globals: { require: 'readonly', module: 'readonly', process: 'readonly', __dirname: 'readonly' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
