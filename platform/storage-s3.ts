/**
 * The S3 backend of the storage (`s3://<bucket>/<prefix>`), through the official AWS SDK v3 client, for
 * AWS S3 or any S3-compatible store with conditional writes. Credentials come from the SDK's standard
 * chain (environment, profile, instance role). When the bucket has Object Lock, evidence is written with
 * the configured retention, and a legal hold can be put on it.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  GetBucketVersioningCommand,
  GetObjectCommand,
  GetObjectLegalHoldCommand,
  GetObjectLockConfigurationCommand,
  GetObjectRetentionCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  PutObjectLegalHoldCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import type { PutOptions, PutResult, Storage, StorageReport } from './storage';
import { StorageUnavailable } from './storage';

export interface S3StorageOptions {
  bucket: string;
  /** Key prefix inside the bucket ('' or ending in '/'). */
  prefix: string;
  endpoint?: string;
  region: string;
  pathStyle: boolean;
  /** Retention given to evidence when the bucket has Object Lock (days 0: none). */
  lockMode: 'GOVERNANCE' | 'COMPLIANCE';
  lockDays: number;
  /** Local folder for spooling streams before upload. */
  spoolDir: string;
}

const status = (err: unknown) => (err as S3ServiceException).$metadata?.httpStatusCode;
const code = (err: unknown) => (err as { name?: string; Code?: string }).name ?? (err as { Code?: string }).Code;

/** A definite answer from S3 (no such key, refused precondition) as opposed to not reaching it at all. */
function isServiceAnswer(err: unknown): boolean {
  return err instanceof S3ServiceException && status(err) !== undefined && status(err)! < 500 && !isRefusal(err);
}

/** Refused as a whole (credentials, permissions, no such bucket): the storage is unusable until someone fixes it. */
function isRefusal(err: unknown): boolean {
  return status(err) === 401 || status(err) === 403 || code(err) === 'NoSuchBucket';
}

