/**
 * Working days of the Chinese calendar: weekends, public holidays and make-up workdays (调休), from the
 * maintained `chinese-days` package (State Council arrangements, 2004 → the latest published year).
 * Beyond the last published year the statutory holidays are estimated (estimatedHolidays): the fixed ones
 * (元旦 1/1, 劳动节 5/1–5/2, 国庆节 10/1–10/3) and the lunar ones computed with `lunar-javascript`
 * (春节: 除夕 and 正月初一–初三, 清明 on the solar term, 端午 五月初五, 中秋 八月十五) — the days of the
 * 全国年节及纪念日放假办法 (2024 revision). The State Council's 调休 cannot be known in advance, so such a
 * deadline is marked estimated (calendarCovers() false) and recomputed once a newer calendar is installed
 * (calendar-refresh.ts).
 *
 * Dates are plain 'YYYY-MM-DD' strings (a deadline is a calendar day in China, not an instant).
 * We read the package's published table (dist/chinese-days.json) and apply its rule ourselves
 * (make-up workday, else Monday–Friday and not a holiday): its runtime API builds the same table at
 * load time by parsing dates as UTC midnight and formatting them in local time, which shifts every
 * holiday by a day when the process runs west of UTC (TZ=America/… — checked in the tests).
 */
import { createRequire } from 'node:module';
import { Lunar, Solar } from 'lunar-javascript';

interface CalendarData {
  holidays: Record<string, string>;
  workdays: Record<string, string>;
}
const calendar = createRequire(import.meta.url)('chinese-days/dist/chinese-days.json') as CalendarData;

/** China has one time zone; "today" for deadlines is the date in Beijing. */
export const CALENDAR_TZ = 'Asia/Shanghai';

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

function parse(date: string): [number, number, number] {
  const m = DATE_RE.exec(date);
  if (!m) throw new RangeError(`not a YYYY-MM-DD date: ${date}`);
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const probe = new Date(Date.UTC(y, mo - 1, d));
  if (probe.getUTCFullYear() !== y || probe.getUTCMonth() !== mo - 1 || probe.getUTCDate() !== d) {
    throw new RangeError(`no such date: ${date}`);
  }
  return [y, mo, d];
}

const fmt = (t: Date) => t.toISOString().slice(0, 10);

/** date ± n calendar days (UTC arithmetic on a calendar date: no DST surprises). */
export function addDays(date: string, n: number): string {
  const [y, m, d] = parse(date);
  return fmt(new Date(Date.UTC(y, m - 1, d + n)));
}

/** 'YYYY-MM-DD' → 0 (Sunday) … 6 (Saturday) */
export function weekday(date: string): number {
  const [y, m, d] = parse(date);
  return new Date(Date.UTC(y, m - 1, d)).getUTCDay();
}

export function isWorkday(date: string): boolean {
  if (calendar.workdays[date]) return true; // 调休: a weekend day worked
  const w = weekday(date);
  if (w === 0 || w === 6) return false;
  return calendarCovers(date) ? !calendar.holidays[date] : !estimatedHolidays(parse(date)[0]).has(date);
}

const estimated = new Map<number, Map<string, string>>();
/**
 * The statutory holidays of a year the published calendar does not cover: date → name. Fixed dates of the
 * 放假办法 and the lunar festivals from lunar-javascript (an astronomical calendar, 1900–2100).
 */
export function estimatedHolidays(year: number): Map<string, string> {
  let m = estimated.get(year);
  if (m) return m;
  m = new Map();
  const add = (s: Solar, name: string) => m!.set(s.toYmd(), name);
  for (const [mo, d, name] of [[1, 1, '元旦'], [5, 1, '劳动节'], [5, 2, '劳动节'], [10, 1, '国庆节'], [10, 2, '国庆节'], [10, 3, '国庆节']] as const) {
    add(Solar.fromYmd(year, mo, d), name);
  }
  const newYear = Lunar.fromYmd(year, 1, 1).getSolar(); // 正月初一 of the lunar year starting in this solar year
  for (let k = -1; k <= 2; k++) add(newYear.next(k), '春节'); // 除夕, 初一, 初二, 初三
  add(Solar.fromYmd(year, 4, 1).getLunar().getJieQiTable()['清明'], '清明节');
  add(Lunar.fromYmd(year, 5, 5).getSolar(), '端午节');
  add(Lunar.fromYmd(year, 8, 15).getSolar(), '中秋节');
  estimated.set(year, m);
  return m;
}

/**
 * The official name of the day when it is a holiday or make-up workday, e.g. 'National Day,国庆节,3'; beyond
 * the published years the estimated holiday's name, e.g. '元旦（估算）'.
 */
export const dayNote = (date: string): string | undefined => {
  if (calendarCovers(date)) return calendar.workdays[date] ?? calendar.holidays[date];
  const n = estimatedHolidays(parse(date)[0]).get(date);
  return n ? `${n}（估算）` : undefined;
};

/**
 * The n-th working day after `date` (n ≥ 1), or before it (n ≤ -1); n = 0 is `date` itself.
 * "Within 3 working days of the notice" → deadline addWorkdays(notice, 3).
 */
export function addWorkdays(date: string, n: number): string {
  if (!Number.isInteger(n)) throw new RangeError(`working days must be an integer: ${n}`);
  let cur = date;
  parse(cur);
  const step = n > 0 ? 1 : -1;
  for (let left = Math.abs(n); left > 0; ) {
    cur = addDays(cur, step);
    if (isWorkday(cur)) left--;
  }
  return cur;
}

const years = Object.keys(calendar.holidays).map((k) => Number(k.slice(0, 4)));
/** Years whose official arrangement the package carries. */
export const CALENDAR_YEARS = { first: Math.min(...years), last: Math.max(...years) };

/** False when the official holiday arrangement of that year is not in the calendar (weekends only). */
export const calendarCovers = (date: string): boolean => {
  const y = parse(date)[0];
  return y >= CALENDAR_YEARS.first && y <= CALENDAR_YEARS.last;
};

/** Today's date in Beijing, 'YYYY-MM-DD'. */
export function today(now: Date = new Date()): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: CALENDAR_TZ, year: 'numeric', month: '2-digit', day: '2-digit' }).format(now);
}
