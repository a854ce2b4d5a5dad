/**
 * A TLS front for the Temporal dev server, which speaks gRPC in clear only: it terminates TLS (with a
 * client certificate required when given a CA), can require an API key as Temporal Cloud does, and
 * forwards every gRPC call to the dev server as it came. Tests use it to run the real CLI against a
 * "remote" Temporal with the TEMPORAL_TLS_* and TEMPORAL_API_KEY settings of a real deployment.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { resolveProgram, type Resolved } from '../apt';

/** PEM files of a test CA, a server certificate it signed for `serverName`, and a client certificate. */
export interface TestCertificates {
  caCert: string;
  serverName: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

/** Debian's openssl, which makes the test certificates: found, or installed as dovecot is (dev/apt.ts). */
export function resolveOpenssl(): Resolved {
  return resolveProgram({ binaries: ['openssl'], package: 'openssl' }, { install: true });
}

/** Makes a CA and the server and client certificates it signs, with `openssl` (see resolveOpenssl). */
export function makeTestCertificates(opensslPath: string, serverName = 'temporal.test'): TestCertificates {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'auditflow-certs-'));
  const run = (...args: string[]) => {
    const r = spawnSync(opensslPath, args, { cwd: dir, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${r.stderr}`);
  };
  const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  run(
    'req',
    '-x509',
    ...newKey,
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=auditflow test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  );
  const sign = (name: string, subject: string, extensions: string, serial: string) => {
    fs.writeFileSync(path.join(dir, `${name}.ext`), extensions);
    run('req', ...newKey, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject);
    run(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-set_serial',
      serial,
      '-days',
      '2',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.pem`,
    );
  };
  sign('server', `/CN=${serverName}`, `subjectAltName=DNS:${serverName}\nextendedKeyUsage=serverAuth\n`, '2');
  sign('client', '/CN=auditflow ops', 'extendedKeyUsage=clientAuth\n', '3');
  const read = (file: string) => fs.readFileSync(path.join(dir, file), 'utf8');
  const certificates = {
    caCert: read('ca.pem'),
    serverName,
    serverCert: read('server.pem'),
    serverKey: read('server.key'),
    clientCert: read('client.pem'),
    clientKey: read('client.key'),
  };
  fs.rmSync(dir, { recursive: true, force: true });
  return certificates;
}

/** A call the front saw: the gRPC method and the authorization header it came with. */
export interface SeenCall {
  method: string;
  authorization?: string;
}

export interface TlsFront {
  /** `127.0.0.1:<port>`: the address to give TEMPORAL_ADDRESS. */
  address: string;
  seen: SeenCall[];
  close(): Promise<void>;
}

/**
 * Starts the front on a free port. `clientCa` requires a client certificate signed by it; `apiKey`
 * answers UNAUTHENTICATED to a call without `authorization: Bearer <apiKey>`.
 */
export async function startTlsFront(options: {
  upstream: string;
  certificates: TestCertificates;
  clientCa?: string;
  apiKey?: string;
}): Promise<TlsFront> {
  const { certificates: c, clientCa, apiKey } = options;
  const upstream = http2.connect(`http://${options.upstream}`);
  upstream.on('error', () => undefined);
  const seen: SeenCall[] = [];
  const sessions = new Set<http2.ServerHttp2Session>();
  const server = http2.createSecureServer({
    key: c.serverKey,
    cert: c.serverCert,
    ...(clientCa ? { ca: clientCa, requestCert: true, rejectUnauthorized: true } : {}),
  });
  server.on('session', (session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  server.on('stream', (stream, headers) => {
    const path = String(headers[':path']);
    const authorization = headers.authorization as string | undefined;
    seen.push({ method: path.replace(/^.*\//, ''), ...(authorization ? { authorization } : {}) });
    if (apiKey !== undefined && authorization !== `Bearer ${apiKey}`) {
      stream.respond(
        { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '16', 'grpc-message': 'API key refused' },
        { endStream: true },
      );
      return;
    }
    const forwarded: http2.OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(headers))
      if (!name.startsWith(':') && value !== undefined) forwarded[name] = value;
    const call = upstream.request({ ':method': 'POST', ':path': path, ...forwarded });
    let trailers: http2.IncomingHttpHeaders = {};
    call.on('response', (responseHeaders, flags) => {
      // A trailers-only answer (an error) ends with its headers: passed on as they are.
      const endsHere = (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0;
      stream.respond(responseHeaders as http2.OutgoingHttpHeaders, { endStream: endsHere, waitForTrailers: !endsHere });
      if (!endsHere) call.pipe(stream);
    });
    call.on('trailers', (t) => (trailers = t));
    stream.on('wantTrailers', () => stream.sendTrailers(trailers as http2.OutgoingHttpHeaders));
    call.on('error', () => stream.destroy());
    stream.on('error', () => call.destroy());
    stream.pipe(call);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    seen,
    close: async () => {
      for (const session of sessions) session.destroy();
      upstream.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
