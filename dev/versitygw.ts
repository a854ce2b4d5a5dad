/**
 * Finds Versity S3 Gateway (`versitygw`), the real S3 server the storage tests run against, and says
 * which source it used. It has no PyPI or Debian package we can pin, so it is built from source with
 * `go install` once per machine into a cache outside the clone.
 *
 * Order: explicit env var -> PATH -> the per-user cache -> build into that cache (when Go is on PATH).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runGo, takeBuildLock } from './support/build-lock';
import { findOnPath, isExecutableFile } from './support/executables';

/** The pinned Go package that builds versitygw, and the env var that points at a binary instead. */
export const VERSITYGW = {
  module: 'github.com/versity/versitygw/cmd/versitygw',
  version: 'v1.8.0',
  envVar: 'AUDITFLOW_VERSITYGW',
} as const;

const EXE = 'versitygw';
const INSTALL_COMMAND = `go install ${VERSITYGW.module}@${VERSITYGW.version}`;

/** How a person gets versitygw by hand. */
export const VERSITYGW_INSTALL_HINT =
  `install it with: ${INSTALL_COMMAND} (Go 1.25 or later; it lands in $(go env GOPATH)/bin, put that on PATH), ` +
  `or point ${VERSITYGW.envVar} at an existing versitygw binary, e.g. ${VERSITYGW.envVar}=/opt/versitygw/versitygw`;

/** A cold build (modules downloaded, everything compiled) takes 3-5 minutes; twice that means it is stuck. */
const BUILD_TIMEOUT_MS = 12 * 60_000;
export type VersitygwSource = 'env' | 'path' | 'cache' | 'built';

export interface ResolvedVersitygw {
  path: string;
  source: VersitygwSource;
  /** One line per place looked at, in order, for diagnostics. */
  tried: string[];
}

export interface ResolveVersitygwOptions {
  env?: NodeJS.ProcessEnv;
  /** Build it with `go install` into the cache when nothing else is found (default true). */
  build?: boolean;
  log?: (line: string) => void;
}

/** Raised when versitygw cannot be found or built; its message lists every place tried and how to get it. */
export class VersitygwNotFoundError extends Error {
  constructor(
    readonly tried: string[],
    readonly reason: string,
  ) {
    const steps = tried.map((t, i) => `  ${i + 1}. ${t}`);
    super([reason, 'Tried, in order:', ...steps, `To fix it, ${VERSITYGW_INSTALL_HINT}`].join('\n'));
    this.name = 'VersitygwNotFoundError';
  }
}

/** True when a `go` command is on the PATH of `env`, so versitygw can be built. */
export function goAvailable(env: NodeJS.ProcessEnv = process.env): boolean {
  return findOnPath('go', env) !== undefined;
}

/** The folder the pinned build is cached in: `${XDG_CACHE_HOME:-~/.cache}/auditflow/versitygw-v1.8.0`. */
export function versitygwCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const cacheHome = env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(cacheHome, 'auditflow', `versitygw-${VERSITYGW.version}`);
}

/**
 * Builds the pinned version into the cache under a lock, so that concurrent runs build it once. The build
 * goes to a temporary sibling folder and the binary is renamed into place, so nobody sees half a file.
 */
async function buildIntoCache(goBinary: string, env: NodeJS.ProcessEnv, log: (l: string) => void) {
  const cacheDir = versitygwCacheDir(env);
  const binary = path.join(cacheDir, EXE);
  fs.mkdirSync(path.dirname(cacheDir), { recursive: true });
  const release = await takeBuildLock(`${cacheDir}.lock`, 'versitygw', log);
  try {
    if (isExecutableFile(binary)) return { binary, built: false };
    const tmpDir = `${cacheDir}.tmp-${process.pid}-${Date.now()}`;
    fs.mkdirSync(tmpDir);
    try {
      log(
        `building versitygw ${VERSITYGW.version} with go install (a few minutes, once per machine; cached in ${cacheDir})`,
      );
      const started = Date.now();
      // GOPATH, GOMODCACHE and GOCACHE stay Go's defaults, so downloads and compiled packages are shared.
      await runGo(goBinary, ['install', `${VERSITYGW.module}@${VERSITYGW.version}`], {
        cwd: tmpDir,
        env: { ...env, GOBIN: tmpDir },
        command: INSTALL_COMMAND,
        timeoutMs: BUILD_TIMEOUT_MS,
      });
      fs.mkdirSync(cacheDir, { recursive: true });
      fs.renameSync(path.join(tmpDir, EXE), binary);
      log(`built versitygw ${VERSITYGW.version} in ${Math.round((Date.now() - started) / 1000)} s: ${binary}`);
      return { binary, built: true };
    } finally {
      fs.rmSync(tmpDir, { recursive: true, force: true });
    }
  } finally {
    release();
  }
}

