/**
 * The Temporal Web UI as the dashboard, in a real browser (Debian's Chromium driven by playwright-core)
 * against the run's dev server: the list filtered on `AuditStatus = "overdue"` shows a demand that became
 * overdue for real and not a control demand that did not; the demand's page shows its summary and the
 * current-details table of its items. Screenshots go to .test-artifacts/ui/.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { quoteValue } from '../../cli/commands/list';
import { isRunning } from '../../dev/processes';
import { checkDemand, type DemandSpecInput } from '../../domain/demand';
import { demandWorkflowId } from '../../domain/ids';
import { AuditDemandId, AuditStatus } from '../../domain/search-attributes';
import { demandSummary } from '../../domain/summary';
import { launchChromium, resolveChromium, type TestBrowser } from '../helpers/browser';
import { eventually } from '../../platform/wait';
import { harness, type Harness } from '../../dev/support/harness';
import { sampleSpec } from '../../dev/support/specs';

const SHOTS = path.resolve(__dirname, '../../.test-artifacts/ui');
const uiUrl = process.env.AUDITFLOW_TEST_UI_URL;
const chromium = uiUrl ? resolveChromium() : undefined;
const skip = !uiUrl
  ? 'no Temporal Web UI in this run (AUDITFLOW_TEST_UI_URL unset): run it with npm test or npm run test:only, which start the dev server with its UI'
  : chromium && !chromium.ok
    ? `Chromium is not available: ${chromium.reason}`
    : false;
const chromiumPath = chromium?.ok ? chromium.path : '';

/** The UI's workflow list filtered by a visibility query, as a person would bookmark it. */
function listUrl(query: string): string {
  return `${uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(query)}`;
}

