/**
 * DKIM alignment follows the public suffix list (issue 10, point 4): under `aligned-dkim`, a signature by
 * evil.co.uk must not vouch for a From at acme.co.uk just because both end in two labels that look
 * alike. Real mailauth, real signatures, DNS injected.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkSender } from '../../gateway/auth';
import { dkimSignRaw } from '../helpers/eml';
import { dnsFor, resolverFor } from '../../dev/support/mail-auth';

const message = (from: string) =>
  Buffer.from(
    [
      `From: Pat <${from}>`,
      'To: audit@reply.auditflow.localhost',
      'Subject: Re: audit [xbox]',
      'Date: Tue, 04 Jun 2030 09:15:00 -0700',
      `Message-ID: <${Date.now()}.${Math.random()}@mail.example>`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain',
      '',
      'Our answer.',
      '',
    ].join('\r\n'),
    'latin1',
  );

async function verdict(from: string, signer: string, authentication: 'aligned-dkim' | 'dmarc' = 'aligned-dkim') {
  const raw = await dkimSignRaw(message(from), signer);
  const resolver = resolverFor(dnsFor([signer, from.split('@')[1]!]));
  return checkSender(
    raw,
    { ip: '192.0.2.1', helo: 'mx.elsewhere.example', mailFrom: `bounce@${signer}`, mta: 'gateway.test', resolver },
    { authentication, warnDomains: [] },
    from,
  );
}

describe('sender authentication: DKIM alignment by the public suffix list', () => {
  it('refuses a signature by another registrable domain under the same public suffix (co.uk, com.au)', async () => {
    for (const [from, signer] of [
      ['pat@acme.co.uk', 'evil.co.uk'],
      ['pat@acme.com.au', 'evil.com.au'],
      ['pat@mail.acme.co.uk', 'evil.co.uk'],
    ] as const) {
      const v = await verdict(from, signer);
      assert.match(v.dkim, new RegExp(`^pass \\(${signer.replace(/\./g, '\\.')}\\)`), 'the signature itself is valid');
      assert.equal(v.decision, 'fail', `${signer} must not align with ${from}: ${v.detail}`);
      assert.equal(v.detail, `no DKIM signature aligned with ${from.split('@')[1]}`);
    }
  });

  it('accepts the From domain itself and its organisational domain (relaxed alignment)', async () => {
    for (const [from, signer] of [
      ['pat@acme.co.uk', 'acme.co.uk'],
      ['pat@acme.co.uk', 'mail.acme.co.uk'],
      ['pat@eu.acme.example', 'acme.example'],
    ] as const) {
      const v = await verdict(from, signer);
      assert.equal(v.decision, 'pass', `${signer} aligns with ${from}: ${v.detail}`);
      assert.equal(v.detail, `DKIM signature aligned with ${from.split('@')[1]}`);
    }
  });
});
