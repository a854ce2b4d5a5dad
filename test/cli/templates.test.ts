/**
 * A demand in French with its own templates, as ops run it: `validate` refuses a template that names an
 * unknown merge field (naming the file and the field) or a folder that is not there, `plan --show` prints
 * the request in the demand's own wording, and `start` sends it so, letterhead and all, through the
 * real worker to a real SMTP server.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import YAML from 'yaml';
import { ANY_HOUR } from '../../dev/support/specs';
import { cliHarness } from '../helpers/cli-harness';
import { ROOT } from '../helpers/cli';
import { arrived } from '../helpers/mail-log';

const SHIPPED_FR_REQUEST = fs.readFileSync(path.join(ROOT, 'activities', 'templates', 'fr', 'request.hbs'), 'utf8');
const LETTERHEAD = `=== html
<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>{{subject}}</title></head><body>
<div class="letterhead">Example Platform &mdash; Direction juridique</div>
{{> @partial-block}}
<p class="footer">{{> footer}}</p></body></html>
`;

describe('a demand in French with its own templates (dev server, real worker, real SMTP)', () => {
  const cli = cliHarness();
  const { run } = cli;
  const tag = Date.now().toString(36);

  /** The French example under a new id, sending at any hour, with a template folder beside it. */
  function demand(id: string, files: Record<string, string> | undefined): string {
    const dir = path.join(cli.h.config.dataDir, id);
    for (const [name, text] of Object.entries(files ?? {})) {
      fs.mkdirSync(path.dirname(path.join(dir, 'letterhead', name)), { recursive: true });
      fs.writeFileSync(path.join(dir, 'letterhead', name), text);
    }
    fs.mkdirSync(dir, { recursive: true });
    const spec = YAML.parse(fs.readFileSync(path.join(ROOT, 'examples', 'api-usage-audit.fr.yaml'), 'utf8'));
    const file = path.join(dir, 'demand.yaml');
    fs.writeFileSync(file, YAML.stringify({ ...spec, id, calendar: ANY_HOUR, templates: './letterhead' }));
    return file;
  }

  it('validate names the template file and the unknown merge field, and a missing folder', async () => {
    const bad = demand(`tpl-bad-${tag}`, {
      'fr/request.hbs': SHIPPED_FR_REQUEST.replace('Bonjour {{recipient.displayName}}', 'Bonjour {{contact.name}}'),
    });
    const r = await run('validate', bad);
    assert.equal(r.code, 2, r.stdout);
    assert.match(r.stderr, /templates \(fr\/request\.hbs\): text: unknown merge field "contact\.name"/);

    const missing = demand(`tpl-missing-${tag}`, undefined);
    const m = await run('validate', missing);
    assert.equal(m.code, 2);
    assert.match(m.stderr, /templates: no such folder: .*letterhead/);
    const started = await run('start', missing);
    assert.equal(started.code, 2, 'start refuses it too');
    assert.match(started.stderr, /templates: no such folder/);
  });

  it('plan shows and start sends the request in French, in the demand wording, on its letterhead', async () => {
    const id = `tpl-fr-${tag}`;
    const file = demand(id, {
      '_layout.hbs': LETTERHEAD,
      'fr/request.hbs': SHIPPED_FR_REQUEST.replace(/Bonjour \{\{recipient\.displayName\}\},/g, 'Madame, Monsieur,'),
    });
    const planned = await run('plan', file, '--show', '1');
    assert.equal(planned.code, 0, planned.stderr);
    assert.match(planned.stdout, /Subject: Demande d'audit : Audit de conformité/);
    assert.match(planned.stdout, /\nMadame, Monsieur,\n/);

    const started = await run('start', file);
    assert.equal(started.code, 0, started.stderr);
    const [request] = await arrived(
      cli.h,
      (m) => m.header('x-auditflow-demand') === id && m.envelope.to.includes('camille.martin@nordvent.example.com'),
      'the request to Camille Martin',
    );
    const mail = request!.parsed;
    assert.match(mail.subject ?? '', /^Demande d'audit : Audit de conformité de l'utilisation de l'API/);
    assert.match(mail.text ?? '', /^Madame, Monsieur,\n\nExample Platform, Inc\. demande à Nordvent Interactif SAS/);
    assert.match(mail.text ?? '', /Vos réponses sont attendues au plus tard le lundi 7 juin 2027 à 17:00 UTC\+2/);
    assert.match(mail.text ?? '', /Référence : tpl-fr-/);
    assert.match(String(mail.html), /<div class="letterhead">Example Platform &mdash; Direction juridique<\/div>/);
    assert.match(String(mail.html), /<p>Madame, Monsieur,<\/p>/);

    // The demand keeps the files it started with: editing the folder now changes nothing it sends.
    const shown = JSON.parse((await run('show', id, '--json')).stdout) as { spec: { templateFiles: object } };
    assert.deepEqual(Object.keys(shown.spec.templateFiles).sort(), ['_layout.hbs', 'fr/request.hbs']);
  });
});
