/** Unit tests of gateway/classify.ts: delivery reports, automatic replies, requests for more time, answers, and when no acknowledgement may go back. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { autoReplyBlock, classify, type AutoReplyFacts } from '../../gateway/classify';
import { findDate } from '../../gateway/reply-dates';
import type { ParsedInbound } from '../../gateway/parse';

const NOW = new Date('2027-06-01T00:00:00Z');
const OURS = '<af.acme.0.abcdefg.abcdefghijklmnop.abcdefghijklm@reply.auditflow.localhost>';
const REPORT = 'multipart/report; report-type=delivery-status; boundary="b1"';

/** A parsed message as gateway/parse.ts hands it on (header names lower-case, as mailparser gives them). */
function parsed(
  p: {
    subject?: string;
    text?: string;
    newText?: string;
    headers?: Record<string, string>;
    attachments?: number;
  } & Pick<Partial<ParsedInbound>, 'deliveryStatus' | 'returnedHeaders'>,
): ParsedInbound {
  const text = p.text ?? '';
  return {
    subject: p.subject ?? 'Re: Audit of API usage',
    text,
    newText: p.newText ?? text,
    headers: new Map(Object.entries(p.headers ?? {})),
    to: [],
    cc: [],
    references: [],
    attachments: Array.from({ length: p.attachments ?? 0 }, (_, i) => ({
      sha256: String(i).padStart(64, '0'),
      size: 10,
      filename: `f${i}.pdf`,
    })),
    ...(p.deliveryStatus !== undefined ? { deliveryStatus: p.deliveryStatus } : {}),
    ...(p.returnedHeaders !== undefined ? { returnedHeaders: p.returnedHeaders } : {}),
  };
}
const dsn =
  (...recipients: string[]) =>
  (action: string, status: string) =>
    [
      'Reporting-MTA: dns; mx.acme.example',
      '',
      ...recipients.flatMap((r) => [`Final-Recipient: rfc822; ${r}`, `Action: ${action}`, `Status: ${status}`, '']),
    ].join('\n');

describe('delivery reports (RFC 3464)', () => {
  it('a permanent failure names the failed recipient (lower-cased) and the Message-IDs of the returned message', () => {
    const report = `${dsn('Pat@Acme.Example')('failed', '5.1.1')}Original-Recipient: rfc822; pat@acme.example\n`;
    const c = classify(
      parsed({
        headers: { 'content-type': REPORT },
        deliveryStatus: report,
        returnedHeaders: `From: legal@platform.example.com\nMessage-ID: ${OURS}\nSubject: Audit`,
      }),
      NOW,
    );
    assert.deepEqual(c, {
      kind: 'bounce',
      failedRecipient: 'pat@acme.example',
      reportedRecipients: ['pat@acme.example'],
      permanent: true,
      returnedMessageIds: [OURS],
    });
  });

  it('a delay, or a failure with a 4.x.x status, is not permanent', () => {
    const delayed = classify(
      parsed({ headers: { 'content-type': REPORT }, deliveryStatus: dsn('pat@acme.example')('delayed', '4.4.7') }),
      NOW,
    );
    assert.deepEqual(delayed, {
      kind: 'bounce',
      failedRecipient: 'pat@acme.example',
      reportedRecipients: ['pat@acme.example'],
      permanent: false,
      returnedMessageIds: [],
    });
    assert.equal(
      classify(parsed({ deliveryStatus: dsn('pat@acme.example')('failed', '4.2.2') }), NOW).permanent,
      false,
    );
  });

  it('names every recipient of a report about several, the first as the failed one; a report without a status part names none', () => {
    const two = classify(
      parsed({ deliveryStatus: dsn('pat@acme.example', 'erin@acme.example')('failed', '5.1.1') }),
      NOW,
    );
    assert.deepEqual(
      [two.kind, two.failedRecipient, two.reportedRecipients],
      ['bounce', 'pat@acme.example', ['pat@acme.example', 'erin@acme.example']],
    );
    assert.deepEqual(classify(parsed({ headers: { 'content-type': REPORT } }), NOW), {
      kind: 'bounce',
      reportedRecipients: [],
      permanent: false,
      returnedMessageIds: [],
    });
  });
});

