/** What the case routes answer (server/review/cases.ts, schemas.ts), as far as the case screens read it. */
export type CaseKind = 'under_construction' | 'existing';
export type CaseStepCode = 'stop_order' | 'self_removal_deadline' | 'utility_notice' | 'report_to_town' | 'forced_measures_or_court' | 'outcome';
export type Company = 'water' | 'power' | 'gas' | 'property';
export type Outcome = 'demolished' | 'regularised' | 'confiscated' | 'other';

/** the plan's order (实施方案 六(二)1), as CASE_STEPS on the server */
export const STEP_ORDER: CaseStepCode[] = ['stop_order', 'self_removal_deadline', 'utility_notice', 'report_to_town', 'forced_measures_or_court', 'outcome'];
export const COMPANIES: Company[] = ['water', 'power', 'gas', 'property'];
export const OUTCOMES: Outcome[] = ['demolished', 'regularised', 'confiscated', 'other'];
export const DOCUMENTS = ['stop_order', 'utility_water', 'utility_power', 'utility_gas', 'self_removal'] as const;

export interface CaseListItem {
  id: number;
  number: string;
  year: number;
  party: string;
  address: string;
  village: string | null;
  kind: CaseKind;
  status: 'open' | 'closed';
  outcome: Outcome | null;
  overdue: boolean;
  overdue_steps: CaseStepCode[];
  next_deadline: string | null;
  next_step: CaseStepCode | null;
  next_deadline_estimated: boolean;
  polygon_count: number;
}

export interface CaseListOut {
  total: number;
  as_of: string;
  items: CaseListItem[];
}

export interface Step {
  step: CaseStepCode;
  label: { zh: string; en: string };
  started_on: string | null;
  deadline: string | null;
  done_on: string | null;
  note: string | null;
  overdue: boolean;
  deadline_estimated: boolean;
  workdays: number | null;
  recorded_by_name: string | null;
  recorded_at: string;
  companies: Company[];
  photo_ids: number[];
}

export interface CasePolygon {
  id: number;
  code: string;
  status: string;
  village: string | null;
  area_m2: number;
  geometry: { type: string; coordinates: unknown } | null;
}

export interface CaseDetail extends Omit<CaseListItem, 'overdue_steps' | 'next_deadline' | 'next_step' | 'next_deadline_estimated' | 'polygon_count'> {
  discovered_on: string;
  note: string | null;
  outcome_at: string | null;
  outcome_m2: number | null;
  outcome_ref: string | null;
  outcome_note: string | null;
  version: number;
  created_by_name: string;
  created_at: string;
  steps: Step[];
  polygons: CasePolygon[];
  responsible: { village: string; responsible: string; title: string | null; phone: string | null } | null;
}

export interface CasePhoto {
  id: number;
  polygon_id: number;
  code: string;
  uploaded_at: string;
  captured_at: string | null;
  username: string;
}

export interface CaseHistoryItem {
  id: number;
  at: string;
  username: string;
  action: string;
  note: string | null;
  payload: Record<string, any>;
  codes: string[];
}
