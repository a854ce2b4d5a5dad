/** Unit tests of gateway/bounce-proof.ts: when a delivery report proves which message of ours failed for whom, and each reason it does not. */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { describe, it } from 'node:test';
import { outgoingMessageId, recipientTag, type ReplyRoute } from '../../domain/ids';
import { verifyBounce } from '../../gateway/bounce-proof';
import type { Classification } from '../../gateway/classify';
import type { ParsedInbound } from '../../gateway/parse';
import { ERIN, PAT } from './demand-state';

const hmac = (data: string) => crypto.createHmac('sha256', 'k'.repeat(32)).update(data).digest();
const forger = (data: string) => crypto.createHmac('sha256', 'f'.repeat(32)).update(data).digest();
const DOMAIN = 'reply.auditflow.localhost';
const NOW = Date.parse('2027-06-02T16:00:00Z');
const TODAY = Math.floor(NOW / 86_400_000);

/** The route of a message of demand acme to one recipient (the bounce address it was sent from carries the same). */
const to = (address: string, over: Partial<ReplyRoute> = {}): ReplyRoute => ({
  demandId: 'acme',
  recipientTag: recipientTag(address, hmac),
  ...over,
});
const sent = (r: ReplyRoute, key = hmac) => outgoingMessageId(`audit:${r.demandId}/request/x`, r, DOMAIN, key);
const OURS = sent(to(PAT));

const report = (p: { recipients?: string[]; returned?: string[]; inReplyTo?: string } = {}) => {
  const recipients = p.recipients ?? [PAT];
  const parsed: ParsedInbound = {
    subject: 'Undelivered Mail Returned to Sender',
    text: '',
    newText: '',
    headers: new Map(),
    to: [],
    cc: [],
    references: [],
    attachments: [],
    ...(p.inReplyTo ? { inReplyTo: p.inReplyTo } : {}),
  };
  const c: Classification = {
    kind: 'bounce',
    ...(recipients[0] ? { failedRecipient: recipients[0] } : {}),
    reportedRecipients: recipients,
    permanent: true,
    returnedMessageIds: p.returned ?? [OURS],
  };
  return { parsed, c };
};
const verify = (
  r: ReturnType<typeof report>,
  route: ReplyRoute = to(PAT),
  via: 'recipient' | 'in-reply-to' | 'references' = 'recipient',
) => verifyBounce(r.parsed, r.c, route, via, hmac, DOMAIN, NOW);

describe('verifyBounce accepts', () => {
  it('a report on our message to the recipient whose bounce address it came back to, naming that recipient', () => {
    assert.deepEqual(verify(report()), { ok: true, failedRecipient: PAT, originalMessageId: OURS });
  });

  it('the message named by In-Reply-To when the returned headers carry none, and the first of ours among several', () => {
    assert.deepEqual(verify(report({ returned: [], inReplyTo: OURS })), {
      ok: true,
      failedRecipient: PAT,
      originalMessageId: OURS,
    });
    assert.deepEqual(verify(report({ returned: ['<x@mx.acme.example>', sent(to(PAT), forger), OURS] })), {
      ok: true,
      failedRecipient: PAT,
      originalMessageId: OURS,
    });
  });

  it('a message whose reply address has expired: the report may come days later', () => {
    const expired = sent(to(PAT, { expiresDay: TODAY - 10 }));
    assert.deepEqual(verify(report({ returned: [expired] }), to(PAT, { expiresDay: TODAY - 10 })), {
      ok: true,
      failedRecipient: PAT,
      originalMessageId: expired,
    });
  });

  it('the recipient it concerns among several the report names', () => {
    assert.deepEqual(verify(report({ recipients: [ERIN, PAT] })), {
      ok: true,
      failedRecipient: PAT,
      originalMessageId: OURS,
    });
  });

  it('a report routed by its thread headers without the bounce-address check, when the Final-Recipient matches', () => {
    assert.deepEqual(verify(report(), to(ERIN), 'references'), {
      ok: true,
      failedRecipient: PAT,
      originalMessageId: OURS,
    });
  });
});

describe('verifyBounce refuses', () => {
  it('a report that names no failed recipient', () => {
    assert.deepEqual(verify(report({ recipients: [] })), {
      ok: false,
      reason: 'it names no failed recipient (Final-Recipient)',
    });
  });

  it('a report that references none of our Message-IDs, or only forged ones', () => {
    const reason =
      'it references no message auditflow sent (none of our Message-IDs in its returned headers or In-Reply-To)';
    assert.deepEqual(verify(report({ returned: [] })), { ok: false, reason });
    assert.deepEqual(
      verify(report({ returned: ['<x@mx.acme.example>', sent(to(PAT), forger)], inReplyTo: '<y@mx.acme.example>' })),
      { ok: false, reason },
    );
  });

  it('a report on a message of another demand', () => {
    assert.deepEqual(verify(report({ returned: [sent(to(PAT, { demandId: 'other' }))] })), {
      ok: false,
      reason: 'it references a message of demand other but came back for demand acme',
    });
  });

  it('a report that came back to the bounce address of another recipient than the message it references', () => {
    assert.deepEqual(verify(report(), to(ERIN)), {
      ok: false,
      reason: 'it came back to the bounce address of another recipient than the message it references',
    });
  });

  it('a report naming someone other than the recipient of the message it references', () => {
    assert.deepEqual(verify(report({ recipients: [ERIN, 'sam@acme.example'] })), {
      ok: false,
      reason: `it names ${ERIN}, sam@acme.example, but the message it references was sent to another recipient`,
    });
  });
});
