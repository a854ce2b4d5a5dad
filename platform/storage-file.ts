/**
 * The folder backend of the storage (`file://<folder>`, the embedded default): each key a file under the
 * folder, written durably (temp file, fsync, then link or rename, fsync of the folder). Conditional writes
 * hold across the processes of one machine: create-only is a hard link (which never replaces a file), and
 * a replace takes a lock file and compares the content's hash, its ETag.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { sha256Hex } from './hash';
import type { PutOptions, PutResult, Storage, StorageReport } from './storage';

function fsyncPath(p: string): void {
  const fd = fs.openSync(p, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Writes a file durably: temp file, fsync, rename, fsync of the folder. */
export function writeDurably(file: string, data: Buffer | string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
  const fd = fs.openSync(tmp, 'w', 0o600);
  try {
    fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  fsyncPath(path.dirname(file));
}

/** Writes bytes to a new temporary file in `dir`, fsynced; returns its path. */
function tempFile(dir: string, data: Buffer): string {
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `${process.pid}-${crypto.randomBytes(6).toString('hex')}.tmp`);
  const fd = fs.openSync(tmp, 'wx', 0o600);
  try {
    fs.writeSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return tmp;
}

/** Takes `<file>.lock` (waiting up to 10 s for another process to let go), runs `fn`, lets go. */
function withLock<T>(file: string, fn: () => T): T {
  const lock = `${file}.lock`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      fs.closeSync(fs.openSync(lock, 'wx'));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // A lock older than a minute belongs to a process that died holding it.
      const age = Date.now() - (fs.statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > 60_000) fs.rmSync(lock, { force: true });
      else if (Date.now() > deadline) throw new Error(`${lock} is held by another process`, { cause: err });
      else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
  }
  try {
    return fn();
  } finally {
    fs.rmSync(lock, { force: true });
  }
}

/** The folder backend rooted at `root`. */
export function createFileStorage(root: string): Storage {
  const spoolDir = path.join(root, 'tmp');
  const file = (key: string) => {
    const p = path.resolve(root, key);
    if (!p.startsWith(path.resolve(root) + path.sep)) throw new Error(`storage key outside the folder: ${key}`);
    return p;
  };
  const read = (key: string) => {
    try {
      return fs.readFileSync(file(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  };
  return {
    kind: 'file',
    description: `file://${root}`,
    spoolDir,
    async get(key) {
      const body = read(key);
      return body && { body, etag: sha256Hex(body) };
    },
    async getStream(key) {
      return fs.existsSync(file(key)) ? (fs.createReadStream(file(key)) as Readable) : undefined;
    },
    async readPrefix(key, bytes) {
      const fd = fs.openSync(file(key), 'r');
      try {
        const buf = Buffer.alloc(bytes);
        return buf.subarray(0, fs.readSync(fd, buf, 0, bytes, 0));
      } finally {
        fs.closeSync(fd);
      }
    },
    async exists(key) {
      return fs.existsSync(file(key));
    },
    async put(key, body, opts: PutOptions = {}): Promise<PutResult> {
      const target = file(key);
      if (opts.ifNoneMatch && fs.existsSync(target)) {
        // Refused as the link below would be, without first writing and fsyncing a copy: the same logo or
        // signature comes with every reply, and that copy was most of the time a reply's evidence took.
        if (!Buffer.isBuffer(body)) fs.rmSync(body.file, { force: true });
        return { ok: false, reason: 'exists' };
      }
      fs.mkdirSync(path.dirname(target), { recursive: true });
      const tmp = Buffer.isBuffer(body) ? tempFile(spoolDir, body) : body.file;
      if (!Buffer.isBuffer(body)) fsyncPath(tmp);
      const etag = () => (Buffer.isBuffer(body) ? sha256Hex(body) : sha256Hex(fs.readFileSync(target)));
      try {
        if (opts.ifNoneMatch) {
          try {
            fs.linkSync(tmp, target);
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code === 'EEXIST') return { ok: false, reason: 'exists' };
            throw err;
          }
          fsyncPath(path.dirname(target));
          return { ok: true, etag: etag() };
        }
        return withLock(target, () => {
          if (opts.ifMatch !== undefined) {
            const current = read(key);
            if (!current || sha256Hex(current) !== opts.ifMatch) return { ok: false, reason: 'changed' } as const;
          }
          fs.renameSync(tmp, target);
          fsyncPath(path.dirname(target));
          return { ok: true, etag: etag() } as const;
        });
      } finally {
        fs.rmSync(tmp, { force: true });
      }
    },
    async list(prefix) {
      const out: string[] = [];
      const walk = (dir: string, rel: string) => {
        let entries: fs.Dirent[];
        try {
          entries = fs.readdirSync(dir, { withFileTypes: true });
        } catch {
          return;
        }
        for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
          const key = `${rel}${e.name}`;
          if (e.isDirectory()) walk(path.join(dir, e.name), `${key}/`);
          else if (!e.name.endsWith('.lock') && !e.name.endsWith('.tmp')) out.push(key);
        }
      };
      const base = prefix.endsWith('/') ? prefix : `${path.posix.dirname(prefix)}/`;
      walk(path.join(root, base), base === './' ? '' : base);
      return out.filter((k) => k.startsWith(prefix));
    },
    async storedSha256(key) {
      if (!fs.existsSync(file(key))) return undefined;
      const hash = crypto.createHash('sha256');
      await pipeline(fs.createReadStream(file(key)), hash);
      return hash.digest('hex');
    },
    lockEnabled: async () => false,
    lockOf: async () => undefined,
    async setLegalHold() {
      // A folder has no Object Lock: its protection is the machine's own (backups, permissions).
    },
    async check(): Promise<StorageReport> {
      try {
        fs.mkdirSync(spoolDir, { recursive: true });
        fs.rmSync(tempFile(spoolDir, Buffer.from('ok')), { force: true });
        return {
          ok: true,
          detail: `folder ${root} is writable (a folder has no Object Lock: protect it with backups and permissions)`,
        };
      } catch (err) {
        return { ok: false, problem: 'refused', detail: `folder ${root} is not writable: ${(err as Error).message}` };
      }
    },
    locate: file,
  };
}
