-- Leads (线索, issue 16 items 1–7): the campaign plan's other inputs besides the satellite polygons —
-- 日常巡查 (patrol) and 举报受理 (public reports), 实施方案 六(三) and 七 — are rows of survey_polygon too, so
-- they are triaged in the same queue with the same keys, outcomes, history, versions and cases, and every
-- figure and export that reads survey_polygon counts them. `source` says where a row came from.
--
-- A point lead (a report's position) is stored as a 5 m buffer around it (a polygon like the others: the
-- village is assigned by reconciliation exactly as for the survey; the point itself is kept in attrs).
ALTER TABLE survey_polygon
  ADD COLUMN source text NOT NULL DEFAULT 'survey' CHECK (source IN ('survey', 'patrol', 'report')),
  -- possible duplicate (issue 16 item 1): the polygon or open lead this lead lies in or within 30 m of
  ADD COLUMN duplicate_of bigint,
  -- an analyst merged this lead into that item (its history stays its own; the lead is dismissed)
  ADD COLUMN merged_into bigint;
CREATE INDEX survey_polygon_source_idx ON survey_polygon (region_code, source) WHERE source <> 'survey';

-- ---------------------------------------------------------------------------------------------------
-- Public reports (举报, /report and Open311). One row per submission: a new lead, or a photo added to an
-- item already there (item 5). The reporter's phone and address are confidential (item 3): no view, export,
-- tile, OGC or analyst/reviewer query reads this table's phone/ip columns (server/leads/reports.sql says which
-- statements may, and test/integration/report-confidential.test.ts greps every response for them).
-- ---------------------------------------------------------------------------------------------------
CREATE TABLE public_report (
  region_code text NOT NULL,
  id bigserial,
  receipt_code text NOT NULL CHECK (receipt_code ~ '^[A-Z2-9]{10}$'),
  secret_hash text NOT NULL CHECK (secret_hash ~ '^[0-9a-f]{64}$'),
  polygon_id bigint NOT NULL,               -- the lead it created, or the item it added a photo to
  new_lead boolean NOT NULL,
  category text NOT NULL CHECK (category IN ('construction', 'compound', 'school', 'other')),
  description text NOT NULL,
  phone text,                               -- confidential: admins only
  reporter_ip text NOT NULL,                -- confidential: admins only; also the rate limit's key
  via text NOT NULL CHECK (via IN ('web', 'open311')),
  received_at timestamptz NOT NULL DEFAULT now(),
  due_on date NOT NULL,                     -- respond within N working days (TUBAN_REPORT_RESPONSE_WORKDAYS)
  PRIMARY KEY (region_code, id),
  UNIQUE (region_code, receipt_code),
  FOREIGN KEY (region_code, polygon_id) REFERENCES survey_polygon (region_code, id)
);
-- a status page is opened by its code alone (one probe per shard on Citus: a phone can afford it)
CREATE INDEX public_report_code_idx ON public_report (receipt_code);
CREATE INDEX public_report_ip_idx ON public_report (reporter_ip, received_at);
CREATE INDEX public_report_phone_idx ON public_report (phone, received_at) WHERE phone IS NOT NULL;
CREATE INDEX public_report_polygon_idx ON public_report (region_code, polygon_id);