function demandId(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}`;
}

function spec(id: string, organisation: string, deadline: Date): DemandSpecInput {
  const base = sampleSpec(id);
  return sampleSpec(id, {
    counterparty: { ...base.counterparty, organisation },
    deadline: deadline.toISOString(),
    reminders: [],
    // The dev harness sends at any hour: without this the overdue notice would race the checks of the last message.
    options: { overdueNotice: false },
  });
}

describe('the Temporal Web UI as the dashboard (real Chromium)', { skip }, () => {
  let h: Harness;
  let tb: TestBrowser | undefined;
  let page: Page;
  let overdueSpec: DemandSpecInput;
  const overdueId = demandId('ui-overdue');
  const controlId = demandId('ui-control');
  const ours = `${AuditDemandId.name} IN (${quoteValue(overdueId)}, ${quoteValue(controlId)})`;
  const overdueQuery = `${AuditStatus.name} = ${quoteValue('overdue')} AND ${ours}`;
  const row = (id: string) =>
    page.getByRole('row').filter({ has: page.getByRole('link', { name: demandWorkflowId(id), exact: true }) });

  before(async () => {
    h = await harness('dev');
    // Due a few seconds from now, so that it becomes overdue for real while the browser starts.
    const due = new Date(Date.now() + 4000);
    due.setUTCMilliseconds(0);
    overdueSpec = spec(overdueId, 'Overdue Example Corp', due);
    await h.start(overdueSpec);
    // Due in a month: never overdue while the test runs, whatever today's date.
    await h.start(spec(controlId, 'Control Example Corp', new Date(due.getTime() + 30 * 86_400_000)));
    fs.mkdirSync(SHOTS, { recursive: true });
    tb = await launchChromium(chromiumPath);
    page = await tb.browser.newPage({ viewport: { width: 1600, height: 560 } });
    // A loaded 2-core machine running the whole suite can be slow to render the single-page app.
    page.setDefaultTimeout(60_000);
  });

  after(async () => {
    const pids = tb?.pids() ?? [];
    await tb?.close();
    if (h) {
      for (const id of [overdueId, controlId])
        await h.env.client.workflow
          .getHandle(demandWorkflowId(id))
          .terminate('test done')
          .catch(() => undefined);
      await h.close();
    }
    if (tb) {
      assert.ok(pids.length > 0, 'the browser processes were found while it ran');
      assert.deepEqual(pids.filter(isRunning), [], 'no browser process outlives the test');
    }
  });

  it('lists the overdue demand under AuditStatus = "overdue", with its columns, and not the control', async () => {
    // The demand becomes overdue for real at its deadline; the UI reads the visibility store.
    await eventually(
      async () => ((await h.status(overdueId)).status === 'overdue' ? true : undefined),
      'the demand to become overdue',
    );
    const visible = async (query: string) => {
      for await (const wf of h.env.client.workflow.list({ query })) return wf;
      return undefined;
    };
    await eventually(() => visible(overdueQuery), 'the overdue demand in the visibility store');
    await eventually(
      () =>
        visible(`${AuditStatus.name} = ${quoteValue('active')} AND ${AuditDemandId.name} = ${quoteValue(controlId)}`),
      'the control demand as active',
    );

    // Without the status filter both demands are listed: the control is absent below only because it is not overdue.
    await page.goto(listUrl(ours), { waitUntil: 'commit' });
    await row(overdueId).waitFor();
    await row(controlId).waitFor();

    // The columns a dashboard wants, added the way a person does it.
    await page.getByTestId('workflows-summary-table-configuration-button').click();
    for (const column of ['Run ID', 'Type', 'Start', 'End'])
      await page.getByRole('button', { name: `Remove ${column} column`, exact: true }).click();
    for (const column of ['AuditCounterparty', 'AuditStatus', 'AuditOverdueItems', 'AuditDueAt'])
      await page.getByRole('button', { name: `Add ${column} column`, exact: true }).click();

    await page.goto(listUrl(overdueQuery), { waitUntil: 'commit' });
    const overdueRow = row(overdueId);
    await overdueRow.waitFor();
    // The list arrives in one response: with the demand's row shown, the control's would be too.
    assert.equal(await row(controlId).count(), 0, 'the control demand is not listed');
    await page.getByTestId('workflow-count').filter({ hasText: /^1$/ }).waitFor();
    const cells = await overdueRow.getByRole('cell').allInnerTexts();
    assert.ok(cells.includes('Overdue Example Corp'), `counterparty column in ${JSON.stringify(cells)}`);
    assert.ok(cells.includes('overdue'), `status column in ${JSON.stringify(cells)}`);
    assert.ok(cells.includes('3'), `overdue items column in ${JSON.stringify(cells)}`);
    await page.screenshot({ path: path.join(SHOTS, 'overdue-list.png') });

    // The query exactly as the README gives it (other runs' demands may be listed too): for the docs.
    await page.goto(listUrl(`${AuditStatus.name} = ${quoteValue('overdue')}`), { waitUntil: 'commit' });
    await row(overdueId).waitFor();
    await page.screenshot({ path: path.join(SHOTS, 'overdue-all.png') });
  });

  it('opens the demand: its summary and the current-details table of its items', async () => {
    await page.goto(listUrl(overdueQuery), { waitUntil: 'commit' });
    await row(overdueId)
      .getByRole('link', { name: demandWorkflowId(overdueId), exact: true })
      .click();
    await page.waitForURL((u) => u.pathname.includes(`/workflows/${encodeURIComponent(demandWorkflowId(overdueId))}/`));
    await page.getByRole('tab', { name: 'User Metadata' }).click();

    const checked = checkDemand(overdueSpec);
    assert.ok(checked.ok);
    await page.frameLocator('#user-metadata-summary').getByText(demandSummary(checked.spec), { exact: true }).waitFor();

    const details = page.frameLocator('#user-metadata-current-details');
    await details.getByText('(overdue)').waitFor();
    // The page reads in clear although Temporal holds ciphertext: the codec server decoded it.
    await details.getByText(checked.spec.title, { exact: true }).first().waitFor();
    const raw = await h.env.client.workflowService.describeWorkflowExecution({
      namespace: 'default',
      execution: { workflowId: demandWorkflowId(overdueId) },
    });
    const stored = raw.executionConfig?.userMetadata?.summary;
    assert.equal(Buffer.from(stored?.metadata?.encoding ?? []).toString(), 'binary/encrypted');
    assert.equal(Buffer.from(stored?.data ?? []).includes(checked.spec.counterparty.organisation), false);
    const header = await details.getByRole('row').first().getByRole('columnheader').allInnerTexts();
    assert.deepEqual(
      header.map((t) => t.trim()),
      ['item', 'state', 'due', 'escalation', 'last message'],
    );
    for (const item of checked.spec.items) {
      const cells = await details
        .getByRole('row')
        .filter({ has: details.getByRole('cell', { name: item.id, exact: true }) })
        .getByRole('cell')
        .allInnerTexts();
      assert.equal(cells[0], item.id);
      assert.equal(cells[1], 'overdue', `${item.id} row ${JSON.stringify(cells)}`);
      assert.match(cells[4] ?? '', /^sent request /, `${item.id} row ${JSON.stringify(cells)}`);
    }
    await page.screenshot({ path: path.join(SHOTS, 'overdue-demand.png'), fullPage: true });
  });
});
