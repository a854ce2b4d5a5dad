/**
 * A private, throw-away dovecot IMAP server for tests: found on PATH or in /usr/sbin, installed from
 * Debian's mirrors on first use when running as root, started in the foreground with its own config,
 * state and Maildir under a temp folder, on 127.0.0.1 and a free port, with one plain-text test user.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findProgram, installHint, resolveProgram, type DebianProgram } from './apt';
import { freePort, isPortOpen } from '../platform/net';
import { processGroupMembers } from './processes';
import { eventually } from '../platform/wait';

export { isRunning } from './processes';

const DOVECOT: DebianProgram = { binaries: ['dovecot'], package: 'dovecot-imapd' };
export const DOVECOT_PACKAGE = DOVECOT.package;
export const DOVECOT_INSTALL_HINT = installHint(DOVECOT);

export interface DovecotBinary {
  path: string;
  /** What was done to get it, for diagnostics. */
  how: 'found' | 'installed';
}

export interface Dovecot {
  port: number;
  user: string;
  password: string;
  /** `imap://user:password@127.0.0.1:port` */
  url: string;
  /** The URL of another mailbox (any user name logs in with the password; each has its own Maildir), optionally through another port. */
  urlFor(user: string, port?: number): string;
  /** The server's private folder (config, state, Maildir, log). */
  dir: string;
  /** Process ids of the master and every child it has now (for checking that stop() leaves none). */
  pids(): number[];
  /** Ends the master and every process it forked, and removes the folder; safe to call twice. */
  stop(): Promise<void>;
}

/** The dovecot binary on PATH or in the usual sbin folders (often not on a non-root PATH), if any. */
export function findDovecot(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return findProgram(DOVECOT.binaries, env);
}

/**
 * Finds dovecot or, as root with apt-get, installs `dovecot-imapd` (running `apt-get update` only when
 * the install fails without it). Returns why not when it cannot be had, with how to install it.
 */
export function resolveDovecot(
  opts: { install?: boolean } = {},
): { ok: true; binary: DovecotBinary } | { ok: false; reason: string } {
  const r = resolveProgram(DOVECOT, opts);
  return r.ok ? { ok: true, binary: { path: r.path, how: r.how } } : r;
}

export interface DovecotOptions {
  binary?: string;
  user?: string;
  password?: string;
  startTimeoutMs?: number;
}

function id(args: string[]): string | undefined {
  const res = spawnSync('id', args, { encoding: 'utf8' });
  return res.status === 0 ? res.stdout.trim() : undefined;
}

interface Accounts {
  login: string;
  internal: string;
  internalGroup: string;
  uid: number;
  gid: number;
}

/** Who runs what: as root, dovecot's own users (made by the package); otherwise everything as us. */
function accounts(): Accounts {
  const me = os.userInfo();
  if (me.uid !== 0)
    return {
      login: me.username,
      internal: me.username,
      internalGroup: id(['-gn']) ?? String(me.gid),
      uid: me.uid,
      gid: me.gid,
    };
  // Dovecot refuses mail processes running as root, so the mailbox belongs to the `dovecot` user.
  const uid = id(['-u', 'dovecot']);
  const gid = id(['-g', 'dovecot']);
  if (uid === undefined || gid === undefined || id(['-u', 'dovenull']) === undefined)
    throw new Error('the dovecot and dovenull users are missing; reinstall dovecot-core');
  return { login: 'dovenull', internal: 'dovecot', internalGroup: 'dovecot', uid: Number(uid), gid: Number(gid) };
}

/** The whole configuration of a private instance; nothing is read from /etc/dovecot. */
export function dovecotConfig(p: { dir: string; port: number; password: string } & Accounts): string {
  return `# Private test instance: loopback only, plain-text login, no TLS, one Maildir.
base_dir = ${p.dir}/run
state_dir = ${p.dir}/state
log_path = ${p.dir}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = ${p.login}
default_internal_user = ${p.internal}
default_internal_group = ${p.internalGroup}
first_valid_uid = ${p.uid}
last_valid_uid = ${p.uid}
mail_location = maildir:${p.dir}/mail/%u
passdb {
  driver = static
  args = password=${p.password}
}
userdb {
  driver = static
  args = uid=${p.uid} gid=${p.gid} home=${p.dir}/mail/%u
}
# No chroot: it needs root, and this instance must also run as an ordinary user.
service anvil {
  chroot =
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = ${p.port}
  }
  inet_listener imaps {
    port = 0
  }
}
`;
}

