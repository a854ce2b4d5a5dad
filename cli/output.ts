/**
 * Output helpers: aligned tables, JSON for scripts, local + UTC times, the CLI's exit codes, and text
 * from outside (email, specs, CSV files, other operators) made safe to print on a terminal.
 */
import { formatLocal, formatUtc } from '../domain/time';

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

/** Prints a value as JSON (stable, 2-space indented). */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/**
 * What a terminal obeys instead of showing: C0 controls (ESC starts sequences that clear, move, recolour
 * or retitle; CR returns to column 0 to overwrite), DEL, C1 (U+0080-U+009F, 8-bit ESC sequences on some
 * terminals), the bidi embeddings, overrides, isolates and marks (they reorder what is shown), and the
 * Unicode line and paragraph separators.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const TERMINAL_CONTROLS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** `\x1b`, `\u202e`: the character written out, so it is seen and not obeyed. */
function writtenOut(c: string): string {
  const code = c.charCodeAt(0);
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * A value from outside as one line of human output: line breaks shown as ↵ (a crafted text cannot start
 * a line of its own), tabs as spaces, every other control written out as \xNN or \uNNNN.
 */
export function safeLine(value: unknown): string {
  return String(value ?? '')
    .replace(/\r?\n/g, ' ↵ ')
    .replace(/\t/g, ' ')
    .replace(TERMINAL_CONTROLS, writtenOut);
}

/** Multi-line text with outside parts (a report, an error): newlines and tabs kept, every other control written out. */
export function safeBlock(text: string): string {
  return text.replace(/\r\n/g, '\n').replace(TERMINAL_CONTROLS, (c) => (c === '\n' || c === '\t' ? c : writtenOut(c)));
}

/** A copy of a JSON-like value with every string made a safeLine, for human views built from outside data. */
export function safeStrings<T>(value: T): T {
  if (typeof value === 'string') return safeLine(value) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => safeStrings(v)) as T;
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, safeStrings(v)])) as T;
  return value;
}

/** Renders rows as an aligned text table with a header; every cell is a safeLine. */
export function table(headers: string[], rows: (string | number | undefined)[][]): string {
  const cells = [headers, ...rows].map((r) => r.map((c) => safeLine(c)));
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r, n) => {
    const line = r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
    return n === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
  }).join('\n');
}

/** "Mon 7 Jun 2027, 17:00 PDT (2027-06-08 00:00Z)". */
export function localAndUtc(iso: string | number | undefined, zone: string): string {
  if (iso === undefined) return '-';
  const ms = typeof iso === 'number' ? iso : Date.parse(iso);
  if (Number.isNaN(ms)) return String(iso);
  return `${formatLocal(ms, zone)} (${formatUtc(ms)})`;
}
