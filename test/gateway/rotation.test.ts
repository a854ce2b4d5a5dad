/**
 * Rotating AUDITFLOW_SECRET through the real SMTP gateway (dev server, real worker): a request sent
 * under the old secret is answered after the gateway moved to a new one. With the old secret in
 * AUDITFLOW_SECRET_PREVIOUS the reply is recorded; without it the reply address is refused at RCPT as
 * forged, as before this change.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestGateway, type TestGateway } from '../helpers/gateway';
import { harness, TEST_SECRET, type Harness } from '../../dev/support/harness';
import { compose, dnsFor, replyAddress, replyTo, resolverFor } from '../../dev/support/mail-auth';
import type { ReceivedMail } from '../../dev/support/smtp-sink';
import { sampleSpec } from '../../dev/support/specs';

const NEW_SECRET = 'new-secret-after-rotation-0123456789abcdef';

describe('secret rotation at the gateway (dev server, real worker, real SMTP)', () => {
  let h: Harness;
  let request: ReceivedMail;
  const gateways: TestGateway[] = [];
  const id = `rot-${Date.now().toString(36)}`;
  /** A gateway of the rotated configuration: the new secret, and the old one as previous when asked. */
  const rotatedGateway = async (previous: string[]) => {
    const config = { ...h.config, secret: NEW_SECRET, previousSecrets: previous };
    const gw = await startTestGateway({ ...h, config }, resolverFor(dnsFor(['acme.example'])));
    gateways.push(gw);
    return gw;
  };

  before(async () => {
    h = await harness('dev'); // the worker signs with TEST_SECRET: the secret before the rotation
    await h.start(sampleSpec(id, { deadline: '2030-06-07T17:00' }));
    request = (await h.sink.waitFor((m) => m.length === 1, 'the request'))[0]!;
  });
  after(async () => {
    for (const gw of gateways) await gw.close();
    await h.close();
  });

  it('without the old secret in AUDITFLOW_SECRET_PREVIOUS, a reply to a message sent before the rotation is refused at RCPT', async () => {
    const gw = await rotatedGateway([]);
    const raw = await compose(replyTo(request, 'Re: audit [stadia]', 'Stadia ran from 2019 to 2022.'), true);
    const r = await gw.send(raw, { from: 'pat@acme.example', to: [replyAddress(request)] });
    assert.equal(r.code, 550, r.response);
    assert.match(r.response, /the reply address was altered or forged/);
  });

  it('with it, the same reply is recorded on its item', async () => {
    const gw = await rotatedGateway([TEST_SECRET]);
    const raw = await compose(replyTo(request, 'Re: audit [stadia]', 'Stadia ran from 2019 to 2022.'), true);
    const r = await gw.send(raw, { from: 'pat@acme.example', to: [replyAddress(request)] });
    assert.equal(r.code, 250, r.response);
    assert.match(r.response, new RegExp(`Recorded for ${id}`));
    const s = await h.status(id);
    assert.equal(s.items.find((i) => i.id === 'stadia')!.answers.length, 1);
  });
});
