import type { Screen } from './shell';
import { SORTS, STATUSES, type Sort, type Status } from './types';

/**
 * What a link holds (issue 4 §5): the selected polygon, the queue filters and the map view, e.g.
 *   #/?code=JA-0042&status=pending&village=吉安社区&z=16&c=105.93,29.40
 * status: absent = the default queue (pending), `all` = no status filter.
 * The polygon is named by its code (图斑编号, issue 13 item 14): a link read aloud or pasted into a report means
 * something. Older links name its internal id (`p=123`); they still open it.
 */
export interface ViewState {
  /** the selected polygon's internal id: from an old link, or while its code is not known yet */
  p?: number;
  /** the selected polygon's code (图斑编号) */
  code?: string;
  status: Status[];
  village: string[];
  flags: string[];
  batch?: number;
  q?: string;
  sort: Sort;
  z?: number;
  c?: [number, number];
  /**
   * Filters a dashboard figure clicks through with (GET /api/polygons's review filters and survey): kept as
   * the server spells them, shown in the queue as one removable chip.
   */
  extra: Record<string, string>;
}

/** The review filters of GET /api/polygons (server/dashboard/review-filters.ts) plus survey. */
export const EXTRA_KEYS = [
  'survey', 'source', 'reason', 'decided_by', 'first_outcome_from', 'first_outcome_to', 'first_outcome', 'imported_from', 'imported_to', 'evidence',
  'field_result',
] as const;

/** Which screen a hash opens: #/dashboard…, #/qc…, #/cases…, #/villages, else the workspace (#/?…). */
export function screenOf(hash: string): Screen {
  if (/^#\/cases(\/|\?|$)/.test(hash)) return 'cases';
  if (/^#\/dashboard(\?|$)/.test(hash)) return 'dashboard';
  if (/^#\/qc(\?|$)/.test(hash)) return 'qc';
  if (/^#\/villages(\?|$)/.test(hash)) return 'villages';
  return 'workspace';
}

export const DEFAULT_STATUS: Status[] = ['pending'];

const list = (v: string | null) => (v ? v.split(',').map((s) => s.trim()).filter(Boolean) : []);
const posInt = (v: string | null) => {
  const n = Number(v);
  return v && Number.isInteger(n) && n > 0 ? n : undefined;
};

export function parseHash(hash: string): ViewState {
  const i = hash.indexOf('?');
  const u = new URLSearchParams(i >= 0 ? hash.slice(i + 1) : '');
  const st = u.get('status');
  const status = st === null ? [...DEFAULT_STATUS] : st === 'all' ? [] : list(st).filter((s): s is Status => (STATUSES as readonly string[]).includes(s));
  const sort = u.get('sort');
  const z = Number(u.get('z'));
  const c = list(u.get('c')).map(Number);
  return {
    p: posInt(u.get('p')),
    code: u.get('code')?.trim().slice(0, 100) || undefined,
    status,
    village: list(u.get('village')),
    flags: list(u.get('flags')).filter((f) => /^[a-z][a-z0-9_]{0,39}$/.test(f)),
    batch: posInt(u.get('batch')),
    q: u.get('q')?.trim() || undefined,
    sort: (SORTS as readonly string[]).includes(sort ?? '') ? (sort as Sort) : 'priority',
    z: u.get('z') !== null && Number.isFinite(z) && z >= 0 && z <= 22 ? z : undefined,
    c: c.length === 2 && c.every(Number.isFinite) && Math.abs(c[0]) <= 180 && Math.abs(c[1]) <= 90 ? [c[0], c[1]] : undefined,
    extra: Object.fromEntries(EXTRA_KEYS.flatMap((k) => {
      const v = u.get(k)?.trim();
      return v ? [[k, v.slice(0, 200)]] : [];
    })),
  };
}

export function formatHash(s: ViewState): string {
  const parts: string[] = [];
  const put = (k: string, v: string | number | undefined) => {
    if (v === undefined || v === '') return;
    // keep Chinese names and commas readable in the address bar
    parts.push(`${k}=${encodeURIComponent(String(v)).replace(/%2C/gi, ',')}`);
  };
  // the code when known; the id only until it is
  if (s.code) put('code', s.code);
  else put('p', s.p);
  const sameAsDefault = s.status.length === DEFAULT_STATUS.length && s.status.every((x) => DEFAULT_STATUS.includes(x));
  if (!sameAsDefault) put('status', s.status.length ? s.status.join(',') : 'all');
  put('village', s.village.join(','));
  put('flags', s.flags.join(','));
  put('batch', s.batch);
  put('q', s.q);
  for (const k of EXTRA_KEYS) put(k, s.extra[k]);
  if (s.sort !== 'priority') put('sort', s.sort);
  if (s.z !== undefined) put('z', Math.round(s.z * 100) / 100);
  if (s.c) put('c', `${s.c[0].toFixed(5)},${s.c[1].toFixed(5)}`);
  return `#/?${parts.join('&')}`;
}

/** The list/count query of a view: the filters only. */
export function filterQuery(s: ViewState) {
  return { status: s.status, village: s.village, flags: s.flags, batch: s.batch, q: s.q, ...s.extra };
}

/**
 * The workspace link of a dashboard figure: its filter (GET /api/polygons parameters) as a queue view.
 * No status in the filter means every status (`status=all`), not the default queue.
 */
export function figureHash(filter: Record<string, string>): string {
  const u = new URLSearchParams(filter);
  if (!u.has('status')) u.set('status', 'all');
  return formatHash(parseHash(`#/?${u.toString()}`));
}
