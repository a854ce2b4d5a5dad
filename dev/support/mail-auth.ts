/**
 * Sender authentication without the internet: a DKIM key made for the test run, the DNS records that
 * publish it (SPF, DKIM, DMARC) served by an injected resolver, and replies composed and DKIM-signed
 * by nodemailer exactly as a counterparty's mail server would.
 */
import crypto from 'node:crypto';
import nodemailer from 'nodemailer';
import type Mail from 'nodemailer/lib/mailer';
import type { DnsResolver } from '../../gateway/auth';
import type { ReceivedMail } from './smtp-sink';

const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
export const DKIM_SELECTOR = 's1';
export const DKIM_PRIVATE_KEY = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const PUBLIC_KEY_B64 = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');

/** DNS for domains that sign with the test key, allow 127.0.0.1 in SPF and publish DMARC p=reject. */
export function dnsFor(domains: string[]): Record<string, string[][]> {
  const records: Record<string, string[][]> = {};
  for (const d of domains) {
    records[`${DKIM_SELECTOR}._domainkey.${d}`] = [[`v=DKIM1; k=rsa; p=${PUBLIC_KEY_B64}`]];
    records[d] = [['v=spf1 ip4:127.0.0.1 -all']];
    records[`_dmarc.${d}`] = [['v=DMARC1; p=reject; adkim=r; aspf=r']];
  }
  return records;
}

/** A resolver that answers TXT from the table and NXDOMAIN for everything else (offline, deterministic). */
export function resolverFor(records: Record<string, string[][]>): DnsResolver {
  return async (name: string, rrtype: string) => {
    const hit = records[name.toLowerCase()];
    if (rrtype === 'TXT' && hit) return hit;
    throw Object.assign(new Error(`queryTxt ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
  };
}

/** Builds a message (optionally DKIM-signed by its From domain) and returns its raw bytes. */
export async function compose(message: Mail.Options, sign: boolean): Promise<Buffer> {
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' });
  const from = typeof message.from === 'string' ? message.from : (message.from as { address: string }).address;
  const domain = /@([^>\s]+)/.exec(from)?.[1] ?? '';
  const info = await transport.sendMail({
    ...message,
    ...(sign ? { dkim: { domainName: domain, keySelector: DKIM_SELECTOR, privateKey: DKIM_PRIVATE_KEY } } : {}),
  });
  return info.message as Buffer;
}

/** The Reply-To address of a message auditflow sent. */
export function replyAddress(request: ReceivedMail): string {
  return request.parsed.replyTo?.value[0]?.address ?? '';
}

/** A counterparty's reply to `request` from Pat (a contact of the test demands), quoting it, threaded under it. */
export function replyTo(
  request: ReceivedMail,
  subject: string,
  text: string,
  extra: Partial<Mail.Options> = {},
): Mail.Options & { messageId: string } {
  return {
    from: 'Pat Primary <pat@acme.example>',
    to: replyAddress(request),
    subject,
    text: `${text}\n\nOn Mon, someone wrote:\n> ${request.parsed.text?.split('\n')[0] ?? ''}\n`,
    inReplyTo: request.parsed.messageId,
    references: [request.parsed.messageId ?? ''],
    messageId: `<${crypto.randomUUID()}@acme.example>`,
    ...extra,
  };
}
