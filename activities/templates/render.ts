/**
 * Renders every outgoing message kind as a subject, a text part and an HTML part. Deterministic: the
 * same input gives the same bytes, so a retried send produces an identical copy.
 */
import type { MailKind, PendingMail } from '../../domain/state';
import type { MailDemandContext, MailItemContext } from '../../domain/contracts';
import { formatLocal, formatUtc } from '../../domain/time';
import { escapeHtml, oneLine } from '../../platform/text';
import type { Digest } from '../../domain/digest';
import { digestText } from './digest';

export interface RenderInput {
  mail: PendingMail;
  demand: MailDemandContext;
  items: MailItemContext[];
  /** Set when replies go to a signed address. */
  replyAddress?: string;
  /** A sign-off request: the messages it holds, already rendered (recipient, subject, text). */
  previews?: { to: string; subject: string; text: string }[];
  /** An owner's daily digest (kind `internal`, event `digest`). */
  digest?: Digest;
}

export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

/** A paragraph is a string; a list is an array of lines; `pre` is text shown as it is (a quoted message). */
type Block = string | string[] | { pre: string };

/** One line without a trailing full stop, so that a sentence can end it once. */
function clause(s: string): string {
  return oneLine(s).replace(/[.\s]+$/, '');
}

function tags(items: MailItemContext[]): string {
  return items.length > 0 && items.length <= 3 ? ` ${items.map((i) => `[${i.id}]`).join(' ')}` : '';
}

function when(iso: string, zone: string): string {
  const ms = Date.parse(iso);
  return `${formatLocal(ms, zone)} (${formatUtc(ms)})`;
}

function itemLines(items: MailItemContext[], zone: string, withQuestions: boolean): Block[] {
  return items.flatMap((item) => {
    const head = `[${item.id}] ${item.name} - due ${when(item.dueAt, zone)}`;
    if (!withQuestions) return [[head]];
    const blocks: Block[] = [head];
    if (item.description) blocks.push(item.description);
    blocks.push(item.questions.map((q, i) => `${i + 1}. ${q}`));
    return blocks;
  });
}

function replyHint(input: RenderInput): Block[] {
  if (!input.mail.expectsReply || input.mail.audience !== 'counterparty') return [];
  const multi = input.items.length > 1;
  return [
    multi
      ? 'Please reply to this message. Answer each item in its own reply with its tag (for example ' +
        `[${input.items[0]!.id}]) in the subject, or answer several in one reply with each answer headed by its tag. Attach documents to the reply.`
      : 'Please reply to this message with your answer; attach documents to the reply.',
    'If you need more time, reply saying so and proposing a date: the request will be put to us for a decision.',
  ];
}

