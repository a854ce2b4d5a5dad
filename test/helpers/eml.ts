/**
 * The hostile .eml corpus (test/fixtures/emails): templates with {{PLACEHOLDERS}} filled per run, because
 * DKIM keys and demand ids are made per run; DKIM signing and ARC sealing of the filled raw bytes with
 * mailauth, as the counterparty's server or a forwarder would; and a raw SMTP client for what nodemailer
 * would never send (smuggled end-of-data sequences, several transactions on one connection).
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { authenticate, dkimSign, sealMessage } from 'mailauth';
import { DKIM_PRIVATE_KEY, DKIM_SELECTOR, dnsFor, resolverFor } from '../../dev/support/mail-auth';

export const EMAIL_FIXTURES = path.resolve(__dirname, '..', 'fixtures', 'emails');

/**
 * Reads a fixture, fills every `{{NAME}}` (an unfilled or unused placeholder is an error, so a fixture and
 * its test cannot drift apart) and returns the bytes with CRLF line ends, as they travel over SMTP.
 */
export function fillFixture(name: string, values: Record<string, string>): Buffer {
  const text = fs.readFileSync(path.join(EMAIL_FIXTURES, name), 'utf8');
  if (!/^X-Fixture-Note: \S/.test(text))
    throw new Error(`${name} must start with an X-Fixture-Note header saying what it tests`);
  const used = new Set<string>();
  // Line ends are normalised before filling, so values may carry bare CR or LF on purpose (smuggling).
  const filled = text.replace(/\r?\n/g, '\r\n').replace(/\{\{([A-Z0-9_]+)\}\}/g, (_m, key: string) => {
    const v = values[key];
    if (v === undefined) throw new Error(`${name}: no value for {{${key}}}`);
    used.add(key);
    return v;
  });
  const unused = Object.keys(values).filter((k) => !used.has(k));
  if (unused.length) throw new Error(`${name}: values not used by the template: ${unused.join(', ')}`);
  return Buffer.from(filled, 'utf8');
}

/** DKIM-signs raw bytes for a domain with the run's test key (published by dnsFor). */
export async function dkimSignRaw(raw: Buffer, domain: string): Promise<Buffer> {
  const key = { signingDomain: domain, selector: DKIM_SELECTOR, privateKey: DKIM_PRIVATE_KEY };
  const resolver = resolverFor(dnsFor([domain]));
  // About one signature in 400 made by mailauth's signer does not verify (nodemailer's always do): it is
  // made again with another signing time, since a sender's broken signature is not what a test means.
  for (let attempt = 0; ; attempt++) {
    // mailauth signs with the signatureData entries; the top-level copy only satisfies its typings.
    const { signatures, errors } = await dkimSign(raw, {
      ...key,
      signatureData: [key],
      signTime: new Date(Date.now() - attempt * 1000),
    } as Parameters<typeof dkimSign>[1]);
    if (errors.length) throw new Error(`DKIM signing failed: ${errors.map((e) => String(e)).join('; ')}`);
    const signed = Buffer.concat([Buffer.from(signatures, 'latin1'), raw]);
    const check = await authenticate(signed, {
      ip: '127.0.0.1',
      mta: 'check.local',
      disableBimi: true,
      resolver: resolver as never,
    });
    if (check.dkim.results.some((r) => r.signingDomain === domain && r.status?.result === 'pass') || attempt === 4)
      return signed;
  }
}

/** ARC-seals raw bytes as a forwarder of `domain` that found `authResults` on the message it received. */
export async function arcSealRaw(raw: Buffer, domain: string, authResults: string): Promise<Buffer> {
  // The first hop starts the chain (cv=none); a later one vouches that the chain it received was intact.
  const cv = /^ARC-Seal:/im.test(raw.toString('latin1')) ? 'pass' : 'none';
  const sealers = [...raw.toString('latin1').matchAll(/^ARC-Seal:[^]*?\bd=([a-z0-9.-]+)/gim)].map((m) => m[1]!);
  const resolver = resolverFor(dnsFor([...new Set([...sealers, domain])]));
  // About one seal in 300 made by mailauth does not verify (like its DKIM signer above): it is made again.
  for (let attempt = 0; ; attempt++) {
    // authResults, cv and signTime are read by mailauth but missing from its typings.
    const headers = await sealMessage(raw, {
      signingDomain: domain,
      selector: DKIM_SELECTOR,
      privateKey: DKIM_PRIVATE_KEY,
      authResults,
      cv,
      signTime: new Date(Date.now() - attempt * 1000),
    } as Parameters<typeof sealMessage>[1]);
    const sealed = Buffer.concat([headers, raw]);
    const check = await authenticate(sealed, {
      ip: '127.0.0.1',
      mta: 'check.local',
      disableBimi: true,
      resolver: resolver as never,
    });
    if ((check.arc && check.arc.status?.result === 'pass') || attempt === 4) return sealed;
  }
}

