/** Unit tests of gateway/route.ts: which demand a message belongs to (signed reply address, In-Reply-To, References) and which items it answers. */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { describe, it } from 'node:test';
import { encodeReplyToken, outgoingMessageId, recipientTag, replyAddress, type ReplyRoute } from '../../domain/ids';
import { inboundProfile } from '../../domain/inbound';
import type { ParsedInbound } from '../../gateway/parse';
import { attributeItems, checkRecipient, routeMessage, type RouteSettings } from '../../gateway/route';
import { PAT, specOf } from './demand-state';

const hmac = (data: string) => crypto.createHmac('sha256', 'k'.repeat(32)).update(data).digest();
const forger = (data: string) => crypto.createHmac('sha256', 'f'.repeat(32)).update(data).digest();
const DOMAIN = 'reply.auditflow.localhost';
const NOW = Date.parse('2027-06-02T16:00:00Z');
const TODAY = Math.floor(NOW / 86_400_000);
const settings: RouteSettings = { hmac, replyDomain: DOMAIN, replyLocalPart: 'audit', now: NOW };
const PLAIN = `audit@${DOMAIN}`;

const route = (over: Partial<ReplyRoute> = {}): ReplyRoute => ({
  demandId: 'acme',
  itemId: 'xbox',
  recipientTag: recipientTag(PAT, hmac),
  ...over,
});
const address = (r: ReplyRoute, key = hmac) => replyAddress('audit', encodeReplyToken(r, key), DOMAIN);
const messageId = (r: ReplyRoute, key = hmac) =>
  outgoingMessageId(`audit:${r.demandId}/request/${PAT}`, r, DOMAIN, key);
const parsed = (
  p: Partial<Pick<ParsedInbound, 'to' | 'cc' | 'inReplyTo' | 'references' | 'subject' | 'newText'>> = {},
): ParsedInbound => ({
  subject: 'Re: Audit of API usage',
  text: p.newText ?? '',
  newText: '',
  headers: new Map(),
  to: [],
  cc: [],
  references: [],
  attachments: [],
  ...p,
});

describe('checkRecipient', () => {
  it('accepts the plain reply address and a signed one, whatever its case', () => {
    assert.deepEqual(checkRecipient(PLAIN, settings), { ok: true });
    assert.deepEqual(checkRecipient(address(route()).toUpperCase(), settings), { ok: true, route: route() });
  });

  it('refuses another domain, an unknown mailbox, a token not ours, a forged or altered token, an expired one', () => {
    const altered = address(route()).replace('.xbox.', '.psn.');
    const cases: [string, string, string][] = [
      ['pat@acme.example', 'foreign', `this server only accepts replies for @${DOMAIN}`],
      [`postmaster@${DOMAIN}`, 'malformed', `no such mailbox: postmaster@${DOMAIN}`],
      [`audit+hello@${DOMAIN}`, 'malformed', 'the reply address is not one auditflow issued'],
      [address(route(), forger), 'bad-signature', 'the reply address was altered or forged'],
      [altered, 'bad-signature', 'the reply address was altered or forged'],
      [address(route({ expiresDay: TODAY - 1 })), 'expired', 'the reply address has expired'],
    ];
    for (const [to, problem, reason] of cases)
      assert.deepEqual(checkRecipient(to, settings), { ok: false, problem, reason }, to);
    assert.deepEqual(
      checkRecipient(address(route({ expiresDay: TODAY })), settings),
      { ok: true, route: route({ expiresDay: TODAY }) },
      'valid through its last day',
    );
  });
});

