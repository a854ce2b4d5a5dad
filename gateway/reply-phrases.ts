/**
 * The words that tell replies apart, in English and French: an automatic reply's subject, a request for
 * more time, the cue before a date asked for or a return date, and the signs that a reply answers the
 * questions. Read by classify.ts on the new text of a reply (quoted text removed), never on the quote.
 */
import { findDates, findDuration, type DateReading, type FoundDate } from './reply-dates';

/** Subjects of out-of-office replies: Outlook/Exchange in both languages, Gmail's usual ones, and a few others. */
export const OOO_SUBJECT =
  /\b(out of (the )?office|automatic reply|auto(matic)?[- ]?reply|autoreply|away from (the )?office|on vacation|on holiday|on leave|abwesenheit|r[ée]ponse automatique|absence du bureau|absente? du bureau|message d'absence|fuera de la oficina)\b|^\s*(absente?|en cong[ée]s?)(?![\wà-ÿ])/i;

/** What an out-of-office notice says, to believe Exchange's X-Auto-Response-Suppress (it also rides on ordinary mail). */
export const OOO_TEXT =
  /\b(out of (the )?office|away from|on (annual )?leave|limited access to (my )?e-?mail|absente?|de retour|hors du bureau)\b|\ben cong[ée]s?(?![\wà-ÿ])/i;

/** Phrases that ask for more time on their own, whatever else the sentence says. */
const ASKS_FOR_TIME = [
  /\b(?:an?|short|brief|small|slight|deadline|further|another)\s+extension\b/i,
  /\bextension\s+(?:of|until|to)\s+(?:the\s+)?(?:deadline|due date|\d)/i,
  /\b(?:more|additional|extra|further)\s+time\b/i,
  /\b(?:extend|push back|postpone|move)\s+(?:the|our|this)\s+(?:deadline|due date)\b/i,
  /\b(?:won't|will not|cannot|can't|unable to|not be able to)(?:\s+be able to)?\s+(?:meet|make)\s+(?:the|your|this)\s+deadline\b/i,
  /\b(?:push|move)\s+(?:it|this|the deadline|the due date)\s+back\b/i,
  /\bdélai\s+(?:supplémentaire|additionnel|de grâce)/i,
  /\b(?:accorder|demander|solliciter|obtenir|octroyer)\s+un\s+(?:court\s+|petit\s+|léger\s+|nouveau\s+)?délai\b/i,
  /\bprolong(?:ation|er)\s+(?:du|le|de l'|l')\s*(?:délai|échéance|date)/i,
  /\b(?:report(?:er)?|repousser|décaler)\s+(?:de\s+)?(?:l'|la\s+|le\s+)(?:échéance|date|délai)/i,
  /\b(?:plus|davantage)\s+de\s+temps\b/i,
  /\b(?:pourrons|pourrions|serons|serions)\s+pas\s+(?:en mesure de\s+)?(?:respecter|tenir)\s+(?:l'échéance|le délai|la date)/i,
];

/** A sentence that asks: with a duration or an "until <date>", it is a request for more time. */
const REQUEST_VERB =
  /\b(?:could|can|may|might|would|need|needs|require|ask|asking|request|requesting|grant|allow|give|appreciate|possible|pourri|pourr|besoin|accord|demand|souhait|sollicit|merci de|serait-il|possible|nécessit|faudr|auri)/i;
// No \b after "à": JavaScript's \b knows no accented letter.
// Only "until" and its French forms: "by 15 June" and "avant le 15 juin" promise, within the deadline, as often as they ask.
const UNTIL = /\b(?:until|till)\b|\b(?:jusqu'|d'ici )(?:au|à|le)(?=\s)/i;

function sentences(text: string): string[] {
  return text.split(/(?<=[?!])\s+|\.\s+|\n+/).filter((s) => s.trim());
}

/** True when the text asks for more time: an explicit phrase, or a request for a duration or until a date. */
export function asksForTime(text: string, r: DateReading): boolean {
  return sentences(text).some(
    (s) =>
      ASKS_FOR_TIME.some((re) => re.test(s)) ||
      (REQUEST_VERB.test(s) && (findDuration(s) !== undefined || (UNTIL.test(s) && findDates(s, r).length > 0))),
  );
}

const WEEKDAY =
  '(?:\\s+(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|le))?';
/** What comes just before a date asked for ("until", "jusqu'au", "d'ici le"), a weekday allowed between. */
const DATE_CUE = new RegExp(
  `\\b(?:until|till|through|by|to|jusqu'(?:au|à)|d'ici (?:le|au|à)|au|pour le|avant le)${WEEKDAY}\\s*$`,
  'i',
);
/** What comes just before a return date ("back on", "de retour le", "à partir du": no \\b before "à"). */
const RETURN_CUE = new RegExp(
  `\\b(?:until|till|through|back(?: in the office)? on|back|return(?:ing|s)? on|jusqu'(?:au|à)|de retour(?: au bureau)?(?: le| à partir du)?|retour (?:prévu )?le|dès le|au)${WEEKDAY}\\s*$|(?:^|\\s)à partir du${WEEKDAY}\\s*$`,
  'i',
);
/** What comes just before a day the writer left ("since", "depuis le", "du"). */
const LEFT_CUE = new RegExp(`\\b(?:since|from|depuis(?: le)?|du|à compter du|starting)${WEEKDAY}\\s*$`, 'i');

/** The date after a cue ("until", "jusqu'au", "de retour le"), else the last date (a return), else none. */
export function cuedDate(text: string, r: DateReading, kind: 'requested' | 'return'): FoundDate | undefined {
  const dates = findDates(text, r);
  const cue = kind === 'requested' ? DATE_CUE : RETURN_CUE;
  const cued = dates.find((d) => cue.test(text.slice(Math.max(0, d.index - 40), d.index)));
  if (cued) return cued;
  if (kind === 'requested') return dates[0];
  // A day someone left ("since 1 June", "depuis le 1er juin") is no return date, however the year is inferred.
  return dates.filter((d) => !LEFT_CUE.test(text.slice(Math.max(0, d.index - 40), d.index))).at(-1);
}

/** New text past this length is an answer, whatever it says about time. */
export const ANSWER_CHARS = 1500;
const NUMBERED_LINE = /^\s*(?:q(?:uestion)?\s*)?\d{1,2}\s*[.):-]\s+\S/gim;
const NAMES_A_QUESTION =
  /\b(?:answer(?:s)? to (?:your )?question|regarding question|re question|réponses? (?:à|aux) (?:la |vos )?questions?|concernant la question|pour la question|for question)\s*(?:n[°o]\s*)?\d/i;

/** Why the new text is an answer to the questions (numbered answers, a named question, length), or undefined. */
export function answersQuestions(text: string): string | undefined {
  if (text.length > ANSWER_CHARS) return `over ${ANSWER_CHARS} characters`;
  if ((text.match(NUMBERED_LINE)?.length ?? 0) >= 2) return 'numbered answers';
  if (NAMES_A_QUESTION.test(text)) return 'it answers a numbered question';
  return undefined;
}
