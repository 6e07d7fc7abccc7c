-- Issue 13 item 18: proof per outcome. Each dismissal reason and each case outcome declares the evidence
-- it needs, in one table an admin changes (PUT /api/admin/proof-requirements). What counts as the proof:
--   permit_ref   the permit reference (规划许可证号 …): a dismissal's proof.permit_ref, a case's outcome_ref
--   photo_after  a photo of the polygon(s) taken on or after the demolition date (EXIF time, else the
--                phone's clock; the upload time proves nothing): a dismissal's proof.demolished_on, a
--                case's outcome_at
--   field_photo  any photo of the polygon(s) from the field
-- enforced: a decision or a closing without the proof is refused (422 proof_missing); otherwise it is
-- accepted and counted as lacking its proof (the QC screen and the dashboard show how many). Either way
-- the count is computed from the data, so an outcome decided before a requirement existed counts too, and
-- a photo added later supplies the proof.
CREATE TABLE proof_requirement (
  subject text NOT NULL CHECK (subject IN ('dismiss', 'case')),
  outcome text NOT NULL,
  proof text NOT NULL CHECK (proof IN ('permit_ref', 'photo_after', 'field_photo')),
  enforced boolean NOT NULL DEFAULT true,
  updated_at timestamptz NOT NULL DEFAULT now(),
  updated_by_name text,
  PRIMARY KEY (subject, outcome, proof),
  CHECK ((subject = 'dismiss' AND outcome IN ('legal_permitted', 'false_change', 'agricultural_facility', 'temporary_use',
                                               'already_removed', 'other'))
      OR (subject = 'case' AND outcome IN ('demolished', 'regularised', 'confiscated', 'other')))
);
-- The issue's examples. Dismissals are decided at the desk with the proof in front of the analyst (or sent to
-- the field with F first): refused without it. A case is closed on the day of the demolition and its photo
-- often comes after: accepted, and counted as lacking until the photo is there.
INSERT INTO proof_requirement (subject, outcome, proof, enforced) VALUES
  ('dismiss', 'legal_permitted', 'permit_ref', true),          -- 合法/已批准: the permit reference
  ('dismiss', 'already_removed', 'photo_after', true),         -- 已拆除: a photo taken after the demolition date
  ('dismiss', 'agricultural_facility', 'field_photo', true),   -- 农业设施: a field photo
  ('case', 'regularised', 'permit_ref', true),                 -- 已完善手续: the permit reference (also required by the API)
  ('case', 'demolished', 'photo_after', false);                -- 已拆除: a photo taken after the demolition date
