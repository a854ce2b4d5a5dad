/** Sends raw bytes to an SMTP server on 127.0.0.1 as a counterparty's mail server would; resolves with its final answer. */
import nodemailer from 'nodemailer';

export async function smtpSend(
  port: number,
  raw: Buffer,
  envelope: { from: string; to: string[] },
): Promise<{ code: number; response: string }> {
  const t = nodemailer.createTransport({ host: '127.0.0.1', port, ignoreTLS: true, name: 'mx.acme.example' });
  try {
    const info = await t.sendMail({ envelope, raw });
    return { code: Number(/^(\d{3})/.exec(info.response)?.[1] ?? 0), response: info.response };
  } catch (err) {
    const e = err as { responseCode?: number; response?: string; message: string };
    return { code: e.responseCode ?? 0, response: e.response ?? e.message };
  } finally {
    t.close();
  }
}
