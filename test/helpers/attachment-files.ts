/** Files for the attachment tests: bytes that a careless encoder would damage, and how they arrived. */
import type { ReceivedMail } from '../../dev/support/smtp-sink';
import { sha256Hex } from '../../platform/hash';

/** A PDF-like binary: a PDF header, every byte value (NUL, CR, LF, 8-bit) several times, then %%EOF. */
export function pdfLike(): Buffer {
  const every = Buffer.from(Array.from({ length: 256 * 40 }, (_, i) => (i * 7 + (i >> 8)) % 256));
  return Buffer.concat([Buffer.from('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n', 'latin1'), every, Buffer.from('\n%%EOF\n')]);
}

/** A text file that SMTP could alter: bare LF and CRLF mixed, a line starting with a dot, a 2,000-character line, non-ASCII, no final newline. */
export function noticeText(): Buffer {
  return Buffer.from(
    `Notice of breach — clause 9.3\r\n.\n.starts with a dot\nFrom the agreement:\n${'x'.repeat(2000)}\nGrüße, Zoë`,
    'utf8',
  );
}

/** name -> sha256 of each attachment of an arrived message, decoded. */
export function attachedHashes(mail: ReceivedMail): Record<string, string> {
  return Object.fromEntries(mail.parsed.attachments.map((a) => [a.filename ?? '?', sha256Hex(a.content)]));
}
