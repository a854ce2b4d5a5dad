/**
 * Programs the tests need from Debian (dovecot, chromium): found on PATH or in the sbin folders, else
 * installed with apt-get when running as root on a Debian-like system, else a reason with the command
 * that would install them.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { isExecutableFile } from './support/executables';

export interface DebianProgram {
  /** File names to look for, in order of preference. */
  binaries: string[];
  /** The Debian package that provides them. */
  package: string;
}

export type Resolved = { ok: true; path: string; how: 'found' | 'installed' } | { ok: false; reason: string };

/** The first of `binaries` on PATH or in the usual sbin folders (often not on a non-root PATH), if any. */
export function findProgram(binaries: string[], env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dirs = [...(env.PATH ?? '').split(path.delimiter).filter(Boolean), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  for (const name of binaries) {
    const found = dirs.map((d) => path.join(d, name)).find(isExecutableFile);
    if (found) return found;
  }
  return undefined;
}

/** How a person installs the package by hand. */
export function installHint(p: DebianProgram): string {
  return `install it with: sudo apt-get install -y ${p.package} (Debian/Ubuntu), or put ${p.binaries[0]} on PATH`;
}

function aptGet(args: string[]): { ok: boolean; output: string } {
  // The lock timeout lets two test processes that both need a package wait for each other.
  const res = spawnSync('apt-get', ['-o', 'DPkg::Lock::Timeout=600', ...args], {
    encoding: 'utf8',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    timeout: 15 * 60_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  return {
    ok: res.status === 0,
    output: `${res.stdout ?? ''}${res.stderr ?? ''}${res.error ? res.error.message : ''}`,
  };
}

function canInstall(): boolean {
  return (
    process.platform === 'linux' &&
    process.getuid?.() === 0 &&
    spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status === 0
  );
}

/**
 * Finds the program or, as root with apt-get, installs its package (running `apt-get update` only when
 * the install fails without it). Returns why not when it cannot be had, with how to install it.
 */
export function resolveProgram(p: DebianProgram, opts: { install?: boolean } = {}): Resolved {
  const found = findProgram(p.binaries);
  if (found) return { ok: true, path: found, how: 'found' };
  if (!(opts.install ?? true) || !canInstall())
    return {
      ok: false,
      reason: `${p.binaries[0]} is not installed and cannot be installed here (needs root and apt-get); ${installHint(p)}`,
    };
  const install = ['install', '-y', '--no-install-recommends', p.package];
  let res = aptGet(install);
  if (!res.ok) {
    const update = aptGet(['update']);
    res = update.ok ? aptGet(install) : update;
  }
  const installed = findProgram(p.binaries);
  if (installed) return { ok: true, path: installed, how: 'installed' };
  const tail = res.output.trim().split('\n').slice(-5).join(' | ');
  return { ok: false, reason: `apt-get install ${p.package} failed: ${tail}; ${installHint(p)}` };
}