/** One SMTP reply: its code and every line of text. */
export interface SmtpReply {
  code: number;
  text: string;
}

/** A raw SMTP conversation over a TCP socket: bytes out exactly as given, every reply read back in order. */
export interface RawSmtp {
  /** Every complete reply received so far, in order. */
  replies: SmtpReply[];
  /** Writes bytes as they are (no dot-stuffing, no line-end repair). */
  write(data: string | Buffer): void;
  /** Waits for the next reply not yet returned by next(). */
  next(timeoutMs?: number): Promise<SmtpReply>;
  /** Writes a command line (CRLF added) and waits for its reply. */
  command(line: string): Promise<SmtpReply>;
  /** Resolves when the server has closed the connection. */
  closed: Promise<void>;
  destroy(): void;
}

/** Opens a raw SMTP connection and reads the greeting. */
export async function rawSmtp(port: number): Promise<RawSmtp> {
  const socket = net.connect({ host: '127.0.0.1', port });
  const replies: SmtpReply[] = [];
  const waiters: (() => void)[] = [];
  let buffered = '';
  let lines: string[] = [];
  let returned = 0;
  let ended = false;
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf('\r\n')) !== -1) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 2);
      lines.push(line);
      // "250-..." continues a reply, "250 ..." ends it.
      if (/^\d{3}(?: |$)/.test(line)) {
        replies.push({ code: Number(line.slice(0, 3)), text: lines.map((l) => l.slice(4)).join('\n') });
        lines = [];
      }
    }
    for (const w of waiters.splice(0)) w();
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  void closed.then(() => {
    ended = true;
    for (const w of waiters.splice(0)) w();
  });
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const next = async (timeoutMs = 30_000): Promise<SmtpReply> => {
    const deadline = Date.now() + timeoutMs;
    while (replies.length <= returned) {
      if (ended)
        throw new Error(`the server closed the connection; replies so far: ${replies.map((r) => r.code).join(' ')}`);
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `no SMTP reply within ${timeoutMs} ms; replies so far: ${replies.map((r) => r.code).join(' ')}`,
        );
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 250));
        waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return replies[returned++]!;
  };
  const conn: RawSmtp = {
    replies,
    write: (data) => void socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data),
    next,
    async command(line) {
      conn.write(`${line}\r\n`);
      return next();
    },
    closed,
    destroy: () => socket.destroy(),
  };
  const greeting = await next();
  if (greeting.code !== 220) throw new Error(`unexpected greeting ${greeting.code} ${greeting.text}`);
  return conn;
}

/** RFC 5321 dot-stuffing for a message sent as DATA: a line starting with "." gets one more. */
export function dotStuff(raw: Buffer): Buffer {
  return Buffer.from(raw.toString('latin1').replace(/(^|\r\n)\./g, '$1..'), 'latin1');
}

/**
 * One mail transaction on an open raw connection: MAIL, RCPT, DATA, the bytes exactly as given, then the
 * CRLF.CRLF terminator; returns the answer to the data (or the first refusal before it).
 */
export async function transaction(conn: RawSmtp, mailFrom: string, rcptTo: string[], data: Buffer): Promise<SmtpReply> {
  const mail = await conn.command(`MAIL FROM:<${mailFrom}>`);
  if (mail.code !== 250) return mail;
  for (const rcpt of rcptTo) {
    const r = await conn.command(`RCPT TO:<${rcpt}>`);
    if (r.code !== 250) return r;
  }
  const go = await conn.command('DATA');
  if (go.code !== 354) return go;
  conn.write(
    Buffer.concat([
      data,
      Buffer.from(data.subarray(-2).toString('latin1') === '\r\n' ? '.\r\n' : '\r\n.\r\n', 'latin1'),
    ]),
  );
  return conn.next();
}
