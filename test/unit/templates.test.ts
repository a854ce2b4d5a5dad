/**
 * The message templates: every kind and internal notice renders in English and French exactly as the
 * snapshots under test/fixtures/templates/ say (read by a person when they were written; refresh them
 * with AUDITFLOW_UPDATE_SNAPSHOTS=1 and read the diff), hostile merge values are escaped in HTML, and
 * `checkTemplates` refuses a demand's own template that names an unknown field or does not render.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { renderMail, templateFor } from '../../activities/templates/render';
import { sampleContextInput } from '../../activities/templates/context';
import { checkTemplates, TEMPLATE_NAMES } from '../../activities/templates/engine';
import type { MailKind, PendingMail } from '../../domain/state';
import { LANGUAGES, type Language } from '../../domain/time';
import { mailInput } from '../../workflows/mail-input';
import { initialState } from '../../workflows/model';
import { checkDemand } from '../../domain/demand';
import { ROOT } from '../helpers/cli';

const SNAPSHOTS = path.join(ROOT, 'test', 'fixtures', 'templates');
const UPDATE = process.env.AUDITFLOW_UPDATE_SNAPSHOTS === '1';

/** A message of each template: its kind and, for internal notices, its event. */
function mailOf(name: string): { kind: MailKind; event?: string } {
  if (name === 'notice') return { kind: 'internal', event: 'something-else' };
  if (name.startsWith('notice-')) return { kind: 'internal', event: name.slice('notice-'.length) };
  return { kind: name as MailKind };
}

function render(name: string, language: Language, over: Record<string, unknown> = {}) {
  const base = sampleContextInput();
  const { kind, event } = mailOf(name);
  const mail = {
    ...base.mail,
    kind,
    audience: kind === 'internal' ? 'internal' : 'counterparty',
    context: { ...base.mail.context, event, ...over },
  } as PendingMail;
  assert.equal(templateFor(mail), name);
  return renderMail({ ...base, mail, language });
}

