/**
 * The merge fields a template sees: every value a message needs, already formatted for its recipient
 * (dates on their clock and in their language) and made one line where a line is meant. Every field is
 * always present (null or empty when it does not apply), because templates render in strict mode: a
 * name that is not here is an error, never an empty string in a legal notice. The fields are documented
 * in docs/templates.md; `MERGE_FIELD_NAMES` is what `validate` checks template names against.
 */
import type { MailDemandContext, MailItemContext } from '../../domain/contracts';
import type { PendingMail } from '../../domain/state';
import { formatDayIn, formatLocalIn, formatUtcIn, type Language } from '../../domain/time';
import { oneLine } from '../../platform/text';

/** A file sent with a message, as the recipient's text lists it. */
export interface AttachmentFacts {
  name: string;
  size: number;
  sha256: string;
}

export interface ContextInput {
  mail: PendingMail;
  demand: MailDemandContext;
  items: MailItemContext[];
  language: Language;
  replyAddress?: string;
  previews?: { to: string; subject: string; text: string }[];
  attachments?: AttachmentFacts[];
}

interface ItemFields {
  id: string;
  tag: string;
  name: string;
  description: string | null;
  due: string;
  dueLocal: string;
  dueUtc: string;
  questions: { number: number; text: string }[];
  round: number;
  phase: string;
  closure: string | null;
}

/** The context of one message (see docs/templates.md). */
export interface MergeContext {
  language: Language;
  kind: string;
  event: string | null;
  demand: { id: string; title: string; basis: string };
  requester: { organisation: string; fromName: string; fromAddress: string };
  counterparty: { organisation: string };
  recipient: { name: string | null; address: string; displayName: string; zone: string };
  items: ItemFields[];
  itemCount: number;
  several: boolean;
  tags: string;
  earliestDue: string | null;
  earliestDueLocal: string | null;
  deadlinesDiffer: boolean;
  reminderNumber: string;
  note: string | null;
  reason: string | null;
  copiedBecause: string | null;
  round: string;
  change: string | null;
  scope: string | null;
  questionNumber: string;
  receivedAt: string | null;
  originalSubject: string;
  reply: { expected: boolean; address: string | null; exampleTag: string };
  notice: {
    step: string;
    steps: string;
    label: string | null;
    from: string | null;
    requestedDeadline: string | null;
    requestId: string;
    failedRecipient: string | null;
    returnDate: string;
    by: string;
    outcome: string;
    report: string | null;
    gate: string;
    role: string;
    expiresAt: string;
    sentOnTimeout: boolean;
  };
  previews: { number: number; to: string; subject: string; text: string; quoted: string }[];
  previewCount: number;
  attachments: { name: string; size: string; sha256: string }[];
}

const str = (v: unknown): string | null => (v === undefined || v === null || v === '' ? null : String(v));

/** A size as people read it: "812 bytes", "14.2 KB", "3.1 MB". */
function size(bytes: number, language: Language): string {
  const unit = language === 'fr' ? ['octets', 'Ko', 'Mo'] : ['bytes', 'KB', 'MB'];
  const fixed = (n: number) => (language === 'fr' ? n.toFixed(1).replace('.', ',') : n.toFixed(1));
  if (bytes < 1024) return `${bytes} ${unit[0]}`;
  if (bytes < 1024 * 1024) return `${fixed(bytes / 1024)} ${unit[1]}`;
  return `${fixed(bytes / 1024 / 1024)} ${unit[2]}`;
}

