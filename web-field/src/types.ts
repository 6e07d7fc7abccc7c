import type { MultiPolygon, Point } from 'geojson';

export interface Label {
  zh: string;
  en: string;
}

export interface MapSource {
  kind: 'xyz' | 'pmtiles';
  tiles?: string[];
  url?: string;
  scheme?: 'xyz' | 'tms';
  /** imported imagery (issue 15): its pyramid's zooms and extent, and the date it was taken */
  /** the import this pyramid comes from (its tiles and chips never change for it) */
  import_id?: number;
  minzoom?: number;
  maxzoom?: number;
  bounds?: [number, number, number, number];
  date?: string | null;
}
export type Epoch = 'before' | 'after';
export interface Imagery {
  before: MapSource | null;
  after: MapSource | null;
}

export type Who =
  | { kind: 'user'; username: string; display_name: string; role: string; villages: string[] | null }
  | { kind: 'link'; link_id: number; label: string | null; expires_at: string; created_by: string };

export interface WorkItem {
  id: number;
  code: string;
  survey: string;
  status: string;
  village: string | null;
  area_m2: number;
  area_mu: number;
  flags: string[];
  removed: boolean;
  geometry: MultiPolygon;
  target: Point;
  holder: string | null;
  findings: number;
}

export interface Worklist {
  who: Who;
  /** imagery is absent from a server older than issue 15 */
  map: { basemap: MapSource | null; imagery?: Imagery };
  total: number;
  limit: number;
  items: WorkItem[];
}

export interface Parcel {
  parcel_code: string | null;
  holder: string | null;
  land_use: string | null;
  overlap_m2: number;
  share: number;
}

export interface PhotoSummary {
  id: number;
  sha256: string;
  thumb: string;
  full: string;
  captured_at: string | null;
  taken_at: string | null;
  position: { lat: number; lon: number; accuracy_m: number | null } | null;
  exif_position: { lat: number; lon: number; heading: number | null } | null;
  distance_m: number | null;
}

export interface HistoryEvent {
  id: number;
  seq: number;
  at: string;
  username: string;
  action: string;
  action_label: Label | null;
  from_status: string;
  to_status: string;
  to_status_label?: Label | null;
  reason_label: Label | null;
  note: string | null;
  case_number: string | null;
  payload: {
    finding?: string;
    finding_label?: Label;
    photos?: PhotoSummary[];
    evidence?: PhotoSummary;
    distance_m?: number | null;
  };
}

export interface Evidence extends PhotoSummary {
  polygon_id: number;
  uploaded_at: string;
  uploaded_by: string;
  urls: { thumb: string; full: string; captioned: string };
}

export interface FieldPolygon {
  polygon: {
    id: number;
    survey: string;
    code: string;
    status: string;
    status_label: Label | null;
    version: number;
    village: string | null;
    area_m2: number;
    area_mu: number;
    flags: string[];
    removed: boolean;
    geometry: MultiPolygon;
    target: Point;
    bbox: [number, number, number, number];
    parcels: Parcel[];
    /** the cadastral parcels around it, for the map (absent in a worklist-only partial detail) */
    nearby_parcels?: { parcel_code: string | null; land_use: string | null; geometry: MultiPolygon }[];
  };
  history: HistoryEvent[];
  evidence: Evidence[];
  findings: unknown[];
}
