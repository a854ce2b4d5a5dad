/**
 * Where auditflow keeps what it keeps beside Temporal: evidence, the send ledger, final reports and the
 * triage log. One interface, two backends: a folder (`file://`, the embedded default: the data folder's
 * layout) and S3-compatible object storage (`s3://`), so that every worker, gateway and CLI on every
 * machine reads and writes the same records. Conditional writes make it safe across machines: create only
 * if absent (If-None-Match: *), replace only what was read (If-Match on the ETag).
 */
import type { Readable } from 'node:stream';

/** Where each kind of record lives under the storage root (the data folder's layout for file://). */
export const STORAGE_KEYS = {
  evidence: (sha256: string) => `evidence/sha256/${sha256.slice(0, 2)}/${sha256.slice(2, 4)}/${sha256}`,
  ledger: (keyHash: string) => `mail/ledger/${keyHash}.json`,
  report: (demandId: string, file: string) => `reports/${demandId}/${file}`,
  triageLog: (id: string) => `triage-log/${id}.json`,
  triageLogPrefix: 'triage-log/',
} as const;

/** An object as stored: its bytes and the tag a conditional replace must name. */
export interface StoredObject {
  body: Buffer;
  etag: string;
}

export interface PutOptions {
  /** Create only: refused when the key exists (If-None-Match: *). */
  ifNoneMatch?: boolean;
  /** Replace only the version read, with this ETag (If-Match). */
  ifMatch?: string;
  contentType?: string;
  /** Evidence: apply the bucket's retention (Object Lock) when it has one. */
  retain?: boolean;
  /** The content's SHA-256 (hex), for the store to check the upload against where it can. */
  sha256?: string;
}

/** `exists`: If-None-Match refused; `changed`: If-Match refused (someone else wrote it since). */
export type PutResult = { ok: true; etag: string } | { ok: false; reason: 'exists' | 'changed' };

/** What `doctor` and start-up learn about the storage. */
export interface StorageReport {
  ok: boolean;
  detail: string;
  /** When not ok: `refused` is a definite answer (no such bucket, credentials refused), `unreachable` may pass. */
  problem?: 'refused' | 'unreachable';
  /** S3: the bucket's versioning and Object Lock (mode and days of the default retention, if any). */
  versioning?: string;
  objectLock?: string;
}

/** The storage every process shares. */
export interface Storage {
  readonly kind: 'file' | 's3';
  /** For people: `file:///srv/auditflow` or `s3://bucket/prefix (endpoint)`; never credentials. */
  readonly description: string;
  /** A local folder for spooling a stream before it is stored (bounded memory). */
  readonly spoolDir: string;
  get(key: string): Promise<StoredObject | undefined>;
  /** The object's bytes as a stream (large evidence); undefined when absent. */
  getStream(key: string): Promise<Readable | undefined>;
  /** The first `bytes` bytes. */
  readPrefix(key: string, bytes: number): Promise<Buffer>;
  exists(key: string): Promise<boolean>;
  /** Stores bytes, or a local file (moved or uploaded, then removed). */
  put(key: string, body: Buffer | { file: string; size: number }, opts?: PutOptions): Promise<PutResult>;
  /** Keys under a prefix, in key order. */
  list(prefix: string): Promise<string[]>;
  /** Whether objects can be locked (an S3 bucket with Object Lock enabled). */
  lockEnabled(): Promise<boolean>;
  /** Whether an object is under legal hold and until when it is retained (S3 with Object Lock). */
  lockOf(key: string): Promise<{ legalHold: boolean; retainUntil?: string; mode?: string } | undefined>;
  /** Puts (or lifts) a legal hold on an object; a no-op where the storage has no Object Lock. */
  setLegalHold(key: string, on: boolean): Promise<void>;
  /** The SHA-256 (hex) of a stored object's bytes, undefined when absent (from the store's checksum where it keeps one). */
  storedSha256(key: string): Promise<string | undefined>;
  /** Whether it can be reached (and, with `write`, written), with its versioning and lock settings. */
  check(opts?: { write?: boolean }): Promise<StorageReport>;
  /** Where an object is, for people (a path, or an s3:// URL). */
  locate(key: string): string;
}

/** The storage could not be used (unreachable, no such bucket, refused credentials): transient for SMTP (451). */
export class StorageUnavailable extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StorageUnavailable';
  }
}
