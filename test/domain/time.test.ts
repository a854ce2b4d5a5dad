import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  addBusinessDays,
  addDuration,
  earliestInWindow,
  formatLocal,
  fromWall,
  latestInWindow,
  parseDeadline,
  parseDuration,
  type CalendarRules,
  isoInstant,
} from '../../domain/time';

const LA = 'America/Los_Angeles';
const cal: CalendarRules = {
  businessDays: [1, 2, 3, 4, 5],
  holidays: ['2027-06-04'],
  sendWindow: { from: '08:00', to: '18:00' },
};
const ms = (text: string) => {
  const r = parseDeadline(text, LA);
  if ('error' in r) throw new Error(r.error);
  return r.ms;
};

describe('time zone arithmetic', () => {
  it('reads a local deadline in the counterparty zone, and an instant as given', () => {
    assert.equal(isoInstant(ms('2027-06-07T17:00')), '2027-06-08T00:00:00.000Z');
    assert.equal(isoInstant(ms('2027-06-07T17:00:00Z')), '2027-06-07T17:00:00.000Z');
    assert.equal(isoInstant(ms('2027-06-07T17:00:00+02:00')), '2027-06-07T15:00:00.000Z');
    assert.equal(formatLocal(ms('2027-06-07T17:00'), LA), 'Mon 7 Jun 2027, 17:00 PDT');
  });

  it('refuses what is not a real date-time, saying what to write', () => {
    assert.deepEqual(parseDeadline('2027-02-30T17:00', LA), { error: '"2027-02-30T17:00" is not a real date-time' });
    assert.match((parseDeadline('7 June', LA) as { error: string }).error, /write a local time like 2027-06-07T17:00/);
  });

  it('moves a time in the spring-forward gap forward, and takes the earlier of a repeated hour', () => {
    assert.equal(
      isoInstant(fromWall({ year: 2027, month: 3, day: 14, hour: 2, minute: 30, second: 0 }, LA)),
      '2027-03-14T10:30:00.000Z',
    );
    assert.equal(
      isoInstant(fromWall({ year: 2027, month: 11, day: 7, hour: 1, minute: 30, second: 0 }, LA)),
      '2027-11-07T08:30:00.000Z',
    );
  });

  it('adds calendar days on the wall clock and hours exactly, across a DST change', () => {
    const deadline = ms('2027-03-15T17:00');
    assert.equal(isoInstant(addDuration(deadline, parseDuration('P2D')!, LA, -1)), '2027-03-14T01:00:00.000Z');
    assert.equal(isoInstant(addDuration(deadline, parseDuration('PT48H')!, LA, -1)), '2027-03-14T00:00:00.000Z');
    assert.equal(
      isoInstant(addDuration(ms('2027-01-31T12:00'), parseDuration('P1M')!, LA, 1)),
      '2027-02-28T20:00:00.000Z',
    );
  });

  it('counts business days over weekends and holidays', () => {
    assert.equal(formatLocal(addBusinessDays(ms('2027-06-07T17:00'), 2, LA, cal, -1), LA), 'Wed 2 Jun 2027, 17:00 PDT');
    assert.equal(formatLocal(addBusinessDays(ms('2027-06-03T17:00'), 1, LA, cal, 1), LA), 'Mon 7 Jun 2027, 17:00 PDT');
  });

  it('keeps mail inside sending hours: reminders move earlier, notices after a deadline move later', () => {
    const night = ms('2027-06-08T01:00');
    assert.equal(formatLocal(latestInWindow(night, LA, cal), LA), 'Mon 7 Jun 2027, 18:00 PDT');
    assert.equal(formatLocal(earliestInWindow(night, LA, cal), LA), 'Tue 8 Jun 2027, 08:00 PDT');
    const holiday = ms('2027-06-04T12:00');
    assert.equal(formatLocal(latestInWindow(holiday, LA, cal), LA), 'Thu 3 Jun 2027, 18:00 PDT');
    assert.equal(formatLocal(earliestInWindow(holiday, LA, cal), LA), 'Mon 7 Jun 2027, 08:00 PDT');
  });

  it('parses ISO 8601 durations and refuses the rest', () => {
    assert.deepEqual(parseDuration('P1W2DT3H'), {
      years: 0,
      months: 0,
      weeks: 1,
      days: 2,
      hours: 3,
      minutes: 0,
      seconds: 0,
    });
    for (const bad of ['P', 'PT', '7 days', 'P1.5D', '-P1D']) assert.equal(parseDuration(bad), undefined, bad);
  });
});
