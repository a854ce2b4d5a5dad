/**
 * The owners' daily digest as text blocks: each demand with its sections, and under each section the
 * command that acts on it. render.ts lays the blocks out as the text and HTML parts of the email, and
 * `auditflow digest --dry-run` prints that same text.
 */
import type { Digest, DigestTriage } from '../../domain/digest';
import { formatLocal, formatUtc } from '../../domain/time';
import { oneLine } from '../../platform/text';

/** The digest's lines as render.ts lays them out: a string is a paragraph, an array a list. */
type DigestBlock = string | string[];

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** Lines a section lists before it says how many more there are (a digest stays readable). */
const SECTION_LINES = 20;

function capped(lines: string[], whereElse: string): string[] {
  return lines.length <= SECTION_LINES
    ? lines
    : [...lines.slice(0, SECTION_LINES), `... and ${lines.length - SECTION_LINES} more: ${whereElse}`];
}

function items(ids: string[]): string {
  return ids.length > 5 ? `${ids.slice(0, 5).join(', ')} and ${ids.length - 5} more` : ids.join(', ');
}

function triageLine(t: DigestTriage, zone: string): string {
  const subject = t.subject ? ` "${oneLine(t.subject, 80, { ellipsis: true })}"` : '';
  return `${t.id} from ${t.from ?? 'an unknown sender'}${subject}, received ${formatLocal(Date.parse(t.receivedAt), zone)}: ${oneLine(t.reason, 160, { ellipsis: true })}`;
}

/** The digest as a subject and blocks of text, each section with the command that acts on it. */
export function digestText(d: Digest): { subject: string; blocks: DigestBlock[] } {
  const zone = d.owner.zone;
  const when = (iso: string) => formatLocal(Date.parse(iso), zone);
  const day = when(d.at).replace(/, \d\d:\d\d .*$/, '');
  const where = [
    d.demands.length ? plural(d.demands.length, 'demand') : '',
    d.unassigned.length ? 'the triage inbox' : '',
  ]
    .filter(Boolean)
    .join(' and ');
  const blocks: DigestBlock[] = [
    `${oneLine(d.owner.name)}, ${plural(d.count, 'thing')} ${d.count === 1 ? 'waits' : 'wait'} for you in ${where}.`,
  ];
  for (const m of d.demands) {
    blocks.push(`${m.demandId}: ${oneLine(m.title)} (${oneLine(m.counterparty)})`);
    if (m.inReview.length)
      blocks.push(`Answers waiting for review (${m.inReview.length}):`, [
        ...capped(
          m.inReview.map(
            (r) => `[${r.itemId}] ${oneLine(r.name)}${r.answeredAt ? `, answered ${when(r.answeredAt)}` : ''}`,
          ),
          `npx auditflow show ${m.demandId}`,
        ),
        `Act: npx auditflow review ${m.demandId} <item> --accept | --more-info --question "..." | --reject --reason "..."`,
      ]);
    if (m.extensionRequests.length)
      blocks.push(`Extension requests waiting for a decision (${m.extensionRequests.length}):`, [
        ...m.extensionRequests.map(
          (e) =>
            `${e.id} for ${items(e.itemIds)}${e.from ? ` from ${e.from}` : ''}${e.until ? `, until ${when(e.until)}` : ''}, received ${when(e.receivedAt)}`,
        ),
        `Act: npx auditflow extend ${m.demandId} --request <id> [--deny] --reason "..."`,
      ]);
    if (m.gates.length)
      blocks.push(`Steps waiting for sign-off (${m.gates.length}):`, [
        ...m.gates.map(
          (g) =>
            `${g.id} ${oneLine(g.label)} for ${items(g.itemIds)}: ${g.status === 'waiting' ? `waits for ${g.approverRole} until ${when(g.expiresAt)}` : `${g.status}, until someone with the role ${g.approverRole} approves it`}`,
        ),
        `Act: npx auditflow approve ${m.demandId} <gate> --by "<your name>"   or   npx auditflow hold ${m.demandId} <gate> --by "<your name>" --reason "..."`,
      ]);
    if (m.triage.length)
      blocks.push(`Messages in triage about this demand (${m.triage.length}):`, [
        ...capped(
          m.triage.map((t) => triageLine(t, zone)),
          'npx auditflow inbox',
        ),
        `Act: npx auditflow inbox assign <id> --demand ${m.demandId} --item <item>   or   npx auditflow inbox discard <id> --reason "..."`,
      ]);
    if (m.outOfOffice.length)
      blocks.push(`Contacts out of office past a deadline (${m.outOfOffice.length}):`, [
        ...m.outOfOffice.map(
          (o) =>
            `${o.from}${o.returnDate ? ` is back on ${oneLine(o.returnDate, 40)}` : ' gave no return date'}, after the deadline of ${items(o.itemIds)} (replied ${when(o.at)})`,
        ),
        `Act: npx auditflow extend ${m.demandId} --item <item> --for P7D --reason "..."   (or let the ladder run)`,
      ]);
    if (m.escalations.length)
      blocks.push(`Escalated since ${when(d.since)} (${m.escalations.length}):`, [
        ...m.escalations.map((e) =>
          `${when(e.at)}: ${e.kind === 'refer' ? 'referred for legal action' : 'escalation'} ${oneLine(e.detail ?? '')} for ${items(e.itemIds)}`.replace(
            /  +/g,
            ' ',
          ),
        ),
        `See: npx auditflow show ${m.demandId}`,
      ]);
  }
  if (d.unassigned.length)
    blocks.push(`Messages in triage that no demand claims (${d.unassigned.length}):`, [
      ...capped(
        d.unassigned.map((t) => triageLine(t, zone)),
        'npx auditflow inbox',
      ),
      'Act: npx auditflow inbox',
    ]);
  blocks.push(
    `You get this digest at 09:00 on business days when something waits for you. Dated ${when(d.at)} (${formatUtc(Date.parse(d.at))}).`,
  );
  return { subject: `[auditflow] Daily digest, ${day}: ${plural(d.count, 'thing')} to do`, blocks };
}
