/** What GET /api/coverage, /api/overdue and the QC routes answer (server/dashboard/*.ts), as the screens use it. */
import type { Status } from '../types';

export type Filter = Record<string, string>;
export type Label = { zh: string; en: string };

export interface Figure {
  total: number;
  decided: number;
  share: number | null;
  verified: number;
  linked: number;
  dismissed: number;
  pending: number;
  field_check: number;
  filter: Filter;
  decided_filter: Filter;
}

export interface Coverage {
  as_of: string;
  filter: Filter;
  overall: Figure;
  by_village: (Figure & { village: string })[];
  by_flag: (Figure & { flag: string; label?: Label })[];
  by_source?: (Figure & { source: string; label: Label })[];
  by_batch: (Figure & { batch_id: number; file_name: string; survey: string | null; imported_at: string })[];
  by_outcome: { status: Status; label: Label; outcome: boolean; count: number; filter: Filter }[];
  by_reason: { reason: string; label: Label; count: number; filter: Filter }[];
  evidence: { evidence_available: boolean; verified: number; with_photo: number; share: number | null; filter: Filter; verified_filter: Filter };
  weekly: {
    year: number;
    phases: { phase: string; start: string; end: string; from: string; to: string; label: Label }[];
    deadline: { date: string; to: string; passed: boolean; decided: number; share: number | null; filter: Filter };
    weeks: {
      week: string; monday: string; from: string; to: string; phase: string | null; decided: number; cumulative: number;
      share: number | null; filter: Filter; cumulative_filter: Filter;
    }[];
    undated: { count: number; filter: Filter };
  };
  pending_age: {
    buckets: { min_days: number; max_days: number | null; count: number; filter: Filter }[];
    oldest: null | {
      imported_at: string; age_days: number; count: number; filter: Filter;
      polygons: { id: number; code: string; village: string | null; imported_at: string }[];
    };
  };
}

export interface Overdue {
  as_of_date: string;
  pending_days: number;
  polygons: {
    count: number;
    imported_before: string;
    filter: Filter;
    by_village: { village: string; count: number; filter: Filter }[];
  };
  cases: {
    count: number;
    items: {
      id: number; number: string; village: string | null; party: string; address: string; overdue_steps: string[];
      next_deadline: string | null; polygon_count: number;
    }[];
  };
}

export interface SampleSummary {
  id: number;
  per_village: number;
  seed: string;
  survey: string | null;
  created_by_name: string;
  created_at: string;
  items: number;
  reviewed: number;
}

export interface SampleStats {
  items: number;
  reviewed: number;
  approved: number;
  returned: number;
  reviewed_share: number;
  agreement: number | null;
}

export interface SampleItem {
  id: number;
  polygon_id: number;
  code: string;
  village: string | null;
  decided_status: Status;
  version: number;
  decided_by: string | null;
  decided_at: string | null;
  reason: string | null;
  verdict: 'approve' | 'return' | null;
  comment: string | null;
  reviewed_by_name: string | null;
  reviewed_at: string | null;
  current_status: Status;
  current_version: number;
}

export interface Sample extends Omit<SampleSummary, 'items' | 'reviewed'> {
  items: SampleItem[];
  stats: {
    overall: SampleStats | null;
    by_village: (SampleStats & { village: string | null })[];
    by_analyst: (SampleStats & { analyst: string | null })[];
  };
}
