/**
 * A content-addressed store for evidence (raw .eml files, attachments, manifests): each object is kept
 * under its SHA-256 in the storage (a folder or an S3 bucket), written once with a create-only write
 * (If-None-Match: *) and never changed. When the bucket has Object Lock, each object gets its retention.
 * An object found already there is checked against its hash: a damaged one is written again.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import type { EvidenceRef } from '../domain/state';
import { sha256Hex } from './hash';
import { STORAGE_KEYS, type Storage } from './storage';

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
  open(sha256: string): Promise<Readable>;
  /** The first `bytes` bytes of an object (fewer when it is shorter). */
  readPrefix(sha256: string, bytes: number): Promise<Buffer>;
  get(sha256: string): Promise<Buffer>;
  has(sha256: string): Promise<boolean>;
  /** Where the object lives, for people (a file path or a URL). */
  locate(sha256: string): string;
  /** The storage key of an object (for a legal hold). */
  key(sha256: string): string;
}

/** Objects up to this size are hashed in memory before anything is written (most attachments are small). */
const SMALL_OBJECT_BYTES = 256 * 1024;

/** The evidence store over a storage: objects under `evidence/sha256/ab/cd/<hash>`. */
export function createEvidenceStore(storage: Storage): EvidenceStore {
  const key = (sha: string) => {
    if (!/^[a-f0-9]{64}$/.test(sha)) throw new Error(`not a sha256 digest: ${sha}`);
    return STORAGE_KEYS.evidence(sha);
  };
  const ref = (sha256: string, size: number, meta: { contentType?: string; filename?: string }): EvidenceRef => ({
    sha256,
    size,
    ...(meta.contentType ? { contentType: meta.contentType } : {}),
    ...(meta.filename ? { filename: meta.filename } : {}),
  });
  /**
   * Writes an object once. Already there (the create-only write refused): its stored hash is compared, and
   * an object whose bytes do not match its name (damaged, or planted) is replaced by the true bytes.
   */
  const store = async (sha256: string, body: () => Buffer | { file: string; size: number }) => {
    const k = key(sha256);
    const opts = { ifNoneMatch: true, retain: true, sha256, contentType: 'application/octet-stream' } as const;
    const first = await storage.put(k, body(), opts);
    if (first.ok) return;
    const stored = await storage.storedSha256(k);
    if (stored === sha256) return;
    await storage.put(k, body(), { retain: true, sha256 });
  };
  return {
    async put(data, meta = {}) {
      const sha256 = sha256Hex(data);
      await store(sha256, () => data);
      return ref(sha256, data.length, meta);
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
            fs.mkdirSync(storage.spoolDir, { recursive: true });
            tmp = path.join(storage.spoolDir, `${process.pid}-${crypto.randomBytes(6).toString('hex')}.spool`);
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
        if (!tmp) await store(sha256, () => Buffer.concat(head));
        else {
          // Each write consumes the file it is given: hand it a link to the spool, so a second write (replacing a damaged object) still has it.
          const spool = tmp;
          let n = 0;
          await store(sha256, () => {
            const copy = `${spool}.${n++}`;
            fs.linkSync(spool, copy);
            return { file: copy, size: bytes };
          });
        }
        return { ref: ref(sha256, bytes, meta), bytes, exceeded: false };
      } finally {
        out?.destroy();
        if (tmp) fs.rmSync(tmp, { force: true });
      }
    },
    async open(sha256) {
      const stream = await storage.getStream(key(sha256));
      if (!stream) throw new Error(`evidence ${sha256} is missing from ${storage.locate(key(sha256))}`);
      return stream;
    },
    readPrefix: (sha256, bytes) => storage.readPrefix(key(sha256), bytes),
    async get(sha256) {
      const found = await storage.get(key(sha256));
      if (!found) throw new Error(`evidence ${sha256} is missing from ${storage.locate(key(sha256))}`);
      if (sha256Hex(found.body) !== sha256)
        throw new Error(`evidence ${sha256} is corrupted in storage (${storage.locate(key(sha256))})`);
      return found.body;
    },
    has: (sha256) => storage.exists(key(sha256)),
    locate: (sha256) => storage.locate(key(sha256)),
    key,
  };
}
