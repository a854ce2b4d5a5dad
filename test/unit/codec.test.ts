/** Unit tests of platform/codec.ts: the AES-256-GCM payload codec, its keys and their rotation. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultPayloadConverter } from '@temporalio/common';
import { EncryptionCodec, parseEncryptionKeys, UnknownEncryptionKey } from '../../platform/codec';

const K1 = `k1:${'11'.repeat(32)}`;
const K2 = `k2:${Buffer.alloc(32, 2).toString('base64')}`;
const value = { contact: 'pat@acme.example', question: 'Which data did the Xbox companion app read?' };
const payload = () => defaultPayloadConverter.toPayload(value);

describe('the encryption codec', () => {
  it('encrypts so that nothing of the value shows, names the key, and decrypts to the same payload', async () => {
    const codec = new EncryptionCodec(parseEncryptionKeys(K1));
    const [enc] = await codec.encode([payload()]);
    assert.equal(Buffer.from(enc!.metadata!.encoding!).toString(), 'binary/encrypted');
    assert.equal(Buffer.from(enc!.metadata!['encryption-key-id']!).toString(), 'k1');
    assert.equal(Buffer.from(enc!.data!).includes('pat@acme.example'), false);
    assert.equal(Buffer.from(enc!.data!).includes('Xbox'), false);
    const [dec] = await codec.decode([enc!]);
    assert.deepEqual(defaultPayloadConverter.fromPayload(dec!), value);
    // A fresh IV each time: the same value never gives the same ciphertext.
    const [again] = await codec.encode([payload()]);
    assert.notDeepEqual(Buffer.from(again!.data!), Buffer.from(enc!.data!));
  });

  it('rotation: the first key encrypts, every key decrypts; a payload in clear (an older history) passes through', async () => {
    const old = new EncryptionCodec(parseEncryptionKeys(K1));
    const rotated = new EncryptionCodec(parseEncryptionKeys(`${K2},${K1}`));
    const [byOld] = await old.encode([payload()]);
    const [byNew] = await rotated.encode([payload()]);
    assert.equal(Buffer.from(byNew!.metadata!['encryption-key-id']!).toString(), 'k2');
    assert.deepEqual(defaultPayloadConverter.fromPayload((await rotated.decode([byOld!]))[0]!), value);
    assert.deepEqual(defaultPayloadConverter.fromPayload((await rotated.decode([payload()]))[0]!), value);
  });

  it('a payload under an unknown key fails with a message naming the key id, never a garbled value', async () => {
    const [byNew] = await new EncryptionCodec(parseEncryptionKeys(K2)).encode([payload()]);
    await assert.rejects(
      new EncryptionCodec(parseEncryptionKeys(K1)).decode([byNew!]),
      (err: unknown) =>
        err instanceof UnknownEncryptionKey && /key "k2", which is not in AUDITFLOW_ENCRYPTION_KEYS/.test(err.message),
    );
  });

  it('an altered ciphertext, or one relabelled with another key id, does not decrypt', async () => {
    const codec = new EncryptionCodec(parseEncryptionKeys(`${K1},k9:${'11'.repeat(32)}`));
    const [enc] = await codec.encode([payload()]);
    const flipped = Buffer.from(enc!.data!);
    flipped[20] = flipped[20]! ^ 1;
    await assert.rejects(codec.decode([{ ...enc!, data: flipped }]), /does not decrypt: it was altered/);
    const relabelled = { ...enc!, metadata: { ...enc!.metadata, 'encryption-key-id': Buffer.from('k9') } };
    await assert.rejects(codec.decode([relabelled]), /\(key "k9"\) does not decrypt/);
  });

  it('reads keys as <id>:<hex or base64>, and says what is wrong with a bad list', () => {
    assert.deepEqual(
      parseEncryptionKeys(` ${K1} , ${K2} `).map((k) => k.id),
      ['k1', 'k2'],
    );
    assert.throws(() => parseEncryptionKeys(''), /names no key/);
    assert.throws(() => parseEncryptionKeys('11'.repeat(32)), /must be written <id>:<key>/);
    assert.throws(() => parseEncryptionKeys('k1:abcd'), /key "k1" must be 32 bytes/);
    assert.throws(() => parseEncryptionKeys(`${K1},${K1}`), /key id "k1" is given twice/);
  });
});