describe('message templates', () => {
  for (const language of LANGUAGES) {
    it(`renders every template in ${language} as its snapshot`, () => {
      for (const name of TEMPLATE_NAMES) {
        const r = render(name, language);
        const got = `Subject: ${r.subject}\n\n${r.text}`;
        const file = path.join(SNAPSHOTS, language, `${name}.txt`);
        if (UPDATE) {
          fs.mkdirSync(path.dirname(file), { recursive: true });
          fs.writeFileSync(file, got);
        }
        assert.equal(got, fs.readFileSync(file, 'utf8'), `${language}/${name} differs from its snapshot`);
        assert.match(r.html, new RegExp(`^<!doctype html><html lang="${language}">`));
        assert.ok(r.html.includes(`<title>${r.subject.replace(/&/g, '&amp;').replace(/'/g, '&#x27;')}</title>`));
      }
    });
  }

  it('writes dates on the recipient clock in their language', () => {
    const en = render('request', 'en');
    assert.match(en.text, /due Tue 8 Jun 2027, 02:00 GMT\+2 \(2027-06-08 00:00Z\)/);
    const fr = render('request', 'fr');
    assert.match(fr.text, /échéance : mardi 8 juin 2027 à 02:00 UTC\+2 \(2027-06-08 00:00 UTC\)/);
    assert.match(fr.subject, /^Demande d'audit : Sample audit \[first\] \[second\]$/);
  });

  it('escapes hostile merge values in HTML and keeps them as written in the text', () => {
    const hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>';
    const base = sampleContextInput();
    for (const language of LANGUAGES) {
      const r = renderMail({
        ...base,
        language,
        mail: { ...base.mail, to: { ...base.mail.to, name: `Eve ${hostile}` }, context: { note: hostile } },
        demand: { ...base.demand, title: `Audit ${hostile}`, requesterOrg: hostile },
        items: base.items.map((i) => ({ ...i, name: hostile, description: hostile, questions: [hostile] })),
        attachments: [{ name: `${hostile}.pdf`, size: 10, sha256: 'b'.repeat(64) }],
      });
      assert.doesNotMatch(r.html, /<script|<img/i, `${language}: a tag from a merge value reached the HTML`);
      assert.match(r.html, /&lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt;/);
      assert.ok(r.text.includes(`Eve ${hostile}`) && r.text.includes(`1. ${hostile}`), 'text keeps the value');
      assert.ok(!r.subject.includes('\n'));
    }
  });

  it('lists the attached files with their size and hash', () => {
    const r = render('request', 'en');
    assert.match(r.text, /Attached to this message:\n {2}notice\.pdf \(20\.0 KB, SHA-256 a{64}\)/);
    assert.match(
      render('final-notice', 'fr').text,
      /Pièces jointes à ce message :\n {2}notice\.pdf \(20,0 Ko, SHA-256/,
    );
  });

  it('checks a demand set: unknown fields, helpers, partials, sections, rendering and file names', () => {
    const good = fs.readFileSync(path.join(ROOT, 'activities', 'templates', 'en', 'request.hbs'), 'utf8');
    const questions = fs.readFileSync(path.join(ROOT, 'activities', 'templates', 'en', '_item-questions.hbs'), 'utf8');
    assert.deepEqual(checkTemplates(['en', 'fr'], { 'request.hbs': good.replace('Dear', 'Hello') }), []);
    const cases: [Record<string, string>, RegExp][] = [
      [
        { 'fr/request.hbs': good.replace('{{recipient.displayName}}', '{{contact.name}}') },
        /unknown merge field "contact\.name"/,
      ],
      [{ 'request.hbs': good.replace('{{demand.title}}', '{{upper demand.title}}') }, /unknown helper "upper"/],
      [{ 'request.hbs': good.replace('{{> attachments}}', '{{> letterhead}}') }, /unknown partial "letterhead"/],
      [{ 'request.hbs': good.replace('=== html', '=== body') }, /unknown section "=== body"/],
      [{ 'request.hbs': good.split('=== html')[0]! }, /has no "=== html" section/],
      [{ 'request.hbs': good.replace('{{demand.title}}', '{{demand.titel}}') }, /does not render: .*titel/],
      // The line is the file's (Handlebars counts from the section's marker).
      [{ 'request.hbs': good.replace('{{#if earliestDue}}', '{{#if earliestDue}') }, /text: Parse error on line 9:/],
      // A merge field in a helper's or a block's parameter, where strict mode does not look (a typo there
      // would silently drop a clause from a legal notice), and on an item inside {{#each}}.
      [
        { 'request.hbs': good.replace('{{#if earliestDue}}', '{{#if earliestDeu}}') },
        /unknown merge field "earliestDeu"/,
      ],
      [
        { '_item-questions.hbs': questions.replace('{{#each items}}', '{{#each itmes}}') },
        /unknown merge field "itmes"/,
      ],
      [
        { 'request.hbs': good.replace('{{demand.title}}', '{{stop demand.titel}}') },
        /unknown merge field "demand\.titel"/,
      ],
      [
        {
          'request.hbs': good.replace(
            '{{#if earliestDue}}',
            '{{#if earliestDue}}{{#unless recipient.nmae}}{{/unless}}',
          ),
        },
        /unknown merge field "recipient\.nmae"/,
      ],
      [
        { '_item-questions.hbs': questions.replace('{{#if description}}', '{{#if descripton}}') },
        /unknown merge field "(items\.)?descripton"/,
      ],
      // Every merge value comes from a spec or a reply: the HTML part never outputs one unescaped.
      [
        { 'request.hbs': good.replace('<p>{{requester.organisation}}', '<p>{{{requester.organisation}}}') },
        /html: unescaped output "\{\{\{requester\.organisation\}\}\}"/,
      ],
      [
        { 'request.hbs': good.replace('<p>{{requester.organisation}}', '<p>{{& requester.organisation}}') },
        /html: unescaped/,
      ],
      [{ 'requests.hbs': good }, /not a template auditflow uses/],
      [{ 'de/request.hbs': good }, /not a template auditflow uses/],
    ];
    for (const [files, expected] of cases) {
      const problems = checkTemplates(['en', 'fr'], files);
      assert.ok(problems.length > 0, `no problem for ${Object.keys(files)[0]}`);
      assert.match(problems.map((p) => `${p.file}: ${p.message}`).join('\n'), expected);
      assert.equal(problems[0]!.file.startsWith('(shipped)'), false, 'the problem names the demand file');
      const lines = problems.map((p) => `${p.file}: ${p.message}`);
      assert.equal(new Set(lines).size, lines.length, `a problem said twice:\n${lines.join('\n')}`);
    }
  });

  it('picks each recipient language: the contact, else the organisation, English by default', () => {
    const checked = checkDemand({
      id: 'lang-demand',
      title: 'Audit',
      basis: 'Agreement',
      requester: {
        organisation: 'Requester',
        from: { name: 'Legal', address: 'legal@requester.example' },
        timezone: 'Europe/Paris',
        people: [{ name: 'Owner', address: 'owner@requester.example', roles: ['owner'], language: 'fr' }],
      },
      counterparty: {
        organisation: 'Counterparty',
        timezone: 'Europe/Paris',
        language: 'fr',
        domains: ['counterparty.example'],
        contacts: [
          { name: 'Claire', address: 'claire@counterparty.example', roles: ['primary'] },
          { name: 'John', address: 'john@counterparty.example', roles: ['escalation'], language: 'en' },
        ],
      },
      deadline: '2027-06-07T17:00',
      items: [{ id: 'a', name: 'A', questions: ['Q?'] }],
    });
    assert.ok(checked.ok);
    const state = initialState(checked.spec, 'audit:lang-demand', 'test', Date.parse('2027-05-03T08:00:00Z'));
    const to = (address: string, audience: 'counterparty' | 'internal') =>
      mailInput(state, {
        ...sampleContextInput().mail,
        audience,
        to: { address, zone: 'Europe/Paris' },
        itemIds: ['a'],
      }).language ?? 'en';
    assert.equal(to('claire@counterparty.example', 'counterparty'), 'fr');
    assert.equal(to('john@counterparty.example', 'counterparty'), 'en');
    assert.equal(to('owner@requester.example', 'internal'), 'fr');
  });

  it('refuses a language it has no templates for, naming the field', () => {
    const r = checkDemand({ counterparty: { language: 'de' } });
    assert.ok(!r.ok);
    assert.ok(
      r.problems.some(
        (p) =>
          p.path === 'counterparty.language' && /must be one of en, fr \(en: English, fr: French\)/.test(p.message),
      ),
    );
  });
});
