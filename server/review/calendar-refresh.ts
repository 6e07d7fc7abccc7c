/**
 * Issue 13 rule 8: a deadline computed beyond the published holiday calendar is an estimate. When a newer
 * `chinese-days` is installed (its last year grew since the last start), every stored estimated deadline
 * is computed again from its rule, and keeps the estimate mark only if it still lies beyond the calendar.
 * Runs once at start (main.ts); one transaction.
 */
import type { Db } from '../db/types';
import { sqlSet } from '../db/sql-file';
import { DEADLINE_RULES, isEstimate, reportDeadline } from './cases';
import { addWorkdays, CALENDAR_YEARS } from './workdays';

const SQL = sqlSet(new URL('./calendar-refresh.sql', import.meta.url), [
  'calendar_seen', 'calendar_remember', 'estimated_steps', 'set_deadline',
] as const);

export interface CalendarRefresh {
  calendar_last_year: number;
  previous: number | null;
  recomputed: number;
  changed: { case_id: number; step: string; from: string; to: string }[];
}

export async function refreshEstimatedDeadlines(db: Db, lastYear = CALENDAR_YEARS.last): Promise<CalendarRefresh> {
  return db.tx(async (q) => {
    const seen = (await q.query<{ value: string }>(SQL.calendar_seen)).rows[0];
    const previous = seen ? Number(seen.value) : null;
    const out: CalendarRefresh = { calendar_last_year: lastYear, previous, recomputed: 0, changed: [] };
    if (previous !== null && previous >= lastYear) return out;
    const rows = (await q.query<{
      region_code: string; case_id: number; step: 'report_to_town' | 'utility_notice'; started_on: string | null;
      discovered_on: string; kind: string; deadline: string;
    }>(SQL.estimated_steps)).rows;
    for (const r of rows) {
      const deadline = r.step === 'report_to_town'
        ? reportDeadline(r.kind, r.discovered_on)
        : r.started_on ? addWorkdays(r.started_on, DEADLINE_RULES.utility_notice.workdays) : r.deadline;
      if (deadline === null) continue;
      await q.query(SQL.set_deadline, [r.region_code, r.case_id, r.step, deadline, isEstimate(deadline)]);
      out.recomputed++;
      if (deadline !== r.deadline) out.changed.push({ case_id: Number(r.case_id), step: r.step, from: r.deadline, to: deadline });
    }
    await q.query(SQL.calendar_remember, [String(lastYear)]);
    return out;
  });
}
