import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { describe, it } from 'node:test';
import {
  decodeReplyToken,
  encodeReplyToken,
  outgoingMessageId,
  recipientTag,
  tokenFromAddress,
  tokenFromMessageId,
} from '../../domain/ids';

const hmac = (secret: string) => (d: string) => crypto.createHmac('sha256', secret).update(d).digest();
const good = hmac('s'.repeat(32));
const NOW = Date.parse('2027-06-01T00:00:00Z');

describe('reply tokens and Message-IDs', () => {
  const route = { demandId: 'acme-audit', itemId: 'xbox', recipientTag: recipientTag('pat@acme.example', good) };

  it('round-trips a signed token and keeps the plus-address short', () => {
    const token = encodeReplyToken(route, good);
    assert.match(token, /^acme-audit\.xbox\.[a-z2-7]{7}\.[a-z2-7]{16}$/);
    assert.ok(`audit+${token}`.length <= 64);
    assert.deepEqual(decodeReplyToken(token, good, NOW), { route, signer: good });
    assert.deepEqual(
      decodeReplyToken(token.toUpperCase(), good, NOW),
      { route, signer: good },
      'mail systems may change the case',
    );
  });

  it('refuses a forged, altered, foreign or expired token', () => {
    const token = encodeReplyToken(route, good);
    assert.deepEqual(decodeReplyToken(token.replace('xbox', 'psn0'), good, NOW), { problem: 'bad-signature' });
    assert.deepEqual(decodeReplyToken(token, hmac('another-secret-another-secret-xx'), NOW), {
      problem: 'bad-signature',
    });
    assert.deepEqual(decodeReplyToken('hello', good, NOW), { problem: 'malformed' });
    const expiring = encodeReplyToken({ ...route, expiresDay: Math.floor(NOW / 86_400_000) - 1 }, good);
    assert.deepEqual(decodeReplyToken(expiring, good, NOW), { problem: 'expired' });
  });

  it('finds the token in a plus-address and in one of our Message-IDs only', () => {
    const token = encodeReplyToken(route, good);
    assert.equal(tokenFromAddress(`audit+${token}@reply.example.com`, 'audit', 'reply.example.com'), token);
    assert.equal(tokenFromAddress(`audit+${token}@other.example.com`, 'audit', 'reply.example.com'), undefined);
    const id = outgoingMessageId('audit:acme-audit/reminder1/x/pat@acme.example', route, 'reply.example.com', good);
    assert.equal(
      id,
      outgoingMessageId('audit:acme-audit/reminder1/x/pat@acme.example', route, 'reply.example.com', good),
      'deterministic',
    );
    assert.notEqual(
      id,
      outgoingMessageId('audit:acme-audit/reminder2/x/pat@acme.example', route, 'reply.example.com', good),
    );
    assert.equal(tokenFromMessageId(id, 'reply.example.com'), token);
    assert.equal(tokenFromMessageId('<random@gmail.com>', 'reply.example.com'), undefined);
  });
});
