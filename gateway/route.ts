/**
 * Which demand and items a message belongs to. The signed token in the recipient address routes it;
 * failing that, one of our verifiable Message-IDs in In-Reply-To / References (a hint that still needs
 * an authenticated sender). Items come from the token, else from [item] tags in the subject, else from
 * item names in the new text; anything ambiguous is left to triage, never guessed.
 */
import {
  decodeReplyToken,
  tokenFromAddress,
  tokenFromMessageId,
  type Verifiers,
  type ReplyRoute,
  type TokenProblem,
} from '../domain/ids';
import type { InboundProfile } from '../domain/inbound';
import type { ParsedInbound } from './parse';

export interface RouteSettings {
  hmac: Verifiers;
  replyDomain: string;
  replyLocalPart: string;
  now: number;
}

/** How a message was routed, or why not. */
export type RouteResult =
  | { ok: true; route: ReplyRoute; via: 'recipient' | 'in-reply-to' | 'references' }
  | { ok: false; reason: string; problem?: TokenProblem | 'no-token' | 'several-demands' };

/** Checks one recipient address of the reply domain: the plain address, or a valid token. */
export function checkRecipient(
  address: string,
  s: RouteSettings,
): { ok: true; route?: ReplyRoute } | { ok: false; problem: TokenProblem | 'foreign'; reason: string } {
  const lower = address.trim().toLowerCase();
  const [local, domain] = [lower.slice(0, lower.lastIndexOf('@')), lower.slice(lower.lastIndexOf('@') + 1)];
  if (domain !== s.replyDomain.toLowerCase())
    return { ok: false, problem: 'foreign', reason: `this server only accepts replies for @${s.replyDomain}` };
  if (local === s.replyLocalPart) return { ok: true };
  const token = tokenFromAddress(lower, s.replyLocalPart, s.replyDomain);
  if (!token) return { ok: false, problem: 'malformed', reason: `no such mailbox: ${lower}` };
  const decoded = decodeReplyToken(token, s.hmac, s.now);
  if ('problem' in decoded) {
    const why = {
      malformed: 'the reply address is not one auditflow issued',
      'bad-signature': 'the reply address was altered or forged',
      expired: 'the reply address has expired',
    }[decoded.problem];
    return { ok: false, problem: decoded.problem, reason: why };
  }
  return { ok: true, route: decoded.route };
}

function fromMessageIds(ids: string[], s: RouteSettings): ReplyRoute[] {
  const routes: ReplyRoute[] = [];
  for (const id of ids) {
    const token = tokenFromMessageId(id, s.replyDomain);
    if (!token) continue;
    const decoded = decodeReplyToken(token, s.hmac, s.now);
    if ('route' in decoded) routes.push(decoded.route);
  }
  return routes;
}

/** Routes a message from its recipients (envelope first, then To/Cc), then its thread headers. */
export function routeMessage(p: ParsedInbound, envelopeRecipients: string[], s: RouteSettings): RouteResult {
  const recipients = [...envelopeRecipients, ...p.to, ...p.cc];
  const fromTokens: ReplyRoute[] = [];
  for (const r of recipients) {
    const c = checkRecipient(r, s);
    if (c.ok && c.route) fromTokens.push(c.route);
    else if (!c.ok && c.problem !== 'foreign' && envelopeRecipients.includes(r))
      return { ok: false, reason: c.reason, problem: c.problem };
  }
  const pick = (routes: ReplyRoute[], via: 'recipient' | 'in-reply-to' | 'references'): RouteResult | undefined => {
    if (routes.length === 0) return undefined;
    const demands = new Set(routes.map((r) => r.demandId));
    if (demands.size > 1)
      return {
        ok: false,
        reason: `it is addressed to several demands (${[...demands].join(', ')})`,
        problem: 'several-demands',
      };
    const items = new Set(routes.map((r) => r.itemId));
    // Several items of one demand: keep the demand, let the subject or text say which items.
    const route = items.size === 1 ? routes[0]! : { ...routes[0]!, itemId: undefined };
    return { ok: true, route, via };
  };
  return (
    pick(fromTokens, 'recipient') ??
    pick(fromMessageIds(p.inReplyTo ? [p.inReplyTo] : [], s), 'in-reply-to') ??
    pick(fromMessageIds(p.references, s), 'references') ?? {
      ok: false,
      reason: 'it carries no auditflow reply address or thread reference',
      problem: 'no-token',
    }
  );
}

/** Items a demand-level reply is about: [id] tags in the subject, else item names or ids in the new text. */
export function attributeItems(p: ParsedInbound, profile: InboundProfile): string[] {
  const ids = new Set(profile.items.map((i) => i.id));
  const tagged = [...p.subject.matchAll(/\[([a-z0-9-]{1,24})\]/gi)]
    .map((m) => m[1]!.toLowerCase())
    .filter((t) => ids.has(t));
  if (tagged.length) return [...new Set(tagged)];
  const text = p.newText.toLowerCase();
  const named = profile.items.filter(
    (i) => text.includes(`[${i.id}]`) || (i.name.length >= 4 && text.includes(i.name.toLowerCase())),
  );
  return named.map((i) => i.id);
}
