/** The demo's counterparty: replies sent to the reply address of the message they answer, through the real gateway. */
import { simpleParser } from 'mailparser';
import nodemailer from 'nodemailer';
import type Mail from 'nodemailer/lib/mailer';
import type { DemandSpec } from '../../domain/demand';
import type { MessageRecord } from '../../domain/state';
import type { AuditflowConfig } from '../../platform/config';
import { createEvidenceStore } from '../../platform/evidence';
import { openStorage } from '../../platform/storage-open';

/** The counterparty's mail, sent to the reply address of the message it answers, through the gateway. */
export class Counterparty {
  private readonly transport;
  private readonly evidence;

  constructor(
    private readonly config: AuditflowConfig,
    private readonly spec: DemandSpec,
    private readonly out: (l: string) => void,
  ) {
    const host = config.gateway.host === '0.0.0.0' ? '127.0.0.1' : config.gateway.host;
    this.transport = nodemailer.createTransport({ host, port: config.gateway.port, secure: false, ignoreTLS: true });
    this.evidence = createEvidenceStore(openStorage(config));
  }

  /** The message's Reply-To, Message-ID and subject, read back from the evidence store. */
  private async thread(m: MessageRecord): Promise<{ replyTo: string; messageId: string; subject: string; to: string }> {
    const parsed = await simpleParser(await this.evidence.get(m.raw!.sha256));
    const replyTo = parsed.replyTo?.value[0]?.address;
    if (!replyTo || !parsed.messageId) throw new Error(`the ${m.kind} sent at ${m.at} has no Reply-To or Message-ID`);
    return { replyTo, messageId: parsed.messageId, subject: parsed.subject ?? '', to: m.to[0]! };
  }

  private name(address: string): string {
    return this.spec.counterparty.contacts.find((c) => c.address === address)?.name ?? address;
  }

  private async send(
    m: MessageRecord,
    itemId: string,
    text: string,
    extra: Mail.Options & { subjectPrefix?: string },
    what: string,
  ): Promise<void> {
    const { subjectPrefix = 'Re: ', ...mail } = extra;
    const t = await this.thread(m);
    const from = { name: this.name(t.to), address: t.to };
    this.out(`        counterparty: ${from.name} ${what} on ${itemId}`);
    await this.transport.sendMail({
      from,
      to: t.replyTo,
      // Only this item's tag: the original subject may tag every item the message covered.
      subject: `${subjectPrefix}${t.subject.replace(/^re:\s*/i, '').replace(/\s*\[[a-z0-9-]+\]/g, '')} [${itemId}]`,
      inReplyTo: t.messageId,
      references: [t.messageId],
      text: `${text}\n\n${from.name}\n${this.spec.counterparty.organisation}\n`,
      envelope: { from: from.address, to: [t.replyTo] },
      ...mail,
    });
  }

  answer(m: MessageRecord, itemId: string, attachment: boolean): Promise<void> {
    const item = this.spec.items.find((i) => i.id === itemId)!;
    return this.send(
      m,
      itemId,
      `Our answer for ${item.name}: the application requested the permissions listed in the attached inventory; data was processed in our EU data centre and deleted in May 2023. No undeclared use cases.`,
      attachment
        ? {
            attachments: [
              {
                filename: `${itemId}-data-inventory.csv`,
                content: `field,purpose,retention\nuser_id,login,deleted 2023-05\nfriends_list,${itemId} feature,deleted 2023-05\n`,
                contentType: 'text/csv',
              },
            ],
          }
        : {},
      attachment ? 'answers, with an attachment,' : 'answers',
    );
  }

  outOfOffice(m: MessageRecord, itemId: string): Promise<void> {
    const back = new Date(Date.now() + 3 * 86_400_000).toISOString().slice(0, 10);
    return this.send(
      m,
      itemId,
      `I am out of the office until ${back} with limited access to email.`,
      { subjectPrefix: 'Automatic reply: ', headers: { 'Auto-Submitted': 'auto-replied', 'X-Autoreply': 'yes' } },
      'sends an out-of-office',
    );
  }

  askExtension(m: MessageRecord, itemId: string): Promise<void> {
    return this.send(
      m,
      itemId,
      'We need more time for this one: the advertising partners have not yet returned their data. Could we have an extension?',
      {},
      'asks for an extension',
    );
  }
}
