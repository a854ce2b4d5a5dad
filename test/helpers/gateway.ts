/** A running inbound gateway for tests, on a free port, with an injected DNS resolver. */
import { smtpSend } from '../../dev/support/smtp-send';
import type { DnsResolver } from '../../gateway/auth';
import { startGateway, type Gateway } from '../../gateway/main';
import type { AuditflowConfig } from '../../platform/config';
import type { Harness } from '../../dev/support/harness';

export interface TestGateway {
  gateway: Gateway;
  port: number;
  log: string[];
  /** Sends raw bytes over SMTP; resolves with the server's final answer. */
  send(raw: Buffer, envelope: { from: string; to: string[] }): Promise<{ code: number; response: string }>;
  close(): Promise<void>;
}

export async function startTestGateway(
  h: Harness,
  resolver: DnsResolver,
  settings: Partial<AuditflowConfig['gateway']> = {},
): Promise<TestGateway> {
  const log: string[] = [];
  const config = { ...h.config, gateway: { ...h.config.gateway, ...settings } };
  const gateway = await startGateway(config, h.env.client, (l) => log.push(l), { resolver, port: 0, metricsPort: 0 });
  const port = gateway.smtp.port;
  return {
    gateway,
    port,
    log,
    send: (raw, envelope) => smtpSend(port, raw, envelope),
    close: () => gateway.close(),
  };
}
