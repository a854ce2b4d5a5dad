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
import { temporalType } from './temporal-protos';
import type { EncryptionKey } from './encryption-keys';

export { parseEncryptionKeys, type EncryptionKey } from './encryption-keys';

export const ENCODING_ENCRYPTED = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
const IV_BYTES = 12;
const TAG_BYTES = 16;

let payload: ReturnType<typeof temporalType> | undefined;

/** The Payload message, looked up once: every payload of every process goes through this codec. */
function payloadType(): ReturnType<typeof temporalType> {
  return (payload ??= temporalType('common.v1.Payload'));
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
      const plain = payloadType().encode(p).finish();
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
      return payloadType().decode(plain) as Payload;
    });
  }
}

/** The data converter of every client and worker: the codec when keys are given, Temporal's default otherwise. */
export function dataConverterFor(keys: readonly EncryptionKey[] | undefined): DataConverter {
  return keys && keys.length ? { payloadCodecs: [new EncryptionCodec(keys)] } : {};
}