/** Builds the merge context of one message. */
export function mergeContext(input: ContextInput): MergeContext {
  const { mail, demand, items, language } = input;
  const zone = mail.to.zone;
  const ctx = mail.context ?? {};
  const local = (iso: string) => formatLocalIn(Date.parse(iso), zone, language);
  const when = (iso: string) => `${local(iso)} (${formatUtcIn(Date.parse(iso), language)})`;
  const earliest = items.map((i) => i.dueAt).sort()[0];
  const previews = input.previews ?? [];
  return {
    language,
    kind: mail.kind,
    event: str(ctx.event),
    // The basis ends a sentence in the templates: its own full stop is dropped.
    demand: { id: demand.id, title: oneLine(demand.title), basis: oneLine(demand.basis).replace(/[.\s]+$/, '') },
    requester: {
      organisation: oneLine(demand.requesterOrg),
      fromName: oneLine(demand.from.name),
      fromAddress: demand.from.address,
    },
    counterparty: { organisation: oneLine(demand.counterpartyOrg) },
    recipient: {
      name: mail.to.name ? oneLine(mail.to.name) : null,
      address: mail.to.address,
      displayName: mail.to.name ? oneLine(mail.to.name) : mail.to.address,
      zone,
    },
    items: items.map((i) => ({
      id: i.id,
      tag: `[${i.id}]`,
      name: oneLine(i.name),
      description: i.description ? oneLine(i.description) : null,
      due: when(i.dueAt),
      dueLocal: local(i.dueAt),
      dueUtc: formatUtcIn(Date.parse(i.dueAt), language),
      questions: i.questions.map((q, n) => ({ number: n + 1, text: oneLine(q) })),
      round: i.round,
      phase: i.phase,
      closure: i.closure ?? null,
    })),
    itemCount: items.length,
    several: items.length > 1,
    tags: items.length > 0 && items.length <= 3 ? ` ${items.map((i) => `[${i.id}]`).join(' ')}` : '',
    earliestDue: earliest ? when(earliest) : null,
    earliestDueLocal: earliest ? local(earliest) : null,
    deadlinesDiffer: new Set(items.map((i) => i.dueAt)).size > 1,
    reminderNumber: str(ctx.index) ?? '',
    note: str(ctx.note),
    reason: str(ctx.reason),
    copiedBecause: str(ctx.copiedBecause),
    round: str(ctx.round) ?? '',
    change: str(ctx.change),
    scope: str(ctx.scope),
    questionNumber: str(ctx.number) ?? '',
    receivedAt: ctx.receivedAt ? when(String(ctx.receivedAt)) : null,
    originalSubject: oneLine(String(ctx.subject ?? demand.title)),
    reply: {
      expected: Boolean(mail.expectsReply && mail.audience === 'counterparty'),
      address: input.replyAddress ?? null,
      exampleTag: items[0] ? `[${items[0].id}]` : '',
    },
    notice: {
      step: str(ctx.index) ?? '',
      steps: str(ctx.total) ?? '',
      label: ctx.label ? oneLine(String(ctx.label)) : null,
      from: str(ctx.from),
      requestedDeadline: ctx.requestedDeadline ? when(String(ctx.requestedDeadline)) : null,
      requestId: str(ctx.requestId) ?? '',
      failedRecipient: str(ctx.failedRecipient),
      // A readable return date in the reader's language; otherwise the words as the reply wrote them.
      returnDate: ((r) => (r ? (formatDayIn(r, language) ?? r) : '?'))(str(ctx.returnDate)),
      by: str(ctx.by) ?? '',
      outcome: str(ctx.outcome) ?? '',
      report: str(ctx.report),
      gate: str(ctx.gate) ?? '',
      role: str(ctx.role) ?? '',
      expiresAt: ctx.expiresAt ? when(String(ctx.expiresAt)) : '',
      sentOnTimeout: ctx.onTimeout === 'send',
    },
    previews: previews.map((p, n) => ({
      number: n + 1,
      ...p,
      quoted: `Subject: ${p.subject}\n\n${p.text}`
        .replace(/\n$/, '')
        .split('\n')
        .map((l) => `| ${l}`.trimEnd())
        .join('\n'),
    })),
    previewCount: previews.length,
    attachments: (input.attachments ?? []).map((a) => ({
      name: oneLine(a.name),
      size: size(a.size, language),
      sha256: a.sha256,
    })),
  };
}

/** Every name a template may use, at any depth (the static check of `validate`). */
export const MERGE_FIELD_NAMES: ReadonlySet<string> = new Set([
  'this',
  ...Object.keys(mergeContext(sampleContextInput()) as unknown as Record<string, unknown>),
  ...[
    'id',
    'tag',
    'name',
    'description',
    'due',
    'dueLocal',
    'dueUtc',
    'questions',
    'round',
    'phase',
    'closure',
    'number',
    'text',
    'to',
    'subject',
    'size',
    'sha256',
    'quoted',
  ],
]);

/** A message with every optional field set: what `validate` renders each template against. */
export function sampleContextInput(over: Partial<ContextInput> = {}): ContextInput {
  const dueAt = '2027-06-08T00:00:00.000Z';
  return {
    mail: {
      key: 'sample',
      kind: 'request',
      to: { address: 'contact@counterparty.example', name: 'Sam Sample', zone: 'Europe/Paris' },
      itemIds: ['first', 'second'],
      at: '2027-05-10T08:00:00.000Z',
      audience: 'counterparty',
      expectsReply: true,
      context: {
        index: 1,
        total: 3,
        note: 'A note from the spec.',
        reason: 'A reason given by an operator.',
        copiedBecause: 'the contact is out of office',
        round: 2,
        change: 'changed',
        number: 1,
        receivedAt: '2027-05-20T09:00:00.000Z',
        subject: 'Re: the request',
        label: 'final notice',
        from: 'contact@counterparty.example',
        requestedDeadline: '2027-06-21T22:00:00.000Z',
        requestId: 'x1',
        failedRecipient: 'contact@counterparty.example',
        returnDate: '2027-06-14',
        by: 'dana@requester.example',
        outcome: 'completed',
        report: '/data/reports/sample.md',
        gate: 'g1',
        role: 'counsel',
        expiresAt: '2027-06-09T00:00:00.000Z',
        onTimeout: 'hold',
        scope: 'demand',
      },
    } as PendingMail,
    demand: {
      id: 'sample-demand',
      title: 'Sample audit',
      basis: 'the agreement, section 9',
      requesterOrg: 'Requester, Inc.',
      counterpartyOrg: 'Counterparty, SA',
      from: { name: 'Requester Legal', address: 'legal@requester.example' },
    },
    items: ['first', 'second'].map((id) => ({
      id,
      name: `The ${id} item`,
      description: 'What the item is.',
      questions: ['What happened?', 'When?'],
      dueAt,
      round: 1,
      phase: 'waiting',
    })),
    language: 'en',
    replyAddress: 'reply+token@reply.example',
    previews: [{ to: 'contact@counterparty.example', subject: 'A held message', text: 'Its text.\n' }],
    attachments: [{ name: 'notice.pdf', size: 20480, sha256: 'a'.repeat(64) }],
    ...over,
  };
}