function body(kind: MailKind, input: RenderInput): { subject: string; blocks: Block[] } {
  const { mail, demand, items } = input;
  const zone = mail.to.zone;
  const ctx = mail.context ?? {};
  const greeting = `Dear ${mail.to.name ?? mail.to.address},`;
  const title = oneLine(demand.title);
  const t = tags(items);
  const earliest = items.map((i) => i.dueAt).sort()[0];
  switch (kind) {
    case 'request':
      return {
        subject: `Audit demand: ${title}${t}`,
        blocks: [
          greeting,
          `${clause(demand.requesterOrg)} requires ${clause(demand.counterpartyOrg)} to account for the following ${items.length === 1 ? 'item' : `${items.length} items`} under ${clause(demand.basis)}.`,
          ...(earliest
            ? [
                `Your answers are due by ${when(earliest, zone)}${new Set(items.map((i) => i.dueAt)).size > 1 ? ' at the earliest; each item shows its own deadline' : ''}.`,
              ]
            : []),
          ...itemLines(items, zone, true),
          ...replyHint(input),
        ],
      };
    case 'reminder':
      return {
        subject: `Reminder ${ctx.index ?? ''}: ${title}: ${items.length === 1 ? '1 item' : `${items.length} items`} due ${earliest ? formatLocal(Date.parse(earliest), zone) : ''}${t}`,
        blocks: [
          greeting,
          ...(ctx.copiedBecause ? [`You receive a copy of this reminder because ${String(ctx.copiedBecause)}.`] : []),
          `This is reminder ${ctx.index ?? ''} about the audit demand "${title}". We have not yet received your answer on:`,
          ...itemLines(items, zone, false),
          ...(ctx.note ? [String(ctx.note)] : []),
          ...replyHint(input),
        ],
      };
    case 'overdue':
      return {
        subject: `Overdue: ${title}: ${items.length === 1 ? '1 item' : `${items.length} items`} past the deadline${t}`,
        blocks: [
          greeting,
          ...(ctx.copiedBecause ? [`You receive a copy of this notice because ${String(ctx.copiedBecause)}.`] : []),
          `The deadline has passed and we have not received your answer on:`,
          ...itemLines(items, zone, false),
          'Please answer without delay. Without an answer the matter will be escalated.',
          ...replyHint(input),
        ],
      };
    case 'escalation':
    case 'final-notice':
      return {
        subject: `${kind === 'final-notice' ? 'Final notice' : 'Escalation'}: ${title}${t}`,
        blocks: [
          greeting,
          kind === 'final-notice'
            ? `This is the final notice about the audit demand "${title}" made by ${clause(demand.requesterOrg)} under ${clause(demand.basis)}.`
            : `We are escalating to you the audit demand "${title}" made by ${clause(demand.requesterOrg)} under ${clause(demand.basis)}, because the following items are past their deadline without an answer:`,
          ...itemLines(items, zone, false),
          ...(ctx.note ? [String(ctx.note)] : []),
          ...replyHint(input),
        ],
      };
    case 'follow-up':
      return {
        subject: `${ctx.event === 'reopened' ? 'Reopened' : 'Follow-up questions'}: ${title}${t}`,
        blocks: [
          greeting,
          ctx.event === 'reopened'
            ? `We are reopening the following ${items.length === 1 ? 'item' : 'items'} of the audit demand and ask you to answer again (round ${ctx.round ?? ''}):`
            : `Thank you for your answer. Having reviewed it, we need more information (follow-up round ${ctx.round ?? ''}):`,
          ...(ctx.reason ? [String(ctx.reason)] : []),
          ...itemLines(items, zone, true),
          ...replyHint(input),
        ],
      };
    case 'deadline-update': {
      const event = String(ctx.event ?? 'extension');
      const lead: Record<string, string> = {
        extension: `The deadline for the following items of "${title}" has been extended.`,
        'extension-denied': `Your request for more time on "${title}" has not been granted. The deadlines below stand.`,
        paused: `The clock on "${title}" is stopped until further notice. We will tell you the new deadlines when it restarts.`,
        resumed: `The clock on "${title}" has restarted. The new deadlines are:`,
      };
      return {
        subject: `Deadline update: ${title}${t}`,
        blocks: [
          greeting,
          lead[event] ?? lead.extension!,
          ...(ctx.reason ? [`Reason: ${String(ctx.reason)}`] : []),
          ...(event === 'paused' ? [] : itemLines(items, zone, false)),
          ...replyHint(input),
        ],
      };
    }
    case 'withdrawal':
      if (ctx.scope === 'item')
        return {
          subject: `Item withdrawn: ${title}${t}`,
          blocks: [
            greeting,
            `${demand.requesterOrg} withdraws the following ${items.length === 1 ? 'item' : 'items'} from the audit demand "${title}". No answer is required for ${items.length === 1 ? 'it' : 'them'}; the rest of the demand stands.`,
            ...itemLines(items, zone, false),
            ...(ctx.reason ? [`Reason: ${String(ctx.reason)}`] : []),
          ],
        };
      return {
        subject: `Withdrawn: ${title}`,
        blocks: [
          greeting,
          `${demand.requesterOrg} withdraws the audit demand "${title}". No further answer is required.`,
          ...(ctx.reason ? [`Reason: ${String(ctx.reason)}`] : []),
        ],
      };
    case 'question-update':
      return {
        subject: `Question ${ctx.change === 'added' ? 'added' : 'changed'}: ${title}${t}`,
        blocks: [
          greeting,
          `We have ${ctx.change === 'added' ? 'added question' : 'changed question'} ${ctx.number ?? ''} of the following ${items.length === 1 ? 'item' : 'items'} of the audit demand "${title}". Please answer the questions as they now read; the deadline is unchanged.`,
          ...(ctx.reason ? [`Reason: ${String(ctx.reason)}`] : []),
          ...itemLines(items, zone, true),
          ...replyHint(input),
        ],
      };
    case 'acknowledgement':
      return {
        subject: `Received: ${oneLine(String(ctx.subject ?? title))}`,
        blocks: [
          greeting,
          `We received your message of ${ctx.receivedAt ? when(String(ctx.receivedAt), zone) : 'today'} and recorded it as your answer on:`,
          ...itemLines(items, zone, false),
          'It will now be reviewed. You do not need to do anything else unless we write to you again.',
        ],
      };
    case 'internal':
      return internal(input);
  }
}

