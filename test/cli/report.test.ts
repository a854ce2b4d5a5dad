/**
 * `auditflow report` as counsel reads it, against the real dev server, worker, SMTP sink and inbound
 * gateway: every answer with its time, lateness, attachments and authentication, every Message-ID,
 * hostile text escaped in the HTML page; the final report the workflow writes when a demand ends; and
 * the report read back from that file once Temporal no longer has the workflow.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WorkflowNotFoundError } from '@temporalio/common';
import type { ReportDocument } from '../../platform/report/model';
import { ROOT } from '../helpers/cli';
import { answeredDemand, endByWithdrawal, HOSTILE_SUBJECT, type AnsweredDemand } from '../helpers/answered-demand';
import { eventually } from '../../platform/wait';
import { startTestGateway, type TestGateway } from '../helpers/gateway';
import { harness, type Harness } from '../../dev/support/harness';
import { dnsFor, resolverFor } from '../../dev/support/mail-auth';

const ARTIFACTS = path.join(ROOT, '.test-artifacts', 'report');
const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

/** The page's own markup: no script, no element or attribute that loads or runs anything, no link anywhere. */
function assertInertPage(html: string): void {
  const tags = html.match(/<[^>]*>/g) ?? [];
  const names = new Set(tags.map((t) => /^<\/?([a-z0-9!]+)/i.exec(t)?.[1]?.toLowerCase()));
  assert.deepEqual(
    [...names].filter((n) =>
      ['script', 'img', 'iframe', 'object', 'embed', 'link', 'a', 'svg', 'form', 'base'].includes(n ?? ''),
    ),
    [],
    'no active or loading element',
  );
  assert.deepEqual(
    tags.filter((t) => /\s(on\w+|src|href|srcset|action)\s*=/i.test(t)),
    [],
    'no event handler or resource attribute',
  );
  assert.ok(!/https?:|@import|url\(/i.test(html), 'no external reference of any kind');
}

describe('auditflow report (dev server, real worker, SMTP gateway)', () => {
  let h: Harness;
  let gw: TestGateway;
  let d: AnsweredDemand;

  before(async () => {
    h = await harness('dev');
    gw = await startTestGateway(h, resolverFor(dnsFor(['acme.example'])));
    d = await answeredDemand(h, gw, 'rep');
  });
  after(async () => {
    await gw.close();
    await h.close();
  });

  it('md (default, stdout): questions, answers with local and UTC times, lateness, attachments, authentication, reviews, Message-IDs', async () => {
    const r = await d.run('report', d.id);
    assert.equal(r.code, 0, r.stderr);
    const md = r.stdout;
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    fs.writeFileSync(path.join(ARTIFACTS, 'report.md'), md);
    assert.match(md, /^# Audit of API usage\n/);
    assert.match(md, /- Outcome: \*\*active\*\* \(still running; 1 accepted, 2 open\)/);
    assert.match(md, /### \\\[xbox\\\] Xbox companion app\n\nState: closed \(accepted\)/);
    assert.match(md, /1\. What data did it read\?\n2\. Which use cases were never declared\?/);
    assert.match(
      md,
      /- Answer 1 \(round 0\), received \w{3} \d+ \w{3} \d{4}, \d\d:\d\d P[SD]T \(\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\), \*\*on time\*\*, by email from pat@acme\.example/,
    );
    assert.ok(md.includes(`Message-ID \`${d.replyMessageId}\``), "the reply's Message-ID");
    assert.match(md, /Sender authentication: decision pass, dmarc pass, dkim pass/);
    assert.ok(md.includes(`Attachment: inventory.pdf, ${d.inventory.length} bytes, sha256 \`${sha(d.inventory)}\``));
    assert.ok(md.includes(`Original message: ${d.replyRaw.length} bytes, sha256 \`${sha(d.replyRaw)}\``));
    assert.match(md, /### \\\[psn\\\] PSN bridge[\s\S]*?\*\*late by \d+s\*\*, by post, recorded by Dana Owner/);
    assert.ok(md.includes(`Attachment: letter.pdf, ${d.letter.length} bytes, sha256 \`${sha(d.letter)}\``));
    assert.match(md, /- \w{3} \d+ \w{3} \d{4}, \d\d:\d\d P[SD]T \([^)]+\), round 0: \*\*accept\*\* by Chris Counsel/);
    assert.match(
      md,
      /\| when \(America\/Los_Angeles\) \| when \(UTC\) \| what \| who \| items \| Message-ID \| detail \|/,
    );
    assert.ok(
      md.includes(`| sent request | to pat@acme.example | xbox, psn, stadia | \`${d.request.parsed.messageId}\``),
      'the request, with its Message-ID',
    );
    assert.ok(
      md.includes(`| received answer | from pat@acme.example | xbox | \`${d.replyMessageId}\``),
      'the reply in the timeline',
    );
    assert.match(md, /\| record-response \| by Dana Owner \| psn \|/);
    assert.ok(
      md.includes('Re: Audit demand \\[xbox\\] \\<script\\>alert(1)\\</script\\>'),
      'hostile subject shown literally, not as markup',
    );
    assert.ok(!md.includes('<script>'));
  });

  it('html: one self-contained printable page, every value escaped', async () => {
    const out = path.join(h.config.dataDir, 'report.html');
    const r = await d.run('report', d.id, '--format', 'html', '--out', out);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      new RegExp(
        `report written: ${out.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\(html, [\\d,]+ bytes, demand ${d.id}: active\\)`,
      ),
    );
    const html = fs.readFileSync(out, 'utf8');
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    fs.copyFileSync(out, path.join(ARTIFACTS, 'report.html'));
    assert.match(html, /^<!DOCTYPE html>\n<html lang="en">/);
    assert.match(html, /<style>[\s\S]*@media print \{[\s\S]*<\/style>/);
    assertInertPage(html);
    assert.ok(html.includes('Re: Audit demand [xbox] &lt;script&gt;alert(1)&lt;/script&gt;'), 'subject escaped');
    assert.ok(
      html.includes('Inventory attached. &quot;onerror=alert(2) &lt;img src=x onerror=alert(3)&gt;'),
      'reply text escaped',
    );
    assert.ok(html.includes('Late letter &lt;b&gt;by post&lt;/b&gt;'), 'recorded summary escaped');
    assert.ok(
      html.includes(`<code>${d.replyMessageId.replace('<', '&lt;').replace('>', '&gt;')}</code>`),
      'Message-ID escaped',
    );
    assert.ok(
      html.includes(
        `<li>inventory.pdf, ${d.inventory.length} bytes, sha256 <span class="hash">${sha(d.inventory)}</span></li>`,
      ),
    );
    assert.match(html, /<td class="late">late by \d+s<\/td>/);
    assert.match(html, /<td class="ontime">on time<\/td>/);
    assert.ok(html.includes('decision pass, dmarc pass, dkim pass'));
    assert.ok(!html.includes(HOSTILE_SUBJECT), 'the raw subject never appears unescaped');
  });

  it('json: the versioned report document; --json is the same; bad options are invalid input (exit 2); unknown demands exit 1', async () => {
    const r = await d.run('report', d.id, '--format', 'json');
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as ReportDocument;
    assert.equal(doc.version, 1);
    assert.equal(doc.source.kind, 'workflow');
    assert.equal(doc.demand.id, d.id);
    assert.equal(doc.demand.timezone, 'America/Los_Angeles');
    const [xbox, psn] = [doc.items.find((i) => i.id === 'xbox')!, doc.items.find((i) => i.id === 'psn')!];
    assert.deepEqual(
      xbox.answers[0]!.attachments.map((f) => [f.filename, f.size, f.sha256]),
      [['inventory.pdf', d.inventory.length, sha(d.inventory)]],
    );
    assert.equal(xbox.answers[0]!.late, false);
    assert.equal(xbox.answers[0]!.auth?.dmarc, 'pass');
    assert.equal(xbox.reviews[0]!.decision, 'accept');
    assert.equal(psn.answers[0]!.late, true);
    assert.ok(psn.answers[0]!.lateByMs! > 0);
    assert.deepEqual(xbox.rounds[0]!.questions, ['What data did it read?', 'Which use cases were never declared?']);
    const ids = doc.timeline.filter((e) => e.type === 'message').map((e) => e.messageId);
    assert.ok(ids.includes(d.request.parsed.messageId) && ids.includes(d.replyMessageId));
    assert.deepEqual(
      doc.timeline.map((e) => e.at),
      [...doc.timeline.map((e) => e.at)].sort((a, b) => Date.parse(a) - Date.parse(b)),
    );
    assert.equal(doc.timeline[0]!.kind, 'start');

    const viaFlag = JSON.parse((await d.run('report', d.id, '--json')).stdout) as ReportDocument;
    assert.deepEqual(viaFlag.items, doc.items);
    const conflicting = await d.run('report', d.id, '--json', '--format', 'md');
    assert.equal(conflicting.code, 2);
    const badFormat = await d.run('report', d.id, '--format', 'pdf');
    assert.equal(badFormat.code, 2);
    assert.match(badFormat.stderr, /argument 'pdf' is invalid\. Allowed choices are md, html, json/);
    const unknown = await d.run('report', 'no-such-demand');
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /demand "no-such-demand" not found; list demands with: npx auditflow list/);
    const help = await d.run('report', '--help');
    assert.match(help.stdout, /Example:\n {2}npx auditflow report /);
  });

  it('the workflow writes report.md, report.html and report.json when the demand ends', async () => {
    await endByWithdrawal(h, d);
    const dir = path.join(h.config.dataDir, 'reports', d.id);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['report.html', 'report.json', 'report.md']);
    const doc = JSON.parse(fs.readFileSync(path.join(dir, 'report.json'), 'utf8')) as ReportDocument;
    assert.equal(doc.version, 1);
    assert.equal(doc.outcome.status, 'withdrawn');
    assert.deepEqual(doc.outcome.closures, { accepted: 1, withdrawn: 2 });
    assert.ok(
      doc.timeline.some((e) => e.type === 'message' && e.kind === 'internal' && e.direction === 'out'),
      'the final notice to the owner is in the timeline',
    );
    const md = fs.readFileSync(path.join(dir, 'report.md'), 'utf8');
    assert.match(md, /- Outcome: \*\*withdrawn\*\* \(1 accepted, 2 withdrawn\)/);
    assert.match(md, /- Withdrawn by Dana Owner: settled \\<out of court\\> \(\w{3} /);
    const html = fs.readFileSync(path.join(dir, 'report.html'), 'utf8');
    assertInertPage(html);
    assert.ok(html.includes('settled &lt;out of court&gt;'));
    assert.ok(html.includes(`sha256 <span class="hash">${sha(d.letter)}</span>`));
  });

  it('after Temporal deleted the workflow, report falls back to the final report.json and says so', async () => {
    const workflowId = `audit:${d.id}`;
    await h.env.client.workflowService.deleteWorkflowExecution({
      namespace: h.env.namespace ?? 'default',
      workflowExecution: { workflowId },
    });
    // The dev server deletes asynchronously, after the execution's close tasks: about 35 s when idle, more under load.
    const deleted = () =>
      h.env.client.workflow
        .getHandle(workflowId)
        .describe()
        .then(
          () => undefined,
          (err) => (err instanceof WorkflowNotFoundError ? true : undefined),
        );
    await eventually(deleted, 'the dev server to delete the workflow', 180_000);
    const file = path.join(h.config.dataDir, 'reports', d.id, 'report.json');
    const r = await d.run('report', d.id);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(
      r.stderr.includes(
        `note: demand "${d.id}" is no longer in Temporal (its history was deleted, e.g. by the namespace's retention); using the final report written when it ended (${file}, generated `,
      ),
      r.stderr,
    );
    assert.match(r.stdout, /- Source: the final report written when the demand ended \(/);
    assert.match(r.stdout, /- Outcome: \*\*withdrawn\*\* \(1 accepted, 2 withdrawn\)/);
    assert.ok(r.stdout.includes(`sha256 \`${sha(d.inventory)}\``));
    const doc = JSON.parse((await d.run('report', d.id, '--json')).stdout) as ReportDocument;
    assert.equal(doc.source.kind, 'final-report');
    assert.equal(doc.source.path, file);
    fs.rmSync(path.dirname(file), { recursive: true });
    const gone = await d.run('report', d.id);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, new RegExp(`demand "${d.id}" not found; list demands with: npx auditflow list`));
  });
});
