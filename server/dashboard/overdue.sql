-- Overdue work (GET /api/overdue). Cases come from review/cases.ts (listCases, overdue = a step past its
-- deadline, not done). Polygons: the caller's filter — status pending | field_check and first imported
-- before as_of − TUBAN_PENDING_DAYS, i.e. the same filter the answer hands back for GET /api/polygons.

-- name: overdue_polygons
-- $1 as_of timestamptz, $2 how many of the oldest to list, then the polygon filter's values from $3 on;
-- the polygon_filter marker is replaced by its WHERE clause.
WITH o AS MATERIALIZED (
  SELECT p.id, p.code, p.village_name, p.status, p.area_m2, ib.created_at AS imported_at
  FROM survey_polygon p
  JOIN import_batch ib ON ib.id = p.first_batch_id
  WHERE /*polygon_filter*/
)
SELECT
  (SELECT count(*) FROM o)::int AS count,
  (SELECT coalesce(jsonb_agg(jsonb_build_object('village', v.village, 'count', v.n) ORDER BY v.n DESC, v.village), '[]')
   FROM (SELECT coalesce(village_name, '-') AS village, count(*)::int AS n FROM o GROUP BY 1) v) AS by_village,
  (SELECT coalesce(jsonb_agg(jsonb_build_object(
            'id', x.id, 'code', x.code, 'village', x.village_name, 'status', x.status, 'area_m2', x.area_m2,
            'imported_at', x.imported_at,
            'days_waiting', floor(extract(epoch FROM $1::timestamptz - x.imported_at) / 86400)::int)
          ORDER BY x.imported_at, x.id), '[]')
   FROM (SELECT * FROM o ORDER BY imported_at, id LIMIT $2::int) x) AS oldest
