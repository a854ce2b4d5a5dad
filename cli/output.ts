/**
 * Output helpers: aligned tables, JSON for scripts, local + UTC times, the CLI's exit codes, and text
 * from outside (email, specs, CSV files, other operators) made safe to print on a terminal.
 */
import { formatLocal, formatUtc } from '../domain/time';
import { jsonForTerminal, safeLine } from './terminal';

/** Exit statuses, the same for every command. */
export const Exit = { ok: 0, error: 1, invalid: 2 } as const;

/** An error that ends the command with a message (what went wrong, what to do) and an exit status. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = Exit.error,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** Options every command accepts. */
export interface GlobalOptions {
  json?: boolean;
}

/** Prints a value as JSON (stable, 2-space indented; exact once parsed, inert on a terminal). */
export function printJson(value: unknown): void {
  process.stdout.write(jsonForTerminal(value));
}

export { safeBlock, safeLine, safeStrings } from './terminal';

/** Renders rows as an aligned text table with a header; every cell is a safeLine. */
export function table(headers: string[], rows: (string | number | undefined)[][]): string {
  const cells = [headers, ...rows].map((r) => r.map((c) => safeLine(c)));
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells
    .map((r, n) => {
      const line = r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd();
      return n === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
    })
    .join('\n');
}

/** "Mon 7 Jun 2027, 17:00 PDT (2027-06-08 00:00Z)". */
export function localAndUtc(iso: string | number | undefined, zone: string): string {
  if (iso === undefined) return '-';
  const ms = typeof iso === 'number' ? iso : Date.parse(iso);
  if (Number.isNaN(ms)) return String(iso);
  return `${formatLocal(ms, zone)} (${formatUtc(ms)})`;
}
