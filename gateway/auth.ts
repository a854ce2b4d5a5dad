/**
 * Sender authentication with mailauth (SPF, DKIM, DMARC, ARC) and the demand's policy: a DMARC pass,
 * or an aligned DKIM signature, or nothing; an ARC chain sealed first by a trusted forwarder that saw
 * DMARC pass counts as a pass; From-domains listed in warnDomains are accepted with a warning.
 */
import dns from 'node:dns';
import type { Readable } from 'node:stream';
import { authenticate } from 'mailauth';
import { getDomain } from 'tldts';
import type { InboundProfile } from '../domain/inbound';

/** mailauth's resolver shape: TXT answers as string[][]; throw with code ENOTFOUND for a miss. */
export type DnsResolver = (name: string, rrtype: string) => Promise<unknown>;

/** Answers that say "no such record": cached like answers. Timeouts and server failures are not cached. */
const DEFINITE_MISS = new Set(['ENOTFOUND', 'ENODATA']);

/**
 * A DNS cache in front of a resolver (the system's by default): answers and definite misses are kept for
 * `ttlMs`, and concurrent lookups of the same name share one query: replies from one sender look up the
 * same few records, and a resolver that rate-limits turns each dropped query into a wait of seconds.
 */
export function cachingResolver(
  base: DnsResolver = (name, rrtype) => dns.promises.resolve(name, rrtype as 'TXT'),
  opts: { ttlMs?: number; max?: number; now?: () => number } = {},
): DnsResolver {
  const ttlMs = opts.ttlMs ?? 60_000;
  const max = opts.max ?? 10_000;
  const now = opts.now ?? Date.now;
  const cache = new Map<string, { until: number; answer: Promise<unknown> }>();
  return (name, rrtype) => {
    const key = `${rrtype} ${name.toLowerCase()}`;
    const hit = cache.get(key);
    if (hit && hit.until > now()) return hit.answer;
    if (cache.size >= max) cache.delete(cache.keys().next().value!);
    const answer = base(name, rrtype);
    cache.set(key, { until: now() + ttlMs, answer });
    // A failure that is not a definite miss is forgotten at once, so the next lookup asks again.
    answer.catch((err: NodeJS.ErrnoException) => {
      if (!DEFINITE_MISS.has(err?.code ?? '') && cache.get(key)?.answer === answer) cache.delete(key);
    });
    return answer;
  };
}

export interface AuthInput {
  ip?: string;
  helo?: string;
  mailFrom?: string;
  mta: string;
  resolver?: DnsResolver;
  /** Forwarders whose ARC seal may vouch for a DMARC pass they saw (none by default). */
  trustedArcSealers?: string[];
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

/**
 * The organisational domain by the public suffix list, as DMARC's relaxed alignment defines it (and as
 * mailauth computes it): the last two labels would make evil.co.uk align with acme.co.uk.
 */
export function orgDomain(domain: string): string {
  const d = domain.toLowerCase().replace(/\.$/, '');
  return getDomain(d, { allowIcannDomains: true, allowPrivateDomains: true }) ?? d;
}

/** One hop of an ARC chain as mailauth keeps it: the raw ARC-Authentication-Results line. */
interface ArcHop {
  i: number;
  'arc-authentication-results'?: { original?: string | Buffer };
  'arc-seal'?: { original?: string | Buffer };
}

/** The d= of the first hop's ARC-Seal: the forwarder whose word on DMARC we would be taking. */
function firstSealer(arcResult: unknown): string | undefined {
  const chain = arcResult ? (arcResult as { chain?: ArcHop[] }).chain : undefined;
  const first = Array.isArray(chain) ? chain.find((hop) => hop.i === 1) : undefined;
  const seal = first?.['arc-seal']?.original;
  return seal
    ? /(?:^|[\s;])d\s*=\s*([a-z0-9.-]+)/i.exec(String(seal).replace(/\r?\n[ \t]+/g, ' '))?.[1]?.toLowerCase()
    : undefined;
}

/**
 * True when the first forwarder (i=1, the hop that saw the message as the sender sent it) recorded
 * dmarc=pass for the same From domain. Later hops only saw the forwarded copy, so their verdict, which
 * mailauth reports, proves nothing about the sender. Read from the raw header, which mailauth leaves intact.
 */
function firstHopDmarcPass(arcResult: unknown, fromDomain: string): boolean {
  const chain = arcResult ? (arcResult as { chain?: ArcHop[] }).chain : undefined;
  const first = Array.isArray(chain) ? chain.find((hop) => hop.i === 1) : undefined;
  const raw = first?.['arc-authentication-results']?.original;
  if (!raw) return false;
  // Comments such as "(p=REJECT; arc=none)" may hold ';' and '=', so they go before the results are split.
  const text = String(raw)
    .replace(/\r?\n[ \t]+/g, ' ')
    .replace(/\([^()]*\)/g, ' ');
  const dmarc = text
    .split(';')
    .map((part) => part.trim())
    .find((part) => /^dmarc\s*=/i.test(part));
  if (!dmarc || !/^dmarc\s*=\s*pass\b/i.test(dmarc)) return false;
  const headerFrom = /\bheader\.from\s*=\s*"?([^\s";]+)/i.exec(dmarc)?.[1]?.toLowerCase();
  return headerFrom === fromDomain;
}

/** Authenticates a raw message (bytes, or a stream of them) and applies the demand's policy. */
export async function checkSender(
  raw: Buffer | Readable,
  input: AuthInput,
  profile: Pick<InboundProfile, 'authentication' | 'warnDomains'>,
  fromAddress: string,
): Promise<AuthVerdict> {
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
  const sealer = firstSealer(r.arc);
  const trusted = (input.trustedArcSealers ?? []).some(
    (t) => sealer !== undefined && (sealer === t.toLowerCase() || sealer.endsWith(`.${t.toLowerCase()}`)),
  );
  // Anyone can seal a chain that claims dmarc=pass; only a forwarder we trust may vouch.
  const arcVouches = arc === 'pass' && trusted && firstHopDmarcPass(r.arc, fromDomain);
  const dkimText = dkimResults.length
    ? dkimResults
        .map((d) => `${d.status?.result ?? 'none'}${d.signingDomain ? ` (${d.signingDomain})` : ''}`)
        .join(', ')
    : 'none';
  let ok: boolean;
  let detail: string;
  if (profile.authentication === 'none') {
    ok = true;
    detail = 'the demand does not require authentication';
  } else if (profile.authentication === 'aligned-dkim') {
    ok = alignedDkim || arcVouches;
    detail = alignedDkim
      ? `DKIM signature aligned with ${fromDomain}`
      : arcVouches
        ? 'ARC chain vouches for DMARC pass at the forwarder'
        : `no DKIM signature aligned with ${fromDomain}`;
  } else {
    ok = dmarc === 'pass' || arcVouches;
    detail =
      dmarc === 'pass'
        ? `DMARC pass for ${fromDomain}`
        : arcVouches
          ? 'ARC chain vouches for DMARC pass at the forwarder'
          : `DMARC ${dmarc} for ${fromDomain}`;
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
