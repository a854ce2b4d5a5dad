/**
 * Workflow ids from business keys, and the signed routing data carried by outgoing mail: the reply
 * token in `Reply-To` and the verifiable `Message-ID`. Pure: the HMAC function is passed in, so the
 * same code serves the activities and the gateway (with node:crypto) and the tests.
 */

/** The demand workflow's id. */
export function demandWorkflowId(demandId: string): string {
  return `audit:${demandId}`;
}

/** The name of the demand workflow's status query (statusQuery in domain/messages.ts), for readers without the SDK's definitions. */
export const STATUS_QUERY_NAME = 'status';

/** The demand id from a workflow id, or undefined when it is not a demand workflow. */
export function demandIdFromWorkflowId(workflowId: string): string | undefined {
  const m = /^audit:([a-z0-9-]+)$/.exec(workflowId);
  return m?.[1];
}

/** HMAC-SHA256 over a string, returning raw bytes. */
export type Hmac = (data: string) => Uint8Array;

const B32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** Lower-case RFC 4648 base32 without padding (mail systems may lower-case local parts). */
export function base32(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31];
  return out;
}

/** Compares two strings without an early exit, so timing tells nothing about where they differ. */
export function constantTimeEqual(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) diff |= (a.charCodeAt(i) || 0) ^ (b.charCodeAt(i) || 0);
  return diff === 0;
}

/** What a reply token says: which demand, which item (if one), which recipient, until when. */
export interface ReplyRoute {
  demandId: string;
  itemId?: string;
  /** Short hash of the recipient's address (the token is bound to who it was sent to). */
  recipientTag: string;
  /** Days since 1970-01-01 after which the token is refused, if set. */
  expiresDay?: number;
}

/** A short, stable tag of an address: 7 base32 characters of its HMAC. */
export function recipientTag(address: string, hmac: Hmac): string {
  return base32(hmac(`rcpt:${address.toLowerCase()}`)).slice(0, 7);
}

function routePayload(r: ReplyRoute): string {
  return [
    r.demandId,
    r.itemId ?? '0',
    r.recipientTag,
    r.expiresDay === undefined ? '' : r.expiresDay.toString(36),
  ].join('.');
}

/** `acme-audit.xbox.k3f9a2b.<mac>` (or with an expiry part): lower-case, dot-separated, signed. */
export function encodeReplyToken(r: ReplyRoute, hmac: Hmac): string {
  const payload = routePayload(r).replace(/\.$/, '');
  return `${payload}.${base32(hmac(`reply:${payload}`)).slice(0, 16)}`;
}

/** Why a token was refused. */
export type TokenProblem = 'malformed' | 'bad-signature' | 'expired';

/**
 * The keys that verify: one, or the current one first and then earlier ones (AUDITFLOW_SECRET_PREVIOUS),
 * so that replies to messages sent before a rotation are still accepted. Only the current one signs.
 */
export type Verifiers = Hmac | readonly Hmac[];

/**
 * Verifies a token (constant-time MAC check against each key) and returns its route and the key that
 * signed it, or why it was refused.
 */
export function decodeReplyToken(
  token: string,
  hmac: Verifiers,
  nowMs: number,
): { route: ReplyRoute; signer: Hmac } | { problem: TokenProblem } {
  const parts = token.toLowerCase().split('.');
  if (parts.length !== 4 && parts.length !== 5) return { problem: 'malformed' };
  const mac = parts.pop()!;
  const [demandId, item, tag, exp] = parts as [string, string, string, string | undefined];
  if (
    !/^[a-z0-9-]{1,40}$/.test(demandId) ||
    !/^[a-z0-9-]{1,24}$/.test(item) ||
    !/^[a-z2-7]{7}$/.test(tag) ||
    (exp !== undefined && !/^[0-9a-z]{1,6}$/.test(exp))
  ) {
    return { problem: 'malformed' };
  }
  const keys: readonly Hmac[] = typeof hmac === 'function' ? [hmac] : hmac;
  const signer = keys.find((k) => constantTimeEqual(mac, base32(k(`reply:${parts.join('.')}`)).slice(0, 16)));
  if (!signer) return { problem: 'bad-signature' };
  const expiresDay = exp === undefined ? undefined : parseInt(exp, 36);
  if (expiresDay !== undefined && Math.floor(nowMs / 86_400_000) > expiresDay) return { problem: 'expired' };
  return {
    route: {
      demandId,
      ...(item === '0' ? {} : { itemId: item }),
      recipientTag: tag,
      ...(expiresDay === undefined ? {} : { expiresDay }),
    },
    signer,
  };
}

/** The plus-address a reply goes to: `audit+<token>@reply.example.com`. */
export function replyAddress(localPart: string, token: string, domain: string): string {
  return `${localPart}+${token}@${domain}`;
}

/** The token inside a plus-address, if the address has the expected local part and domain. */
export function tokenFromAddress(address: string, localPart: string, domain: string): string | undefined {
  const m = /^([^@+]+)\+([^@]+)@(.+)$/.exec(address.trim().toLowerCase());
  if (!m || m[1] !== localPart || m[3] !== domain.toLowerCase()) return undefined;
  return m[2];
}

/**
 * A deterministic, verifiable Message-ID for an outgoing message: `<af.<token>.<keyhash>@domain>`. The
 * same idempotency key always gives the same id (retries make identical copies), and the embedded
 * token routes a reply that kept only In-Reply-To / References.
 */
export function outgoingMessageId(key: string, route: ReplyRoute, domain: string, hmac: Hmac): string {
  const keyHash = base32(hmac(`key:${key}`)).slice(0, 13);
  return `<af.${encodeReplyToken(route, hmac)}.${keyHash}@${domain}>`;
}

/** The reply token inside one of our Message-IDs, or undefined when the id is not ours. */
export function tokenFromMessageId(messageId: string, domain: string): string | undefined {
  const m = /^<?af\.([a-z0-9.-]+)\.([a-z2-7]{13})@([^>]+)>?$/.exec(messageId.trim().toLowerCase());
  if (!m || m[3] !== domain.toLowerCase()) return undefined;
  return m[1];
}
