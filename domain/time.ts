/**
 * Pure calendar arithmetic in IANA time zones, built on Intl only, so that workflow code, `plan` and
 * the CLI compute the very same instants. Instants are epoch milliseconds; wall times are local fields.
 */

/** A wall-clock date-time in some zone (month 1-12). */
export interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/** An ISO 8601 duration split into calendar parts (applied on the wall clock) and exact parts. */
export interface Duration {
  years: number;
  months: number;
  weeks: number;
  days: number;
  hours: number;
  minutes: number;
  seconds: number;
}

/** Business days and send hours used wherever an offset is given in business days. */
export interface CalendarRules {
  /** ISO weekday numbers, 1 = Monday ... 7 = Sunday. */
  businessDays: number[];
  /** Local dates YYYY-MM-DD that are not business days. */
  holidays: string[];
  /** Local hours within which mail is sent, "HH:MM" inclusive. */
  sendWindow: { from: string; to: string };
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** True when the runtime knows this IANA zone name. */
export function isValidTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** The wall time of an instant in a zone. */
export function toWall(ms: number, timeZone: string): WallTime {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(ms))) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  }
  return {
    year: parts.year ?? 0,
    month: parts.month ?? 1,
    day: parts.day ?? 1,
    hour: parts.hour ?? 0,
    minute: parts.minute ?? 0,
    second: parts.second ?? 0,
  };
}

function wallAsUtc(w: WallTime): number {
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
}

/** The zone's offset from UTC at an instant, in ms (positive east of Greenwich). */
export function offsetAt(ms: number, timeZone: string): number {
  const flooredToSecond = Math.floor(ms / 1000) * 1000;
  return wallAsUtc(toWall(flooredToSecond, timeZone)) - flooredToSecond;
}

/**
 * The instant of a wall time in a zone. A time that does not exist (spring-forward gap) moves forward
 * by the gap; a time that exists twice (fall-back) takes the earlier instant. Same as java.time and
 * the TC39 Temporal proposal's "compatible" disambiguation.
 */
export function fromWall(w: WallTime, timeZone: string): number {
  const guess = wallAsUtc(w);
  const before = offsetAt(guess - DAY, timeZone);
  const after = offsetAt(guess + DAY, timeZone);
  const valid = [guess - before, guess - after].filter((t) => wallAsUtc(toWall(t, timeZone)) === guess);
  if (valid.length > 0) return Math.min(...valid);
  return guess - before;
}

