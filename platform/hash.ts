/** The hashes every process uses: SHA-256 of content (the evidence store's names) and the deployment's HMAC. */
import crypto from 'node:crypto';
import type { Hmac } from '../domain/ids';

/** SHA-256 of bytes or text, as lower-case hex. */
export function sha256Hex(data: Buffer | string): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}

/** HMAC-SHA256 with the deployment's secret (reply tokens, recipient tags, Message-IDs). */
export function makeHmac(secret: string): Hmac {
  return (data: string) => crypto.createHmac('sha256', secret).update(data).digest();
}
