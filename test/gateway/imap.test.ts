/**
 * Replies delivered into a real IMAP mailbox (a private dovecot started here, installed on first use)
 * are picked up by the IMAP poller against a real Temporal dev server and worker: recorded and moved to
 * Processed, kept for triage and moved to Quarantine, processed again after a crash between recording
 * and moving (counted once), and left in the mailbox while Temporal is unreachable.
 *
 * The file runs its own dev server: the triage inbox is one workflow per namespace, and the SMTP reply
 * tests count its entries.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import type Mail from 'nodemailer/lib/mailer';
import { startDevServer, type DevServer } from '../../dev/dev-server';
import { isRunning, resolveDovecot, startDovecot, type Dovecot } from '../../dev/dovecot';
import { startImapPoller, type ImapPoller } from '../../gateway/imap';
import type { IntakeDeps } from '../../gateway/intake';
import { intakeDeps } from '../../gateway/main';
import { auditflow } from '../helpers/cli';
import { harness, type Harness } from '../../dev/support/harness';
import { testDataConverter } from '../../dev/support/temporal';
import { openMailbox, type TestMailbox } from '../helpers/imap-mailbox';
import { compose, dnsFor, replyTo as replyToRequest, resolverFor } from '../../dev/support/mail-auth';
import type { ReceivedMail } from '../../dev/support/smtp-sink';
import { sampleSpec } from '../../dev/support/specs';
import { startTcpProxy } from '../../dev/support/tcp-proxy';
import { eventually } from '../../platform/wait';

const dovecot = resolveDovecot();

/** Polls `check` every 100 ms until it returns a truthy value, or throws after the timeout with the poller's log. */
async function until<T>(
  what: string,
  check: () => Promise<T> | T,
  log: string[] = [],
  timeoutMs = 60_000,
): Promise<Exclude<T, false | null | undefined>> {
  return eventually(
    async () => ((await check()) || undefined) as Exclude<T, false | null | undefined> | undefined,
    () => `${what}; poller log:\n${log.join('\n')}`,
    { timeoutMs, intervalMs: 100 },
  );
}

