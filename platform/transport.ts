/** The outbound SMTP transport: SMTP_URL, or the local mail catcher. */
import nodemailer, { type Transporter } from 'nodemailer';
import type { AuditflowConfig } from './config';

/** A pooled nodemailer transport with file and URL access disabled (messages carry no remote content). */
export function createMailTransport(config: Pick<AuditflowConfig, 'smtpUrl' | 'smtpExplicit'>): Transporter {
  return nodemailer.createTransport({
    url: config.smtpUrl,
    pool: true,
    maxConnections: 5,
    disableFileAccess: true,
    disableUrlAccess: true,
    // The local catcher speaks plain SMTP on loopback; a real relay negotiates STARTTLS as usual.
    ...(config.smtpExplicit ? {} : { ignoreTLS: true }),
    connectionTimeout: 15_000,
    greetingTimeout: 15_000,
    socketTimeout: 60_000,
  });
}

/** A printable form of the SMTP URL without its password. */
export function redactSmtpUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable SMTP_URL)';
  }
}
