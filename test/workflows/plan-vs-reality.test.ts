/**
 * Plan and reality cannot disagree: a demand nobody answers runs to referral on the time-skipping
 * server with a real SMTP sink, and every email that arrived (its instant, kind, recipient and items)
 * is compared with what `auditflow plan --json --start <the workflow's start>` printed beforehand.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import YAML from 'yaml';
import type { DemandPlan, PlanEntry } from '../../cli/plan';
import type { DemandSpecInput } from '../../domain/demand';
import { auditflow, ROOT } from '../helpers/cli';
import { harness } from '../../dev/support/harness';
import type { ReceivedMail } from '../../dev/support/smtp-sink';

const SPEC = path.join(ROOT, 'test', 'fixtures', 'specs', 'plan-ladder.yaml');
const SCHEDULED: PlanEntry['trigger'][] = ['reminder', 'overdue-notice', 'escalation', 'referral'];

interface Sent {
  /** The Date header: when the workflow queued the message (second precision). */
  date: string;
  /** X-Auditflow-Scheduled-At: the instant the schedule meant, for scheduled messages. */
  scheduledAt: string;
  kind: string;
  to: string;
  items: string;
}

const bySendOrder = (a: Sent, b: Sent) =>
  a.date.localeCompare(b.date) ||
  a.kind.localeCompare(b.kind) ||
  a.to.localeCompare(b.to) ||
  a.items.localeCompare(b.items);

function arrived(m: ReceivedMail): Sent {
  const to = Array.isArray(m.parsed.to) ? m.parsed.to[0] : m.parsed.to;
  return {
    date: m.parsed.date?.toISOString() ?? '?',
    scheduledAt: m.header('x-auditflow-scheduled-at') ?? '-',
    kind: m.header('x-auditflow-kind') ?? '?',
    to: `${to?.value[0]?.name ?? ''} <${m.envelope.to.join(',')}>`,
    items: m.header('x-auditflow-items') ?? '',
  };
}

function planned(plan: DemandPlan): Sent[] {
  return plan.entries.flatMap((e) =>
    e.recipients.map((r) => ({
      date: new Date(Math.floor(Date.parse(e.at) / 1000) * 1000).toISOString(),
      // The schedule's instant; a message held to its recipient's sending hours goes later than that.
      scheduledAt: SCHEDULED.includes(e.trigger) ? (e.held?.from ?? e.at) : '-',
      kind: e.kind,
      to: `${r.name} <${r.address}>`,
      items: e.itemIds.join(','),
    })),
  );
}

describe('plan vs reality (time-skipping server, real SMTP, the real CLI)', () => {
  it('every email of an unanswered demand arrives at the instant, with the kind, recipient and items plan printed', async () => {
    const h = await harness('time-skipping');
    try {
      const spec = YAML.parse(fs.readFileSync(SPEC, 'utf8')) as DemandSpecInput;
      spec.id = `plan-${Date.now().toString(36)}`;
      const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'auditflow-plan-')), 'demand.yaml');
      fs.writeFileSync(file, YAML.stringify(spec));

      const handle = await h.start(spec);
      const { startedAt } = await h.status(spec.id);
      const cli = await auditflow(['plan', file, '--json', '--start', startedAt], {});
      assert.equal(cli.code, 0, cli.stderr);
      const plan = JSON.parse(cli.stdout) as DemandPlan;

      const result = await handle.result();
      assert.equal(result.status, 'referred');
      assert.equal(plan.outcome, 'referred');
      assert.equal(plan.startAt, startedAt);

      // The spec must really exercise what it is for, or the comparison below proves little.
      const reasons = new Set(plan.entries.flatMap((e) => (e.moved ? [e.moved.reason] : [])));
      assert.deepEqual([...reasons].sort(), ['holiday', 'non-business-day', 'outside-send-window']);
      assert.deepEqual([...new Set(plan.warnings.map((w) => w.code))].sort(), [
        'held-to-sending-hours',
        'no-address',
        'notice-moved',
        'reminder-moved',
        'reminder-skipped',
        'reminder-superseded',
      ]);
      assert.deepEqual([...new Set(plan.entries.map((e) => e.zone))].sort(), [
        'America/Los_Angeles',
        'America/New_York',
        'Europe/Berlin',
        'Europe/Dublin',
      ]);
      assert.ok(plan.entries.some((e) => e.trigger === 'referral' && e.step?.action === 'refer' && e.step.index === 3));
      assert.ok(plan.entries.some((e) => e.recipients.length > 1 && e.itemIds.length > 1));

      const reality = h.sink.messages.map(arrived);
      const final = (rows: Sent[]) => rows.filter((r) => r.kind === 'internal' && r.scheduledAt === '-');
      const rest = (rows: Sent[]) => rows.filter((r) => !final(rows).includes(r)).sort(bySendOrder);
      assert.equal(reality.length, planned(plan).length, 'as many emails as planned');
      // One reminder per recipient and instant, even for items at different reminder numbers (Pat's xbox and psn).
      const reminders = reality.filter((r) => r.kind === 'reminder').map((r) => `${r.to} ${r.date}`);
      assert.deepEqual(reminders, [...new Set(reminders)], 'no recipient gets two reminders at one instant');
      assert.ok(
        reality.some((r) => r.kind === 'reminder' && r.items.includes('xbox') && r.items.includes('psn')),
        'xbox and psn share a reminder',
      );
      assert.deepEqual(rest(reality), rest(planned(plan)));
      // The owner's final notice goes out once the report is written, a moment after the referral.
      const [sentFinal, plannedFinal] = [final(reality), final(planned(plan))];
      assert.equal(sentFinal.length, 1);
      assert.deepEqual({ ...sentFinal[0]!, date: '' }, { ...plannedFinal[0]!, date: '' });
      const lag = Date.parse(sentFinal[0]!.date) - Date.parse(plannedFinal[0]!.date);
      assert.ok(lag >= 0 && lag < 60_000, `final notice ${lag} ms after the planned instant`);

      // plan --show renders every email with the send's own code: subject and text as they arrived.
      const shown = await auditflow(['plan', file, '--json', '--show', 'all', '--start', startedAt], {});
      assert.equal(shown.code, 0, shown.stderr);
      const previews = (
        JSON.parse(shown.stdout) as {
          emails: { at: string; kind: string; to: string; subject: string; text: string }[];
        }
      ).emails;
      assert.equal(previews.length, h.sink.messages.length);
      let compared = 0;
      for (const m of h.sink.messages) {
        const kind = m.header('x-auditflow-kind');
        const date = m.parsed.date?.toISOString();
        const preview = previews.find(
          (p) =>
            p.kind === kind &&
            p.to.includes(`<${m.envelope.to[0]}>`) &&
            new Date(Math.floor(Date.parse(p.at) / 1000) * 1000).toISOString() === date,
        );
        // The owner's final notice names the report written at the end, which a plan cannot know.
        if (kind === 'internal' && !m.header('x-auditflow-scheduled-at')) continue;
        assert.ok(preview, `a preview of the ${kind} to ${m.envelope.to[0]} at ${date}`);
        assert.equal(preview.subject, m.parsed.subject);
        assert.equal(preview.text.replace(/\r\n/g, '\n'), (m.parsed.text ?? '').replace(/\r\n/g, '\n'));
        compared += 1;
      }
      assert.equal(compared, h.sink.messages.length - 1);
    } finally {
      await h.close();
    }
  });
});
