/** Unit tests of the bilingual date and duration reading (gateway/reply-dates.ts), the French quote cut (reply-text.ts) and the deadline a reply asks for (reply-times.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sampleSpec } from '../../dev/support/specs';
import { DemandSpec } from '../../domain/demand';
import { inboundProfile } from '../../domain/inbound';
import type { ItemState } from '../../domain/state';
import type { ParsedInbound } from '../../gateway/parse';
import { findDate, findDuration, replyLanguage } from '../../gateway/reply-dates';
import { newTextOf } from '../../gateway/reply-text';
import { replyTimes, writerZone } from '../../gateway/reply-times';

const NOW = new Date('2027-06-08T08:00:00Z');
const iso = (text: string, zone?: string, language?: 'en' | 'fr') =>
  findDate(text, { now: NOW, ...(zone ? { zone } : {}), ...(language ? { language } : {}) })?.iso;

describe('dates in English and French', () => {
  it('reads written-out dates in both languages, with the year inferred as the next such day', () => {
    assert.equal(iso('until 21 June'), '2027-06-21');
    assert.equal(iso("jusqu'au 21 juin"), '2027-06-21');
    assert.equal(iso('lundi 21 juin 2027'), '2027-06-21');
    assert.equal(iso('back on June 14th'), '2027-06-14');
    assert.equal(iso('le 1er juillet'), '2027-07-01');
    assert.equal(iso('back on 3 May'), '2028-05-03', 'a day already past this year is next year');
    assert.equal(iso('until 31 June'), undefined, 'no such day');
  });

  it('reads numbers day first, except English from a zone in the Americas (month first)', () => {
    assert.equal(iso('21/06/2027'), '2027-06-21');
    assert.equal(iso('21.06.2027'), '2027-06-21');
    assert.equal(iso('le 21/06'), '2027-06-21');
    assert.equal(iso('until 05/07/2027', 'Europe/London', 'en'), '2027-07-05');
    assert.equal(iso('until 05/07/2027', 'America/New_York', 'en'), '2027-05-07');
    assert.equal(iso("jusqu'au 05/07/2027", 'America/Toronto', 'fr'), '2027-07-05');
    assert.equal(iso('until 06/21/2027', 'Europe/Paris', 'en'), '2027-06-21', 'only month first is valid');
    assert.equal(iso('until 21/06/2027', 'America/Chicago', 'en'), '2027-06-21', 'only day first is valid');
    assert.equal(iso('see section 3.1 and version 2.5'), undefined);
  });

  it('reads durations asked for, and guesses the language', () => {
    const d = (t: string) => {
      const r = findDuration(t);
      return r && `${r.amount} ${r.unit}`;
    };
    assert.equal(d('could we have two more weeks?'), '2 week');
    assert.equal(d('another 10 days'), '10 day');
    assert.equal(d('an extra week'), '1 week');
    assert.equal(d('10 business days'), '10 business-day');
    assert.equal(d('pourriez-vous nous accorder 15 jours de plus'), '15 day');
    assert.equal(d('deux semaines supplémentaires'), '2 week');
    assert.equal(d('un mois de plus'), '1 month');
    assert.equal(d('10 jours ouvrés'), '10 business-day');
    assert.equal(d("prolonger le délai d'une semaine"), '1 week');
    assert.equal(d('we deleted the data within 30 days'), undefined);
    assert.equal(replyLanguage('Bonjour, nous aurons besoin de plus de temps. Cordialement'), 'fr');
    assert.equal(replyLanguage('Hello, we will need more time. Regards'), 'en');
  });
});

describe('quoted originals in French and Outlook forms', () => {
  it('cuts below "Le ... a écrit :" (also wrapped), an Outlook "De : / Envoyé :" block and "Message d\'origine"', async () => {
    const quoted = "Si vous avez besoin d'un délai supplémentaire, répondez.\n1. Quelles données ?";
    assert.equal(
      await newTextOf(
        `Voici nos réponses.\n\nLe lun. 7 juin 2027 à 12:02, Audit <\naudit@x.example> a écrit :\n\n> ${quoted}`,
      ),
      'Voici nos réponses.',
    );
    assert.equal(
      await newTextOf(
        `Voici nos réponses.\n\n________________________________\nDe : Audit <audit@x.example>\nEnvoyé : lundi 7 juin 2027 12:02\nÀ : Claire\nObjet : Audit\n\n${quoted}`,
      ),
      'Voici nos réponses.',
    );
    assert.equal(
      await newTextOf(
        `Voici nos réponses.\n\n-----Message d'origine-----\nDe : Audit [mailto:audit@x.example]\n\n${quoted}`,
      ),
      'Voici nos réponses.',
    );
  });
});

describe('the deadline a reply asks for', () => {
  const spec = DemandSpec.parse(
    sampleSpec('d1', {
      counterparty: {
        organisation: 'Exemple SA',
        timezone: 'Europe/Paris',
        domains: ['exemple-sa.fr'],
        contacts: [
          { name: 'Claire', address: 'claire@exemple-sa.fr', roles: ['primary'] },
          { name: 'Marc', address: 'marc@exemple-sa.fr', roles: ['escalation'], timezone: 'America/Toronto' },
        ],
      },
      deadline: '2027-06-18T17:00',
    }),
  );
  const profile = inboundProfile(spec);
  const item = (id: string, dueAt: string, phase: ItemState['phase'] = 'awaiting') =>
    ({ id, dueAt, phase }) as ItemState;
  const state = {
    spec,
    items: [
      item('xbox', '2027-06-18T15:00:00.000Z'),
      item('psn', '2027-06-25T15:00:00.000Z'),
      item('stadia', '2027-07-30T15:00:00.000Z', 'in-review'),
    ],
  };
  const reply = (text: string) =>
    ({
      subject: 'RE: Audit',
      text,
      newText: text,
      headers: new Map(),
      attachments: [],
      to: [],
      cc: [],
      references: [],
    }) as ParsedInbound;
  const ask = (text: string, itemIds: string[], from = 'claire@exemple-sa.fr') =>
    replyTimes(reply(text), NOW, { from, itemIds, kind: 'extension-request' }, profile, state).requestedDeadline;

  it("adds a duration to the item's current deadline, or to the latest of the waiting items it is about", () => {
    assert.equal(ask('Pourriez-vous nous accorder deux semaines de plus ?', ['xbox']), '2027-07-02T15:00:00.000Z');
    assert.equal(ask('Pourriez-vous nous accorder deux semaines de plus ?', []), '2027-07-09T15:00:00.000Z');
    // Friday 18 June plus 10 business days (Monday to Friday): Friday 2 July.
    assert.equal(ask('Nous aurions besoin de 10 jours ouvrés supplémentaires.', ['xbox']), '2027-07-02T15:00:00.000Z');
    assert.equal(
      replyTimes(
        reply('Deux semaines de plus ?'),
        NOW,
        { from: 'claire@exemple-sa.fr', itemIds: [], kind: 'extension-request' },
        profile,
        undefined,
      ).requestedDeadline,
      undefined,
      'without the state a duration gives no deadline',
    );
  });

  it("reads a date asked for at the deadline time in the writer's zone (the contact's own first)", () => {
    assert.equal(writerZone(profile, 'marc@exemple-sa.fr', state), 'America/Toronto');
    assert.equal(writerZone(profile, 'claire@exemple-sa.fr', state), 'Europe/Paris');
    assert.equal(ask("Un délai supplémentaire jusqu'au 21 juin ?", ['xbox']), '2027-06-21T15:00:00.000Z');
    assert.equal(
      ask("Un délai supplémentaire jusqu'au 21 juin ?", ['xbox'], 'marc@exemple-sa.fr'),
      '2027-06-21T21:00:00.000Z',
    );
  });
});
