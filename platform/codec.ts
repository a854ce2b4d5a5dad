/**
 * The encryption payload codec: every payload auditflow hands to Temporal (workflow inputs and results,
 * activity inputs and results, updates, signals, queries, memo, failures' details) is encrypted with
 * AES-256-GCM before it leaves the process, so the Temporal database and the Web UI hold ciphertext. Each
 * encrypted payload names its key in its metadata (`encryption-key-id`): the first key of
 * AUDITFLOW_ENCRYPTION_KEYS encrypts, all of them decrypt, so keys can be rotated. A payload that is not
 * encrypted (a history written before encryption) passes through; one whose key is unknown is an error
 * that names the key id, never a garbled value. Search attributes are never encoded (Temporal's rule).
 */
import crypto from 'node:crypto';
import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';

export const ENCODING_ENCRYPTED = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** One key: its id (in each payload's metadata) and its 32 bytes. */
export interface EncryptionKey {
  id: string;
  key: Buffer;
}

/**
 * Reads `AUDITFLOW_ENCRYPTION_KEYS`: `<id>:<key>[,<id>:<key>...]`, each key 32 bytes as 64 hex digits or
 * base64 (`openssl rand -hex 32`). The first encrypts. Throws a message naming what is wrong.
 */
export function parseEncryptionKeys(value: string): EncryptionKey[] {
  const entries = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (entries.length === 0) throw new Error('names no key; write it as <id>:<key>, e.g. k1:$(openssl rand -hex 32)');
  const keys = entries.map((entry, i) => {
    const sep = entry.indexOf(':');
    const id = sep > 0 ? entry.slice(0, sep) : '';
    const text = sep > 0 ? entry.slice(sep + 1) : '';
    if (!/^[A-Za-z0-9._-]{1,40}$/.test(id))
      throw new Error(`key ${i + 1} must be written <id>:<key> with an id of letters, digits, . _ - (e.g. k1:...)`);
    const key = /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, 'hex') : Buffer.from(text, 'base64');
    if (key.length !== 32 || (!/^[0-9a-fA-F]{64}$/.test(text) && key.toString('base64') !== text))
      throw new Error(`key "${id}" must be 32 bytes, as 64 hex digits or base64 (try: openssl rand -hex 32)`);
    return { id, key };
  });
  const ids = keys.map((k) => k.id);
  const twice = ids.find((id, i) => ids.indexOf(id) !== i);
  if (twice) throw new Error(`key id "${twice}" is given twice`);
  return keys;
}

/** A payload encrypted with a key this process does not have. */
export class UnknownEncryptionKey extends Error {
  constructor(readonly keyId: string) {
    super(
      `a payload is encrypted with key "${keyId}", which is not in AUDITFLOW_ENCRYPTION_KEYS; add that key (after the current one) to read it`,
    );
    this.name = 'UnknownEncryptionKey';
  }
}

/** The AES-256-GCM codec over these keys (the first encrypts). */
export class EncryptionCodec implements PayloadCodec {
  private readonly byId: Map<string, Buffer>;

  constructor(private readonly keys: readonly EncryptionKey[]) {
    if (keys.length === 0) throw new Error('the encryption codec needs at least one key');
    this.byId = new Map(keys.map((k) => [k.id, k.key]));
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const { id, key } = this.keys[0]!;
    return payloads.map((p) => {
      const iv = crypto.randomBytes(IV_BYTES);
      const cipher = crypto.createCipheriv('aes-256-gcm', key, iv);
      // The key id is bound to the ciphertext: a payload relabelled with another id fails to decrypt.
      cipher.setAAD(Buffer.from(id));
      const plain = temporal.api.common.v1.Payload.encode(p).finish();
      const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return {
        metadata: { encoding: Buffer.from(ENCODING_ENCRYPTED), [KEY_ID_METADATA]: Buffer.from(id) },
        data,
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => {
      if (Buffer.from(p.metadata?.encoding ?? []).toString() !== ENCODING_ENCRYPTED) return p;
      const id = Buffer.from(p.metadata?.[KEY_ID_METADATA] ?? []).toString();
      const key = this.byId.get(id);
      if (!key) throw new UnknownEncryptionKey(id);
      const data = Buffer.from(p.data ?? []);
      if (data.length < IV_BYTES + TAG_BYTES) throw new Error(`an encrypted payload (key "${id}") is truncated`);
      const decipher = crypto.createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(id));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      let plain: Buffer;
      try {
        plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
      } catch {
        throw new Error(
          `an encrypted payload (key "${id}") does not decrypt: it was altered, or the key is not the one it was made with`,
        );
      }
      return temporal.api.common.v1.Payload.decode(plain) as Payload;
    });
  }
}

/** The data converter of every client and worker: the codec when keys are given, Temporal's default otherwise. */
export function dataConverterFor(keys: readonly EncryptionKey[] | undefined): DataConverter {
  return keys && keys.length ? { payloadCodecs: [new EncryptionCodec(keys)] } : {};
}
