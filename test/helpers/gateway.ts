/** A running inbound gateway for tests, on a free port, with an injected DNS resolver. */
import nodemailer from 'nodemailer';
import type { DnsResolver } from '../../gateway/auth';
import { startGateway, type Gateway } from '../../gateway/main';
import type { Harness } from './harness';

export interface TestGateway {
  gateway: Gateway;
  port: number;
  log: string[];
  /** Sends raw bytes over SMTP; resolves with the server's final answer. */
  send(raw: Buffer, envelope: { from: string; to: string[] }): Promise<{ code: number; response: string }>;
  close(): Promise<void>;
}

export async function startTestGateway(h: Harness, resolver: DnsResolver): Promise<TestGateway> {
  const log: string[] = [];
  const gateway = await startGateway(h.config, h.env.client, (l) => log.push(l), { resolver, port: 0 });
  const port = gateway.smtp.port;
  return {
    gateway,
    port,
    log,
    async send(raw, envelope) {
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
    },
    close: () => gateway.close(),
  };
}
