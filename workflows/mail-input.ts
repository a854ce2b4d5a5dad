/**
 * What the sendEmail activity renders a queued message from: the message, the demand's context and its
 * items as they stand when it is sent. The workflow fixes it when it schedules the send; `auditflow plan
 * --show` builds it the same way from its dry run, so a preview is the email that will go out.
 */
import { attachmentsFor } from '../domain/attachments';
import type { SendEmailInput } from '../domain/contracts';
import type { DemandState, PendingMail } from '../domain/state';

/** The input of one send, from the state at the moment it is sent. */
export function mailInput(state: DemandState, mail: PendingMail): SendEmailInput {
  const spec = state.spec;
  return {
    mail,
    demand: {
      id: state.demandId,
      title: spec.title,
      basis: spec.basis,
      requesterOrg: spec.requester.organisation,
      counterpartyOrg: spec.counterparty.organisation,
      from: spec.requester.from,
    },
    items: state.items
      .filter((i) => mail.itemIds.includes(i.id))
      .map((i) => {
        const item = spec.items.find((s) => s.id === i.id);
        return {
          id: i.id,
          name: i.name,
          questions: i.rounds[i.round]?.questions ?? [],
          dueAt: i.dueAt,
          round: i.round,
          phase: i.phase,
          ...(i.closure ? { closure: i.closure } : {}),
          ...(item?.description ? { description: item.description } : {}),
        };
      }),
    ...(mail.kind !== 'request' && state.threadRoots[mail.to.address]
      ? { inReplyTo: state.threadRoots[mail.to.address] }
      : {}),
    ...(spec.inbound.replyAddressDays
      ? { replyExpiresDay: Math.floor(Date.parse(mail.at) / 86_400_000) + spec.inbound.replyAddressDays }
      : {}),
    ...previewsFor(state, mail),
    ...withAttachments(state, mail),
    ...languageOf(spec, mail),
    ...(spec.templateFiles ? { templates: spec.templateFiles } : {}),
  };
}

/** The request and the final notice carry the demand's files, as its spec's `attachTo` says (absent when none). */
function withAttachments(state: DemandState, mail: PendingMail): Pick<SendEmailInput, 'attachments'> {
  const refs = attachmentsFor(state.attachments, mail.kind);
  return refs.length ? { attachments: refs } : {};
}

/** The recipient's language: their own, else their organisation's; English when neither says. */
function languageOf(spec: DemandState['spec'], mail: PendingMail): Pick<SendEmailInput, 'language'> {
  const internal = mail.audience === 'internal';
  const people = internal ? spec.requester.people : spec.counterparty.contacts;
  const own = people.find((p) => p.address === mail.to.address)?.language;
  const language = own ?? (internal ? spec.requester.language : spec.counterparty.language);
  return language && language !== 'en' ? { language } : {};
}

/** A sign-off request shows the approver the messages its gate keeps, as they would go out. */
function previewsFor(state: DemandState, mail: PendingMail): Pick<SendEmailInput, 'previews'> {
  if (mail.context?.event !== 'sign-off') return {};
  const gate = state.gates?.find((g) => g.id === mail.context?.gate);
  return gate ? { previews: gate.mails.map((m) => mailInput(state, m)) } : {};
}
