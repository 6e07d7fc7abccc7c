-- Issue 13: the plan's rules for cases and priorities, and what the case screens record.

-- ---------------------------------------------------------------------------------------------------
-- Rule 6: the 1-working-day report to the town group is for construction in progress only (实施方案
-- 六(二)1). Existing (存量) cases opened before this lose the deadline they were wrongly given (a report
-- already recorded keeps its dates).
-- ---------------------------------------------------------------------------------------------------
UPDATE case_step s SET deadline = NULL
FROM enforcement_case c
WHERE c.region_code = s.region_code AND c.id = s.case_id
  AND c.kind = 'existing' AND s.step = 'report_to_town' AND s.done_on IS NULL;

-- ---------------------------------------------------------------------------------------------------
-- Rule 8: a deadline that falls beyond the published holiday arrangement is an estimate (fixed statutory
-- holidays and lunar festivals computed, 调休 unknown). Stored, so that a newer calendar can recompute
-- exactly these at start (review/calendar-refresh.ts); the calendar's last year is in setting
-- 'calendar_last_year'.
-- ---------------------------------------------------------------------------------------------------
ALTER TABLE case_step ADD COLUMN deadline_estimated boolean NOT NULL DEFAULT false;

-- ---------------------------------------------------------------------------------------------------
-- Rule 9: the priority weights, in one place an admin can change (PUT /api/admin/priority-weights).
-- The plan's 整治重点 in order: 1 吉安大道沿线第一排, 2 居民小区和公共绿地, 3 学校周边, 4 2020 年遥感图斑.
-- A higher tier alone outweighs every combination of lower ones (1000 > 400+400+100+50+20+10), so the
-- order holds whatever else a polygon has; area and a changed geometry only break ties within a tier.
-- "Outside every village" is a data problem (flag no_village), not a reason to act first: no weight.
-- ---------------------------------------------------------------------------------------------------
CREATE TABLE priority_weight (
  key text PRIMARY KEY CHECK (key IN ('frontage', 'compound', 'green', 'school', 'other_layer', 'area_per_100m2',
                                      'area_cap', 'geom_changed')),
  weight double precision NOT NULL CHECK (weight >= 0 AND weight <= 100000),
  sort int NOT NULL,
  label_zh text NOT NULL,
  label_en text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  updated_by_name text
);
INSERT INTO priority_weight (key, weight, sort, label_zh, label_en) VALUES
  ('frontage', 1000, 1, '整治重点1：吉安大道沿线第一排', 'Priority 1: Ji''an Avenue first-row frontage'),
  ('compound', 400, 2, '整治重点2：居民小区', 'Priority 2: residential compound'),
  ('green', 400, 3, '整治重点2：公共绿地', 'Priority 2: public green space'),
  ('school', 100, 4, '整治重点3：学校周边', 'Priority 3: school surroundings'),
  ('other_layer', 50, 5, '其他自定义图层', 'Any other (custom) layer'),
  ('area_per_100m2', 1, 6, '面积（每 100 平方米）', 'Area (per 100 m²)'),
  ('area_cap', 20, 7, '面积分上限', 'Cap of the area points'),
  ('geom_changed', 10, 8, '新一期图形有变化', 'Geometry changed in the newer delivery');

-- ---------------------------------------------------------------------------------------------------
-- Rule 11: village (属地) assignment keeps the share of the largest village and the second village, so a
-- polygon straddling villages (largest share < 80%) is flagged with both.
-- ---------------------------------------------------------------------------------------------------
ALTER TABLE survey_polygon ADD COLUMN village_share double precision;
ALTER TABLE survey_polygon ADD COLUMN village2_name text;
ALTER TABLE survey_polygon ADD COLUMN village2_code text;

-- ---------------------------------------------------------------------------------------------------
-- The case screens (issue 13 items 3–5): outcomes of the plan, companies notified, photos of a step,
-- the yearly demolition target.
-- ---------------------------------------------------------------------------------------------------
ALTER TABLE enforcement_case DROP CONSTRAINT IF EXISTS enforcement_case_outcome_check;
ALTER TABLE enforcement_case ADD CONSTRAINT enforcement_case_outcome_check
  CHECK (outcome IN ('demolished', 'regularised', 'confiscated', 'other'));  -- 已拆除 / 已完善手续 / 已没收 / 其他
-- required by the API from now on (review/schemas.ts CloseBody); cases closed before have none
ALTER TABLE enforcement_case ADD COLUMN outcome_ref text;    -- 已完善手续: the permit reference
ALTER TABLE enforcement_case ADD COLUMN outcome_note text;   -- 其他: what happened

-- utility_notice: which companies were notified in writing (六(二)1: 供水、供电、供气等服务; 物业)
ALTER TABLE case_step ADD COLUMN companies text[] NOT NULL DEFAULT '{}'
  CHECK (companies <@ ARRAY['water', 'power', 'gas', 'property']);
-- photos of a step: evidence ids of the case's polygons (report_to_town is 书面（附照片）)
ALTER TABLE case_step ADD COLUMN photo_ids bigint[] NOT NULL DEFAULT '{}';

-- the district scores the campaign by demolished area: a target per year, set by an admin
CREATE TABLE demolition_target (
  region_code text NOT NULL,
  year int NOT NULL CHECK (year BETWEEN 2000 AND 2099),
  target_m2 double precision NOT NULL CHECK (target_m2 > 0 AND target_m2 <= 1e9),
  updated_at timestamptz NOT NULL DEFAULT now(),
  updated_by_name text,
  PRIMARY KEY (region_code, year)
);
