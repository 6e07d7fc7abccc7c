-- tuban core schema: layers, import batches, survey polygons, reference features, reconciliation results.
-- Geometry columns are in the work CRS ({{WORK_SRID}}, planar metres: CGCS2000 GK) so areas and distances
-- are plain ST_Area/ST_Distance (within 0.02% of the spheroid) and no query reprojects during analysis.
-- Large tables carry region_code (county-level 行政区代码) in their primary key and every join, so they
-- can be distributed by it on Citus and joins stay co-located.
CREATE EXTENSION IF NOT EXISTS postgis;

CREATE TABLE setting (
  key text PRIMARY KEY,
  value text NOT NULL
);

-- A layer is a named role in reconciliation. Built-in layers exist from the start; custom ones are
-- declared at import time with one of the generic roles.
CREATE TABLE layer (
  id serial PRIMARY KEY,
  name text NOT NULL UNIQUE CHECK (name ~ '^[a-z][a-z0-9_]{0,39}$'),
  builtin boolean NOT NULL DEFAULT false,
  role text NOT NULL CHECK (role IN ('survey', 'overlap', 'flag', 'assign', 'distance')),
  title_zh text NOT NULL,
  title_en text NOT NULL,
  -- role 'distance': a polygon within this many metres gets the layer's flag (built-in school: config)
  distance_m double precision CHECK (distance_m IS NULL OR distance_m >= 0),
  created_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO layer (name, builtin, role, title_zh, title_en, distance_m) VALUES
  ('survey', true, 'survey', '遥感监测图斑', 'Survey change polygons', NULL),
  ('cadastral', true, 'overlap', '宗地', 'Cadastral parcels', NULL),
  ('frontage', true, 'flag', '吉安大道沿线', 'Ji''an Avenue frontage', NULL),
  ('village', true, 'assign', '村（社区）', 'Villages', NULL),
  ('school', true, 'distance', '学校', 'Schools', NULL),
  ('compound', true, 'flag', '居民小区', 'Residential compounds', NULL),
  ('green', true, 'flag', '公共绿地', 'Public green space', NULL);

-- One import = one batch, stored in the same transaction as its features (all or nothing).
CREATE TABLE import_batch (
  id serial PRIMARY KEY,
  region_code text NOT NULL,
  layer_id int NOT NULL REFERENCES layer (id),
  survey text,                    -- survey key ('2020') for survey imports
  file_name text NOT NULL,
  sha256 text NOT NULL,
  source_layer text NOT NULL,     -- which layer of the file was read
  report jsonb NOT NULL,
  created_by text,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (layer_id, sha256, source_layer)
);

CREATE TABLE survey_polygon (
  region_code text NOT NULL,
  id bigserial,
  survey text NOT NULL,
  code text NOT NULL,                     -- 图斑编号
  first_batch_id int NOT NULL REFERENCES import_batch (id),
  batch_id int NOT NULL REFERENCES import_batch (id),   -- last version that delivered it
  attrs jsonb NOT NULL,                   -- attributes exactly as delivered
  geom geometry(MultiPolygon, {{WORK_SRID}}) NOT NULL,
  repaired boolean NOT NULL DEFAULT false,
  area_m2 double precision NOT NULL,
  geom_changed_batch_id int,              -- a later version delivered a different geometry
  removed_batch_id int,                   -- absent from a later version: marked, never deleted
  status text NOT NULL DEFAULT 'pending',
  version int NOT NULL DEFAULT 1,         -- optimistic lock for decisions
  -- reconciliation results (recomputed when a layer changes)
  village_id bigint,
  village_name text,
  village_code text,
  parcel_count int NOT NULL DEFAULT 0,
  largest_parcel_id bigint,
  largest_parcel_share double precision,
  school_distance_m double precision,
  flags text[] NOT NULL DEFAULT '{}',     -- layer names hit: frontage, compound, green, school, no_village, custom
  priority double precision NOT NULL DEFAULT 0,
  reconciled_at timestamptz,
  PRIMARY KEY (region_code, id),
  UNIQUE (region_code, survey, code)
);
CREATE INDEX survey_polygon_geom_idx ON survey_polygon USING gist (geom);
CREATE INDEX survey_polygon_flags_idx ON survey_polygon USING gin (flags);
CREATE INDEX survey_polygon_queue_idx ON survey_polygon (region_code, status, priority DESC);
CREATE INDEX survey_polygon_village_idx ON survey_polygon (region_code, village_name);
CREATE INDEX survey_polygon_batch_idx ON survey_polygon (batch_id);

-- Earlier geometry/attributes of a polygon whose later version changed them.
CREATE TABLE survey_polygon_version (
  region_code text NOT NULL,
  polygon_id bigint NOT NULL,
  batch_id int NOT NULL,                  -- the batch that delivered this (now superseded) version
  superseded_by_batch_id int NOT NULL,
  attrs jsonb NOT NULL,
  geom geometry(MultiPolygon, {{WORK_SRID}}) NOT NULL,
  PRIMARY KEY (region_code, polygon_id, superseded_by_batch_id)
);

CREATE TABLE parcel (
  region_code text NOT NULL,
  id bigserial,
  batch_id int NOT NULL REFERENCES import_batch (id),
  record int NOT NULL,                     -- record number in the delivered file (1-based)
  parcel_code text,                        -- 宗地代码
  holder text,                             -- 权利人
  land_use text,                           -- 土地用途
  approved_area double precision,          -- 批准面积
  attrs jsonb NOT NULL,
  geom geometry(MultiPolygon, {{WORK_SRID}}) NOT NULL,
  -- computed as rows arrive by COPY (and again if a repair rewrites geom): no second pass over 500k rows
  area_m2 double precision GENERATED ALWAYS AS (ST_Area(geom)) STORED,
  PRIMARY KEY (region_code, id)
);
-- the GiST index is dropped before a bulk load and rebuilt after it (cheaper than maintaining it row by row)
CREATE INDEX parcel_geom_idx ON parcel USING gist (geom);

-- Features of every other layer (frontage, villages, schools, compounds, green space, custom layers).
CREATE TABLE layer_feature (
  region_code text NOT NULL,
  id bigserial,
  layer_id int NOT NULL REFERENCES layer (id),
  batch_id int NOT NULL REFERENCES import_batch (id),
  name text,
  code text,
  attrs jsonb NOT NULL,
  geom geometry(Geometry, {{WORK_SRID}}) NOT NULL,
  PRIMARY KEY (region_code, id)
);
CREATE INDEX layer_feature_geom_idx ON layer_feature USING gist (geom);
CREATE INDEX layer_feature_layer_idx ON layer_feature (layer_id);

-- Every (polygon, parcel) pair with a positive overlap.
CREATE TABLE polygon_parcel (
  region_code text NOT NULL,
  polygon_id bigint NOT NULL,
  parcel_id bigint NOT NULL,
  overlap_m2 double precision NOT NULL,
  share double precision NOT NULL,        -- overlap / polygon area, 0..1
  PRIMARY KEY (region_code, polygon_id, parcel_id)
);

-- Results of flag / assign / distance / overlap layers: one row per hit (overlap: per feature).
CREATE TABLE polygon_layer (
  region_code text NOT NULL,
  polygon_id bigint NOT NULL,
  layer_id int NOT NULL,
  feature_id bigint NOT NULL,
  overlap_m2 double precision,
  share double precision,
  distance_m double precision,
  hit boolean NOT NULL,
  PRIMARY KEY (region_code, polygon_id, layer_id, feature_id)
);
CREATE INDEX polygon_layer_layer_idx ON polygon_layer (layer_id);

-- Overlap between polygons of different surveys: a 2021 polygon shows the decision taken on the 2020 one.
CREATE TABLE polygon_prior (
  region_code text NOT NULL,
  polygon_id bigint NOT NULL,
  prior_id bigint NOT NULL,
  share double precision NOT NULL,
  PRIMARY KEY (region_code, polygon_id, prior_id)
);
