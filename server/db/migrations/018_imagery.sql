-- Imported imagery (issue 15 items 1–2; 实施方案 二(四) 2020 年遥感监测图斑: a polygon is verified by comparing the
-- image before the change with the image after it). One row per imported GeoTIFF; its web-mercator tile pyramid
-- lives as files under <dataDir>/imagery/<id>/<z>/<x>/<y>.webp (both backends: metadata here, tiles on disk).
--
-- A re-import writes its whole pyramid under a staged (current = false) row first, then flips `current` in one
-- transaction, then removes the old files: a reader sees the old layer or the new one, never half of one.
CREATE TABLE imagery_layer (
  region_code text NOT NULL,
  id bigserial,
  epoch text NOT NULL CHECK (epoch IN ('before', 'after')),   -- 前时相 / 后时相
  current boolean NOT NULL DEFAULT false,
  acquired_on date,                                           -- --date, else the TIFF DateTime tag, else unknown
  date_source text CHECK (date_source IN ('option', 'tiff')),
  source_name text NOT NULL,                                  -- the file name as delivered
  crs text NOT NULL,                                          -- 'EPSG:4523', 'WKT:<name>'
  width_px int NOT NULL CHECK (width_px > 0),
  height_px int NOT NULL CHECK (height_px > 0),
  pixel_size_x double precision NOT NULL,                     -- in the source CRS's units
  pixel_size_y double precision NOT NULL,
  resolution_m double precision NOT NULL CHECK (resolution_m > 0),
  west double precision NOT NULL,                             -- extent, CGCS2000 lon/lat
  south double precision NOT NULL,
  east double precision NOT NULL,
  north double precision NOT NULL,
  minzoom int NOT NULL CHECK (minzoom BETWEEN 0 AND 24),
  maxzoom int NOT NULL CHECK (maxzoom BETWEEN minzoom AND 24),
  tiles int NOT NULL DEFAULT 0,
  bytes bigint NOT NULL DEFAULT 0,
  report jsonb,                                               -- the import report as printed
  created_by text,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (region_code, id)
);
-- one current layer per epoch and region
CREATE UNIQUE INDEX imagery_layer_current_idx ON imagery_layer (region_code, epoch) WHERE current;
