/**
 * Dates and durations as counterparties write them in English and French replies: "21 June", "21 juin",
 * "June 21st", "lundi 21 juin 2027", "21/06/2027", "21.06.2027", "le 21/06"; "two more weeks", "another 10
 * days", "15 jours de plus", "deux semaines supplémentaires", "10 jours ouvrés". Pure: no I/O, no clock.
 */
import { localDate, MONTH_NAMES, toWall } from '../domain/time';

/** The languages replies are read in. */
export type ReplyLanguage = 'en' | 'fr';

/** How to read a date: the moment the message arrived, the writer's zone and language. */
export interface DateReading {
  now: Date;
  /** The writer's IANA zone (the contact's, else the counterparty's); UTC when unknown. */
  zone?: string;
  language?: ReplyLanguage;
}

/** A date found in text: YYYY-MM-DD in the writer's calendar, as written, and where. */
export interface FoundDate {
  iso: string;
  written: string;
  index: number;
}

/** A length of time asked for, to be added to the item's current deadline. */
export interface RequestedDuration {
  amount: number;
  unit: 'day' | 'business-day' | 'week' | 'month';
  written: string;
}

const FRENCH_MONTHS: Record<string, number> = {
  janvier: 1, janv: 1, février: 2, fevrier: 2, févr: 2, fevr: 2, mars: 3, avril: 4, avr: 4, mai: 5, juin: 6,
  juillet: 7, juil: 7, août: 8, aout: 8, septembre: 9, sept: 9, octobre: 10, oct: 10, novembre: 11, nov: 11,
  décembre: 12, decembre: 12, déc: 12, dec: 12,
}; // prettier-ignore
const MONTHS = new Map<string, number>([
  ...MONTH_NAMES.map((m, i) => [m, i + 1] as const),
  ...MONTH_NAMES.map((m, i) => [m.slice(0, 3), i + 1] as const),
  ['sept', 9],
  ...Object.entries(FRENCH_MONTHS),
]);
// Longest first, so "juillet" is not read as "juil" and "june" not as "jun".
const MONTH_ALT = [...MONTHS.keys()].sort((a, b) => b.length - a.length).join('|');
const NOT_LETTER = '(?![a-zà-ÿ])';
const DAY_MONTH = new RegExp(
  `\\b(\\d{1,2})(?:st|nd|rd|th|er)?(?:\\s+of)?\\s+(${MONTH_ALT})\\.?${NOT_LETTER}(?:,?\\s+(\\d{4}))?`,
  'gi',
);
const MONTH_DAY = new RegExp(`\\b(${MONTH_ALT})\\.?\\s+(\\d{1,2})(?:st|nd|rd|th)?(?!\\d)(?:,?\\s+(\\d{4}))?`, 'gi');
// Day and month with slashes (year optional: "le 21/06"), or with dots and a year (a bare "3.1" is a section).
const NUMERIC = /(?<![\d/.])(\d{1,2})(?:\/(\d{1,2})(?:\/(\d{4}|\d{2}))?|\.(\d{1,2})\.(\d{4}|\d{2}))(?![\d/]|\.\d)/g;
const ISO = /\b(20\d\d)-(\d\d)-(\d\d)\b/g;

const FRENCH_WORDS =
  /\b(je|nous|vous|les|des|du|est|pour|avec|merci|bonjour|cordialement|jusqu|délai|semaines?|jours?|réponse|absent|serai)\b/gi;
const ENGLISH_WORDS = /\b(the|we|you|is|for|with|thanks|thank|regards|until|weeks?|days?|our|please|will|be)\b/gi;

/** The reply's language by counting common words: French when French words outnumber English ones. */
export function replyLanguage(text: string): ReplyLanguage {
  const sample = text.slice(0, 4000);
  const fr = sample.match(FRENCH_WORDS)?.length ?? 0;
  const en = sample.match(ENGLISH_WORDS)?.length ?? 0;
  return fr > en ? 'fr' : 'en';
}

function validDay(y: number, m: number, d: number): boolean {
  return m >= 1 && m <= 12 && d >= 1 && d <= new Date(Date.UTC(y, m, 0)).getUTCDate();
}

const pad = (n: number) => String(n).padStart(2, '0');

/** YYYY-MM-DD; without a year, the next occurrence on or after the writer's today. */
function dated(day: number, month: number, year: string | undefined, today: string): string | undefined {
  if (year !== undefined) {
    const y = year.length === 2 ? 2000 + Number(year) : Number(year);
    return validDay(y, month, day) ? `${y}-${pad(month)}-${pad(day)}` : undefined;
  }
  const thisYear = Number(today.slice(0, 4));
  for (const y of [thisYear, thisYear + 1]) {
    const iso = `${y}-${pad(month)}-${pad(day)}`;
    if (validDay(y, month, day) && iso >= today) return iso;
  }
  return undefined;
}

/**
 * Every date in the text, in order. Numbers with slashes or dots are read day first (21/06/2027), except
 * English from a writer in the Americas (America/*), read month first (06/21/2027), as US writers do;
 * a value that only one order makes valid (21/06, 06/21) is read that way whoever wrote it.
 */
