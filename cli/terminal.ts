/**
 * Text that came from outside (an archive, a manifest, an email) on its way to a terminal. A terminal
 * acts on control characters: ESC starts sequences that move the cursor, recolour or retitle, CR
 * returns to the start of the line, C1 codes (U+0080-U+009F) are 8-bit ESC sequences on some
 * terminals, and bidi overrides reorder what is shown. Any of them lets a crafted name overwrite the
 * line that reports it; here each is written out instead, so it is seen and not obeyed.
 */

/** C0, DEL, C1, the bidi embeddings, overrides, isolates and marks, and the Unicode line separators. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
/** The same, minus C0: JSON.stringify already escapes C0 (and lone surrogates) inside strings. */
const UNSAFE_IN_JSON = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const hex = (c: string, width: number) => c.charCodeAt(0).toString(16).padStart(width, '0');

/** Text with every control, bidi and line-separator character written out as `\xNN` or `\uNNNN`. */
export function cleanForTerminal(text: string): string {
  return text.replace(UNSAFE, (c) => (c.charCodeAt(0) < 0x100 ? `\\x${hex(c, 2)}` : `\\u${hex(c, 4)}`));
}

/** A value as 2-space JSON whose text holds no character a terminal acts on, and parses back exactly. */
export function jsonForTerminal(value: unknown): string {
  // Outside strings JSON text is ASCII, so these characters can only sit inside strings, where a
  // \u escape is the same character to any JSON parser.
  return `${JSON.stringify(value, null, 2).replace(UNSAFE_IN_JSON, (c) => `\\u${hex(c, 4)}`)}\n`;
}

/**
 * A value from outside as one line of human output: line breaks shown as ↵ (a crafted text cannot start
 * a line of its own), tabs as spaces, every other control written out.
 */
export function safeLine(value: unknown): string {
  return cleanForTerminal(
    String(value ?? '')
      .replace(/\r?\n/g, ' ↵ ')
      .replace(/\t/g, ' '),
  );
}

/** Multi-line text with outside parts (a report, an error): newlines and tabs kept, every other control written out. */
export function safeBlock(text: string): string {
  return text
    .replace(/\r\n/g, '\n')
    .split('\n')
    .map((line) => line.split('\t').map(cleanForTerminal).join('\t'))
    .join('\n');
}

/** A copy of a JSON-like value with every string made a safeLine, for human views built from outside data. */
export function safeStrings<T>(value: T): T {
  if (typeof value === 'string') return safeLine(value) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => safeStrings(v)) as T;
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, safeStrings(v)])) as T;
  return value;
}
