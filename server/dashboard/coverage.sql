-- Verification coverage (issue 6): every figure of the reviewer dashboard, defined once, computed in one
-- statement over one set of polygons. server/dashboard/coverage.ts only attaches to each figure the
-- filter that lists its polygons (GET /api/polygons); it never computes a number.
--
-- Definitions (also in docs of GET /api/coverage):
--   polygons     survey polygons matching the filter and the caller's village scope, never removed ones
--                (removed_batch_id IS NOT NULL: absent from a later delivery) — polygonWhere says so
--   outcome      status verified | linked | dismissed;  waiting = pending | field_check
--   share        polygons with an outcome / polygons (NULL when there are none)
--   batch        a polygon counts in each batch that delivered it, first and last (as ?batch= does)
--   source       where an item came from: survey 卫片, patrol 巡查, report 举报 (leads are survey_polygon rows,
--                issue 16 item 1); every item counts in exactly one source
--   reason       of a dismissed polygon: its last status-changing event's (view polygon_decision)
--   first outcome  first verify/link/dismiss event of a polygon that has an outcome now
--                (view polygon_first_outcome); the weekly curve counts polygons by it
--   weeks        ISO weeks, Monday 00:00 Beijing time; a week belongs to the campaign phase holding its
--                Thursday
--   age          time since the polygon's first import (the batch that first delivered it); bucket
--                (lo, hi] days = first imported in [as_of - hi days, as_of - lo days)
--
-- Shape: `base` reads each polygon once with the facts a figure needs (hash joins on tables and views);
-- `tally` folds it into one row per combination of village, flags, batches, status and reason (a few
-- hundred rows for a district); the breakdowns are sums over the tally. Only the weekly curve and the
-- ages, which are per polygon, read `base` again.