/**
 * Looks in the env var, on PATH and in the cache, without building: synchronous, so a test file can ask
 * at load time. Throws VersitygwNotFoundError only for an env var that points at no program.
 */
export function findVersitygw(env: NodeJS.ProcessEnv = process.env): ResolvedVersitygw | { tried: string[] } {
  const tried: string[] = [];
  const explicit = env[VERSITYGW.envVar];
  if (explicit !== undefined && explicit !== '') {
    if (isExecutableFile(explicit))
      return { path: path.resolve(explicit), source: 'env', tried: [`${VERSITYGW.envVar}=${explicit}: found`] };
    const what = fs.existsSync(explicit) ? 'exists but is not an executable file' : 'no such file';
    throw new VersitygwNotFoundError(
      [`${VERSITYGW.envVar}=${explicit}: ${what}`],
      `${VERSITYGW.envVar} is set to "${explicit}", which is not an executable file. ` +
        `Fix the path or unset ${VERSITYGW.envVar} to let auditflow find or build versitygw itself.`,
    );
  }
  tried.push(`${VERSITYGW.envVar}: not set`);

  const onPath = findOnPath(EXE, env);
  if (onPath) return { path: onPath, source: 'path', tried: [...tried, `${EXE} on PATH: ${onPath}`] };
  tried.push(`${EXE} on PATH: not found`);

  const cached = path.join(versitygwCacheDir(env), EXE);
  if (isExecutableFile(cached)) return { path: cached, source: 'cache', tried: [...tried, `cache: ${cached}`] };
  tried.push(`cache ${cached}: not present`);
  return { tried };
}

/** Finds versitygw or builds it; throws VersitygwNotFoundError with every attempt listed when all fail. */
export async function resolveVersitygw(opts: ResolveVersitygwOptions = {}): Promise<ResolvedVersitygw> {
  const env = opts.env ?? process.env;
  const found = findVersitygw(env);
  if ('path' in found) return found;
  const tried = [...found.tried];
  if (opts.build === false) {
    tried.push('building with go install: not allowed here');
    throw new VersitygwNotFoundError(tried, `versitygw ${VERSITYGW.version} is not installed.`);
  }
  const goBinary = findOnPath('go', env);
  if (!goBinary) {
    tried.push('go on PATH (to build it): not found');
    throw new VersitygwNotFoundError(
      tried,
      `versitygw ${VERSITYGW.version} is not installed, and Go is not there to build it.`,
    );
  }
  try {
    const { binary, built } = await buildIntoCache(goBinary, env, opts.log ?? (() => {}));
    const how = built ? `built with ${goBinary}` : 'built meanwhile by another process';
    return { path: binary, source: built ? 'built' : 'cache', tried: [...tried, `${INSTALL_COMMAND}: ${how}`] };
  } catch (err) {
    tried.push(`${INSTALL_COMMAND} with ${goBinary}: failed`);
    throw new VersitygwNotFoundError(tried, (err as Error).message);
  }
}

/** Human label for logs: "versitygw v1.8.0 at /root/.cache/... (cached build)". */
export function describeVersitygw(r: ResolvedVersitygw): string {
  const label: Record<VersitygwSource, string> = {
    env: `from ${VERSITYGW.envVar}`,
    path: 'found on PATH',
    cache: 'cached build',
    built: 'built just now',
  };
  return `versitygw ${VERSITYGW.version} at ${r.path} (${label[r.source]})`;
}
