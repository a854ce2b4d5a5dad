/**
 * Demand specs for the benchmark, built from examples/api-usage-audit.yaml: any number of items, and
 * either compressed to seconds (as `auditflow demo` does) or parked on a far deadline. Plus the shadow
 * workflow's input for a spec: the demand's own dry run.
 */
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { checkDemand, type DemandSpec } from '../domain/demand';
import { demandWorkflowId } from '../domain/ids';
import { ALL_DAY_CALENDAR, compressTimings } from '../domain/compressed';
import { zoneClearOfMidnight } from '../domain/time';
import { PROJECT_ROOT } from '../platform/paths';
import { dryRunUnanswered } from '../workflows/dry-run';
import type { ShadowDemandInput } from './shadow-workflow';

const EXAMPLE = path.join(PROJECT_ROOT, 'examples', 'api-usage-audit.yaml');
let example: Record<string, unknown> | undefined;

export const itemId = (i: number) => `item-${String(i + 1).padStart(3, '0')}`;

export interface SpecOptions {
  id: string;
  items: number;
  startMs: number;
  /** Compressed: deadline this many seconds away, one reminder half-way, a three-step ladder at quarters. */
  deadlineIn?: number;
  /** Parked: the example's own reminders and ladder, deadline this many days away. */
  deadlineDays?: number;
}

/** The example with `items` items, every reply accepted without sender authentication or review. */
export function benchSpec(o: SpecOptions): DemandSpec {
  example ??= YAML.parse(fs.readFileSync(EXAMPLE, 'utf8')) as Record<string, unknown>;
  const spec = structuredClone(example) as Record<string, unknown> & {
    items: Record<string, unknown>[];
    counterparty: Record<string, unknown>;
    requester: Record<string, unknown>;
  };
  const template = spec.items[0]!;
  spec.id = o.id;
  spec.items = Array.from({ length: o.items }, (_, i) => ({
    id: itemId(i),
    name: `Application ${i + 1} (app id ${1000 + i})`,
    questions: template.questions,
  }));
  spec.review = { required: false };
  spec.inbound = { authentication: 'none' };
  let compressed: Record<string, unknown> = spec;
  if (o.deadlineIn !== undefined) {
    const zone = zoneClearOfMidnight(
      ['America/Los_Angeles', 'America/New_York', 'Europe/London', 'Asia/Tokyo', 'Pacific/Kiritimati'],
      o.startMs,
      o.deadlineIn * 3 + 600,
    );
    compressed = compressTimings(spec, { startMs: o.startMs, deadlineIn: o.deadlineIn, zone });
  } else {
    spec.deadline = new Date(o.startMs + (o.deadlineDays ?? 60) * 86_400_000).toISOString();
    // The bench runs on the wall clock: its demands send at any hour, as the compressed ones do.
    spec.calendar = ALL_DAY_CALENDAR;
  }
  const checked = checkDemand(compressed);
  if (!checked.ok)
    throw new Error(`bench spec invalid: ${checked.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
  return checked.spec;
}

/** The shadow's input: the messages the demand sends if nobody answers, at the same offsets. */
export function shadowInput(spec: DemandSpec, startMs: number): ShadowDemandInput {
  const run = dryRunUnanswered({ spec, workflowId: demandWorkflowId(spec.id), startAt: startMs });
  const isFinal = (key: string) => key.includes('/final/');
  return {
    itemIds: spec.items.map((i) => i.id),
    mails: run.mails
      .filter((m) => !isFinal(m.key))
      .map((m) => ({ at: Date.parse(m.at) - startMs, itemIds: m.itemIds })),
    finalMails: run.mails.filter((m) => isFinal(m.key)).length,
    acknowledge: spec.options.acknowledgeReplies,
  };
}
