/**
 * The gateway's DNS cache in front of mailauth: one query per record per minute however many replies
 * arrive, definite misses cached, transient failures asked again. The resolver behind it is injected,
 * as every sender-authentication test does, so this runs offline.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cachingResolver, type DnsResolver } from '../../gateway/auth';

function counting(answer: (name: string) => unknown): { resolver: DnsResolver; asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    resolver: async (name, rrtype) => {
      asked.push(`${rrtype} ${name}`);
      const a = answer(name);
      if (a instanceof Error) throw a;
      return a;
    },
  };
}
const err = (code: string) => Object.assign(new Error(code), { code });

describe('gateway DNS cache', () => {
  it('asks once for a record that many replies need, and again after the TTL', async () => {
    let t = 0;
    const { resolver, asked } = counting(() => [['v=DMARC1; p=reject']]);
    const cached = cachingResolver(resolver, { ttlMs: 60_000, now: () => t });
    const answers = await Promise.all(Array.from({ length: 8 }, () => cached('_dmarc.Acme.example', 'TXT')));
    assert.deepEqual(answers[7], [['v=DMARC1; p=reject']]);
    assert.deepEqual(asked, ['TXT _dmarc.Acme.example'], 'eight concurrent lookups, one query');
    t = 59_999;
    await cached('_dmarc.acme.example', 'TXT');
    assert.equal(asked.length, 1);
    t = 60_000;
    await cached('_dmarc.acme.example', 'TXT');
    assert.equal(asked.length, 2, 'expired after the TTL');
    await cached('_dmarc.acme.example', 'MX');
    assert.equal(asked.length, 3, 'another record type is another query');
  });

  it('caches "no such record" but asks again after a timeout or a server failure', async () => {
    const { resolver, asked } = counting((name) => err(name.startsWith('none') ? 'ENOTFOUND' : 'ETIMEOUT'));
    const cached = cachingResolver(resolver);
    for (let i = 0; i < 3; i++) await assert.rejects(cached('none.example', 'TXT'), { code: 'ENOTFOUND' });
    assert.equal(asked.filter((a) => a.includes('none.example')).length, 1);
    for (let i = 0; i < 3; i++) await assert.rejects(cached('slow.example', 'TXT'), { code: 'ETIMEOUT' });
    assert.equal(asked.filter((a) => a.includes('slow.example')).length, 3);
  });

  it('keeps at most `max` names, dropping the oldest', async () => {
    const { resolver, asked } = counting(() => [['x']]);
    const cached = cachingResolver(resolver, { max: 2 });
    for (const n of ['a', 'b', 'c', 'a']) await cached(`${n}.example`, 'TXT');
    assert.deepEqual(asked, ['TXT a.example', 'TXT b.example', 'TXT c.example', 'TXT a.example']);
  });
});
