/** Text helpers every renderer and parser shares: HTML escaping, and values made one line. */

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

// C0 controls, DEL, NEL and the Unicode line separators: none belongs in a one-line value.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const LINE_BREAKING = /[\u0000-\u001f\u007f\u0085\u2028\u2029]+/g;

/**
 * A value as one line: line breaks and other controls become spaces, runs of spaces one, trimmed, and cut
 * to `max` characters (with an ellipsis when `ellipsis` is set). Encoded-words in a decoded header can
 * carry CR/LF, which must never reach a header we write, a log line or a terminal.
 */
export function oneLine(value: string, max = Number.POSITIVE_INFINITY, opts: { ellipsis?: boolean } = {}): string {
  const line = value.replace(LINE_BREAKING, ' ').replace(/ {2,}/g, ' ').trim();
  if (line.length <= max) return line;
  return opts.ellipsis ? `${line.slice(0, max - 1)}…` : line.slice(0, max);
}
