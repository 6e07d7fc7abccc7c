/**
 * The import report: what the CLI prints, POST /api/imports answers and the CLI's hand-off streams back —
 * the contract of an import, kept apart from the code that fills it (import.ts).
 */
import type { ReconcileReport } from '../reconcile/reconcile';
import type { BandReport } from './band';
import type { CodeSource, DuplicatePolicy, PassedOver, SurveyKey } from './codes';
import type { ReadResult } from './types';

/** What decided a survey's polygon codes (codes.ts), and what was done about missing and duplicated ones. */
export interface CodeReport {
  field: string | null;
  source: CodeSource;
  /** generic candidates not used, and why */
  passed_over: PassedOver[];
  /** stored records whose code was generated ('<survey>-<record>') */
  generated: number;
  duplicates: {
    policy: DuplicatePolicy;
    /** the same record twice (code, attributes, geometry): skipped as duplicate_record */
    exact_records: number;
    /** codes shared by different records */
    values: number;
    action: 'none' | 'kept_first' | 'suffixed';
    examples: { code: string; records: number[] }[];
  };
  /** delivered records matched to stored polygons by overlap (generated codes on either side) */
  matched_by_overlap: number;
}

export interface ImportReport {
  batch_id: number;
  duplicate: boolean;
  layer: string;
  survey: string | null;
  /** where the survey key came from (survey layers) */
  survey_key?: SurveyKey;
  /** how the polygon codes were decided (survey layers) */
  code?: CodeReport;
  /** the band width of a frontage delivered as centrelines, and where it came from */
  band?: BandReport;
  file: { name: string; sha256: string; bytes: number };
  /** the options that shape what is stored: the same file with other options is not a duplicate */
  options?: Record<string, string | number>;
  source_layer: string;
  available_layers: string[];
  crs: ReadResult['crs'];
  encoding: ReadResult['encoding'];
  fields: string[];
  /** records read; every one is counted once in stored, repaired or skipped (read = stored + repaired + skipped.total) */
  read: number;
  /** stored as delivered */
  stored: number;
  /** stored after a geometry repair (ST_MakeValid) */
  repaired: number;
  skipped: { total: number; reasons: Record<string, number>; examples: { record: number; reason: string; code?: string }[] };
  survey_changes?: { new: number; updated: number; geometry_changed: number; removed: number; matched_by_overlap: number };
  replaced?: number;
  reconcile?: ReconcileReport;
  /** demo accounts this import disabled: it brought real data (issue 12 item 9) */
  demo_accounts_disabled?: string[];
  warnings: ReadResult['warnings'];
  /** seconds per phase: read, check, clear, copy (incl. decoding + WKB, overlapped with the server), repair, index (survey) or analyze (parcels), merge, reconcile */
  timings: Record<string, number>;
  seconds: number;
}
