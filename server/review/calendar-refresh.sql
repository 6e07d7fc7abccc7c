-- Deadlines computed beyond the published holiday calendar (case_step.deadline_estimated), recomputed
-- when a newer calendar is installed (review/calendar-refresh.ts, at start).

-- name: calendar_seen
SELECT value FROM setting WHERE key = 'calendar_last_year'

-- name: calendar_remember
-- $1 the last year of the installed calendar
INSERT INTO setting (key, value) VALUES ('calendar_last_year', $1) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value

-- name: estimated_steps
-- Steps whose computed deadline is an estimate, with what it is computed from (done or not: a done step
-- keeps its deadline right too, for the ledger)
SELECT s.region_code, s.case_id, s.step, s.started_on::text AS started_on, c.discovered_on::text AS discovered_on, c.kind,
       s.deadline::text AS deadline
FROM case_step s
JOIN enforcement_case c ON c.region_code = s.region_code AND c.id = s.case_id
WHERE s.deadline_estimated AND s.step IN ('report_to_town', 'utility_notice')
FOR UPDATE OF s

-- name: set_deadline
-- $1 region, $2 case id, $3 step, $4 deadline, $5 still an estimate
UPDATE case_step SET deadline = $4::date, deadline_estimated = $5::boolean
WHERE region_code = $1 AND case_id = $2 AND step = $3
