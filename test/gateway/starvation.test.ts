/**
 * Nobody can starve the gateway (issue 10, point 9): one client address holds at most a few connections
 * and idle ones are closed; a message is streamed to the evidence store, so 20 concurrent 19 MB messages
 * do not take the gateway's memory up with them, and answers arriving meanwhile are recorded; a parse
 * that runs out of time is deferred (451, the sender retries), never triaged as if it were malformed.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import nodemailer from 'nodemailer';
import { spawnEntry } from '../../dev/support/spawn';
import { freePort } from '../../platform/net';

import { eventually } from '../../platform/wait';
import { dotStuff, rawSmtp, transaction } from '../helpers/eml';
import { startTestGateway, type TestGateway } from '../helpers/gateway';
import { harness, type Harness } from '../../dev/support/harness';
import { compose, dnsFor, resolverFor } from '../../dev/support/mail-auth';
import type { ReceivedMail } from '../../dev/support/smtp-sink';
import { sampleSpec } from '../../dev/support/specs';

const PAT = 'pat@acme.example';

/** Opens a connection from `localAddress` and reads the greeting's code; the socket stays open. */
function connectFrom(port: number, localAddress: string): Promise<{ socket: net.Socket; code: number }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress });
    socket.once('error', reject);
    socket.on('error', () => undefined);
    socket.once('data', (d) => resolve({ socket, code: Number(d.toString('latin1').slice(0, 3)) }));
  });
}

/** Peak resident memory of a process so far (VmHWM), in MB. */
function peakRssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) / 1024;
}