function internal(input: RenderInput): { subject: string; blocks: Block[] } {
  const { demand, items, mail } = input;
  const ctx = mail.context ?? {};
  const zone = mail.to.zone;
  const event = String(ctx.event ?? 'notice');
  const title = oneLine(demand.title);
  const list = items.map(
    (i) => `[${i.id}] ${i.name}: ${i.closure ? `closed (${i.closure})` : i.phase}, due ${when(i.dueAt, zone)}`,
  );
  const lines: Record<string, { subject: string; lead: string }> = {
    escalation: {
      subject: `Escalation step ${ctx.index ?? ''}${ctx.label ? ` (${String(ctx.label)})` : ''}: ${title}`,
      lead: `Escalation step ${ctx.index ?? ''} of ${ctx.total ?? ''} has fired for ${demand.counterpartyOrg}. These items are past their deadline without an answer:`,
    },
    referral: {
      subject: `Referred for legal action: ${title}`,
      lead: `The escalation ladder is exhausted: the demand on ${demand.counterpartyOrg} is referred for legal action. Items concerned:`,
    },
    'extension-request': {
      subject: `Extension requested: ${title}`,
      lead: `${String(ctx.from ?? 'The counterparty')} asks for more time${ctx.requestedDeadline ? ` (until ${when(String(ctx.requestedDeadline), zone)})` : ''}. Approve or deny it with: npx auditflow extend ${demand.id} --request ${String(ctx.requestId ?? '')} ... (see --help).`,
    },
    bounce: {
      subject: `Undeliverable: ${title}`,
      lead: `Mail to ${String(ctx.failedRecipient ?? 'a counterparty contact')} bounced. The contact is marked undeliverable and the items move to their next escalation step.`,
    },
    'out-of-office': {
      subject: `Out of office past the deadline: ${title}`,
      lead: `${String(ctx.from ?? 'A contact')} is out of office until ${String(ctx.returnDate ?? '?')}, after the deadline of these items. Consider extending it (npx auditflow extend ${demand.id} ...) or writing to someone else (npx auditflow contact add|replace, item reassign):`,
    },
    withdrawal: {
      subject: `Withdrawn: ${title}`,
      lead: `The demand was withdrawn by ${String(ctx.by ?? '')}: ${String(ctx.reason ?? '')}`,
    },
    final: {
      subject: `Demand ended (${String(ctx.outcome ?? '')}): ${title}`,
      lead: `The demand on ${demand.counterpartyOrg} has ended: ${String(ctx.outcome ?? '')}. The final report is at ${String(ctx.report ?? '(not written)')}.`,
    },
  };
  if (event === 'sign-off' || event === 'sign-off-timeout') return signOff(input, event, list);
  if (event === 'digest' && input.digest) return digestText(input.digest);
  const chosen = lines[event] ?? { subject: `Notice: ${title}`, lead: 'Items concerned:' };
  return {
    subject: `[auditflow] ${chosen.subject}`,
    blocks: [chosen.lead, list, `Demand: ${demand.id}. Details: npx auditflow show ${demand.id}`],
  };
}