/** Adds whole days to a local date (month/year roll-over handled by Date.UTC). */
function shiftDate(w: WallTime, days: number): WallTime {
  const d = new Date(Date.UTC(w.year, w.month - 1, w.day + days));
  return { ...w, year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

/** ISO weekday (1 = Monday) of a local date. */
export function isoWeekday(w: WallTime): number {
  const d = new Date(Date.UTC(w.year, w.month - 1, w.day)).getUTCDay();
  return d === 0 ? 7 : d;
}

/** "YYYY-MM-DD" of a wall time. */
export function localDate(w: WallTime): string {
  return `${String(w.year).padStart(4, '0')}-${String(w.month).padStart(2, '0')}-${String(w.day).padStart(2, '0')}`;
}

const DURATION_RE = /^P(?!$)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?!$)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/;

/** Parses an ISO 8601 duration such as P7D, PT48H, P1W2D or PT30M; undefined when malformed. */
export function parseDuration(text: string): Duration | undefined {
  const m = DURATION_RE.exec(text.trim().toUpperCase());
  if (!m) return undefined;
  const n = (i: number) => Number(m[i] ?? 0);
  return { years: n(1), months: n(2), weeks: n(3), days: n(4), hours: n(5), minutes: n(6), seconds: n(7) };
}

/** True when every field of the duration is zero. */
export function isZeroDuration(d: Duration): boolean {
  return Object.values(d).every((v) => v === 0);
}

/**
 * Adds (sign 1) or subtracts (sign -1) a duration: years, months, weeks and days move the wall clock in
 * the zone (so "P1D" across a DST change keeps the local hour), hours, minutes and seconds are exact.
 */
export function addDuration(ms: number, d: Duration, timeZone: string, sign: 1 | -1 = 1): number {
  let t = ms;
  if (d.years || d.months || d.weeks || d.days) {
    const w = toWall(t, timeZone);
    const monthIndex = w.year * 12 + (w.month - 1) + sign * (d.years * 12 + d.months);
    const year = Math.floor(monthIndex / 12);
    const month = (monthIndex % 12) + 1;
    const lastDay = new Date(Date.UTC(year, month, 0)).getUTCDate();
    const moved = shiftDate({ ...w, year, month, day: Math.min(w.day, lastDay) }, sign * (d.weeks * 7 + d.days));
    t = fromWall(moved, timeZone) + (ms % 1000);
  }
  return t + sign * ((d.hours * 60 + d.minutes) * MINUTE + d.seconds * 1000);
}

/** True when a local date is a business day under the calendar. */
export function isBusinessDay(w: WallTime, cal: CalendarRules): boolean {
  return cal.businessDays.includes(isoWeekday(w)) && !cal.holidays.includes(localDate(w));
}

/**
 * Moves n business days (keeping the local time of day), skipping weekends and holidays. Starting on a
 * non-business day, the first step lands on the nearest business day in the direction of travel.
 */
export function addBusinessDays(ms: number, n: number, timeZone: string, cal: CalendarRules, sign: 1 | -1 = 1): number {
  if (cal.businessDays.length === 0) throw new Error('the calendar has no business days');
  let w = toWall(ms, timeZone);
  let left = n;
  while (left > 0) {
    w = shiftDate(w, sign);
    if (isBusinessDay(w, cal)) left -= 1;
  }
  return fromWall(w, timeZone);
}

/** "HH:MM" -> minutes after midnight. */
export function parseClock(hhmm: string): number | undefined {
  const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(hhmm);
  return m ? Number(m[1]) * 60 + Number(m[2]) : undefined;
}

function windowBounds(cal: CalendarRules): [number, number] {
  return [parseClock(cal.sendWindow.from) ?? 8 * 60, parseClock(cal.sendWindow.to) ?? 18 * 60];
}

function atMinute(w: WallTime, minutes: number): WallTime {
  return { ...w, hour: Math.floor(minutes / 60), minute: minutes % 60, second: 0 };
}

/** True when the instant is on a business day within the send window, in the zone. */
export function isInSendWindow(ms: number, timeZone: string, cal: CalendarRules): boolean {
  const w = toWall(ms, timeZone);
  const [from, to] = windowBounds(cal);
  const minute = w.hour * 60 + w.minute + w.second / 60;
  return isBusinessDay(w, cal) && minute >= from && minute <= to;
}

/** The latest instant at or before `ms` that is inside the send window (for reminders: never later). */
export function latestInWindow(ms: number, timeZone: string, cal: CalendarRules): number {
  if (isInSendWindow(ms, timeZone, cal)) return ms;
  const [, to] = windowBounds(cal);
  let w = toWall(ms, timeZone);
  const minute = w.hour * 60 + w.minute;
  if (!(isBusinessDay(w, cal) && minute > to)) {
    do w = shiftDate(w, -1);
    while (!isBusinessDay(w, cal));
  }
  return fromWall(atMinute(w, to), timeZone);
}

/** The earliest instant at or after `ms` that is inside the send window (for notices after a deadline: never earlier). */
export function earliestInWindow(ms: number, timeZone: string, cal: CalendarRules): number {
  if (isInSendWindow(ms, timeZone, cal)) return ms;
  const [from] = windowBounds(cal);
  let w = toWall(ms, timeZone);
  const minute = w.hour * 60 + w.minute;
  if (!(isBusinessDay(w, cal) && minute < from)) {
    do w = shiftDate(w, 1);
    while (!isBusinessDay(w, cal));
  }
  return fromWall(atMinute(w, from), timeZone);
}

/** Local midnight at the start of the instant's day in the zone. */
export function startOfLocalDay(ms: number, timeZone: string): number {
  return fromWall({ ...toWall(ms, timeZone), hour: 0, minute: 0, second: 0 }, timeZone);
}

const LOCAL_RE = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?$/;
const INSTANT_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:\d{2})$/i;

