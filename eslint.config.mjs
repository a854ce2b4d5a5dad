// ESLint flat config: TypeScript rules that guard promises and imports, and the workflow-sandbox rule
// (no Node built-ins or I/O packages) for workflows/** and domain/**, which run inside the sandbox.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';

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

export default tseslint.config(
  { ignores: ['node_modules/**', '.data/**', '.tools/**', '.test-artifacts/**', 'test-artifacts/**', 'bench-results.json'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { 'import-x': importX },
    rules: {
      '@typescript-eslint/no-floating-promises': ['error', { allowForKnownSafeCalls: [{ from: 'package', name: ['describe', 'it', 'test', 'suite'], package: 'node:test' }] }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      'import-x/no-cycle': 'error',
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
      'no-restricted-imports': ['error', { paths: sandboxBanned.map((name) => ({ name, message: 'not allowed in workflow sandbox code; use an activity' })) }],
      'no-restricted-globals': ['error', { name: 'process', message: 'not available in the workflow sandbox' }, { name: 'Buffer', message: 'not available in the workflow sandbox; use TextEncoder' }, { name: 'setTimeout', message: 'use sleep() or condition() from @temporalio/workflow' }],
    },
  },
  {
    files: ['bin/**/*.js', 'eslint.config.mjs'],
    languageOptions: { globals: { require: 'readonly', module: 'readonly', process: 'readonly', __dirname: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
