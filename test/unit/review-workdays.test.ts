import { createRequire } from 'node:module';
import { afterEach, describe, expect, it } from 'vitest';
import {
  addDays, addWorkdays, CALENDAR_YEARS, calendarCovers, dayNote, estimatedHolidays, isWorkday, today, weekday,
} from '../../server/review/workdays';

describe('working days (Chinese calendar, 调休)', () => {
  it('knows the 2021 National Day arrangement', () => {
    // 国务院办公厅 2021 arrangement: Oct 1–7 off; Sun Sept 26 and Sat Oct 9 worked
    for (let d = 1; d <= 7; d++) expect(isWorkday(`2021-10-0${d}`), `2021-10-0${d}`).toBe(false);
    expect(weekday('2021-09-26')).toBe(0);
    expect(isWorkday('2021-09-26')).toBe(true);
    expect(weekday('2021-10-09')).toBe(6);
    expect(isWorkday('2021-10-09')).toBe(true);
    expect(isWorkday('2021-09-25')).toBe(false); // an ordinary Saturday
    expect(isWorkday('2021-10-08')).toBe(true);
    expect(dayNote('2021-10-09')).toMatch(/国庆/);
    // Mid-Autumn 2021: Sept 19–21 off, Sat Sept 18 worked
    expect(isWorkday('2021-09-18')).toBe(true);
    expect(isWorkday('2021-09-20')).toBe(false);
    expect(isWorkday('2021-09-21')).toBe(false);
  });

  it.each([
    ['2021-09-30', 1, '2021-10-08'], // report within 1 working day, discovered the day before the holiday
    ['2021-09-25', 1, '2021-09-26'], // a Saturday: the next working day is the make-up Sunday
    ['2021-10-08', 1, '2021-10-09'], // the make-up Saturday
    ['2021-09-30', 3, '2021-10-11'], // utility notice: Oct 8, Oct 9, Oct 11
    ['2021-09-29', 3, '2021-10-09'],
    ['2021-08-10', 1, '2021-08-11'], // the plan's own date, an ordinary Tuesday
    ['2021-08-13', 1, '2021-08-16'], // Friday → Monday
    ['2021-10-11', -1, '2021-10-09'],
    ['2021-10-08', -1, '2021-09-30'],
    ['2021-10-03', 0, '2021-10-03'],
  ])('addWorkdays(%s, %i) = %s', (d, n, want) => {
    expect(addWorkdays(d, n)).toBe(want);
  });

  it('adds calendar days across months and leap years', () => {
    expect(addDays('2020-02-28', 1)).toBe('2020-02-29');
    expect(addDays('2021-12-31', 1)).toBe('2022-01-01');
  });

  it('refuses what is not a date', () => {
    expect(() => addWorkdays('2021-02-30', 1)).toThrow(RangeError);
    expect(() => addWorkdays('30/09/2021', 1)).toThrow(RangeError);
    expect(() => addWorkdays('2021-09-30', 1.5)).toThrow(RangeError);
  });

  it('says which years the official calendar covers', () => {
    expect(CALENDAR_YEARS.first).toBe(2004);
    expect(CALENDAR_YEARS.last).toBeGreaterThanOrEqual(2026);
    expect(calendarCovers('2021-10-01')).toBe(true);
    expect(calendarCovers(`${CALENDAR_YEARS.last + 1}-01-04`)).toBe(false);
  });

  it("today is Beijing's date", () => {
    expect(today(new Date('2021-09-30T17:00:00Z'))).toBe('2021-10-01');
    expect(today(new Date('2021-09-30T15:59:59Z'))).toBe('2021-09-30');
  });

  describe('independent of the process time zone', () => {
    const saved = process.env.TZ;
    afterEach(() => {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    });
    it.each(['America/Los_Angeles', 'Pacific/Kiritimati', 'Asia/Shanghai', 'UTC'])('TZ=%s', (tz) => {
      process.env.TZ = tz;
      expect(addWorkdays('2021-09-30', 1)).toBe('2021-10-08');
      expect(addWorkdays('2021-09-25', 1)).toBe('2021-09-26');
      expect(addWorkdays('2021-10-08', 1)).toBe('2021-10-09');
    });
  });

  it("agrees with the package's own API for every day 2004 → last year (in a zone where it works)", () => {
    // chinese-days builds its tables at load time in local time; it is right east of UTC (incl. UTC)
    if (new Date(2021, 0, 1).getTimezoneOffset() > 0) return;
    const cd = createRequire(import.meta.url)('chinese-days') as { isWorkday(d: Date): boolean };
    let d = `${CALENDAR_YEARS.first}-01-01`;
    let n = 0;
    while (d <= `${CALENDAR_YEARS.last}-12-31`) {
      const [y, m, day] = d.split('-').map(Number);
      if (cd.isWorkday(new Date(y, m - 1, day)) !== isWorkday(d)) throw new Error(`disagree on ${d}`);
      d = addDays(d, 1);
      n++;
    }
    expect(n).toBeGreaterThan(365 * 22);
  });

  describe('beyond the published calendar: statutory holidays estimated (issue 13 rule 8)', () => {
    const next = CALENDAR_YEARS.last + 1;

    it('estimates the statutory days of the published years right (the estimator checked against them)', () => {
      // the 2024 放假办法 (4 days of 春节, 2 of 劳动节) applies from 2025: every estimated day is a published holiday
      for (let y = 2025; y <= CALENDAR_YEARS.last; y++) {
        const days = estimatedHolidays(y);
        expect(days.size, String(y)).toBe(13);
        for (const [d, name] of days) expect(dayNote(d), `${d} ${name}`).toBeDefined();
        for (const d of days.keys()) expect(isWorkday(d), d).toBe(false);
      }
    });

    it('knows 2027’s lunar festivals', () => {
      const d = estimatedHolidays(2027);
      expect([...d].filter(([, n]) => n === '春节').map(([k]) => k)).toEqual(['2027-02-05', '2027-02-06', '2027-02-07', '2027-02-08']);
      expect(d.get('2027-04-05')).toBe('清明节');
      expect(d.get('2027-06-09')).toBe('端午节');
      expect(d.get('2027-09-15')).toBe('中秋节');
      expect(d.get('2027-10-03')).toBe('国庆节');
    });

    it('skips them in deadlines: the last published 12-31 + 1 working day is not New Year’s Day', () => {
      const got = addWorkdays(`${CALENDAR_YEARS.last}-12-31`, 1);
      expect(got).not.toBe(`${next}-01-01`);
      expect(calendarCovers(got)).toBe(false);
      expect(isWorkday(`${next}-01-01`)).toBe(false);
      expect(dayNote(`${next}-01-01`)).toBe('元旦（估算）');
      // a Friday 1/1 (2027): Friday off, then the weekend
      if (next === 2027) expect(addWorkdays('2026-12-31', 1)).toBe('2027-01-04');
      // the festivals of the next year are days off
      for (const d of estimatedHolidays(next).keys()) expect(isWorkday(d), d).toBe(false);
      // and an ordinary Wednesday is not
      let wed = `${next}-03-10`;
      while (weekday(wed) !== 3) wed = addDays(wed, 1);
      expect(isWorkday(wed)).toBe(true);
    });
  });
});
