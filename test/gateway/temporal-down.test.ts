/**
 * Fault: Temporal goes away while a reply arrives. The gateway answers 451 (the sending server will
 * retry) and records nothing; when Temporal is back, the retried message is recorded exactly once.
 * Runs on a dev server of its own with a SQLite file, so it can be stopped and started again.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startDevServer, type DevServer } from '../../dev/dev-server';
import { freePort } from '../../platform/net';
import { startTestGateway, type TestGateway } from '../helpers/gateway';
import { harness, type Harness } from '../../dev/support/harness';
import { compose, dnsFor, resolverFor } from '../../dev/support/mail-auth';
import { sampleSpec } from '../../dev/support/specs';

describe('Temporal unreachable while a reply arrives', () => {
  let server: DevServer;
  let port: number;
  let dbFile: string;
  let h: Harness;
  let gw: TestGateway;
  let spooled: TestGateway;
  before(async () => {
    port = await freePort();
    dbFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'auditflow-down-')), 'temporal.db');
    server = await startDevServer({ port, uiPort: false, dbFile });
    h = await harness('dev', {}, { address: server.address });
    gw = await startTestGateway(h, resolverFor(dnsFor(['acme.example'])));
    spooled = await startTestGateway(h, resolverFor(dnsFor(['acme.example'])), { accept: 'spooled' });
  });
  after(async () => {
    await gw.close();
    await spooled.close();
    await h.close();
    await server.stop();
  });

  it('answers 451 while Temporal is down and records the retried message once when it is back', async () => {
    const id = `down-${Date.now().toString(36)}`;
    await h.start(sampleSpec(id, { deadline: '2030-06-07T17:00' }));
    const [request] = await h.sink.waitFor((m) => m.length === 1, 'the request');
    const replyTo = request!.parsed.replyTo?.value[0]?.address ?? '';
    const raw = await compose(
      {
        from: 'Pat Primary <pat@acme.example>',
        to: replyTo,
        subject: 'Re: audit [stadia]',
        text: 'Stadia ran from 2019 to 2022.',
        messageId: '<down-1@acme.example>',
      },
      true,
    );

    await server.stop();
    const refused = await gw.send(raw, { from: 'pat@acme.example', to: [replyTo] });
    assert.equal(refused.code, 451, refused.response);
    assert.match(refused.response, /try again later/);
    assert.ok(
      gw.log.some((l) => /451 to .*Temporal is unavailable/.test(l)),
      gw.log.join('\n'),
    );
    // Spooled, the 250 waits for the spool's signal: no Temporal, no 250.
    const notSpooled = await spooled.send(raw, { from: 'pat@acme.example', to: [replyTo] });
    assert.equal(notSpooled.code, 451, notSpooled.response);

    server = await startDevServer({ port, uiPort: false, dbFile });
    const deadline = Date.now() + 60_000;
    let answer = refused;
    while (answer.code !== 250 && Date.now() < deadline)
      answer = await gw.send(raw, { from: 'pat@acme.example', to: [replyTo] });
    assert.equal(answer.code, 250, answer.response);
    const again = await gw.send(raw, { from: 'pat@acme.example', to: [replyTo] });
    assert.equal(again.code, 250);
    const s = await h.settled(id);
    assert.equal(s.items.find((i) => i.id === 'stadia')!.answers.length, 1);
    assert.equal(s.duplicatesIgnored, 1);
  });
});