export function findDates(text: string, r: DateReading): FoundDate[] {
  const today = localDate(toWall(r.now.getTime(), r.zone ?? 'UTC'));
  const monthFirst = (r.language ?? replyLanguage(text)) === 'en' && (r.zone ?? '').startsWith('America/');
  const found: FoundDate[] = [];
  const add = (m: RegExpExecArray, iso: string | undefined) => {
    if (iso && !found.some((f) => f.index <= m.index && m.index < f.index + f.written.length))
      found.push({ iso, written: m[0].trim(), index: m.index });
  };
  for (const m of text.matchAll(ISO)) add(m, dated(Number(m[3]), Number(m[2]), m[1], today));
  for (const m of text.matchAll(DAY_MONTH)) add(m, dated(Number(m[1]), MONTHS.get(m[2]!.toLowerCase())!, m[3], today));
  for (const m of text.matchAll(MONTH_DAY)) add(m, dated(Number(m[2]), MONTHS.get(m[1]!.toLowerCase())!, m[3], today));
  for (const m of text.matchAll(NUMERIC)) {
    const [a, b] = [Number(m[1]), Number(m[2] ?? m[4])];
    const year = m[3] ?? m[5];
    const [day, month] = (monthFirst && a <= 12) || b > 12 ? [b, a] : [a, b];
    add(m, dated(day, month, year, today));
  }
  return found.sort((x, y) => x.index - y.index);
}

/** The first date in the text (see findDates for how it is read). */
export function findDate(text: string, r: DateReading): FoundDate | undefined {
  return findDates(text, r)[0];
}

const NUMBER_WORDS: Record<string, number> = {
  a: 1, an: 1, one: 1, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9, ten: 10,
  eleven: 11, twelve: 12, fifteen: 15, twenty: 20, thirty: 30, 'a couple of': 2, 'a couple': 2, un: 1, une: 1, deux: 2,
  trois: 3, quatre: 4, cinq: 5, sept: 7, huit: 8, neuf: 9, dix: 10, onze: 11, douze: 12, quinze: 15, vingt: 20,
  trente: 30,
}; // prettier-ignore
const NUM = `(\\d{1,3}|${Object.keys(NUMBER_WORDS)
  .sort((a, b) => b.length - a.length)
  .join('|')})`;
const EN_UNIT = '(business days?|working days?|days?|weeks?|months?)';
const FR_UNIT = '(jours? ouvrés|jours? ouvrables|jours?|semaines?|mois)';
const DURATIONS = [
  // "two more weeks", "an extra week", "10 additional business days"
  new RegExp(`\\b${NUM}\\s+(?:more|additional|extra|further)\\s+${EN_UNIT}\\b`, 'i'),
  // "another 10 days", "an additional two weeks", "a further week"
  new RegExp(`\\b(?:another|an additional|an extra|a further)\\s+(?:${NUM}\\s+)?${EN_UNIT}\\b`, 'i'),
  // "15 jours de plus", "deux semaines supplémentaires", "10 jours ouvrés supplémentaires"
  new RegExp(`(?<![\\w-])${NUM}\\s+${FR_UNIT}\\s+(?:de plus|en plus|supplémentaires?|additionnel(?:le)?s?)`, 'i'),
  // "un délai supplémentaire de deux semaines", "prolonger de 10 jours ouvrés", "an extension of 10 days"
  new RegExp(
    `\\b(?:délai|prolongation|prolonger|report|reporter|repousser|extension|extend|postpone)[^.?!\\n]{0,40}?\\b(?:de\\s+|of\\s+|by\\s+|d')${NUM}\\s+(${EN_UNIT.slice(1, -1)}|${FR_UNIT.slice(1, -1)})`,
    'i',
  ),
  // "encore deux semaines", "10 business days", "10 jours ouvrés"
  new RegExp(`\\bencore\\s+${NUM}\\s+${FR_UNIT}`, 'i'),
  new RegExp(`\\b${NUM}\\s+(business days?|working days?|jours? ouvrés|jours? ouvrables)`, 'i'),
];

function unitOf(word: string): RequestedDuration['unit'] {
  const w = word.toLowerCase();
  if (/business|working|ouvr/.test(w)) return 'business-day';
  if (/^(week|semaine)/.test(w)) return 'week';
  if (/^(month|mois)/.test(w)) return 'month';
  return 'day';
}

/** The first length of time asked for ("two more weeks", "15 jours de plus"), if any. */
export function findDuration(text: string): RequestedDuration | undefined {
  const hits = DURATIONS.flatMap((re) => {
    const m = re.exec(text);
    return m ? [m] : [];
  }).sort((x, y) => x.index - y.index);
  const m = hits[0];
  if (!m) return undefined;
  const [count, unit] = m[2] === undefined ? [undefined, m[1]!] : [m[1], m[2]];
  const amount = count === undefined ? 1 : /^\d/.test(count) ? Number(count) : NUMBER_WORDS[count.toLowerCase()];
  if (!amount) return undefined;
  return { amount, unit: unitOf(unit), written: m[0].trim() };
}
