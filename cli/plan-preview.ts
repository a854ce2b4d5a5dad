/**
 * `plan --show` and `plan --eml`: each planned email as its recipient will see it. The dry run hands over
 * the state at the moment each message is sent, the workflow's own `mailInput` turns it into the send's
 * input, and the sendEmail activity's own `composeMessage` builds the message: the same code as the real
 * send, so a preview is the email that goes out. Only the Reply-To differs: previews are signed with a key
 * that is not the demand's, so replying to one reaches nobody's demand.
 */
import type { DemandSpec } from '../domain/demand';
import { outgoingMessageId } from '../domain/ids';
import type { MailKind } from '../domain/state';
import { composeMessage, routeFor } from '../activities/email';
import { makeHmac } from '../platform/hash';
import { mailInput } from '../workflows/mail-input';
import type { SendEmailInput } from '../domain/contracts';
import type { AttachmentRef } from '../domain/attachments';
import type { LocalAttachment } from './attachments';
import { planWithMails, type DemandPlan } from './plan';

const PREVIEW_SECRET = 'auditflow plan preview: not a reply key';

/** One planned email, numbered as the plan's table lists them. */
export interface PreviewEmail {
  n: number;
  at: string;
  /** The recipient's time zone: the times in the preview are on their clock. */
  zone: string;
  kind: MailKind;
  to: string;
  subject: string;
  text: string;
  /** The message as it would be sent (the .eml). */
  raw: Buffer;
}

/** The plan and every email it would send, composed. */
export async function previewPlan(
  spec: DemandSpec,
  startAt: number,
  reply: { replyDomain: string; replyLocalPart: string },
  files: readonly LocalAttachment[] = [],
): Promise<{ plan: DemandPlan; emails: PreviewEmail[] }> {
  // The files go with the previews as they will with the real messages, read from the local copies.
  const refs = files.map((f) => f.ref);
  const bytes = new Map(files.map((f) => [f.ref.sha256, f.bytes]));
  const readAttachment = async (ref: AttachmentRef) => bytes.get(ref.sha256);
  const hmac = makeHmac(PREVIEW_SECRET);
  const inputs = new Map<string, SendEmailInput>();
  const { plan, mails } = planWithMails(spec, startAt, (state, mail) => {
    // What the workflow keeps from its start input (the references the CLI stored).
    if (refs.length) state.attachments = refs;
    const input = mailInput(state, mail);
    inputs.set(mail.key, input);
    // As the workflow does once a request is sent: later messages to that address thread under it.
    if (mail.kind === 'request')
      state.threadRoots[mail.to.address] = outgoingMessageId(
        mail.key,
        routeFor(mail, state.demandId, hmac, input.replyExpiresDay),
        reply.replyDomain,
        hmac,
      );
  });
  const emails: PreviewEmail[] = [];
  for (const [i, mail] of mails.entries()) {
    const built = await composeMessage(inputs.get(mail.key)!, { secret: PREVIEW_SECRET, ...reply, readAttachment });
    emails.push({
      n: i + 1,
      at: mail.at,
      zone: mail.to.zone,
      kind: mail.kind,
      to: mail.to.name ? `${mail.to.name} <${mail.to.address}>` : mail.to.address,
      subject: built.subject,
      text: built.text,
      raw: built.raw,
    });
  }
  return { plan, emails };
}
