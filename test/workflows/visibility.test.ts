/**
 * What someone with only the Temporal Web UI sees (dev server): the search attributes that the list
 * filters on, the static summary, the current-details table, and summaries on timers and activities.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { defaultPayloadConverter } from '@temporalio/common';
import {
  AuditCounterparty,
  AuditDemandId,
  AuditDueAt,
  AuditEscalationLevel,
  AuditItemId,
  AuditOpenItems,
  AuditOverdueItems,
  AuditStatus,
} from '../../domain/search-attributes';
import { eventually } from '../../platform/wait';
import { harness, type Harness } from '../../dev/support/harness';
import { testDataConverter } from '../../dev/support/temporal';
import { sampleSpec } from '../../dev/support/specs';

describe('the Temporal UI as the dashboard (dev server)', () => {
  let h: Harness;
  before(async () => (h = await harness('dev')));
  after(() => h.close());

  it('an overdue demand is found with AuditStatus = "overdue" and explains itself', async () => {
    const id = `vis-${Date.now().toString(36)}`;
    const due = new Date(Date.now() + 3000);
    due.setUTCMilliseconds(0);
    const handle = await h.start(
      sampleSpec(id, {
        deadline: due.toISOString(),
        reminders: [],
        escalation: [{ after: 'P30D', notify: ['counterparty:escalation'], action: 'refer', label: 'referral' }],
        // The dev harness sends at any hour: without this the overdue notice would race the checks below.
        options: { overdueNotice: false },
      }),
    );
    const client = h.env.client;
    const found = await eventually(async () => {
      for await (const wf of client.workflow.list({ query: `AuditStatus = "overdue" AND AuditDemandId = "${id}"` }))
        return wf;
      return undefined;
    }, 'the demand in the overdue list');
    assert.equal(found.workflowId, `audit:${id}`);
    const sa = found.typedSearchAttributes;
    assert.equal(sa.get(AuditDemandId), id);
    assert.equal(sa.get(AuditCounterparty), 'Acme Games Ltd');
    assert.equal(sa.get(AuditStatus), 'overdue');
    assert.equal(sa.get(AuditOpenItems), 3);
    assert.equal(sa.get(AuditOverdueItems), 3);
    assert.equal(sa.get(AuditEscalationLevel), 0);
    assert.equal(sa.get(AuditItemId), 'xbox');
    assert.equal(sa.get(AuditDueAt)?.toISOString(), due.toISOString());

    const desc = await handle.describe();
    assert.match(
      (await desc.staticSummary()) ?? '',
      /^Audit of Acme Games Ltd: 3 items, due \d+ \w{3} \d\d:\d\d P[SD]T$/,
    );
    const meta = await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
    assert.match(meta.currentDetails ?? '', /\*\*Audit of API usage\*\* \(overdue\)/);
    assert.match(
      meta.currentDetails ?? '',
      /Next: (overdue notice|escalation step 1: referral) for 3 items \(xbox, psn, stadia\) at /,
    );
    assert.match(meta.currentDetails ?? '', /\| item \| state \| due \| escalation \| last message \|/);
    assert.match(meta.currentDetails ?? '', /\| xbox \| overdue \| .* \| - \| sent request /);

    const history = await handle.fetchHistory();
    // The history holds them encrypted (the payload codec); the test decodes them as the UI's codec server does.
    const encrypted = (history.events ?? []).flatMap((e) => (e.userMetadata?.summary ? [e.userMetadata.summary] : []));
    const summaries = (await testDataConverter.payloadCodecs![0]!.decode(encrypted)).map((p) =>
      defaultPayloadConverter.fromPayload<string>(p),
    );
    assert.ok(
      encrypted.every((p) => Buffer.from(p.metadata?.encoding ?? []).toString() === 'binary/encrypted'),
      'summaries are stored encrypted',
    );
    assert.ok(summaries.includes('send request to pat@acme.example (xbox, psn, stadia)'), summaries.join(' | '));
    assert.ok(
      summaries.some((s) => /^(due today|deadline passes) for 3 items \(xbox, psn, stadia\)$/.test(s)),
      summaries.join(' | '),
    );
    await handle.terminate('test done');
  });
});
