-- The village register (issue 14.3): who answers for each village (村（社区）) — the 村（居）书记 or another
-- named responsible person — and a phone. The town office expects the name in the 图斑台账 (责任人), in
-- the village report and on a case. Kept by an admin (GET/PUT/DELETE /api/villages/register, CSV import);
-- a village is a name, as survey_polygon.village_name and enforcement_case.village are.
CREATE TABLE village_register (
  region_code text NOT NULL,
  village text NOT NULL CHECK (length(btrim(village)) BETWEEN 1 AND 100),
  responsible text NOT NULL CHECK (length(btrim(responsible)) BETWEEN 1 AND 100),
  title text NOT NULL DEFAULT '村（居）书记' CHECK (length(title) <= 50),
  phone text CHECK (phone IS NULL OR phone ~ '^[0-9+() -]{3,30}$'),
  updated_at timestamptz NOT NULL DEFAULT now(),
  updated_by text NOT NULL,
  PRIMARY KEY (region_code, village)
);