describe('automatic replies', () => {
  it('an Auto-Submitted reply is an out-of-office, with its return date read from the text', () => {
    const c = classify(
      parsed({
        headers: { 'auto-submitted': 'auto-replied' },
        text: 'Thank you. I am away until 14 June 2027, with limited access to email.',
      }),
      NOW,
    );
    assert.deepEqual(c, { kind: 'out-of-office', returnDate: '2027-06-14', returnedMessageIds: [] });
  });

  it('an out-of-office subject is enough; a return date without a year is kept as written', () => {
    assert.deepEqual(
      classify(parsed({ subject: 'Automatic reply: Re: Audit', text: 'I will be back on June 21st, 2027.' }), NOW),
      { kind: 'out-of-office', returnDate: '2027-06-21', returnedMessageIds: [] },
    );
    assert.deepEqual(
      classify(
        parsed({ subject: 'Out of Office', text: 'I am out of the office until Monday. For urgent matters call.' }),
        NOW,
      ),
      { kind: 'out-of-office', returnDate: 'until Monday', returnedMessageIds: [] },
    );
  });

  it('X-Autoreply and Precedence: bulk mark a message automatic; Auto-Submitted: no does not', () => {
    assert.equal(classify(parsed({ headers: { 'x-autoreply': 'yes' }, text: 'Received.' }), NOW).kind, 'out-of-office');
    assert.equal(classify(parsed({ headers: { precedence: 'bulk' }, text: 'Received.' }), NOW).kind, 'out-of-office');
    assert.equal(
      classify(parsed({ headers: { 'auto-submitted': 'no' }, text: 'The app read profile data.' }), NOW).kind,
      'answer',
    );
  });

  it('reads French return dates, and takes no departure date ("since", "depuis") for a return', () => {
    const ooo = (text: string) => classify(parsed({ subject: 'Réponse automatique : Audit', text }), NOW).returnDate;
    assert.equal(ooo('Je suis absente du bureau, de retour le 21 juin.'), '2027-06-21');
    assert.equal(ooo('Je serai absent jusqu’au lundi 14 juin 2027 inclus.'), '2027-06-14');
    assert.equal(ooo('Je suis absente depuis le 1er juin.'), undefined);
    assert.equal(classify(parsed({ subject: 'En congé', text: 'Retour le 21 juin.' }), NOW).returnDate, '2027-06-21');
    assert.equal(ooo('Je suis absente depuis le 1er juin, joignable à partir du 22 juin.'), '2027-06-22');
    assert.equal(ooo('I am away since 1 June 2027, back next week.'), undefined);
  });

  it('reads the return date, not the departure date, of "away from ... until ..."', () => {
    const c = classify(
      parsed({ subject: 'Out of office', text: 'I am away from 1 June 2027 until 14 June 2027.' }),
      NOW,
    );
    assert.equal(c.returnDate, '2027-06-14');
  });
});

describe('requests for more time and answers', () => {
  it('a request for an extension with a date is an extension request for that date (ISO or written out)', () => {
    assert.deepEqual(
      classify(parsed({ text: 'Could we have an extension until 2027-06-21? The vendor export is late.' }), NOW),
      { kind: 'extension-request', requestedDate: '2027-06-21', returnedMessageIds: [] },
    );
    assert.equal(
      classify(parsed({ text: 'We need more time: 21 June 2027 would work.' }), NOW).requestedDate,
      '2027-06-21',
    );
  });

  it('a date already past is not taken as the date asked for; 21/06/2027 is read day first', () => {
    assert.deepEqual(classify(parsed({ text: 'We asked for an extension on 2027-05-20 already.' }), NOW), {
      kind: 'extension-request',
      returnedMessageIds: [],
    });
    assert.deepEqual(classify(parsed({ text: 'May we have more time, until 21/06/2027?' }), NOW), {
      kind: 'extension-request',
      requestedDate: '2027-06-21',
      returnedMessageIds: [],
    });
    assert.equal(findDate('21/06/2027', { now: NOW })?.iso, '2027-06-21');
    assert.equal(findDate('by June 21st, 2027 at the latest', { now: NOW })?.written, 'June 21st, 2027');
  });

  it('an answer that merely mentions time, carries an attachment, or quotes our words about extensions is an answer', () => {
    assert.deepEqual(
      classify(parsed({ text: 'It took some time to gather: the app read profile data from 2019 until 2023.' }), NOW),
      { kind: 'answer', returnedMessageIds: [] },
    );
    assert.equal(
      classify(parsed({ text: 'Attached, after an extension of our own review.', attachments: 1 }), NOW).kind,
      'answer',
    );
    assert.equal(
      classify(
        parsed({ newText: 'Answers below.', text: 'Answers below.\n> You may ask for an extension by replying.' }),
        NOW,
      ).kind,
      'answer',
    );
    assert.equal(
      classify(parsed({ text: `Please grant an extension. ${'detail '.repeat(600)}` }), NOW).kind,
      'answer',
      'a long text is an answer',
    );
  });
});

