/** Small demand specs for tests, and reply payloads as the gateway would signal them. */
import crypto from 'node:crypto';
import { ALL_DAY_CALENDAR } from '../../domain/compressed';
import type { DemandSpecInput } from '../../domain/demand';
import type { InboundReply } from '../../domain/messages';
import { noonZone } from '../../domain/time';

/** A three-item demand due Mon 7 Jun 2027, 17:00 in Los Angeles, with two reminders and a three-step ladder. */
export function sampleSpec(id: string, over: Partial<DemandSpecInput> = {}): DemandSpecInput {
  return {
    id,
    title: 'Audit of API usage',
    basis: 'Developer Agreement section 9.3 (audit rights)',
    requester: {
      organisation: 'Example Platform Inc.',
      from: { name: 'Example Platform Legal', address: 'legal@platform.example.com' },
      timezone: 'Europe/Dublin',
      people: [
        { name: 'Dana Owner', address: 'owner@platform.example.com', roles: ['owner'] },
        { name: 'Chris Counsel', address: 'counsel@platform.example.com', roles: ['counsel'] },
      ],
    },
    counterparty: {
      organisation: 'Acme Games Ltd',
      timezone: 'America/Los_Angeles',
      domains: ['acme.example'],
      contacts: [
        { name: 'Pat Primary', address: 'pat@acme.example', roles: ['primary'] },
        { name: 'Erin Deputy GC', address: 'erin@acme.example', roles: ['escalation'] },
      ],
    },
    deadline: '2027-06-07T17:00',
    items: [
      {
        id: 'xbox',
        name: 'Xbox companion app',
        questions: ['What data did it read?', 'Which use cases were never declared?'],
      },
      { id: 'psn', name: 'PSN bridge', questions: ['What data did it read?'] },
      { id: 'stadia', name: 'Stadia overlay', questions: ['How long did it run?'] },
    ],
    reminders: [{ before: 'P7D' }, { before: 'P1D' }],
    escalation: [
      { after: 'P1D', notify: ['counterparty:escalation'], label: 'notice to deputy GC' },
      {
        after: 'P3D',
        notify: ['counterparty:escalation', 'requester:counsel'],
        message: 'final-notice',
        label: 'final notice',
      },
      { after: 'P10D', notify: ['requester:counsel', 'requester:owner'], action: 'refer', label: 'referral' },
    ],
    ...over,
  };
}

/** Every day, all day: for demands in tests that run on the wall clock (the dev server), which must send at any hour. */
export const ANY_HOUR: NonNullable<DemandSpecInput['calendar']> = ALL_DAY_CALENDAR;

/** sampleSpec in a noon zone with mail allowed every day at any hour: for tests where deadlines pass in seconds. */
export function allDaySpec(id: string, now: number, over: Partial<DemandSpecInput> = {}): DemandSpecInput {
  const zone = noonZone(now);
  const base = sampleSpec(id);
  return {
    ...base,
    requester: { ...base.requester, timezone: zone },
    counterparty: { ...base.counterparty, timezone: zone },
    reminders: [],
    calendar: ANY_HOUR,
    ...over,
  };
}

/** An InboundReply as the gateway signals it: references only. */
export function reply(p: {
  messageId: string;
  from?: string;
  itemIds?: string[];
  receivedAt: number | string;
  kind?: InboundReply['kind'];
  body?: string;
  requestedDeadline?: string;
  failedRecipient?: string;
}): InboundReply {
  const body = Buffer.from(p.body ?? `answer ${p.messageId}`);
  const digest = crypto.createHash('sha256').update(body).digest('hex');
  return {
    messageId: p.messageId,
    receivedAt: typeof p.receivedAt === 'number' ? new Date(p.receivedAt).toISOString() : p.receivedAt,
    from: p.from ?? 'pat@acme.example',
    itemIds: p.itemIds ?? [],
    kind: p.kind ?? 'answer',
    digest,
    raw: { sha256: digest, size: body.length, contentType: 'message/rfc822' },
    attachments: [],
    excerpt: body.toString().slice(0, 200),
    ...(p.requestedDeadline ? { requestedDeadline: p.requestedDeadline } : {}),
    ...(p.failedRecipient ? { failedRecipient: p.failedRecipient } : {}),
  };
}

/** Epoch ms of an ISO instant. */
export const at = (iso: string): number => Date.parse(iso);
