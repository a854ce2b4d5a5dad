/**
 * When `start` lets a demand begin: now, or the `--at` instant (read like a spec deadline: an ISO instant
 * with its offset, or a local date-time in the counterparty's zone), and the checks that refuse a start
 * the demand could not keep.
 */
import type { DemandSpec } from '../domain/demand';
import { initialDeadline } from '../domain/schedule';
import { parseDeadline } from '../domain/time';
import { CliError, Exit, localAndUtc } from './output';

/** A problem that stops a demand from starting, with the spec path or option it is about. */
export interface StartProblem {
  path: string;
  message: string;
}

/** Refuses an `--at` that is not a date-time at all (the same in every zone), before anything is read. */
export function checkStartAtFormat(text: string, zone: string): void {
  const parsed = parseDeadline(text, zone);
  if ('error' in parsed) throw new CliError(`--at: ${parsed.error}`, Exit.invalid);
}

/** The `--at` instant in the counterparty's zone, or why it cannot be a start: unreadable, or not in the future. */
export function parseStartAt(text: string, zone: string, now: number): { ms: number } | { problem: StartProblem } {
  const parsed = parseDeadline(text, zone);
  if ('error' in parsed) return { problem: { path: '--at', message: parsed.error } };
  if (parsed.ms <= now)
    return {
      problem: {
        path: '--at',
        message: `${localAndUtc(parsed.ms, zone)} has already passed; give a future instant, or leave out --at to start now`,
      },
    };
  return { ms: parsed.ms };
}

/** Items whose deadline has already passed at `now`: a demand cannot ask for something due in the past. */
export function pastDeadlineProblems(spec: DemandSpec, now: number): StartProblem[] {
  return spec.items
    .map((item, i) => ({ item, i, due: initialDeadline(spec, item.id) }))
    .filter(({ due }) => due <= now)
    .map(({ item, i, due }) => ({
      path: item.deadline ? `items[${i}].deadline` : 'deadline',
      message: `${item.id} would be due ${localAndUtc(due, spec.counterparty.timezone)}, which has already passed; give a future deadline (the request must leave the counterparty time to answer)`,
    }));
}

/**
 * The same check against a later start: items due at or before `--at` could not be asked in time. Items
 * that share a deadline (most share the demand's) are one problem, not one line each.
 */
export function deadlineBeforeStartProblems(spec: DemandSpec, startAt: number): StartProblem[] {
  const zone = spec.counterparty.timezone;
  const groups = new Map<string, { path: string; due: number; ids: string[] }>();
  spec.items.forEach((item, i) => {
    const due = initialDeadline(spec, item.id);
    if (due > startAt) return;
    const path = item.deadline ? `items[${i}].deadline` : 'deadline';
    const key = `${path} ${due}`;
    const group = groups.get(key) ?? { path, due, ids: [] };
    group.ids.push(item.id);
    groups.set(key, group);
  });
  return [...groups.values()].map(({ path, due, ids }) => ({
    path,
    message: `${ids.join(', ')} would be due ${localAndUtc(due, zone)}, not after the start (--at ${localAndUtc(startAt, zone)}): nothing could be asked in time; give an earlier --at or a later deadline`,
  }));
}

/** Every problem with starting the spec at `--at` (or now): the instant itself, then the deadlines. */
export function startProblems(
  spec: DemandSpec,
  at: string | undefined,
  now: number,
): { startAt?: number; problems: StartProblem[] } {
  if (at === undefined) return { problems: pastDeadlineProblems(spec, now) };
  const parsed = parseStartAt(at, spec.counterparty.timezone, now);
  if ('problem' in parsed) return { problems: [parsed.problem] };
  return { startAt: parsed.ms, problems: deadlineBeforeStartProblems(spec, parsed.ms) };
}