describe('nobody can starve the gateway (real gateway, worker and SMTP)', () => {
  let h: Harness;
  let gw: TestGateway;
  const id = `starve-${Date.now().toString(36)}`;
  let request: ReceivedMail;

  before(async () => {
    h = await harness('dev', { AUDITFLOW_INBOUND_AUTH: 'report' });
    gw = await startTestGateway(h, resolverFor(dnsFor(['acme.example'])), { idleTimeoutMs: 5_000 });
    await h.start(sampleSpec(id, { deadline: '2030-06-07T17:00' }));
    request = (await h.sink.waitFor((m) => m.length === 1, 'the request'))[0]!;
  });
  after(async () => {
    await gw?.close();
    await h?.close();
  });

  const replyTo = () => request.parsed.replyTo?.value[0]?.address ?? '';
  const answer = (item: string, text: string) =>
    compose(
      {
        from: `Pat Primary <${PAT}>`,
        to: replyTo(),
        subject: `Re: Audit demand [${item}]`,
        text,
        messageId: `<${crypto.randomUUID()}@acme.example>`,
      },
      true,
    );

  it('lets one client address hold only its share of connections, closes idle ones, and serves everyone else', async () => {
    // All at once, as a flood comes (and well inside the idle timeout).
    const flood = await Promise.all(Array.from({ length: 100 }, () => connectFrom(gw.port, '127.0.0.2')));
    const codes = flood.map((c) => c.code);
    assert.equal(
      codes.filter((c) => c === 220).length,
      h.config.gateway.connectionsPerClient,
      'one address gets its share',
    );
    assert.equal(
      codes.filter((c) => c === 421).length,
      100 - h.config.gateway.connectionsPerClient,
      'the rest are told to come back later',
    );

    const conn = await rawSmtp(gw.port);
    assert.equal((await conn.command('EHLO mx.acme.example')).code, 250);
    const raw = await answer('xbox', 'The Xbox app read the friends list.');
    assert.match((await transaction(conn, PAT, [replyTo()], dotStuff(raw))).text, new RegExp(`Recorded for ${id}`));
    conn.destroy();

    // The idle ones are closed by the gateway (AUDITFLOW_GATEWAY_IDLE_SECONDS, 5 s here).
    await eventually(
      async () => (flood.every((c) => c.socket.destroyed) ? true : undefined),
      'the gateway to close the idle connections',
      30_000,
    );
  });

  it('defers a message whose parsing runs out of time with 451 instead of keeping it as malformed', async () => {
    const slow = await startTestGateway(h, resolverFor(dnsFor(['acme.example'])), { parseTimeoutMs: 1 });
    try {
      const raw = await answer('psn', 'The PSN bridge read trophies.');
      const r = await slow.send(raw, { from: PAT, to: [replyTo()] });
      assert.equal(r.code, 451, r.response);
      assert.match(r.response, /4\.3\.0 The message could not be processed in time; please try again later/);
      assert.equal((await h.settled(id)).items.find((i) => i.id === 'psn')!.answers.length, 0);
      // The sender's retry, on a gateway with time to parse, is recorded.
      assert.match((await gw.send(raw, { from: PAT, to: [replyTo()] })).response, new RegExp(`Recorded for ${id}`));
    } finally {
      await slow.close();
    }
  });

  it('keeps its memory bounded under 20 concurrent 19 MB messages and records the answers that arrive meanwhile', async () => {
    const port = await freePort();
    const child = spawnEntry('gateway/main.ts', {
      env: {
        ...process.env,
        ...h.cliEnv(),
        AUDITFLOW_GATEWAY_PORT: String(port),
        AUDITFLOW_INBOUND_AUTH: 'report',
        AUDITFLOW_EXIT_WITH_PARENT: '1',
      },
    });
    try {
      let out = '';
      child.stdout!.on('data', (d) => (out += d));
      child.stderr!.on('data', (d) => (out += d));
      await eventually(
        async () => (/gateway ready/.test(out) ? true : undefined),
        `the gateway process to start: ${out}`,
        60_000,
      );
      const big = await compose(
        {
          from: `Pat Primary <${PAT}>`,
          to: replyTo(),
          subject: 'Re: Audit demand [stadia] full export',
          text: 'The full export is attached.',
          attachments: [{ filename: 'export.bin', content: crypto.randomBytes(14 * 1024 * 1024) }],
        },
        false,
      );
      assert.ok(big.length > 19 * 1024 * 1024, `${big.length} bytes`);
      const sendFrom = async (raw: Buffer, localAddress: string) => {
        const t = nodemailer.createTransport({
          host: '127.0.0.1',
          port,
          ignoreTLS: true,
          name: 'mx.acme.example',
          localAddress,
        });
        try {
          return (await t.sendMail({ envelope: { from: PAT, to: [replyTo()] }, raw })).response;
        } catch (err) {
          return (err as { response?: string; message: string }).response ?? (err as Error).message;
        } finally {
          t.close();
        }
      };
      const bigOnes = Array.from({ length: 20 }, (_, n) =>
        sendFrom(
          Buffer.concat([
            Buffer.from(`Message-ID: <big-${n}-${id}@acme.example>\r\n`),
            Buffer.from(big.toString('latin1').replace(/^Message-ID: .*\r\n/im, ''), 'latin1'),
          ]),
          '127.0.0.3',
        ),
      );
      const answers = await Promise.all(
        ['[xbox]', '[psn]', '[stadia]'].map(async (tag, n) =>
          sendFrom(await answer(tag.slice(1, -1), `Answer ${n} while the big ones arrive.`), '127.0.0.1'),
        ),
      );
      const bigAnswers = await Promise.all(bigOnes);
      const peak = peakRssMb(child.pid!);
      for (const a of answers)
        assert.match(a, /^250 2\.0\.0 (Recorded|Already recorded) for /, `an answer that arrived meanwhile: ${a}`);
      assert.ok(
        bigAnswers.every((a) => /^250 /.test(a)),
        bigAnswers.join('\n'),
      );
      assert.ok(
        peak < 500,
        `gateway peak memory ${Math.round(peak)} MB for 20 x ${Math.round(big.length / 1048576)} MB at once`,
      );
      process.stdout.write(
        `# gateway peak RSS ${Math.round(peak)} MB with 20 concurrent ${Math.round(big.length / 1048576)} MB messages\n`,
      );
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  });
});
