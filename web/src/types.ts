/** Shapes of the API as the web app reads them (server/routes/*.ts, server/review/schemas.ts). */
export const STATUSES = ['pending', 'field_check', 'verified', 'linked', 'dismissed'] as const;
export type Status = (typeof STATUSES)[number];
export const DISMISS_REASONS = ['legal_permitted', 'false_change', 'agricultural_facility', 'temporary_use', 'already_removed', 'other'] as const;
export type DismissReason = (typeof DISMISS_REASONS)[number];
export type Action = 'verify' | 'link' | 'dismiss' | 'request_field_check' | 'return' | 'reopen';
export type Role = 'admin' | 'analyst' | 'field' | 'reviewer';
export const SORTS = ['priority', 'area', 'code'] as const;
export type Sort = (typeof SORTS)[number];

export interface User {
  id: number;
  username: string;
  display_name: string;
  role: Role;
  villages: string[] | null;
  must_change_password: boolean;
  is_demo: boolean;
}

export type Source = 'survey' | 'patrol' | 'report';

export interface ListItem {
  id: number;
  survey: string;
  /** 卫片 survey, 巡查 patrol, 举报 report (issue 16 item 1) */
  source?: Source;
  /** a lead within 30 m of (or inside) this item: possibly the same */
  duplicate_of?: number | null;
  merged_into?: number | null;
  code: string;
  status: Status;
  version: number;
  village: string | null;
  area_m2: number;
  area_mu: number;
  flags: string[];
  priority: number;
  parcel_count: number;
  largest_parcel_share: number | null;
  school_distance_m: number | null;
  batch_id: number;
  removed: boolean;
  geometry_changed: boolean;
  /** the latest field finding, when one came back (issue 13 item 16) */
  field_result?: string | null;
}

export interface ListResponse {
  total: number;
  limit: number;
  offset: number;
  items: ListItem[];
}

export interface Facet<T> {
  value: T;
  n: number;
}
export interface Counts {
  total: number;
  status: Record<Status, number>;
  village: Facet<string | null>[];
  flags: Facet<string>[];
  batch: Facet<number>[];
}

export interface ParcelHit {
  id: number;
  parcel_code: string | null;
  holder: string | null;
  land_use: string | null;
  approved_area: number | null;
  area_m2: number;
  overlap_m2: number;
  share: number;
}

export interface LayerHit {
  layer: string;
  role: string;
  title_zh: string;
  title_en: string;
  hit: boolean | null;
  overlap_m2: number | null;
  share: number | null;
  distance_m: number | null;
  feature_id: number | null;
  feature_name: string | null;
  feature_code: string | null;
}

export interface Prior {
  id: number;
  survey: string;
  code: string;
  status: Status;
  version: number;
  share: number;
}

export interface Detail {
  id: number;
  survey: string;
  source?: Source;
  duplicate_of?: number | null;
  duplicate_of_code?: string | null;
  merged_into?: number | null;
  merged_into_code?: string | null;
  merged_leads?: { id: number; code: string; source: Source; status: Status }[];
  code: string;
  status: Status;
  version: number;
  attrs: Record<string, unknown>;
  area_m2: number;
  area_mu: number;
  repaired: boolean;
  village_name: string | null;
  flags: string[];
  priority: number;
  school_distance_m: number | null;
  parcel_count: number;
  largest_parcel_share: number | null;
  batch_id: number;
  removed_batch_id: number | null;
  geom_changed_batch_id: number | null;
  reconciled_at: string | null;
  bbox: [number, number, number, number];
  parcels: ParcelHit[];
  layers: LayerHit[];
  prior: Prior[];
  versions: { batch_id: number; superseded_by_batch_id: number; area_m2: number }[];
  /** how the stored priority is made, term by term (server/reconcile/priority.ts explainPriority) */
  priority_formula?: { total: number; formula: string; area_cap: number; terms: { key: string; value: number; weight: number; points: number }[] };
  village2_name?: string | null;
  village_share?: number | null;
}

export interface Label {
  zh: string;
  en: string;
}

export interface HistoryEvent {
  id: number;
  seq: number;
  at: string;
  username: string;
  action: string;
  from_status: Status;
  to_status: Status;
  reason: DismissReason | null;
  note: string | null;
  case_id: number | null;
  case_number?: string | null;
  action_label: Label | null;
  reason_label: Label | null;
  payload?: Record<string, unknown>;
}

export interface History {
  polygon: { id: number; code: string; status: Status; version: number };
  items: HistoryEvent[];
}

export interface CaseRef {
  id: number;
  number: string;
  created: boolean;
}

export interface DecisionOut {
  polygon: { id: number; status: Status; version: number };
  case: CaseRef | null;
  replayed: boolean;
}

export interface BulkOut {
  count: number;
  items: { id: number; from_status: Status; status: Status; version: number }[];
  case: CaseRef | null;
}

export interface CaseItem {
  id: number;
  number: string;
  party: string;
  address: string;
  village: string | null;
  kind: 'under_construction' | 'existing';
  status: 'open' | 'closed';
  discovered_on: string;
  polygon_count: number;
}

export interface NewCase {
  party: string;
  address: string;
  kind: 'under_construction' | 'existing';
  village?: string;
  note?: string;
}

export interface MapSource {
  kind: 'xyz' | 'pmtiles';
  tiles?: string[];
  url?: string;
  scheme?: 'xyz' | 'tms';
  /** imported imagery (issue 15): the pyramid's zooms and extent [w, s, e, n], so the map asks for no tile it lacks */
  /** the import this pyramid comes from (its tiles and chips never change for it) */
  import_id?: number;
  minzoom?: number;
  maxzoom?: number;
  bounds?: [number, number, number, number];
  tileSize?: number;
  /** the epoch's acquisition date (前时相/后时相, YYYY-MM-DD), when known */
  date?: string | null;
  resolution_m?: number | null;
}
export type Epoch = 'before' | 'after';
export interface MapConfig {
  basemap: MapSource | null;
  imagery: { before: MapSource | null; after: MapSource | null };
}

export interface TileLayerInfo {
  name: string;
  layer: string;
  title_zh: string;
  title_en: string;
  minzoom: number;
  maxzoom: number;
  vector_layers: string[];
}
