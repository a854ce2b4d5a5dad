/** The codec server's HTTP contract (platform/codec-server.ts), as the Web UI and the temporal CLI call it. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseEncryptionKeys } from '../../platform/codec';
import { startCodecServer, type CodecServer } from '../../platform/codec-server';

describe('the codec server', () => {
  let server: CodecServer;
  const post = (route: string, body: string) =>
    fetch(`${server.url}${route}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
  before(async () => {
    server = await startCodecServer({
      keys: parseEncryptionKeys(`k1:${'11'.repeat(32)}`),
      host: '127.0.0.1',
      port: 0,
      origins: [],
    });
  });
  after(() => server.close());

  it('encodes and decodes a payload list', async () => {
    const plain = {
      metadata: { encoding: Buffer.from('json/plain').toString('base64') },
      data: Buffer.from('"x"').toString('base64'),
    };
    const enc = await post('/encode', JSON.stringify({ payloads: [plain] }));
    assert.equal(enc.status, 200);
    const encoded = (await enc.json()) as { payloads: { metadata: Record<string, string> }[] };
    assert.equal(Buffer.from(encoded.payloads[0]!.metadata.encoding!, 'base64').toString(), 'binary/encrypted');
    const dec = await post('/decode', JSON.stringify(encoded));
    assert.equal(dec.status, 200);
    assert.deepEqual(await dec.json(), { payloads: [plain] });
  });

  it('takes {} as an empty list: protobuf JSON leaves it out (the temporal CLI querying with no arguments)', async () => {
    for (const route of ['/encode', '/decode']) {
      const r = await post(route, '{}');
      assert.equal(r.status, 200, `${route}: ${await r.clone().text()}`);
      assert.deepEqual(await r.json(), { payloads: [] });
    }
  });

  it('refuses what is not a payload list, saying what it expects', async () => {
    for (const body of ['[1]', 'null', '{"payloads": 3}', 'not json']) {
      const r = await post('/encode', body);
      assert.equal(r.status, 400, body);
      assert.match(((await r.json()) as { error: string }).error, /^not a payload list/);
    }
  });
});