/**
 * Parses a deadline: a local date-time "2027-06-07T17:00" read in `timeZone`, or an ISO instant with
 * Z or an offset. Returns epoch ms, or an error message saying what form is expected.
 */
export function parseDeadline(text: string, timeZone: string): { ms: number } | { error: string } {
  const s = text.trim();
  if (INSTANT_RE.test(s)) {
    const ms = Date.parse(s);
    return Number.isNaN(ms) ? { error: `"${s}" is not a real date-time` } : { ms };
  }
  const m = LOCAL_RE.exec(s);
  if (!m) {
    return {
      error: `"${s}" is not a date-time: write a local time like 2027-06-07T17:00 (read in ${timeZone}) or an instant like 2027-06-08T00:00:00Z`,
    };
  }
  const w: WallTime = { year: +m[1]!, month: +m[2]!, day: +m[3]!, hour: +m[4]!, minute: +m[5]!, second: +(m[6] ?? 0) };
  const check = new Date(Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second));
  if (
    check.getUTCMonth() !== w.month - 1 ||
    check.getUTCDate() !== w.day ||
    w.hour > 23 ||
    w.minute > 59 ||
    w.second > 59
  ) {
    return { error: `"${s}" is not a real date-time` };
  }
  return { ms: fromWall(w, timeZone) };
}

/** An instant (epoch ms) as an ISO 8601 UTC string, the form every instant in state and output takes. */
export function isoInstant(ms: number): string {
  return new Date(ms).toISOString();
}

/** English month names, lower-case, January first (for reading dates in text). */
export const MONTH_NAMES = [
  'january',
  'february',
  'march',
  'april',
  'may',
  'june',
  'july',
  'august',
  'september',
  'october',
  'november',
  'december',
] as const;
/** "Jan" .. "Dec", for showing dates. */
export const MONTH_ABBREVIATIONS = MONTH_NAMES.map((m) => `${m[0]!.toUpperCase()}${m.slice(1, 3)}`);
const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
const zoneNames = new Map<string, Intl.DateTimeFormat>();

/** Short zone name at an instant ("PDT", "BST", or "GMT+2" where no abbreviation exists). */
export function zoneAbbreviation(ms: number, timeZone: string): string {
  let f = zoneNames.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'short' });
    zoneNames.set(timeZone, f);
  }
  return f.formatToParts(new Date(ms)).find((p) => p.type === 'timeZoneName')?.value ?? timeZone;
}

/** "Mon 7 Jun 2027, 17:00 PDT": the instant on the recipient's own clock. */
export function formatLocal(ms: number, timeZone: string): string {
  const w = toWall(ms, timeZone);
  const hh = String(w.hour).padStart(2, '0');
  const mm = String(w.minute).padStart(2, '0');
  return `${dayIn(w, 'en')}, ${hh}:${mm} ${zoneAbbreviation(ms, timeZone)}`;
}

/** The languages auditflow writes in (templates, dates). */
export const LANGUAGES = ['en', 'fr'] as const;
export type Language = (typeof LANGUAGES)[number];

const FRENCH_WEEKDAYS = ['lundi', 'mardi', 'mercredi', 'jeudi', 'vendredi', 'samedi', 'dimanche'];
const FRENCH_MONTHS = [
  'janvier',
  'février',
  'mars',
  'avril',
  'mai',
  'juin',
  'juillet',
  'août',
  'septembre',
  'octobre',
  'novembre',
  'décembre',
];
const frenchZoneNames = new Map<string, Intl.DateTimeFormat>();

/** "UTC+2": the zone's offset at an instant as French readers write it. */
function frenchZone(ms: number, timeZone: string): string {
  let f = frenchZoneNames.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('fr-FR', { timeZone, timeZoneName: 'short' });
    frenchZoneNames.set(timeZone, f);
  }
  return f.formatToParts(new Date(ms)).find((p) => p.type === 'timeZoneName')?.value ?? timeZone;
}

