/** Turns what the SMTP sink received into rows a test can compare exactly. */
import type { ReceivedMail } from '../../dev/support/smtp-sink';

export interface MailRow {
  kind: string;
  to: string;
  /** Date header, ISO (second precision). */
  date: string;
  items: string;
}

export function mailRows(messages: ReceivedMail[]): MailRow[] {
  return messages
    .map((m) => ({
      kind: m.header('x-auditflow-kind') ?? '?',
      to: m.envelope.to.join(','),
      date: m.parsed.date?.toISOString() ?? '?',
      items: m.header('x-auditflow-items') ?? '',
    }))
    .sort((a, b) => a.date.localeCompare(b.date) || a.kind.localeCompare(b.kind) || a.to.localeCompare(b.to));
}

/** A row as tests write it: [kind, to, date, items]. */
export function row(kind: string, to: string, date: string, items = 'xbox,psn,stadia'): MailRow {
  return { kind, to, date: new Date(date).toISOString(), items };
}

/** Waits until some received message matches, and returns those that do. */
export async function arrived(
  h: { sink: { waitFor(p: (m: ReceivedMail[]) => boolean, what: string): Promise<ReceivedMail[]> } },
  match: (m: ReceivedMail) => boolean,
  what: string,
): Promise<ReceivedMail[]> {
  return (await h.sink.waitFor((m) => m.some(match), what)).filter(match);
}