-- name: coverage
-- $1 as_of timestamptz (ms precision: the bounds below are exact in JavaScript), $2 campaign year int
-- (NULL: the year after the latest survey in view — a survey is worked on in the year after it was flown —
-- else as_of's year in Beijing), then the polygon
-- filter's values from $3 on; the polygon_filter marker is replaced by its WHERE clause.
WITH
args AS MATERIALIZED (
  SELECT $1::timestamptz AS as_of, ($1::timestamptz AT TIME ZONE 'Asia/Shanghai') AS as_of_local
),
base AS MATERIALIZED (
  SELECT p.id, p.code, p.survey, p.source, p.status, p.village_name, p.flags, p.batch_id, p.first_batch_id,
         p.status IN ('verified', 'linked', 'dismissed') AS decided,
         d.reason,
         f.first_outcome_at,
         v.polygon_id IS NOT NULL AS has_photo,
         ib.created_at AS imported_at
  FROM survey_polygon p
  -- the dismissal a dismissed polygon is at (the constant lets the view be computed for dismissals only)
  LEFT JOIN polygon_decision d
    ON p.status = 'dismissed' AND d.to_status = 'dismissed' AND d.region_code = p.region_code AND d.polygon_id = p.id
  LEFT JOIN polygon_first_outcome f
    ON p.status IN ('verified', 'linked', 'dismissed') AND f.region_code = p.region_code AND f.polygon_id = p.id
  LEFT JOIN polygon_evidence v ON v.region_code = p.region_code AND v.polygon_id = p.id
  JOIN import_batch ib ON ib.id = p.first_batch_id
  WHERE /*polygon_filter*/
),
tally AS MATERIALIZED (
  SELECT b.village_name, b.flags, b.batch_id, b.first_batch_id, b.survey, b.status,
         CASE WHEN b.status = 'dismissed' THEN coalesce(b.reason, '-') END AS reason,
         b.source,
         count(*)::int AS n,
         count(*) FILTER (WHERE b.has_photo)::int AS photos
  FROM base b
  GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
),
-- one row per (figure, key, tally row): the breakdowns
membership AS (
  -- (a row even when there is no polygon: the overall figure always exists)
  SELECT 'overall' AS figure, '' AS key, t.status, coalesce(t.n, 0) AS n FROM (SELECT 1) one LEFT JOIN tally t ON true
  UNION ALL
  SELECT 'village', coalesce(t.village_name, '-'), t.status, t.n FROM tally t
  UNION ALL
  -- the four campaign priorities, listed even when no polygon has them
  SELECT 'flag', k.flag, x.status, coalesce(x.n, 0)
  FROM unnest(ARRAY['frontage', 'compound', 'school', 'green']) AS k(flag)
  LEFT JOIN (SELECT f.flag, t.status, t.n FROM tally t CROSS JOIN LATERAL unnest(t.flags) AS f(flag)) x ON x.flag = k.flag
  UNION ALL
  -- where the items came from (issue 16 item 1): 卫片 survey, 巡查 patrol, 举报 report, listed even when none
  SELECT 'source', k.source, t.status, coalesce(t.n, 0)
  FROM unnest(ARRAY['survey', 'patrol', 'report']) AS k(source) LEFT JOIN tally t ON t.source = k.source
  UNION ALL
  SELECT 'batch', x.batch::text, t.status, t.n
  FROM tally t
  CROSS JOIN LATERAL unnest(CASE WHEN t.batch_id = t.first_batch_id THEN ARRAY[t.batch_id]
                                 ELSE ARRAY[t.batch_id, t.first_batch_id] END) AS x(batch)
),
groups AS (
  SELECT m.figure, m.key,
         sum(m.n)::int AS total,
         coalesce(sum(m.n) FILTER (WHERE m.status IN ('verified', 'linked', 'dismissed')), 0)::int AS decided,
         coalesce(sum(m.n) FILTER (WHERE m.status = 'verified'), 0)::int AS verified,
         coalesce(sum(m.n) FILTER (WHERE m.status = 'linked'), 0)::int AS linked,
         coalesce(sum(m.n) FILTER (WHERE m.status = 'dismissed'), 0)::int AS dismissed,
         coalesce(sum(m.n) FILTER (WHERE m.status = 'pending'), 0)::int AS pending,
         coalesce(sum(m.n) FILTER (WHERE m.status = 'field_check'), 0)::int AS field_check,
         -- 0 when there are polygons and none decided; NULL only when there are none
         coalesce(sum(m.n) FILTER (WHERE m.status IN ('verified', 'linked', 'dismissed')), 0)::float8 / nullif(sum(m.n), 0) AS share
  FROM membership m
  GROUP BY m.figure, m.key
),
reasons AS (
  SELECT k.reason, coalesce(sum(t.n), 0)::int AS count
  FROM (
    SELECT unnest(ARRAY['legal_permitted', 'false_change', 'agricultural_facility', 'temporary_use', 'already_removed', 'other']) AS reason
    UNION
    SELECT t.reason FROM tally t WHERE t.reason IS NOT NULL
  ) k
  LEFT JOIN tally t ON t.reason = k.reason
  GROUP BY k.reason
),
-- the campaign year, once (a plain subquery here would be inlined into every make_date below)
campaign AS MATERIALIZED (
  SELECT y,
         make_date(y, 4, 15) AS publicity_start, make_date(y, 7, 20) AS publicity_end,
         make_date(y, 7, 21) AS rectification_start, make_date(y, 10, 30) AS rectification_end,
         make_date(y, 10, 31) AS consolidation_start, make_date(y, 12, 31) AS consolidation_end
  -- default (issue 13 rule 12): from the data, not the clock — a survey is flown one year and worked on in
  -- the next (a 2020 survey belongs to the 2021 campaign): the latest survey year in view + 1; as_of's year
  -- only when no survey key names a year
  FROM (SELECT coalesce($2::int,
                        (SELECT max(substring(t.survey FROM '([0-9]{4})')::int) + 1 FROM tally t),
                        extract(year FROM (SELECT as_of_local FROM args))::int) AS y OFFSET 0) c
),
phases AS (
  SELECT 'publicity' AS phase, publicity_start AS start_date, publicity_end AS end_date FROM campaign
  UNION ALL SELECT 'rectification', rectification_start, rectification_end FROM campaign
  UNION ALL SELECT 'consolidation', consolidation_start, consolidation_end FROM campaign
),
-- first outcomes per ISO week (Beijing), and how many of them came before the end of the 10/30 deadline day
week_counts AS MATERIALIZED (
  SELECT date_trunc('week', b.first_outcome_at AT TIME ZONE 'Asia/Shanghai') AS monday, count(*)::int AS n,
         count(*) FILTER (WHERE b.first_outcome_at < (SELECT (c.rectification_end + 1)::timestamp AT TIME ZONE 'Asia/Shanghai'
                                                      FROM campaign c))::int AS by_deadline
  FROM base b
  WHERE b.first_outcome_at IS NOT NULL
  GROUP BY 1
),
-- ISO weeks from the one holding the campaign start (or the first outcome, if earlier) to the one holding
-- as_of (at most the campaign end, or the last outcome, if later)
weeks AS (
  SELECT w AS monday
  FROM campaign c, generate_series(
    date_trunc('week', least(c.publicity_start::timestamp, (SELECT min(monday) FROM week_counts))),
    date_trunc('week', greatest(least((SELECT as_of_local FROM args), c.consolidation_end::timestamp),
                                (SELECT max(monday) FROM week_counts))),
    interval '1 week') AS w
),
weekly AS (
  SELECT w.monday, coalesce(wc.n, 0) AS decided,
         (sum(coalesce(wc.n, 0)) OVER (ORDER BY w.monday))::int AS cumulative
  FROM weeks w LEFT JOIN week_counts wc ON wc.monday = w.monday
),
age AS MATERIALIZED (
  SELECT k.lo, k.hi,
         CASE WHEN k.hi IS NOT NULL THEN a.as_of - make_interval(days => k.hi) END AS imported_from,
         CASE WHEN k.lo > 0 THEN a.as_of - make_interval(days => k.lo) END AS imported_to
  FROM (VALUES (0, 7), (7, 14), (14, 30), (30, 60), (60, 90), (90, NULL::int)) AS k(lo, hi), args a
),
-- polygons waiting for an outcome per first-import time (one row per batch), then into the buckets
imports AS MATERIALIZED (
  SELECT b.imported_at, count(*)::int AS n FROM base b WHERE NOT b.decided GROUP BY b.imported_at
),
age_counts AS (
  SELECT a.lo, a.hi, a.imported_from, a.imported_to, coalesce(sum(i.n), 0)::int AS count
  FROM age a
  LEFT JOIN imports i ON (a.imported_from IS NULL OR i.imported_at >= a.imported_from)
                     AND (a.imported_to IS NULL OR i.imported_at < a.imported_to)
  GROUP BY a.lo, a.hi, a.imported_from, a.imported_to
),
oldest AS (
  SELECT date_trunc('milliseconds', min(i.imported_at)) AS at FROM imports i
),
total AS MATERIALIZED (
  SELECT coalesce(sum(t.n), 0)::int AS n FROM tally t
)
SELECT
  (SELECT as_of FROM args) AS as_of,
  (SELECT y FROM campaign) AS year,
  coalesce((SELECT value = 'true' FROM setting WHERE key = 'evidence_available'), false) AS evidence_available,
  (SELECT to_jsonb(g) - 'figure' - 'key' FROM groups g WHERE g.figure = 'overall') AS overall,
  (SELECT coalesce(jsonb_agg(to_jsonb(g) - 'figure' ORDER BY g.key), '[]') FROM groups g WHERE g.figure = 'village') AS by_village,
  (SELECT coalesce(jsonb_agg(to_jsonb(g) - 'figure' ORDER BY array_position(ARRAY['frontage', 'compound', 'school', 'green'], g.key)), '[]')
   FROM groups g WHERE g.figure = 'flag') AS by_flag,
  (SELECT coalesce(jsonb_agg(to_jsonb(g) - 'figure' ORDER BY array_position(ARRAY['survey', 'patrol', 'report'], g.key)), '[]')
   FROM groups g WHERE g.figure = 'source') AS by_source,
  (SELECT coalesce(jsonb_agg(to_jsonb(g) - 'figure' || jsonb_build_object(
            'batch_id', ib.id, 'file_name', ib.file_name, 'survey', ib.survey, 'imported_at', ib.created_at)
          ORDER BY ib.id), '[]')
   FROM groups g JOIN import_batch ib ON ib.id = g.key::int WHERE g.figure = 'batch') AS by_batch,
  (SELECT coalesce(jsonb_agg(jsonb_build_object('reason', r.reason, 'count', r.count)
          ORDER BY array_position(ARRAY['legal_permitted', 'false_change', 'agricultural_facility', 'temporary_use', 'already_removed', 'other', '-'], r.reason)), '[]')
   FROM reasons r) AS by_reason,
  (SELECT jsonb_build_object(
            'verified', coalesce(sum(t.n) FILTER (WHERE t.status = 'verified'), 0),
            'with_photo', coalesce(sum(t.photos) FILTER (WHERE t.status = 'verified'), 0),
            'share', sum(t.photos) FILTER (WHERE t.status = 'verified')::float8
                     / nullif(sum(t.n) FILTER (WHERE t.status = 'verified'), 0))
   FROM tally t) AS evidence,
  (SELECT coalesce(jsonb_agg(jsonb_build_object(
            'phase', ph.phase, 'start', ph.start_date, 'end', ph.end_date,
            'from', ph.start_date::timestamp AT TIME ZONE 'Asia/Shanghai',
            'to', (ph.end_date + 1)::timestamp AT TIME ZONE 'Asia/Shanghai') ORDER BY ph.start_date), '[]')
   FROM phases ph) AS phases,
  -- the rectification deadline (10/30): polygons with a first outcome by the end of that day
  (SELECT jsonb_build_object(
            'date', c.rectification_end,
            'to', (c.rectification_end + 1)::timestamp AT TIME ZONE 'Asia/Shanghai',
            'passed', (SELECT as_of_local FROM args) >= (c.rectification_end + 1)::timestamp,
            'decided', (SELECT coalesce(sum(w.by_deadline), 0) FROM week_counts w),
            'share', coalesce((SELECT sum(w.by_deadline) FROM week_counts w), 0)::float8 / nullif((SELECT n FROM total), 0))
   FROM campaign c) AS deadline,
  (SELECT coalesce(jsonb_agg(jsonb_build_object(
            'week', to_char(wk.monday, 'IYYY-"W"IW'),
            'monday', wk.monday::date,
            'from', wk.monday AT TIME ZONE 'Asia/Shanghai',
            'to', (wk.monday + interval '1 week') AT TIME ZONE 'Asia/Shanghai',
            'phase', (SELECT ph.phase FROM phases ph WHERE (wk.monday + interval '3 days')::date BETWEEN ph.start_date AND ph.end_date),
            'decided', wk.decided,
            'cumulative', wk.cumulative,
            'share', wk.cumulative::float8 / nullif((SELECT n FROM total), 0)) ORDER BY wk.monday), '[]')
   FROM weekly wk) AS weeks,
  -- polygons with an outcome but no decision event (loaded with a status): not on the curve
  (SELECT coalesce(sum(t.n) FILTER (WHERE t.status IN ('verified', 'linked', 'dismissed')), 0)::int FROM tally t)
    - (SELECT coalesce(sum(w.n), 0)::int FROM week_counts w) AS undated,
  (SELECT coalesce(jsonb_agg(jsonb_build_object(
            'min_days', a.lo, 'max_days', a.hi, 'count', a.count,
            'imported_from', a.imported_from, 'imported_to', a.imported_to) ORDER BY a.lo), '[]')
   FROM age_counts a) AS age_buckets,
  (SELECT jsonb_build_object(
            'imported_at', o.at,
            'imported_to', o.at + interval '1 millisecond',
            'age_days', floor(extract(epoch FROM (SELECT as_of FROM args) - o.at) / 86400)::int,
            'count', (SELECT coalesce(sum(i.n), 0) FROM imports i WHERE i.imported_at >= o.at AND i.imported_at < o.at + interval '1 millisecond'),
            'polygons', (SELECT coalesce(jsonb_agg(jsonb_build_object('id', w.id, 'code', w.code, 'village', w.village_name,
                                                                    'imported_at', w.imported_at) ORDER BY w.imported_at, w.id), '[]')
                         FROM (SELECT * FROM base b WHERE NOT b.decided ORDER BY b.imported_at, b.id LIMIT 10) w))
   FROM oldest o WHERE o.at IS NOT NULL) AS oldest