/** The S3 backend. */
export function createS3Storage(o: S3StorageOptions): Storage {
  // The SDK warns on every start under Node 20 (still maintained here); the warning says nothing to act on.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const client = new S3Client({
    region: o.region,
    ...(o.endpoint ? { endpoint: o.endpoint } : {}),
    forcePathStyle: o.pathStyle,
    // S3-compatible stores differ in the flexible checksums they take; a content-addressed object is
    // verified by its hash anyway.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 3,
  });
  const where = `s3://${o.bucket}/${o.prefix}${o.endpoint ? ` (${o.endpoint})` : ''}`;
  const key = (k: string) => `${o.prefix}${k}`;
  let lock: boolean | undefined;

  /** Runs a call; a failure to reach S3 (or a 5xx) becomes StorageUnavailable, a definite answer is rethrown. */
  const call = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      if (isServiceAnswer(err)) throw err;
      const why = isRefusal(err)
        ? `refused (${code(err) ?? status(err)}: ${(err as Error).message}); check the AWS credentials and the bucket's permissions`
        : (err as Error).message || String(code(err));
      throw new StorageUnavailable(`storage ${where}: ${what} failed: ${why}`, { cause: err });
    }
  };
  /** Whether the bucket has Object Lock (asked once; a failure to reach S3 is not taken for "no"). */
  const lockEnabled = async (): Promise<boolean> => {
    if (lock !== undefined) return lock;
    try {
      const r = await call('reading the Object Lock configuration', () =>
        client.send(new GetObjectLockConfigurationCommand({ Bucket: o.bucket })),
      );
      lock = r.ObjectLockConfiguration?.ObjectLockEnabled === 'Enabled';
    } catch (err) {
      if (err instanceof StorageUnavailable) throw err;
      lock = false; // no lock configuration (404), or not allowed to read it
    }
    return lock;
  };

  const getObject = async (k: string, range?: string) => {
    try {
      return await call(`reading ${k}`, () =>
        client.send(new GetObjectCommand({ Bucket: o.bucket, Key: key(k), ...(range ? { Range: range } : {}) })),
      );
    } catch (err) {
      if (code(err) === 'NoSuchKey' || status(err) === 404) return undefined;
      if (status(err) === 416) return undefined;
      throw err;
    }
  };

  return {
    kind: 's3',
    description: where,
    spoolDir: o.spoolDir,
    async get(k) {
      const r = await getObject(k);
      if (!r?.Body) return undefined;
      return { body: Buffer.from(await r.Body.transformToByteArray()), etag: r.ETag ?? '' };
    },
    async getStream(k) {
      const r = await getObject(k);
      return r?.Body as Readable | undefined;
    },
    async readPrefix(k, bytes) {
      const r = await getObject(k, `bytes=0-${Math.max(0, bytes - 1)}`);
      return r?.Body ? Buffer.from(await r.Body.transformToByteArray()) : Buffer.alloc(0);
    },
    async exists(k) {
      try {
        await call(`looking for ${k}`, () => client.send(new HeadObjectCommand({ Bucket: o.bucket, Key: key(k) })));
        return true;
      } catch (err) {
        if (status(err) === 404 || code(err) === 'NotFound') return false;
        throw err;
      }
    },
    async put(k, body, opts: PutOptions = {}): Promise<PutResult> {
      const retention =
        opts.retain && o.lockDays > 0 && (await lockEnabled())
          ? { ObjectLockMode: o.lockMode, ObjectLockRetainUntilDate: new Date(Date.now() + o.lockDays * 86_400_000) }
          : {};
      try {
        const r = await call(`writing ${k}`, () =>
          client.send(
            new PutObjectCommand({
              Bucket: o.bucket,
              Key: key(k),
              Body: Buffer.isBuffer(body) ? body : fs.createReadStream(body.file),
              ContentLength: Buffer.isBuffer(body) ? body.length : body.size,
              ...(opts.contentType ? { ContentType: opts.contentType } : {}),
              ...(opts.ifNoneMatch ? { IfNoneMatch: '*' } : {}),
              ...(opts.ifMatch !== undefined ? { IfMatch: opts.ifMatch } : {}),
              // S3 checks the upload against the hash and keeps it, for storedSha256.
              ...(opts.sha256 ? { ChecksumSHA256: Buffer.from(opts.sha256, 'hex').toString('base64') } : {}),
              ...retention,
            }),
          ),
        );
        return { ok: true, etag: r.ETag ?? '' };
      } catch (err) {
        // 412: the precondition failed; 409: a concurrent conditional write won the race.
        if (status(err) === 412 || status(err) === 409)
          return { ok: false, reason: opts.ifNoneMatch ? 'exists' : 'changed' };
        throw err;
      } finally {
        if (!Buffer.isBuffer(body)) fs.rmSync(body.file, { force: true });
      }
    },
    async list(prefix) {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const r = await call(`listing ${prefix}`, () =>
          client.send(
            new ListObjectsV2Command({
              Bucket: o.bucket,
              Prefix: key(prefix),
              ...(token ? { ContinuationToken: token } : {}),
            }),
          ),
        );
        for (const c of r.Contents ?? []) if (c.Key) keys.push(c.Key.slice(o.prefix.length));
        token = r.IsTruncated ? r.NextContinuationToken : undefined;
      } while (token);
      return keys.sort();
    },
    async storedSha256(k) {
      let head;
      try {
        head = await call(`looking for ${k}`, () =>
          client.send(new HeadObjectCommand({ Bucket: o.bucket, Key: key(k), ChecksumMode: 'ENABLED' })),
        );
      } catch (err) {
        if (status(err) === 404 || code(err) === 'NotFound') return undefined;
        throw err;
      }
      // A whole-object SHA-256 kept by the store answers at once; otherwise the bytes are read and hashed.
      if (head.ChecksumSHA256 && !head.ChecksumSHA256.includes('-') && head.ChecksumType !== 'COMPOSITE')
        return Buffer.from(head.ChecksumSHA256, 'base64').toString('hex');
      const stream = (await getObject(k))?.Body as Readable | undefined;
      if (!stream) return undefined;
      const hash = crypto.createHash('sha256');
      await pipeline(stream, hash);
      return hash.digest('hex');
    },
    lockEnabled,
    async lockOf(k) {
      if (!(await lockEnabled())) return undefined;
      const [hold, retention] = await Promise.all([
        call(`reading the legal hold of ${k}`, () =>
          client.send(new GetObjectLegalHoldCommand({ Bucket: o.bucket, Key: key(k) })),
        ).catch((err) => (status(err) === 404 || status(err) === 400 ? undefined : Promise.reject(err))),
        call(`reading the retention of ${k}`, () =>
          client.send(new GetObjectRetentionCommand({ Bucket: o.bucket, Key: key(k) })),
        ).catch((err) => (status(err) === 404 || status(err) === 400 ? undefined : Promise.reject(err))),
      ]);
      return {
        legalHold: hold?.LegalHold?.Status === 'ON',
        ...(retention?.Retention?.RetainUntilDate
          ? { retainUntil: retention.Retention.RetainUntilDate.toISOString() }
          : {}),
        ...(retention?.Retention?.Mode ? { mode: retention.Retention.Mode } : {}),
      };
    },
    async setLegalHold(k, on) {
      if (!(await lockEnabled())) return;
      await call(`holding ${k}`, () =>
        client.send(
          new PutObjectLegalHoldCommand({ Bucket: o.bucket, Key: key(k), LegalHold: { Status: on ? 'ON' : 'OFF' } }),
        ),
      );
    },
    async check(opts = {}): Promise<StorageReport> {
      try {
        await client.send(new HeadBucketCommand({ Bucket: o.bucket }));
        const versioning =
          (await client.send(new GetBucketVersioningCommand({ Bucket: o.bucket }))).Status ?? 'never enabled';
        const lockConfig = await client
          .send(new GetObjectLockConfigurationCommand({ Bucket: o.bucket }))
          .then((r) => r.ObjectLockConfiguration)
          .catch(() => undefined);
        const rule = lockConfig?.Rule?.DefaultRetention;
        const objectLock =
          lockConfig?.ObjectLockEnabled === 'Enabled'
            ? `enabled${rule ? ` (bucket default ${rule.Mode} ${rule.Days ?? rule.Years} ${rule.Days ? 'days' : 'years'})` : ''}; evidence written with ${o.lockDays > 0 ? `${o.lockMode} for ${o.lockDays} days` : 'no retention (AUDITFLOW_STORAGE_LOCK_DAYS=0)'}`
            : 'not enabled (evidence can be deleted by whoever holds the credentials)';
        if (opts.write)
          await client.send(
            new PutObjectCommand({
              Bucket: o.bucket,
              Key: key('doctor/probe'),
              Body: Buffer.from(new Date().toISOString()),
            }),
          );
        return {
          ok: true,
          detail: `${where}: reachable${opts.write ? ' and writable' : ''}; versioning ${versioning.toLowerCase()}; Object Lock ${objectLock}`,
          versioning,
          objectLock,
        };
      } catch (err) {
        const s = status(err);
        const missing = s === 404 || code(err) === 'NoSuchBucket';
        const denied = s === 403 || s === 401 || code(err) === 'CredentialsProviderError';
        const why = missing
          ? `bucket ${o.bucket} does not exist (create it with Object Lock enabled; see the README, "Running on several machines")`
          : denied
            ? `access refused (${code(err) ?? s}): check the AWS credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE or the instance role) and the bucket policy`
            : `cannot be reached: ${(err as Error).message || code(err)}`;
        return { ok: false, problem: missing || denied ? 'refused' : 'unreachable', detail: `${where}: ${why}` };
      }
    },
    locate: (k) => `s3://${o.bucket}/${path.posix.join(o.prefix, k)}`,
  };
}