describe('autoReplyBlock (RFC 3834)', () => {
  const smtp: AutoReplyFacts = {
    channel: 'smtp',
    mailFrom: 'pat@acme.example',
    replyDomain: 'reply.auditflow.localhost',
  };
  const imap: AutoReplyFacts = { channel: 'imap', replyDomain: 'reply.auditflow.localhost' };
  const block = (headers: Record<string, string>, f = smtp) => autoReplyBlock(new Map(Object.entries(headers)), f);

  it('blocks a null return path: an empty envelope sender (SMTP) or an empty Return-Path (IMAP)', () => {
    assert.equal(block({}, { ...smtp, mailFrom: '' }), 'the envelope sender is empty (null return path)');
    assert.equal(
      block({}, { channel: 'smtp', replyDomain: smtp.replyDomain }),
      'the envelope sender is empty (null return path)',
    );
    assert.equal(block({ 'return-path': '<>' }, imap), 'Return-Path is empty (null return path)');
    assert.equal(block({ 'return-path': '<pat@acme.example>' }, imap), undefined);
    assert.equal(block({}, imap), undefined);
  });

  it('names the header that makes the message automatic or a list message', () => {
    const cases: [Record<string, string>, string | undefined][] = [
      [{ 'auto-submitted': 'auto-replied' }, 'Auto-Submitted: auto-replied'],
      [{ 'auto-submitted': 'Auto-Generated' }, 'Auto-Submitted: auto-generated'],
      [{ 'auto-submitted': 'no' }, undefined],
      [{ 'x-autoreply': 'yes' }, 'an automatic reply (X-Autoreply)'],
      [{ 'x-autorespond': 'yes' }, 'an automatic reply (X-Autoreply)'],
      [{ 'x-autoresponse': 'yes' }, 'an automatic reply (X-Autoreply)'],
      [{ precedence: 'bulk' }, 'Precedence: bulk'],
      [{ precedence: 'List' }, 'Precedence: list'],
      [{ precedence: 'junk' }, 'Precedence: junk'],
      [{ precedence: 'auto_reply' }, 'Precedence: auto_reply'],
      [{ precedence: 'first-class' }, undefined],
      [{ list: '<x>' }, 'a mailing-list message (List-* headers)'],
      [{ 'list-id': '<audit.acme.example>' }, 'a mailing-list message (List-* headers)'],
      [{ 'list-unsubscribe': '<mailto:x>' }, 'a mailing-list message (List-* headers)'],
      [{ 'list-post': '<mailto:x>' }, 'a mailing-list message (List-* headers)'],
      [{ 'list-help': '<mailto:x>' }, 'a mailing-list message (List-* headers)'],
      [
        { 'x-loop': 'audit+acme.0.abcdefg.x@Reply.Auditflow.Localhost' },
        'it has been through auditflow before (X-Loop)',
      ],
      [{ 'x-loop': 'helpdesk@acme.example' }, undefined],
      [{ subject: 'Re: Audit' }, undefined],
    ];
    for (const [headers, reason] of cases) assert.equal(block(headers), reason, JSON.stringify(headers));
  });
});
