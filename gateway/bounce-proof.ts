/**
 * What makes a delivery report believable. It comes from the null sender, so no sender authentication
 * vouches for it, and anyone holding one of our emails knows a reply address. It counts only when it
 * references a Message-ID we signed (in the returned headers or In-Reply-To) for the same demand and the
 * same recipient as the address it came back to, and names that recipient as Final-Recipient.
 */
import {
  decodeReplyToken,
  recipientTag,
  tokenFromMessageId,
  type Hmac,
  type ReplyRoute,
  type Verifiers,
} from '../domain/ids';
import type { Classification } from './classify';
import type { ParsedInbound } from './parse';

export type BounceProof =
  { ok: true; failedRecipient: string; originalMessageId: string } | { ok: false; reason: string };

/** Checks a permanent-failure report against the route it came back on. */
export function verifyBounce(
  p: ParsedInbound,
  c: Classification,
  route: ReplyRoute,
  via: 'recipient' | 'in-reply-to' | 'references',
  hmac: Verifiers,
  replyDomain: string,
  nowMs: number,
): BounceProof {
  const recipients = c.reportedRecipients ?? [];
  if (recipients.length === 0) return { ok: false, reason: 'it names no failed recipient (Final-Recipient)' };
  const candidates = [...c.returnedMessageIds, ...(p.inReplyTo ? [p.inReplyTo] : [])];
  let original: { messageId: string; route: ReplyRoute; signer: Hmac } | undefined;
  for (const id of candidates) {
    const token = tokenFromMessageId(id, replyDomain);
    const decoded = token ? decodeReplyToken(token, hmac, nowMs) : undefined;
    // An expired reply token still proves the message was ours: the report may come days later.
    const valid =
      token && decoded && 'problem' in decoded && decoded.problem === 'expired'
        ? decodeReplyToken(token, hmac, 0)
        : decoded;
    if (valid && 'route' in valid) {
      original = { messageId: id, route: valid.route, signer: valid.signer };
      break;
    }
  }
  if (!original)
    return {
      ok: false,
      reason:
        'it references no message auditflow sent (none of our Message-IDs in its returned headers or In-Reply-To)',
    };
  if (original.route.demandId !== route.demandId)
    return {
      ok: false,
      reason: `it references a message of demand ${original.route.demandId} but came back for demand ${route.demandId}`,
    };
  if (via === 'recipient' && original.route.recipientTag !== route.recipientTag)
    return {
      ok: false,
      reason: 'it came back to the bounce address of another recipient than the message it references',
    };
  // The recipient tag was made with the key that signed the message (the current one, or one rotated out).
  const failed = recipients.find((r) => recipientTag(r, original.signer) === original.route.recipientTag);
  if (!failed)
    return {
      ok: false,
      reason: `it names ${recipients.join(', ').slice(0, 200)}, but the message it references was sent to another recipient`,
    };
  return { ok: true, failedRecipient: failed, originalMessageId: original.messageId };
}