async function waitUntil(what: string, cond: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  await eventually(cond, what, { timeoutMs, intervalMs: 50 });
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

async function killGroup(child: ChildProcess): Promise<void> {
  const pgid = child.pid!;
  if (!exited(child)) {
    // SIGTERM to the master alone: it stops its children itself, which is the clean path.
    child.kill('SIGTERM');
    await waitUntil('dovecot to exit', () => exited(child), 5000).catch(() => undefined);
  }
  // Whatever is left of the group (a stuck master, or a child that outlived it) is killed outright.
  if (processGroupMembers(pgid).length) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  await waitUntil(`dovecot processes of group ${pgid} to end`, () => processGroupMembers(pgid).length === 0, 10_000);
}

async function launch(
  binary: string,
  dir: string,
  port: number,
  password: string,
  timeoutMs: number,
): Promise<ChildProcess> {
  fs.writeFileSync(path.join(dir, 'dovecot.conf'), dovecotConfig({ dir, port, password, ...accounts() }));
  // Its own process group, so that stop() can find and end every process it forks.
  const child = spawn(binary, ['-F', '-c', path.join(dir, 'dovecot.conf')], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  try {
    await waitUntil(
      `dovecot to listen on 127.0.0.1:${port}`,
      async () => {
        if (exited(child)) throw new Error(`dovecot exited with ${child.exitCode ?? child.signalCode}`);
        return isPortOpen('127.0.0.1', port, 500);
      },
      timeoutMs,
    );
    return child;
  } catch (err) {
    await killGroup(child);
    const log = fs.existsSync(path.join(dir, 'dovecot.log'))
      ? fs.readFileSync(path.join(dir, 'dovecot.log'), 'utf8')
      : '';
    throw new Error(`${(err as Error).message}\n${`${output}${log}`.trim().split('\n').slice(-10).join('\n')}`, {
      cause: err,
    });
  }
}

/** Starts a private dovecot on 127.0.0.1 and a free port and waits until it accepts connections. */
export async function startDovecot(opts: DovecotOptions = {}): Promise<Dovecot> {
  const binary = opts.binary ?? findDovecot();
  if (!binary) throw new Error(`dovecot is not installed; ${DOVECOT_INSTALL_HINT}`);
  const user = opts.user ?? 'auditflow';
  const password = opts.password ?? crypto.randomBytes(12).toString('hex');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'auditflow-dovecot-'));
  const acc = accounts();
  for (const sub of ['run', 'state', 'mail']) fs.mkdirSync(path.join(dir, sub));
  if (os.userInfo().uid === 0) {
    // The mail process runs as the dovecot user: it must reach and own the Maildir.
    fs.chmodSync(dir, 0o711);
    fs.chownSync(path.join(dir, 'mail'), acc.uid, acc.gid);
  }
  let child: ChildProcess | undefined;
  let port = 0;
  // A free port can be taken by someone else before dovecot binds it: try again with another.
  for (let attempt = 1; !child; attempt++) {
    port = await freePort();
    try {
      child = await launch(binary, dir, port, password, opts.startTimeoutMs ?? 30_000);
    } catch (err) {
      if (attempt >= 3 || !/Address already in use/.test((err as Error).message)) {
        fs.rmSync(dir, { recursive: true, force: true });
        throw err;
      }
    }
  }
  const master = child;
  // If the test process ends without stop(), the server must not outlive it.
  const onExit = () => {
    try {
      process.kill(-master.pid!, 'SIGKILL');
    } catch {
      // Already gone.
    }
  };
  process.once('exit', onExit);
  const urlFor = (name: string, via = port) =>
    `imap://${encodeURIComponent(name)}:${encodeURIComponent(password)}@127.0.0.1:${via}`;
  let stopped: Promise<void> | undefined;
  return {
    port,
    user,
    password,
    url: urlFor(user),
    urlFor,
    dir,
    pids: () => processGroupMembers(master.pid!),
    stop() {
      stopped ??= (async () => {
        process.removeListener('exit', onExit);
        await killGroup(master);
        fs.rmSync(dir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}