describe(
  'replies through the IMAP poller (real dovecot, dev server, real worker)',
  { skip: dovecot.ok ? false : `dovecot is needed: ${dovecot.reason}` },
  () => {
    let server: DevServer;
    let h: Harness;
    let imap: Dovecot;
    let request: ReceivedMail;
    const id = `imap-${Date.now().toString(36)}`;
    const resolver = resolverFor(dnsFor(['acme.example']));
    const pdf = Buffer.from('%PDF-1.4 data inventory of the Xbox companion app');
    const extraItems = [
      { id: 'steam', name: 'Steam overlay', questions: ['What data did it read?'] },
      { id: 'switch', name: 'Switch companion', questions: ['What data did it read?'] },
    ];

    before(async () => {
      server = await startDevServer({ uiPort: false });
      h = await harness('dev', {}, { address: server.address });
      imap = await startDovecot({ binary: dovecot.ok ? dovecot.binary.path : undefined });
      await h.start(sampleSpec(id, { deadline: '2030-06-07T17:00', items: [...sampleSpec(id).items, ...extraItems] }));
      request = (await h.sink.waitFor((m) => m.length === 1, 'the request'))[0]!;
    });
    after(async () => {
      await h?.close();
      await imap?.stop();
      await server?.stop();
    });

    const replyFor = (subject: string, text: string, extra: Partial<Mail.Options> = {}) =>
      replyToRequest(request, subject, text, extra);
    const deps = (log?: IntakeDeps['log'], client = h.env.client) =>
      intakeDeps(h.config, client, { resolver, ...(log ? { log } : {}) });
    const item = async (itemId: string) => (await h.status(id)).items.find((i) => i.id === itemId)!;

    /** A poller on one user's mailbox; pollSeconds is long so that only IDLE can wake it unless a test says otherwise. */
    const poller = async (
      url: string,
      intake: IntakeDeps,
      pollSeconds = 3600,
    ): Promise<{ poller: ImapPoller; log: string[] }> => {
      const log: string[] = [];
      const p = await startImapPoller({
        url,
        folder: 'INBOX',
        processed: 'Processed',
        quarantine: 'Quarantine',
        pollSeconds,
        intake,
        log: (l) => log.push(l),
      });
      return { poller: p, log };
    };
    const inFolder = async (box: TestMailbox, folder: string, messageId: string) =>
      (await box.ids(folder)).includes(messageId);

    it('records a DKIM-signed reply delivered to INBOX on its item, then moves it to Processed', async () => {
      const box = await openMailbox(imap.urlFor('answers'));
      const { poller: p, log } = await poller(imap.urlFor('answers'), deps());
      try {
        const mail = replyFor(
          'Re: Audit demand: Audit of API usage [xbox]',
          'Please find the data inventory attached.',
          { attachments: [{ filename: 'inventory.pdf', content: pdf, contentType: 'application/pdf' }] },
        );
        const raw = await compose(mail, true);
        await box.deliver(raw);
        await until('the reply in Processed', () => inFolder(box, 'Processed', mail.messageId), log);
        assert.deepEqual(await box.ids('INBOX'), []);
        assert.deepEqual(await box.ids('Quarantine'), []);
        assert.ok(
          log.some((l) => l.includes(`recorded for ${id}, moved to Processed`)),
          log.join('\n'),
        );

        await until('the answer on xbox', async () => (await item('xbox')).answers.length === 1);
        const s = await h.settled(id);
        const xbox = s.items.find((i) => i.id === 'xbox')!;
        assert.equal(xbox.phase, 'in-review');
        const a = xbox.answers[0]!;
        assert.equal(a.from, 'pat@acme.example');
        assert.equal(a.messageId, mail.messageId);
        assert.deepEqual(
          a.attachments.map((f) => [f.filename, f.size, f.sha256]),
          [['inventory.pdf', pdf.length, crypto.createHash('sha256').update(pdf).digest('hex')]],
        );
        assert.equal(a.raw?.sha256, crypto.createHash('sha256').update(raw).digest('hex'));
        assert.match(a.auth?.dkim ?? '', /^pass\b/);
        assert.equal(a.auth?.dmarc, 'pass');
        assert.equal(a.auth?.decision, 'pass');
        assert.equal(a.summary, 'Please find the data inventory attached.');
        assert.deepEqual(
          s.items.filter((i) => i.id !== 'xbox').map((i) => i.phase),
          ['awaiting', 'awaiting', 'awaiting', 'awaiting'],
        );
      } finally {
        await p.close();
        await box.close();
      }
    });

    it('moves a reply from a stranger to Quarantine and keeps it in the triage inbox', async () => {
      const box = await openMailbox(imap.urlFor('strangers'));
      const { poller: p, log } = await poller(imap.urlFor('strangers'), deps());
      try {
        const mail = { ...replyFor('Re: Audit [psn]', 'hello'), from: 'mallory@evil.example' };
        await box.deliver(await compose(mail, true));
        await until('the reply in Quarantine', () => inFolder(box, 'Quarantine', mail.messageId), log);
        assert.deepEqual(await box.ids('INBOX'), []);
        assert.deepEqual(await box.ids('Processed'), []);

        const cli = h.cliEnv();
        const listed = await auditflow(['inbox', '--json'], cli);
        assert.equal(listed.code, 0, listed.stderr);
        const entries = JSON.parse(listed.stdout) as {
          channel: string;
          reason: string;
          from: string;
          messageId: string;
          status: string;
        }[];
        const entry = entries.find((e) => e.messageId === mail.messageId);
        assert.ok(entry, listed.stdout);
        assert.equal(entry.channel, 'imap');
        assert.equal(entry.from, 'mallory@evil.example');
        assert.equal(entry.status, 'open');
        assert.match(
          entry.reason,
          new RegExp(`^sender mallory@evil\\.example is not a listed contact of demand ${id}`),
        );
        assert.equal((await item('psn')).answers.length, 0);
      } finally {
        await p.close();
        await box.close();
      }
    });

    it('processes a reply again after a crash between recording and moving it; the demand counts it once', async () => {
      const box = await openMailbox(imap.urlFor('crash'));
      const proxy = await startTcpProxy({ host: '127.0.0.1', port: imap.port });
      const mail = replyFor('Re: Audit [psn]', 'Our answer on PSN.');
      // The first gateway reaches dovecot through a proxy that goes down the moment the reply is recorded
      // in Temporal: its MOVE never reaches the server, as if the process had died right there.
      const first = await poller(
        imap.urlFor('crash', proxy.port),
        deps((message, fields) => {
          if (message === 'recorded' && fields?.messageId === mail.messageId) proxy.down();
        }),
      );
      try {
        await box.deliver(await compose(mail, true));
        await until(
          'the first gateway to lose its connection',
          () => first.log.some((l) => /IMAP connection closed/.test(l)),
          first.log,
        );
        await first.poller.close();
        assert.ok(await inFolder(box, 'INBOX', mail.messageId), 'the reply is still in INBOX');
        assert.deepEqual(await box.ids('Processed'), []);
        const recorded = await h.settled(id);
        assert.equal(recorded.items.find((i) => i.id === 'psn')!.answers.length, 1);

        const second = await poller(imap.urlFor('crash'), deps());
        try {
          await until('the reply in Processed', () => inFolder(box, 'Processed', mail.messageId), second.log);
          assert.deepEqual(await box.ids('INBOX'), []);
          assert.ok(
            second.log.some((l) => l.includes(`recorded for ${id}, moved to Processed`)),
            second.log.join('\n'),
          );
          const s = await until('the duplicate to be counted', async () => {
            const v = await h.settled(id);
            return v.duplicatesIgnored > recorded.duplicatesIgnored && v;
          });
          assert.equal(s.duplicatesIgnored, recorded.duplicatesIgnored + 1);
          const psn = s.items.find((i) => i.id === 'psn')!;
          assert.equal(psn.answers.length, 1);
          assert.equal(psn.phase, 'in-review');
        } finally {
          await second.poller.close();
        }
      } finally {
        await first.poller.close();
        await proxy.close();
        await box.close();
      }
    });

    it('reconnects after losing the connection between recording and moving, and moves the reply without recording it again', async () => {
      const box = await openMailbox(imap.urlFor('reconnect'));
      const proxy = await startTcpProxy({ host: '127.0.0.1', port: imap.port });
      const mail = replyFor('Re: Audit [stadia]', 'Our answer on Stadia.');
      const { poller: p, log } = await poller(
        imap.urlFor('reconnect', proxy.port),
        deps((message, fields) => {
          if (message === 'recorded' && fields?.messageId === mail.messageId) proxy.cut();
        }),
      );
      try {
        const before = await h.settled(id);
        await box.deliver(await compose(mail, true));
        await until('the reply in Processed', () => inFolder(box, 'Processed', mail.messageId), log);
        assert.deepEqual(await box.ids('INBOX'), []);
        assert.ok(
          log.some((l) => /IMAP connection closed; reconnecting/.test(l)),
          log.join('\n'),
        );
        assert.ok(
          log.some((l) => /recorded earlier, moved to Processed/.test(l)),
          log.join('\n'),
        );
        await until('the answer on stadia', async () => (await item('stadia')).answers.length === 1);
        const s = await h.settled(id);
        assert.equal(s.items.find((i) => i.id === 'stadia')!.answers.length, 1);
        assert.equal(s.duplicatesIgnored, before.duplicatesIgnored, 'the reply was signalled once');
      } finally {
        await p.close();
        await proxy.close();
        await box.close();
      }
    });

    it('creates the Processed folder again when it was deleted while the poller ran', async () => {
      const box = await openMailbox(imap.urlFor('deleted'));
      const { poller: p, log } = await poller(imap.urlFor('deleted'), deps());
      try {
        await box.deleteFolder('Processed');
        const mail = replyFor('Re: Audit [switch]', 'Our answer on the Switch companion.');
        await box.deliver(await compose(mail, true));
        await until('the reply in Processed', () => inFolder(box, 'Processed', mail.messageId), log);
        assert.deepEqual(await box.ids('INBOX'), []);
        await until('the answer on switch', async () => (await item('switch')).answers.length === 1);
      } finally {
        await p.close();
        await box.close();
      }
    });

    it('leaves a reply in INBOX while Temporal is unreachable and records it once when Temporal is back', async () => {
      const box = await openMailbox(imap.urlFor('outage'));
      // The gateway reaches Temporal through a proxy that refuses connections during the outage.
      const proxy = await startTcpProxy({
        host: server.address.split(':')[0]!,
        port: Number(server.address.split(':')[1]),
      });
      const connection = await Connection.connect({ address: proxy.address });
      const { poller: p, log } = await poller(
        imap.urlFor('outage'),
        deps(undefined, new Client({ connection, namespace: 'default', dataConverter: testDataConverter })),
        1,
      );
      try {
        const before = await h.settled(id);
        proxy.down();
        const mail = replyFor('Re: Audit [steam]', 'Our answer on the Steam overlay.');
        await box.deliver(await compose(mail, true));
        await until(
          'the poller to defer the reply',
          () => log.some((l) => /left in INBOX, Temporal is unavailable/.test(l)),
          log,
        );
        assert.ok(await inFolder(box, 'INBOX', mail.messageId), 'the reply is still in INBOX');
        assert.deepEqual(await box.ids('Processed'), []);
        assert.equal((await item('steam')).answers.length, 0);

        proxy.up();
        await until('the reply in Processed', () => inFolder(box, 'Processed', mail.messageId), log, 120_000);
        assert.deepEqual(await box.ids('INBOX'), []);
        await until('the answer on steam', async () => (await item('steam')).answers.length === 1);
        const s = await h.settled(id);
        assert.equal(s.items.find((i) => i.id === 'steam')!.answers.length, 1);
        assert.equal(s.duplicatesIgnored, before.duplicatesIgnored, 'recorded exactly once');
      } finally {
        await p.close();
        await connection.close();
        await proxy.close();
        await box.close();
      }
    });

    it('stops every dovecot process it started', async () => {
      const pids = imap.pids();
      assert.ok(pids.length >= 3, `master and children: ${pids.join(', ')}`);
      await imap.stop();
      assert.deepEqual(pids.filter(isRunning), []);
    });
  },
);
