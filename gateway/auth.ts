/**
 * Sender authentication with mailauth (SPF, DKIM, DMARC, ARC) and the demand's policy: a DMARC pass,
 * or an aligned DKIM signature, or nothing; an ARC chain that vouches for an original DMARC pass
 * (a forwarder) counts as a pass; From-domains listed in warnDomains are accepted with a warning.
 */
import { authenticate } from 'mailauth';
import type { InboundProfile } from '../domain/inbound';

/** mailauth's resolver shape: TXT answers as string[][]; throw with code ENOTFOUND for a miss. */
export type DnsResolver = (name: string, rrtype: string) => Promise<unknown>;

export interface AuthInput {
  ip?: string;
  helo?: string;
  mailFrom?: string;
  mta: string;
  resolver?: DnsResolver;
}

/** The verdicts, recorded with the answer. */
export interface AuthVerdict {
  spf: string;
  dkim: string;
  dmarc: string;
  arc: string;
  /** The demand's policy and what it decided. */
  policy: string;
  decision: 'pass' | 'pass-with-warning' | 'fail';
  detail: string;
}

function orgDomain(domain: string): string {
  // Relaxed alignment on the last two labels; enough for example.com-style domains and most others.
  return domain.toLowerCase().split('.').slice(-2).join('.');
}

/** Authenticates a raw message and applies the demand's policy. */
export async function checkSender(raw: Buffer, input: AuthInput, profile: Pick<InboundProfile, 'authentication' | 'warnDomains'>, fromAddress: string): Promise<AuthVerdict> {
  const r = await authenticate(raw, {
    ...(input.ip ? { ip: input.ip } : {}),
    ...(input.helo ? { helo: input.helo } : {}),
    ...(input.mailFrom ? { sender: input.mailFrom } : {}),
    mta: input.mta,
    disableBimi: true,
    ...(input.resolver ? { resolver: input.resolver as never } : {}),
  });
  const fromDomain = fromAddress.split('@')[1]?.toLowerCase() ?? '';
  const dkimResults = r.dkim?.results ?? [];
  const dkimPass = dkimResults.filter((d) => d.status?.result === 'pass');
  const alignedDkim = dkimPass.some((d) => orgDomain(String(d.signingDomain ?? '')) === orgDomain(fromDomain));
  const spf = r.spf ? String(r.spf.status?.result ?? 'none') : 'none';
  const dmarc = r.dmarc ? String(r.dmarc.status?.result ?? 'none') : 'none';
  const arc = r.arc ? String(r.arc.status?.result ?? 'none') : 'none';
  const arcDmarc = JSON.stringify(r.arc ? (r.arc.authenticationResults ?? {}) : {});
  const arcVouches = arc === 'pass' && /"dmarc":\{[^}]*"result":"pass"/.test(arcDmarc.replace(/\s/g, ''));
  const dkimText = dkimResults.length ? dkimResults.map((d) => `${d.status?.result ?? 'none'}${d.signingDomain ? ` (${d.signingDomain})` : ''}`).join(', ') : 'none';
  let ok: boolean;
  let detail: string;
  if (profile.authentication === 'none') {
    ok = true;
    detail = 'the demand does not require authentication';
  } else if (profile.authentication === 'aligned-dkim') {
    ok = alignedDkim || arcVouches;
    detail = alignedDkim ? `DKIM signature aligned with ${fromDomain}` : arcVouches ? 'ARC chain vouches for DMARC pass at the forwarder' : `no DKIM signature aligned with ${fromDomain}`;
  } else {
    ok = dmarc === 'pass' || arcVouches;
    detail = dmarc === 'pass' ? `DMARC pass for ${fromDomain}` : arcVouches ? 'ARC chain vouches for DMARC pass at the forwarder' : `DMARC ${dmarc} for ${fromDomain}`;
  }
  const warnable = !ok && profile.warnDomains.includes(fromDomain);
  return {
    spf,
    dkim: dkimText,
    dmarc,
    arc,
    policy: profile.authentication,
    decision: ok ? 'pass' : warnable ? 'pass-with-warning' : 'fail',
    detail: warnable ? `${detail}; accepted with a warning because ${fromDomain} is in warnDomains` : detail,
  };
}
