/**
 * Renders every outgoing message as a subject, a text part and an HTML part: from its template file in
 * the recipient's language (engine.ts), or, for the owners' daily digest, from code. Deterministic: the
 * same input gives the same bytes, so a retried send produces an identical copy.
 */
import type { PendingMail } from '../../domain/state';
import type { MailDemandContext, MailItemContext } from '../../domain/contracts';
import type { Language } from '../../domain/time';
import { escapeHtml, oneLine } from '../../platform/text';
import type { Digest } from '../../domain/digest';
import { digestText } from './digest';
import { mergeContext, type AttachmentFacts } from './context';
import { renderTemplate, TEMPLATE_NAMES, type RenderedMail, type TemplateFiles, type TemplateName } from './engine';

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
  /** The recipient's language (default English). */
  language?: Language;
  /** The demand's own template files, over the shipped ones. */
  templates?: TemplateFiles;
  /** The files attached to the message, listed in its text. */
  attachments?: AttachmentFacts[];
}

export type { RenderedMail };

/** The digest's layout: a paragraph is a string, a list an array of lines. */
type Block = string | string[];

/** The template of a message: its kind, and for internal notices its event. */
export function templateFor(mail: PendingMail): TemplateName {
  if (mail.kind !== 'internal') return mail.kind;
  const name = `notice-${String(mail.context?.event ?? '')}`;
  return (TEMPLATE_NAMES as readonly string[]).includes(name) ? (name as TemplateName) : 'notice';
}

function toText(blocks: Block[], footer: string): string {
  const text = (b: Block) => (typeof b === 'string' ? b : b.map((l) => `  ${l}`).join('\n'));
  return `${blocks.map(text).join('\n\n')}\n\n-- \n${footer}\n`;
}

function toHtml(blocks: Block[], footer: string, subject: string): string {
  const inner = blocks
    .map((b) =>
      typeof b === 'string'
        ? `<p>${escapeHtml(b)}</p>`
        : `<ul>${b.map((l) => `<li>${escapeHtml(l)}</li>`).join('')}</ul>`,
    )
    .join('\n');
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(subject)}</title></head><body style="font-family:Arial,Helvetica,sans-serif;font-size:14px;line-height:1.45;color:#1a1a1a;max-width:720px">\n${inner}\n<hr><p style="color:#666;font-size:12px">${escapeHtml(footer)}</p></body></html>\n`;
}

/** Renders one message: the daily digest from code, every other message from its template. */
export function renderMail(input: RenderInput): RenderedMail {
  if (input.digest) {
    const { subject, blocks } = digestText(input.digest);
    const footer = `auditflow daily digest for ${input.digest.owner.address}`;
    const cleanSubject = oneLine(subject).slice(0, 250);
    return { subject: cleanSubject, text: toText(blocks, footer), html: toHtml(blocks, footer, cleanSubject) };
  }
  const context = mergeContext({
    mail: input.mail,
    demand: input.demand,
    items: input.items,
    language: input.language ?? 'en',
    ...(input.replyAddress ? { replyAddress: input.replyAddress } : {}),
    ...(input.previews ? { previews: input.previews } : {}),
    ...(input.attachments ? { attachments: input.attachments } : {}),
  });
  return renderTemplate(templateFor(input.mail), context, input.templates);
}