describe('routeMessage', () => {
  it('routes by the signed envelope recipient first, ahead of the thread headers', () => {
    const other = route({ demandId: 'other', itemId: 'psn' });
    assert.deepEqual(routeMessage(parsed({ inReplyTo: messageId(other) }), [address(route())], settings), {
      ok: true,
      route: route(),
      via: 'recipient',
    });
  });

  it('refuses a forged or expired envelope recipient outright; a forged To header is only ignored', () => {
    assert.deepEqual(routeMessage(parsed(), [address(route(), forger)], settings), {
      ok: false,
      reason: 'the reply address was altered or forged',
      problem: 'bad-signature',
    });
    assert.deepEqual(routeMessage(parsed(), [address(route({ expiresDay: TODAY - 1 }))], settings), {
      ok: false,
      reason: 'the reply address has expired',
      problem: 'expired',
    });
    assert.deepEqual(
      routeMessage(parsed({ to: [address(route(), forger)], inReplyTo: messageId(route()) }), [PLAIN], settings),
      { ok: true, route: route(), via: 'in-reply-to' },
    );
  });

  it('refuses a message addressed to several demands; several items of one demand keep the demand only', () => {
    const other = route({ demandId: 'other' });
    assert.deepEqual(routeMessage(parsed({ cc: [address(other)] }), [address(route())], settings), {
      ok: false,
      reason: 'it is addressed to several demands (acme, other)',
      problem: 'several-demands',
    });
    const psn = route({ itemId: 'psn' });
    assert.deepEqual(routeMessage(parsed({ to: [address(psn)] }), [address(route())], settings), {
      ok: true,
      route: { demandId: 'acme', itemId: undefined, recipientTag: route().recipientTag },
      via: 'recipient',
    });
  });

  it('a reply that lost the plus-address is routed by In-Reply-To, else by References, and only by our signed Message-IDs', () => {
    assert.deepEqual(routeMessage(parsed({ inReplyTo: messageId(route()) }), [PLAIN], settings), {
      ok: true,
      route: route(),
      via: 'in-reply-to',
    });
    const refs = parsed({
      inReplyTo: '<forwarded@acme.example>',
      references: ['<start@acme.example>', messageId(route(), forger), messageId(route({ itemId: 'psn' }))],
    });
    assert.deepEqual(routeMessage(refs, [PLAIN], settings), {
      ok: true,
      route: route({ itemId: 'psn' }),
      via: 'references',
    });
    const none = {
      ok: false,
      reason: 'it carries no auditflow reply address or thread reference',
      problem: 'no-token',
    };
    assert.deepEqual(routeMessage(parsed({ inReplyTo: messageId(route(), forger) }), [PLAIN], settings), none);
    assert.deepEqual(
      routeMessage(parsed({ references: [messageId(route({ expiresDay: TODAY - 1 }))] }), [PLAIN], settings),
      none,
    );
    assert.deepEqual(routeMessage(parsed(), [PLAIN], settings), none);
  });
});

describe('attributeItems', () => {
  const profile = inboundProfile(specOf());
  const items = (p: Partial<ParsedInbound>) => attributeItems(parsed(p), profile);

  it('takes the [item] tags of the subject, in any case, ignoring tags that are not items', () => {
    assert.deepEqual(
      items({ subject: 'Re: [XBOX] [psn] [xbox] [misc] Audit', newText: 'The Stadia overlay is answered separately.' }),
      ['xbox', 'psn'],
    );
  });

  it('without tags, takes the items the new text names by [tag] or by name', () => {
    assert.deepEqual(items({ newText: 'On the psn bridge: it read friend lists. [stadia]: it ran for two months.' }), [
      'psn',
      'stadia',
    ]);
  });

  it('names no item when the text is ambiguous (a bare id or a word of a name), so ops assign it', () => {
    assert.deepEqual(items({ newText: 'The xbox app read profile data; the overlay did not.' }), []);
    assert.deepEqual(items({ subject: 'Re: [all] Audit', newText: 'See attached.' }), []);
    const short = inboundProfile(
      specOf({
        items: [
          { id: 'web', name: 'Web', questions: ['q'] },
          { id: 'ios', name: 'iOS app', questions: ['q'] },
        ],
      }),
    );
    assert.deepEqual(
      attributeItems(parsed({ newText: 'The web version never called the API.' }), short),
      [],
      'a name under four letters is too common a word to count',
    );
  });
});
