/**
 * The demo's scenario: what the counterparty does with each item of examples/api-usage-audit.yaml, the
 * example compressed to minutes, and what must hold at the end for the demo to pass.
 */
import fs from 'node:fs';
import path from 'node:path';
import { compressTimings } from '../../domain/compressed';
import { checkDemand, type DemandSpec } from '../../domain/demand';
import type { DemandStatusView } from '../../domain/state';
import { zoneClearOfMidnight } from '../../domain/time';
import { PROJECT_ROOT } from '../../platform/paths';
import { CliError } from '../output';

/** The example the demo plays, in each language: the same audit, the French one for a French-speaking counterparty. */
export const DEMO_SPECS = {
  en: path.join(PROJECT_ROOT, 'examples', 'api-usage-audit.yaml'),
  fr: path.join(PROJECT_ROOT, 'examples', 'api-usage-audit.fr.yaml'),
} as const;

/** What the counterparty does with each item of the example. */
export const SCENARIO = {
  atlas: 'answers on time, with an attachment',
  beacon: 'answers on time, with an attachment',
  cascade: 'answers on time',
  drift: 'answers after the reminder',
  ember: 'sends an out-of-office first, then answers',
  fjord: 'asks for an extension (approved), answers after the original deadline',
  glacier: 'answers on time, with an attachment',
  harbor: 'never answers: escalation ladder to referral',
} as const;
/** An item the demo plays. */
export type ItemId = keyof typeof SCENARIO;
export const ITEM_IDS = Object.keys(SCENARIO) as ItemId[];
/** Items answered with an attachment. */
export const WITH_ATTACHMENT: ItemId[] = ['atlas', 'beacon', 'glacier'];

/** The example compressed to `deadlineIn` seconds (domain/compressed.ts), its title marked as the demo's. */
export function demoSpec(
  example: unknown,
  id: string,
  startMs: number,
  deadlineIn: number,
  file: string = DEMO_SPECS.en,
): DemandSpec {
  const spec = structuredClone(example) as Record<string, unknown> & {
    counterparty: Record<string, unknown>;
    requester: Record<string, unknown>;
    items: { id: string }[];
  };
  const missing = ITEM_IDS.filter((i) => !spec.items?.some((it) => it.id === i));
  if (missing.length)
    throw new CliError(`${file} no longer has the items the demo plays (${missing.join(', ')}); restore it from git`);
  // Sending hours end at 23:59: pick zones where the demo's few minutes stay clear of local midnight.
  const zone = zoneClearOfMidnight(
    [String(spec.counterparty.timezone), 'America/New_York', 'Europe/London', 'Asia/Tokyo'],
    startMs,
    deadlineIn * 3 + 300,
  );
  const requesterZone = zoneClearOfMidnight([String(spec.requester.timezone), zone], startMs, deadlineIn * 3 + 300);
  const compressed = compressTimings(
    { ...spec, id, title: `[demo] ${String(spec.title)}`.slice(0, 200) },
    { startMs, deadlineIn, zone, requesterZone, reminderNote: 'Demo reminder: the deadline is half a minute away.' },
  );
  const checked = checkDemand(compressed);
  if (!checked.ok)
    throw new CliError(
      `the compressed demo spec is invalid: ${checked.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`,
    );
  return checked.spec;
}

/** What must hold at the end for the demo to pass. */
export function expectations(s: DemandStatusView): { what: string; ok: boolean }[] {
  const item = (i: string) => s.items.find((x) => x.id === i);
  const answered = (i: string) => item(i)?.answers.find((a) => !a.afterClose);
  const firstOut = (kind: string, i: string) =>
    s.messages.find((m) => m.direction === 'out' && m.kind === kind && m.itemIds.includes(i));
  const ooo = s.decisions.find((d) => d.kind === 'out-of-office' && d.itemIds.includes('ember'));
  const ext = s.extensionRequests.find((r) => r.itemIds.includes('fjord'));
  return [
    { what: `the demand ended referred (it is ${s.status})`, ok: s.status === 'referred' },
    ...ITEM_IDS.filter((i) => i !== 'harbor').map((i) => ({
      what: `${i} was answered and accepted`,
      ok: item(i)?.closure === 'accepted' && answered(i) !== undefined,
    })),
    ...WITH_ATTACHMENT.map((i) => ({
      what: `${i}'s answer carries its attachment`,
      ok: (answered(i)?.attachments.length ?? 0) > 0,
    })),
    {
      what: 'drift was answered after its reminder',
      ok: Boolean(
        firstOut('reminder', 'drift') &&
        answered('drift') &&
        Date.parse(answered('drift')!.receivedAt) > Date.parse(firstOut('reminder', 'drift')!.at),
      ),
    },
    {
      what: "ember's out-of-office was recorded, not taken as an answer",
      ok: Boolean(ooo && answered('ember') && Date.parse(answered('ember')!.receivedAt) > Date.parse(ooo.at)),
    },
    {
      what: "fjord's extension request was approved and its late-looking answer is on time",
      ok: ext?.status === 'approved' && answered('fjord')?.late === false,
    },
    {
      what: 'harbor went up the ladder to referral',
      ok: item('harbor')?.closure === 'referred' && item('harbor')?.maxEscalationLevel === 3,
    },
    { what: 'the final report was written', ok: Boolean(s.report?.path && fs.existsSync(s.report.path)) },
  ];
}
