/**
 * Unit tests of secret rotation: reply addresses and Message-IDs made with a secret that was rotated out
 * (AUDITFLOW_SECRET_PREVIOUS) still route and still prove bounces; new ones are signed with the current
 * secret only; a secret never configured is refused as before.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { describe, it } from 'node:test';
import { composeMessage } from '../../activities/email';
import {
  decodeReplyToken,
  encodeReplyToken,
  outgoingMessageId,
  recipientTag,
  tokenFromMessageId,
  type ReplyRoute,
} from '../../domain/ids';
import { verifyBounce } from '../../gateway/bounce-proof';
import type { Classification } from '../../gateway/classify';
import type { ParsedInbound } from '../../gateway/parse';
import { checkRecipient, routeMessage } from '../../gateway/route';
import { makeHmac } from '../../platform/hash';
import { PAT } from './demand-state';

const OLD = 'o'.repeat(40);
const NEW = 'n'.repeat(40);
const old = makeHmac(OLD);
const current = makeHmac(NEW);
const forger = (data: string) => crypto.createHmac('sha256', 'f'.repeat(32)).update(data).digest();
const DOMAIN = 'reply.auditflow.localhost';
const NOW = Date.parse('2027-06-02T16:00:00Z');
const both = [current, old] as const;
const route = (key = old): ReplyRoute => ({ demandId: 'acme', itemId: 'xbox', recipientTag: recipientTag(PAT, key) });
const settings = { hmac: both, replyDomain: DOMAIN, replyLocalPart: 'audit', now: NOW };

describe('secret rotation', () => {
  it('a reply address signed with the previous secret is accepted, and routes to its demand and item', () => {
    const address = `audit+${encodeReplyToken(route(), old)}@${DOMAIN}`;
    assert.deepEqual(checkRecipient(address, settings), { ok: true, route: route() });
    // Without the previous secret it is refused as forged: the rotation list is what keeps it working.
    assert.equal(checkRecipient(address, { ...settings, hmac: current }).ok, false);
  });

  it('a Message-ID made with the previous secret routes a reply that kept only In-Reply-To', () => {
    const id = outgoingMessageId('audit:acme/request/x', route(), DOMAIN, old);
    const parsed: ParsedInbound = {
      subject: 'Re: audit',
      text: '',
      newText: '',
      headers: new Map(),
      to: [`audit@${DOMAIN}`],
      cc: [],
      references: [],
      attachments: [],
      inReplyTo: id,
    };
    const r = routeMessage(parsed, [`audit@${DOMAIN}`], settings);
    assert.equal(r.ok && r.route.demandId, 'acme');
    assert.equal(r.ok && r.via, 'in-reply-to');
  });

  it('a bounce of a message sent before the rotation is still proven (the recipient tag is checked with the old key)', () => {
    const id = outgoingMessageId('audit:acme/request/x', route(), DOMAIN, old);
    const c: Classification = {
      kind: 'bounce',
      failedRecipient: PAT,
      reportedRecipients: [PAT],
      permanent: true,
      returnedMessageIds: [id],
    };
    const parsed = { inReplyTo: undefined } as unknown as ParsedInbound;
    assert.deepEqual(verifyBounce(parsed, c, route(), 'recipient', both, DOMAIN, NOW), {
      ok: true,
      failedRecipient: PAT,
      originalMessageId: id,
    });
  });

  it('new addresses and Message-IDs are signed with the current secret only', async () => {
    const deps = { secret: NEW, replyDomain: DOMAIN, replyLocalPart: 'audit' };
    const { messageId } = await composeMessage(
      {
        mail: {
          key: 'audit:acme/request/x',
          kind: 'request',
          at: '2027-06-01T00:00:00.000Z',
          itemIds: ['xbox'],
          to: { name: 'Pat', address: PAT, zone: 'UTC' },
          audience: 'counterparty',
          expectsReply: true,
        },
        demand: {
          id: 'acme',
          title: 'Audit',
          basis: 'Agreement',
          requesterOrg: 'Example',
          counterpartyOrg: 'Acme',
          from: { name: 'Legal', address: 'legal@example.com' },
        },
        items: [
          {
            id: 'xbox',
            name: 'Xbox',
            questions: ['What?'],
            dueAt: '2027-06-08T00:00:00.000Z',
            round: 0,
            phase: 'awaiting',
          },
        ],
      },
      deps,
    );
    const token = tokenFromMessageId(messageId, DOMAIN)!;
    const decoded = decodeReplyToken(token, both, NOW);
    assert.ok('route' in decoded);
    assert.equal(decoded.signer, current);
    assert.equal('problem' in decodeReplyToken(token, old, NOW), true);
  });

  it('a secret that was never configured is still refused as forged', () => {
    const address = `audit+${encodeReplyToken(route(forger), forger)}@${DOMAIN}`;
    const r = checkRecipient(address, settings);
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.problem, 'bad-signature');
  });
});
