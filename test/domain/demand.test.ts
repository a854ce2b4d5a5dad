import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import YAML from 'yaml';
import { checkDemand } from '../../domain/demand';
import { ROOT } from '../helpers/cli';
import { sampleSpec } from '../../dev/support/specs';

const example = () => YAML.parse(fs.readFileSync(path.join(ROOT, 'examples', 'api-usage-audit.yaml'), 'utf8'));

describe('demand spec validation', () => {
  it('accepts the shipped example, eight applications, with defaults filled in', () => {
    const r = checkDemand(example());
    assert.ok(r.ok, JSON.stringify(!r.ok && r.problems));
    assert.equal(r.spec.items.length, 8);
    assert.equal(r.spec.counterparty.contacts[0]!.address, 'priya.shah@northwind.example.com');
    assert.ok(JSON.stringify(r.spec).includes('example.com'));
    assert.doesNotMatch(JSON.stringify(r.spec), /@(?![a-z.]*example\.com)/, 'example addresses only');
  });

  it('lists every problem at once, each with its path', () => {
    const spec = example();
    spec.items[3].questions = [];
    spec.items[1].id = 'Beacon!';
    spec.items[2].id = 'atlas';
    spec.counterparty.timezone = 'Mars/Olympus';
    spec.escalation[0].notify = ['counterparty:ceo'];
    spec.escalation[0].action = 'refer';
    spec.reminders[0].before = '2 weeks';
    spec.requester.people[0].address = 'dana@platform.example.com\r\nBcc: x@evil.example';
    spec.deadline = '2027-06-31T17:00';
    spec.colour = 'blue';
    spec.items[0].owner = 'x';
    const r = checkDemand(spec);
    assert.equal(r.ok, false);
    const lines = (r as { problems: { path: string; message: string }[] }).problems.map(
      (p) => `${p.path}: ${p.message}`,
    );
    const expect = [
      /^\(top level\): unknown field "colour"/,
      /^items\[0\]: unknown field "owner"/,
      /^items\[1\]\.id: an item id must be 1-24 lower-case letters/,
      /^items\[3\]\.questions: must have at least 1 entry$/,
      /^counterparty\.timezone: must be an IANA time zone/,
      /^reminders\[0\]\.before: must be a non-zero ISO 8601 duration such as P7D, PT48H or P1W \(or \{ businessDays: N \}\)$/,
      /^requester\.people\[0\]\.address: must be a plain address like name@example\.com/,
    ];
    for (const re of expect)
      assert.ok(
        lines.some((l) => re.test(l)),
        `missing ${re}\n${lines.join('\n')}`,
      );
  });

  it('checks what depends on several fields once the shapes are right', () => {
    const spec = sampleSpec('x', {
      deadline: '2027-06-31T17:00',
      items: [
        { id: 'a', name: 'A', questions: ['q'], contacts: ['stranger@acme.example'] },
        { id: 'a', name: 'A again', questions: ['q'] },
      ],
      escalation: [
        { after: 'P1D', notify: ['counterparty:ceo'], action: 'refer' },
        { after: 'P2D', notify: ['requester:owner'] },
      ],
    });
    const r = checkDemand(spec);
    assert.equal(r.ok, false);
    assert.deepEqual((r as { problems: { path: string; message: string }[] }).problems.map((p) => p.path).sort(), [
      'deadline',
      'escalation[0].action',
      'escalation[0].notify[0]',
      'items[0].contacts[0]',
      'items[1].id',
    ]);
  });

  it('a sign-off names a requester role with an address, a duration and hold or send', () => {
    const base = sampleSpec('x');
    const r = checkDemand({
      ...base,
      requestSignOff: { by: 'board' },
      escalation: [
        { ...base.escalation![0]!, signOff: { by: 'counsel', within: 'soon', onTimeout: 'wait' } },
        { ...base.escalation![1]!, signOff: { by: 'counsel' } },
      ],
    });
    assert.equal(r.ok, false);
    assert.deepEqual((r as { problems: { path: string; message: string }[] }).problems, [
      {
        path: 'escalation[0].signOff.within',
        message: 'must be a non-zero ISO 8601 duration such as P7D, PT48H or P1W (or { businessDays: N })',
      },
      { path: 'escalation[0].signOff.onTimeout', message: 'must be hold or send' },
    ]);
    const roles = checkDemand({ ...base, requestSignOff: { by: 'board' } });
    assert.deepEqual((roles as { problems: { path: string; message: string }[] }).problems, [
      {
        path: 'requestSignOff.by',
        message:
          'no requester person has the role "board" and an address (the sign-off request goes there); add one or fix the role',
      },
    ]);
    const ok = checkDemand({ ...base, escalation: [{ ...base.escalation![0]!, signOff: { by: 'counsel' } }] });
    assert.ok(ok.ok);
    assert.deepEqual(ok.spec.escalation[0]!.signOff, { by: 'counsel', within: 'P2D', onTimeout: 'hold' });
  });
});
