/**
 * The codec server (`auditflow codec-server`, started by `npm start`): what lets the Temporal Web UI and
 * the `temporal` CLI show auditflow's encrypted payloads in clear, while the database holds ciphertext.
 * The contract is Temporal's: `POST /encode` and `POST /decode` with `{"payloads": [{metadata, data}]}`
 * (base64 values), answered in the same shape; CORS for the UI's origin; a bearer token required when it
 * listens beyond loopback (AUDITFLOW_CODEC_TOKEN), since whoever reaches it can read every payload.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { Payload } from '@temporalio/common';
import { EncryptionCodec, type EncryptionKey } from './codec';

export interface CodecServerOptions {
  keys: readonly EncryptionKey[];
  host: string;
  port: number;
  /** Browser origins allowed to call it (the Web UI's, e.g. http://localhost:8233). */
  origins: readonly string[];
  /** Required as `Authorization: Bearer <token>` when set (and always beyond loopback). */
  token?: string;
  log?: (line: string) => void;
}

export interface CodecServer {
  port: number;
  /** `http://<host>:<port>`, what --ui-codec-endpoint and --codec-endpoint take. */
  url: string;
  close(): Promise<void>;
}

/** Whether an address only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

const MAX_BODY = 8 * 1024 * 1024;

type JsonPayload = { metadata?: Record<string, string>; data?: string };

const fromJson = (p: JsonPayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data ?? '', 'base64'),
});
const toJson = (p: Payload): JsonPayload => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? []).toString('base64')]),
  ),
  data: Buffer.from(p.data ?? []).toString('base64'),
});

/** Starts the codec server; refuses to listen beyond loopback without a token. */
export async function startCodecServer(o: CodecServerOptions): Promise<CodecServer> {
  if (!isLoopback(o.host) && !o.token)
    throw new Error(
      `AUDITFLOW_CODEC_TOKEN is required to listen on ${o.host}: whoever reaches the codec server reads every payload (try: openssl rand -hex 24)`,
    );
  const codec = new EncryptionCodec(o.keys);
  const expected = o.token ? Buffer.from(`Bearer ${o.token}`) : undefined;
  const server = http.createServer((req, res) => {
    const origin = req.headers.origin;
    if (origin && o.origins.includes(origin)) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Allow-Methods', 'POST, GET, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', 'Content-Type, X-Namespace, Authorization');
      res.setHeader('Access-Control-Allow-Credentials', 'true');
      res.setHeader('Vary', 'Origin');
    }
    const answer = (status: number, body?: unknown) => {
      res.writeHead(status, body === undefined ? {} : { 'Content-Type': 'application/json' });
      res.end(body === undefined ? undefined : JSON.stringify(body));
    };
    if (req.method === 'OPTIONS') return answer(204);
    if (origin && !o.origins.includes(origin)) return answer(403, { error: `origin ${origin} is not allowed` });
    if (req.method === 'GET' && req.url === '/health') return answer(200, { ok: true });
    const route = req.url?.split('?')[0];
    if (req.method !== 'POST' || (route !== '/encode' && route !== '/decode'))
      return answer(404, { error: 'POST /encode or /decode' });
    if (expected) {
      const given = Buffer.from(req.headers.authorization ?? '');
      if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected))
        return answer(401, { error: 'missing or wrong bearer token' });
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) req.destroy();
      else chunks.push(c);
    });
    req.on('end', () => {
      void (async () => {
        let payloads: Payload[];
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { payloads?: JsonPayload[] } | null;
          // Protobuf JSON leaves out an empty list: the temporal CLI sends {} for a query without arguments.
          const isObject = !!body && typeof body === 'object' && !Array.isArray(body);
          const list = isObject && body.payloads === undefined ? [] : body?.payloads;
          if (!Array.isArray(list)) throw new Error('expected {"payloads": [...]}');
          payloads = list.map(fromJson);
        } catch (err) {
          return answer(400, { error: `not a payload list: ${(err as Error).message}` });
        }
        try {
          const out = route === '/encode' ? await codec.encode(payloads) : await codec.decode(payloads);
          answer(200, { payloads: out.map(toJson) });
        } catch (err) {
          o.log?.(`codec server: ${route} failed: ${(err as Error).message}`);
          answer(422, { error: (err as Error).message });
        }
      })();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  return {
    port,
    url: `http://${host}:${port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
