/** The demo's counterparty: replies sent to the reply address of the message they answer, through the real gateway. */
import { simpleParser } from 'mailparser';
import nodemailer from 'nodemailer';
import type Mail from 'nodemailer/lib/mailer';
import type { DemandSpec } from '../../domain/demand';
import type { Language } from '../../domain/time';
import type { MessageRecord } from '../../domain/state';
import type { AuditflowConfig } from '../../platform/config';
import { createEvidenceStore } from '../../platform/evidence';
import { openStorage } from '../../platform/storage-open';

/** "3 décembre 2026": a return date as a French out-of-office writes it. */
const FRENCH_DATE = new Intl.DateTimeFormat('fr-FR', {
  day: 'numeric',
  month: 'long',
  year: 'numeric',
  timeZone: 'UTC',
});

/** What the counterparty writes, in its language: an answer, an out-of-office, a request for more time. */
const WORDS = {
  en: {
    answer: (item: string) =>
      `Our answer for ${item}: the application requested the permissions listed in the attached inventory; ` +
      'data was processed in our EU data centre and deleted in May 2023. No undeclared use cases.',
    inventory: (id: string) => `${id}-data-inventory.csv`,
    outOfOfficeSubject: 'Automatic reply: ',
    outOfOffice: (back: Date) =>
      `I am out of the office until ${back.toISOString().slice(0, 10)} with limited access to email.`,
    extension:
      'We need more time for this one: the advertising partners have not yet returned their data. ' +
      'Could we have an extension?',
  },
  fr: {
    answer: (item: string) =>
      `Notre réponse pour ${item} : l'application a demandé les autorisations listées dans l'inventaire joint ; ` +
      "les données ont été traitées dans notre centre de données de l'UE et supprimées en mai 2023. " +
      "Aucun cas d'usage non déclaré.",
    inventory: (id: string) => `${id}-inventaire-donnees.csv`,
    outOfOfficeSubject: 'Réponse automatique : ',
    outOfOffice: (back: Date) =>
      `Je suis absent du bureau jusqu'au ${FRENCH_DATE.format(back)}, avec un accès limité à mes e-mails.`,
    extension:
      "Nous avons besoin d'un délai supplémentaire pour ce point : nos partenaires publicitaires ne nous ont " +
      'pas encore transmis leurs données. Pourriez-vous nous accorder deux semaines de plus ?',
  },
} as const;

/** The counterparty's mail, sent to the reply address of the message it answers, through the gateway. */
export class Counterparty {
  private readonly transport;
  private readonly evidence;

  constructor(
    private readonly config: AuditflowConfig,
    private readonly spec: DemandSpec,
    private readonly out: (l: string) => void,
    private readonly language: Language = 'en',
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
      WORDS[this.language].answer(item.name),
      attachment
        ? {
            attachments: [
              {
                filename: WORDS[this.language].inventory(itemId),
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
    const back = new Date(Date.now() + 3 * 86_400_000);
    return this.send(
      m,
      itemId,
      WORDS[this.language].outOfOffice(back),
      {
        subjectPrefix: WORDS[this.language].outOfOfficeSubject,
        headers: { 'Auto-Submitted': 'auto-replied', 'X-Autoreply': 'yes' },
      },
      'sends an out-of-office',
    );
  }

  askExtension(m: MessageRecord, itemId: string): Promise<void> {
    return this.send(m, itemId, WORDS[this.language].extension, {}, 'asks for an extension');
  }
}