/**
 * The instant on the recipient's clock, in their language: "Mon 7 Jun 2027, 17:00 PDT" in English,
 * "lundi 7 juin 2027 à 17:00 UTC−7" in French ("1er" for the first of the month).
 */
export function formatLocalIn(ms: number, timeZone: string, language: Language): string {
  if (language === 'en') return formatLocal(ms, timeZone);
  const w = toWall(ms, timeZone);
  const hh = String(w.hour).padStart(2, '0');
  const mm = String(w.minute).padStart(2, '0');
  return `${dayIn(w, 'fr')} à ${hh}:${mm} ${frenchZone(ms, timeZone)}`;
}

/** A calendar day (YYYY-MM-DD) in the reader's language: "Mon 14 Jun 2027", "lundi 14 juin 2027"; else undefined. */
export function formatDayIn(ymd: string, language: Language): string | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(ymd);
  if (!m) return undefined;
  const w = toWall(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])), 'UTC');
  return w.month === Number(m[2]) ? dayIn(w, language) : undefined;
}

/** The day of a wall time in the reader's language: "Mon 14 Jun 2027", "lundi 14 juin 2027" ("1er" for the first). */
function dayIn(w: WallTime, language: Language): string {
  return language === 'fr'
    ? `${FRENCH_WEEKDAYS[isoWeekday(w) - 1]} ${w.day === 1 ? '1er' : w.day} ${FRENCH_MONTHS[w.month - 1]} ${w.year}`
    : `${WEEKDAYS[isoWeekday(w) - 1]} ${w.day} ${MONTH_ABBREVIATIONS[w.month - 1]} ${w.year}`;
}

/** The instant in UTC in the recipient's language: "2027-06-08 00:00Z", "2027-06-08 00:00 UTC". */
export function formatUtcIn(ms: number, language: Language): string {
  return language === 'en' ? formatUtc(ms) : `${formatUtc(ms).slice(0, -1)} UTC`;
}

/** "2027-06-08 00:00Z": the instant in UTC, minute precision. */
export function formatUtc(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')}Z`;
}

/** A compact human duration: "3d 4h", "45m", "12s". */
export function formatSpan(ms: number): string {
  const abs = Math.abs(ms);
  const d = Math.floor(abs / DAY);
  const h = Math.floor((abs % DAY) / HOUR);
  const m = Math.floor((abs % HOUR) / MINUTE);
  const s = Math.floor((abs % MINUTE) / 1000);
  const parts = d ? [`${d}d`, h ? `${h}h` : ''] : h ? [`${h}h`, m ? `${m}m` : ''] : m ? [`${m}m`] : [`${s}s`];
  return `${ms < 0 ? '-' : ''}${parts.filter(Boolean).join(' ')}`;
}

/**
 * The first of `zones` in which [start, start + seconds] stays between 00:01 and 23:58 local: compressed
 * demands (demo, drills, benchmark) send all day, and a sending day ends at 23:59.
 */
export function zoneClearOfMidnight(zones: string[], startMs: number, seconds: number): string {
  const clear = (z: string) => {
    const a = toWall(startMs, z);
    const b = toWall(startMs + seconds * 1000, z);
    return a.day === b.day && a.hour * 60 + a.minute >= 1 && b.hour * 60 + b.minute <= 23 * 60 + 58;
  };
  return zones.find(clear) ?? 'Pacific/Kiritimati';
}

/** A fixed-offset zone in which it is about noon at `now`, so a few minutes never cross local midnight. */
export function noonZone(now: number): string {
  const offset = ((12 - new Date(now).getUTCHours() + 36) % 24) - 12;
  // Etc/GMT zones have inverted signs: Etc/GMT-3 is UTC+3.
  return offset === 0 ? 'Etc/UTC' : `Etc/GMT${offset > 0 ? '-' : '+'}${Math.abs(offset)}`;
}
