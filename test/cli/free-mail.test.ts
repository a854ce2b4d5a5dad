/**
 * A free-mail domain never becomes an accepted counterparty domain (issue 10, point 6): anyone can have an
 * address at gmail.com. `validate` and `start` refuse it in `counterparty.domains`; `start --for` never
 * derives it from a row's contacts (the contact itself stays, by address).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import YAML from 'yaml';
import type { DemandStatusView } from '../../domain/state';
import { ROOT } from '../helpers/cli';
import { cliHarness } from '../helpers/cli-harness';

describe('free-mail domains (real CLI, dev server, real worker)', () => {
  const cli = cliHarness();
  const { run } = cli;
  const write = (name: string, text: string) => cli.write(name, text);
  const tag = Date.now().toString(36);
  const example = path.join(ROOT, 'examples', 'api-usage-audit.yaml');

  it('refuses gmail.com (or a subdomain of outlook.com) in counterparty.domains, naming the field', async () => {
    const spec = YAML.parse(fs.readFileSync(example, 'utf8')) as { counterparty: { domains: string[] } };
    spec.counterparty.domains = ['northwind.example.com', 'gmail.com', 'eu.outlook.com'];
    const r = await run('validate', write('free-mail.yaml', YAML.stringify(spec)), '--json');
    assert.equal(r.code, 2, r.stdout);
    const problems = (JSON.parse(r.stdout) as { problems: { path: string; message: string }[] }).problems;
    assert.deepEqual(
      problems.map((p) => p.path),
      ['counterparty.domains[1]', 'counterparty.domains[2]'],
    );
    assert.match(problems[0]!.message, /^gmail\.com is a free-mail provider: anyone can have an address there/);
  });

  it("start --for never derives a free-mail domain from a row's contacts, and refuses one given as a domain", async () => {
    const started = await run(
      'start',
      example,
      '--for',
      write(
        'rows.csv',
        `id,organisation,primary_email,escalation_email\nfree-${tag},Indie Dev,indie.dev@gmail.com,counsel@indie.example\n`,
      ),
    );
    assert.equal(started.code, 0, started.stderr);
    const s = JSON.parse((await run('show', `free-${tag}`, '--json')).stdout) as DemandStatusView;
    assert.deepEqual(s.spec.counterparty.domains, ['indie.example']);
    assert.ok(
      s.spec.counterparty.contacts.some((c) => c.address === 'indie.dev@gmail.com'),
      'the contact itself stays',
    );

    const refused = await run(
      'start',
      example,
      '--for',
      write(
        'rows2.csv',
        `id,organisation,primary_email,escalation_email,domains\nfree2-${tag},Indie Dev,indie.dev@gmail.com,counsel@indie.example,gmail.com\n`,
      ),
    );
    assert.equal(refused.code, 2, refused.stdout);
    assert.match(
      refused.stderr,
      /line 2 \(free2-[a-z0-9]+\): counterparty\.domains\[0\]: gmail\.com is a free-mail provider/,
    );
  });
});
