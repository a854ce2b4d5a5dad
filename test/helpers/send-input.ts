/** The input of one sendEmail call (a reminder to Pat on one item), and the activity, for the tests of the activity. */
import type { Transporter } from 'nodemailer';
import { createEmailActivities } from '../../activities/email';
import type { SendEmailInput } from '../../domain/contracts';
import { createEvidenceStore } from '../../platform/evidence';
import type { Storage } from '../../platform/storage';

export const SEND_SECRET = 'test-secret-0123456789abcdef0123456789abcdef';

/** The sendEmail activity sending through `transport`, with its ledger and evidence in `storage`. */
export function sendEmailVia(transport: Transporter, storage: Storage) {
  return createEmailActivities({
    transport,
    evidence: createEvidenceStore(storage),
    storage,
    secret: SEND_SECRET,
    replyDomain: 'reply.example.com',
    replyLocalPart: 'audit',
  }).sendEmail;
}

/** A reminder with idempotency key `key`. */
export function sendInput(key: string): SendEmailInput {
  return {
    mail: {
      key,
      kind: 'reminder',
      at: '2027-06-01T00:00:00.000Z',
      itemIds: ['xbox'],
      to: { name: 'Pat Primary', address: 'pat@acme.example', zone: 'America/Los_Angeles' },
      audience: 'counterparty',
      expectsReply: true,
      context: { index: 1, scheduledAt: '2027-06-01T00:00:00.000Z' },
    },
    demand: {
      id: 'acme',
      title: 'Audit of API usage',
      basis: 'Agreement 9.3',
      requesterOrg: 'Example Platform Inc.',
      counterpartyOrg: 'Acme Games Ltd',
      from: { name: 'Legal', address: 'legal@platform.example.com' },
    },
    items: [
      {
        id: 'xbox',
        name: 'Xbox companion app',
        questions: ['What data?'],
        dueAt: '2027-06-08T00:00:00.000Z',
        round: 0,
        phase: 'awaiting',
      },
    ],
    inReplyTo: '<request@reply.example.com>',
  };
}
