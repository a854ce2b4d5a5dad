/**
 * A content-addressed store for evidence (raw .eml files, attachments, reports): each object is kept
 * under its SHA-256, written durably, and never changed. Behind an interface so that an S3-compatible
 * store can be added without touching callers.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import type { EvidenceRef } from '../domain/state';
import { sha256Hex } from './hash';

/** What a streamed write stored: the ref, or nothing when the stream was longer than allowed (it was still read to the end). */
export interface StreamPutResult {
  ref?: EvidenceRef;
  bytes: number;
  exceeded: boolean;
}

/** What every evidence backend provides. */
export interface EvidenceStore {
  /** Stores bytes (idempotent: the same bytes give the same ref, stored once). */
  put(data: Buffer, meta?: { contentType?: string; filename?: string }): Promise<EvidenceRef>;
  /**
   * Stores a stream without holding it in memory (hashed while written to a temporary file). Past
   * `maxBytes` the rest is read and dropped, and nothing is stored.
   */
  putStream(
    source: Readable,
    meta?: { contentType?: string; filename?: string },
    opts?: { maxBytes?: number },
  ): Promise<StreamPutResult>;
  /** The object's bytes as a stream (for parsing without loading it). */
  open(sha256: string): Readable;
  /** The first `bytes` bytes of an object (fewer when it is shorter). */
  readPrefix(sha256: string, bytes: number): Promise<Buffer>;
  get(sha256: string): Promise<Buffer>;
  has(sha256: string): Promise<boolean>;
  /** Where the object lives, for people (a file path or a URL). */
  locate(sha256: string): string;
}

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

/** Objects up to this size are hashed in memory before anything is written (most attachments are small). */
const SMALL_OBJECT_BYTES = 256 * 1024;

/** The local-filesystem store under `<data>/evidence/sha256/ab/cd/<hash>`. */
export function createFileEvidenceStore(root: string): EvidenceStore {
  const file = (sha: string) => {
    if (!/^[a-f0-9]{64}$/.test(sha)) throw new Error(`not a sha256 digest: ${sha}`);
    return path.join(root, 'sha256', sha.slice(0, 2), sha.slice(2, 4), sha);
  };
  return {
    async put(data, meta = {}) {
      const sha256 = sha256Hex(data);
      const target = file(sha256);
      if (!fs.existsSync(target)) writeDurably(target, data);
      return {
        sha256,
        size: data.length,
        ...(meta.contentType ? { contentType: meta.contentType } : {}),
        ...(meta.filename ? { filename: meta.filename } : {}),
      };
    },
    async putStream(source, meta = {}, opts = {}) {
      const max = opts.maxBytes ?? Number.MAX_SAFE_INTEGER;
      const hash = crypto.createHash('sha256');
      const head: Buffer[] = [];
      let bytes = 0;
      let exceeded = false;
      let tmp: string | undefined;
      let out: fs.WriteStream | undefined;
      try {
        for await (const chunk of source as AsyncIterable<Buffer>) {
          bytes += chunk.length;
          // Past the limit the rest is read (the sender must be able to finish) and dropped.
          if (bytes > max) exceeded = true;
          if (exceeded) continue;
          hash.update(chunk);
          // Small objects (most attachments, every manifest) never touch a temporary file.
          if (!out && bytes <= SMALL_OBJECT_BYTES) {
            head.push(chunk);
            continue;
          }
          if (!out) {
            fs.mkdirSync(path.join(root, 'tmp'), { recursive: true });
            tmp = path.join(root, 'tmp', `${process.pid}-${crypto.randomBytes(6).toString('hex')}`);
            out = fs.createWriteStream(tmp, { mode: 0o600 });
            for (const c of head.splice(0)) if (!out.write(c)) await once(out, 'drain');
          }
          if (!out.write(chunk)) await once(out, 'drain');
        }
        if (out)
          await new Promise<void>((resolve, reject) =>
            out!.end((err?: Error | null) => (err ? reject(err) : resolve())),
          );
        if (exceeded) return { bytes, exceeded: true };
        const sha256 = hash.digest('hex');
        const target = file(sha256);
        // Content-addressed: an object already there is these very bytes, so only a new one is written.
        if (!fs.existsSync(target)) {
          if (!tmp) writeDurably(target, Buffer.concat(head));
          else {
            fsyncPath(tmp);
            fs.mkdirSync(path.dirname(target), { recursive: true });
            fs.renameSync(tmp, target);
            fsyncPath(path.dirname(target));
          }
        }
        return {
          ref: {
            sha256,
            size: bytes,
            ...(meta.contentType ? { contentType: meta.contentType } : {}),
            ...(meta.filename ? { filename: meta.filename } : {}),
          },
          bytes,
          exceeded: false,
        };
      } finally {
        out?.destroy();
        if (tmp) fs.rmSync(tmp, { force: true });
      }
    },
    open(sha256) {
      return fs.createReadStream(file(sha256));
    },
    async readPrefix(sha256, bytes) {
      const fd = fs.openSync(file(sha256), 'r');
      try {
        const buf = Buffer.alloc(bytes);
        const n = fs.readSync(fd, buf, 0, bytes, 0);
        return buf.subarray(0, n);
      } finally {
        fs.closeSync(fd);
      }
    },
    async get(sha256) {
      const data = fs.readFileSync(file(sha256));
      if (sha256Hex(data) !== sha256) throw new Error(`evidence ${sha256} is corrupted on disk (${file(sha256)})`);
      return data;
    },
    async has(sha256) {
      return fs.existsSync(file(sha256));
    },
    locate: file,
  };
}
