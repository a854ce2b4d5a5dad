/**
 * A content-addressed store for evidence (raw .eml files, attachments, reports): each object is kept
 * under its SHA-256, written durably, and never changed. Behind an interface so that an S3-compatible
 * store can be added without touching callers.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { EvidenceRef } from '../domain/state';

/** What every evidence backend provides. */
export interface EvidenceStore {
  /** Stores bytes (idempotent: the same bytes give the same ref, stored once). */
  put(data: Buffer, meta?: { contentType?: string; filename?: string }): Promise<EvidenceRef>;
  get(sha256: string): Promise<Buffer>;
  has(sha256: string): Promise<boolean>;
  /** Where the object lives, for people (a file path or a URL). */
  locate(sha256: string): string;
}

export function sha256Hex(data: Buffer | string): string {
  return crypto.createHash('sha256').update(data).digest('hex');
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
  const dirFd = fs.openSync(path.dirname(file), 'r');
  try {
    fs.fsyncSync(dirFd);
  } finally {
    fs.closeSync(dirFd);
  }
}

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
      return { sha256, size: data.length, ...(meta.contentType ? { contentType: meta.contentType } : {}), ...(meta.filename ? { filename: meta.filename } : {}) };
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
