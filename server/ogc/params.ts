/**
 * The query of an OGC request, checked at the edge. Items: `limit`, `bbox`, `bbox-crs`, `crs`, `cursor`, `f`,
 * `datetime` (survey) and the collection's property filters (queryables.ts); any other parameter is a 400
 * (Part 1 /rec/core/query-param-unknown), as is a parameter given twice. Metadata documents (landing page,
 * collections, …) take `f` and let the items parameters pass unread: GDAL's OAPIF driver appends the query
 * of the URL it was opened with (`OAPIF:https://…/ogc?crs=…`) to every request it makes.
 */
import { AppError } from '../errors';
import type { TileLayer } from '../tiles/catalog';
import { itemParams } from './api-doc';
import { bboxXY, crsOf, type ServedCrs } from './crs';
import { QUERYABLES } from './queryables';
import { DEFAULT_LIMIT, MAX_LIMIT } from './service';

type Query = Record<string, unknown>;

const bad = (en: string, zh: string) => new AppError('invalid_input', en, zh, 400);

function single(q: Query, name: string): string | undefined {
  const v = q[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw bad(`${name}: give it once, as one value`, `${name}：只能给一次、一个值`);
  return v;
}

function checkF(q: Query) {
  const f = single(q, 'f');
  if (f !== undefined && f !== 'json' && f !== 'geojson') throw bad('Only f=json (GeoJSON) is served', '仅支持 f=json（GeoJSON）');
}

/** Every parameter any items path takes: metadata requests let these pass (see above). */
const ANY_ITEMS_PARAM = new Set<string>([
  ...itemParams('survey'), ...Object.values(QUERYABLES).flatMap((k) => Object.keys(k)),
]);

function refuseUnknown(q: Query, allowed: Set<string>, where: string) {
  const unknown = Object.keys(q).filter((k) => !allowed.has(k));
  if (unknown.length) {
    const list = [...allowed].join(', ');
    throw bad(`Unknown query parameter ${unknown.join(', ')} for ${where}; this path takes ${list}`,
      `${where} 不接受查询参数 ${unknown.join('、')}；可用：${list}`);
  }
}

/** Landing page, conformance, collections, a collection, queryables, the API definition. */
export function metadataQuery(q: Query, where: string) {
  refuseUnknown(q, new Set(['f', ...ANY_ITEMS_PARAM]), where);
  checkF(q);
}

/** One feature: `crs` and `f` (and, unread, what GDAL forwards). */
export function featureQuery(q: Query, workSrid: number): { crs: ServedCrs } {
  refuseUnknown(q, new Set(['f', 'crs', ...ANY_ITEMS_PARAM]), 'a feature');
  checkF(q);
  return { crs: crsOf(single(q, 'crs'), workSrid, 'crs') };
}

const RFC3339 = /^\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)$/;
function instant(s: string): number {
  const t = RFC3339.test(s) ? Date.parse(s) : NaN;
  if (!Number.isFinite(t)) throw bad('datetime: an RFC 3339 date-time (2021-06-01T00:00:00Z) or an interval a/b, ../b, a/..', 'datetime 应为 RFC 3339 时间（2021-06-01T00:00:00Z）或区间 a/b、../b、a/..');
  return t;
}

/** `datetime` → [from, to) as ISO instants (an instant or closed interval: the end is taken inclusive). */
function datetime(s: string): { from?: string; to?: string } {
  const parts = s.split('/');
  if (parts.length === 1) {
    const t = instant(parts[0]);
    return { from: new Date(t).toISOString(), to: new Date(t + 1).toISOString() };
  }
  if (parts.length !== 2) throw bad('datetime: an RFC 3339 date-time or an interval a/b, ../b, a/..', 'datetime 应为 RFC 3339 时间或区间 a/b、../b、a/..');
  const open = (p: string) => p === '..' || p === '';
  const from = open(parts[0]) ? undefined : instant(parts[0]);
  const to = open(parts[1]) ? undefined : instant(parts[1]);
  if (from !== undefined && to !== undefined && from > to) throw bad('datetime: the interval ends before it starts', 'datetime：区间的结束早于开始');
  return { from: from === undefined ? undefined : new Date(from).toISOString(), to: to === undefined ? undefined : new Date(to + 1).toISOString() };
}

export interface ItemsParams {
  limit: number;
  after: number;
  bbox?: [number, number, number, number];
  bboxCrs: ServedCrs;
  crs: ServedCrs;
  filters: Record<string, unknown>;
  importedFrom?: string;
  importedTo?: string;
  /** the parameters to repeat in the self and next links, as given */
  echo: Record<string, string>;
}

export function itemsQuery(q: Query, c: TileLayer, workSrid: number): ItemsParams {
  const filters = QUERYABLES[c.kind];
  refuseUnknown(q, new Set([...itemParams(c.kind), ...Object.keys(filters)]), `the items of ${c.name}`);
  checkF(q);
  const echo: Record<string, string> = {};
  for (const k of Object.keys(q)) if (k !== 'cursor') echo[k] = single(q, k)!;

  let limit = DEFAULT_LIMIT;
  const l = single(q, 'limit');
  if (l !== undefined) {
    if (!/^\d{1,15}$/.test(l) || Number(l) < 1) throw bad(`limit: an integer from 1 to ${MAX_LIMIT}`, `limit 应为 1–${MAX_LIMIT} 的整数`);
    limit = Math.min(Number(l), MAX_LIMIT); // Part 1 /per/core/limit-response-1: served as the maximum
  }
  const cur = single(q, 'cursor');
  if (cur !== undefined && !/^\d{1,15}$/.test(cur)) throw bad('cursor: take it from a next link', 'cursor 应取自 next 链接');
  const crs = crsOf(single(q, 'crs'), workSrid, 'crs');
  const bboxCrs = crsOf(single(q, 'bbox-crs'), workSrid, 'bbox-crs');
  let bbox: ItemsParams['bbox'];
  const b = single(q, 'bbox');
  if (b !== undefined) {
    const a = b.split(',').map((x) => (x.trim() === '' ? NaN : Number(x)));
    if (!(a.length === 4 || a.length === 6) || !a.every(Number.isFinite)) {
      throw bad('bbox: four (or six) numbers, comma-separated', 'bbox 应为逗号分隔的四个（或六个）数');
    }
    bbox = bboxXY(a, bboxCrs);
  } else if (q['bbox-crs'] !== undefined) {
    throw bad('bbox-crs without bbox', '给了 bbox-crs 却没有 bbox');
  }
  const parsed: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(filters)) {
    const v = single(q, name);
    if (v === undefined) continue;
    const r = f.parse.safeParse(v);
    if (!r.success) throw bad(`${name}: ${r.error.issues[0]?.message ?? 'invalid'} (${f.title})`, `${name}（${f.title}）的值无效`);
    parsed[name] = r.data;
  }
  const dt = c.kind === 'survey' && single(q, 'datetime') !== undefined ? datetime(single(q, 'datetime')!) : {};
  return {
    limit, after: cur === undefined ? 0 : Number(cur), bbox, bboxCrs, crs, filters: parsed,
    importedFrom: dt.from, importedTo: dt.to, echo,
  };
}