/** The approver's request for sign-off (with the held messages, exactly), or the notice that its time ran out. */
function signOff(input: RenderInput, event: string, list: string[]): { subject: string; blocks: Block[] } {
  const { demand, mail } = input;
  const ctx = mail.context ?? {};
  const title = oneLine(demand.title);
  const label = oneLine(String(ctx.label ?? 'a step'));
  const gate = String(ctx.gate ?? '');
  const expires = when(String(ctx.expiresAt ?? ''), mail.to.zone);
  if (event === 'sign-off-timeout') {
    const sent = ctx.onTimeout === 'send';
    return {
      subject: `[auditflow] No sign-off, ${sent ? 'sent as it is' : 'held'}: ${label}: ${title}`,
      blocks: [
        `Nobody signed off ${label} (${gate}) by ${expires}. ${sent ? 'As the spec says, it was sent as it is.' : `As the spec says, it is held: nothing further goes out for these items until someone with the role ${String(ctx.role ?? '')} approves it: npx auditflow approve ${demand.id} ${gate} --by "<name>"`}`,
        list,
        `Demand: ${demand.id}. Details: npx auditflow show ${demand.id}`,
      ],
    };
  }
  const previews = input.previews ?? [];
  const outcome =
    ctx.onTimeout === 'send'
      ? 'it will be sent as it is'
      : 'it will be held, and nothing further goes out for these items until someone approves it';
  return {
    subject: `[auditflow] Sign-off needed: ${label}: ${title}`,
    blocks: [
      `${label[0]!.toUpperCase()}${label.slice(1)} is due for the demand on ${demand.counterpartyOrg} and waits for your sign-off (role ${String(ctx.role ?? '')}). Without a decision by ${expires}, ${outcome}. Later steps for these items wait too.`,
      list,
      [
        `Approve: npx auditflow approve ${demand.id} ${gate} --by "<your name>" [--note "<replaces the step's note>"]`,
        `Hold:    npx auditflow hold ${demand.id} ${gate} --by "<your name>" --reason "<why>"`,
      ],
      `${previews.length === 1 ? 'The message' : `The ${previews.length} messages`} that would go out:`,
      ...previews.flatMap((p, i): Block[] => [
        `${previews.length > 1 ? `${i + 1} of ${previews.length}: ` : ''}to ${p.to}`,
        { pre: `Subject: ${p.subject}\n\n${p.text}` },
      ]),
      `Demand: ${demand.id}. Details: npx auditflow show ${demand.id}`,
    ],
  };
}

function toText(blocks: Block[], footer: string): string {
  const text = (b: Block) =>
    typeof b === 'string'
      ? b
      : Array.isArray(b)
        ? b.map((l) => `  ${l}`).join('\n')
        : b.pre
            .replace(/\n$/, '')
            .split('\n')
            .map((l) => `| ${l}`.trimEnd())
            .join('\n');
  return `${blocks.map(text).join('\n\n')}\n\n-- \n${footer}\n`;
}

function toHtml(blocks: Block[], footer: string, subject: string): string {
  const inner = blocks
    .map((b) =>
      typeof b === 'string'
        ? `<p>${escapeHtml(b)}</p>`
        : Array.isArray(b)
          ? `<ul>${b.map((l) => `<li>${escapeHtml(l)}</li>`).join('')}</ul>`
          : `<pre style="white-space:pre-wrap;border-left:3px solid #999;padding-left:8px">${escapeHtml(b.pre)}</pre>`,
    )
    .join('\n');
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(subject)}</title></head><body style="font-family:Arial,Helvetica,sans-serif;font-size:14px;line-height:1.45;color:#1a1a1a;max-width:720px">\n${inner}\n<hr><p style="color:#666;font-size:12px">${escapeHtml(footer)}</p></body></html>\n`;
}

/** Renders one message. */
export function renderMail(input: RenderInput): RenderedMail {
  const { subject, blocks } = body(input.mail.kind, input);
  const footer = input.digest
    ? `auditflow daily digest for ${input.digest.owner.address}`
    : input.mail.audience === 'internal'
      ? `auditflow notice for ${input.demand.requesterOrg} (demand ${input.demand.id})`
      : `${input.demand.from.name}, ${clause(input.demand.requesterOrg)}. Reference: ${input.demand.id}.${input.replyAddress ? ' Replies to this message are recorded automatically.' : ''}`;
  const cleanSubject = oneLine(subject).slice(0, 250);
  return { subject: cleanSubject, text: toText(blocks, footer), html: toHtml(blocks, footer, cleanSubject) };
}
