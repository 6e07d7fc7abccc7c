/**
 * Polygon exports, streamed: the ledger (台账) as XLSX and CSV, GeoJSON (EPSG:4326) and a zipped shapefile
 * (work CRS, GBK .dbf + .cpg + .prj). Rows come in keyset pages of PAGE_SIZE through the Db interface
 * (polygons.sql); each page is written before the next is read, and a full response buffer pauses the
 * reads (ResponseSink), so memory stays flat whatever the row count.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Response } from 'express';
import { Zip, ZipDeflate } from 'fflate';
import type { MultiPolygon } from 'geojson';
import type { Queryable } from '../db/types';
import { sqlSet } from '../db/sql-file';
import { ShapefileFileWriter, type DbfField } from '../shapefile/write';
import { esriWktForEpsg, isCgcs2000Epsg } from '../shapefile/prj';
import { DISMISS_REASON_LABELS, STATUS_LABELS, type Status } from '../review/transitions';
import { filterWhere, shiftParams, type BaseFilter, type ReviewFilterQuery } from '../dashboard/filters';
import { FLAG_LABELS } from '../dashboard/coverage';
import { FINDING_LABELS, type Finding } from '../field/findings';
import { calendarCovers } from '../review/workdays';
import { SOURCE_LABELS, type LeadSource } from '../leads/sources';
import { pageCells, primed, ResponseSink, streamCsv, streamXlsx } from './stream';

const SQL = sqlSet(new URL('./polygons.sql', import.meta.url), ['ledger_page', 'geojson_page', 'layer_titles', 'work_crs_wkt'] as const);

/** rows per database round trip */
export const PAGE_SIZE = 2000;

export interface PolygonExport {
  base: BaseFilter;
  review: ReviewFilterQuery;
  workSrid: number;
  pageSize?: number;
}

interface LedgerRow {
  id: number;
  code: string;
  survey: string;
  source: string;
  village: string | null;
  area_m2: number;
  area_mu: number;
  flags: string[];
  status: Status;
  decided_by: string | null;
  decided_at: string | null;
  reason: string | null;
  note: string | null;
  case_number: string | null;
  party: string | null;
  case_status: string | null;
  case_outcome: string | null;
  case_outcome_m2: number | null;
  case_outcome_at: string | null;
  change_type: string | null;
  before_date: string | null;
  after_date: string | null;
  delivered_m2: number | null;
  center_lon: number;
  center_lat: number;
  next_deadline: string | null;
  finding: Finding | null;
  finding_note: string | null;
  finding_by: string | null;
  finding_on: string | null;
  responsible: string | null;
  responsible_title: string | null;
  responsible_phone: string | null;
  geometry: string | null;
}

/** A statement of polygons.sql with the caller's filter in place of /*polygon_filter*\/. */
function withFilter(sql: string, e: PolygonExport, own: number) {
  const { where, params } = filterWhere(e.base, e.review, e.workSrid);
  return { sql: sql.replace('/*polygon_filter*/', shiftParams(where, own)), params };
}

/** Keyset pages of ledger rows (`geometrySrid`: GeoJSON text in that CRS; 0: none). */
export async function* ledgerPages(q: Queryable, e: PolygonExport, geometrySrid = 0): AsyncGenerator<LedgerRow[]> {
  const { sql, params } = withFilter(SQL.ledger_page, e, 3);
  const size = e.pageSize ?? PAGE_SIZE;
  let last = 0;
  for (;;) {
    const rows = (await q.query<LedgerRow>(sql, [last, size, geometrySrid, ...params])).rows;
    if (!rows.length) return;
    yield rows;
    if (rows.length < size) return;
    last = rows[rows.length - 1].id;
  }
}

// ---------------------------------------------------------------------------------------------------
// The ledger (台账): one column list for XLSX, CSV and the shapefile's attribute table

type Labels = Map<string, string>;

export async function flagLabels(q: Queryable): Promise<Labels> {
  const m = new Map<string, string>(Object.entries(FLAG_LABELS).map(([k, v]) => [k, v.zh]));
  for (const r of (await q.query<{ name: string; title_zh: string }>(SQL.layer_titles)).rows) if (!m.has(r.name)) m.set(r.name, r.title_zh);
  return m;
}

const fixed = (n: number | null | undefined, d: number) => (n == null ? null : Number(n.toFixed(d)));

/** 处理结果: what became of the polygon, in words. */
function result(r: LedgerRow): string {
  switch (r.status) {
    case 'verified':
      return '核实属实';
    case 'linked':
      if (r.case_outcome === 'demolished') return `立案查处，已拆除${r.case_outcome_m2 != null ? ` ${r.case_outcome_m2.toFixed(2)} 平方米` : ''}`;
      if (r.case_outcome === 'regularised') return '立案查处，已完善手续';
      return '立案查处（办理中）';
    case 'dismissed':
      return `排除${r.reason ? `（${reasonLabel(r.reason)}）` : ''}`;
    default:
      return '';
  }
}
/** 整改情况: what the case achieved (or that it is under way). */
function rectification(r: LedgerRow): string | null {
  if (!r.case_number) return null;
  if (r.case_outcome === 'demolished') return `已拆除${r.case_outcome_m2 != null ? ` ${r.case_outcome_m2.toFixed(2)} 平方米` : ''}${r.case_outcome_at ? `（${r.case_outcome_at}）` : ''}`;
  if (r.case_outcome === 'regularised') return `已完善手续${r.case_outcome_at ? `（${r.case_outcome_at}）` : ''}`;
  return r.case_status === 'closed' ? '已结案' : '整改中';
}

/** 核查结果: the last field finding, its note, who and when. */
function fieldResult(r: LedgerRow): string | null {
  if (!r.finding) return null;
  const label = FINDING_LABELS[r.finding]?.zh ?? r.finding;
  return `${label}${r.finding_note ? `：${r.finding_note}` : ''}（${[r.finding_by, r.finding_on].filter(Boolean).join(' ')}）`;
}

/** 时限: the case's next open deadline; "（预计）" beyond the published holiday calendar (weekends only). */
function timeLimit(r: LedgerRow): string | null {
  if (!r.next_deadline) return null;
  return calendarCovers(r.next_deadline) ? r.next_deadline : `${r.next_deadline}（预计）`;
}

const reasonLabel = (r: string | null) => (r ? (DISMISS_REASON_LABELS as Record<string, { zh: string }>)[r]?.zh ?? r : '');

export interface LedgerColumn {
  key: string;
  header: string;
  /** DBF field (≤ 10 bytes in GBK) of the shapefile */
  dbf: DbfField;
  width: number;
  numFmt?: string;
  /** a date column of the XLSX (see SheetColumn) */
  type?: 'date' | 'datetime';
  value: (r: LedgerRow, seq: number, labels: Labels) => string | number | null;
}

export const LEDGER_COLUMNS: LedgerColumn[] = [
  { key: 'seq', header: '序号', dbf: { name: '序号', type: 'N', length: 10 }, width: 7, value: (_r, seq) => seq },
  { key: 'code', header: '图斑编号', dbf: { name: '图斑编号', type: 'C', length: 60 }, width: 24, value: (r) => r.code },
  { key: 'village', header: '村（社区）', dbf: { name: '村名', type: 'C', length: 60 }, width: 14, value: (r) => r.village },
  { key: 'change_type', header: '变化类型', dbf: { name: '变化类型', type: 'C', length: 40 }, width: 12, value: (r) => r.change_type },
  { key: 'before', header: '前时相', dbf: { name: '前时相', type: 'C', length: 10 }, width: 12, type: 'date', value: (r) => r.before_date },
  { key: 'after', header: '后时相', dbf: { name: '后时相', type: 'C', length: 10 }, width: 12, type: 'date', value: (r) => r.after_date },
  { key: 'area_m2', header: '面积（平方米）', dbf: { name: '面积', type: 'N', length: 16, decimals: 2 }, width: 14, numFmt: '0.00', value: (r) => fixed(r.area_m2, 2) },
  { key: 'delivered_m2', header: '下发面积（平方米）', dbf: { name: '下发面积', type: 'N', length: 16, decimals: 2 }, width: 14, numFmt: '0.00', value: (r) => fixed(r.delivered_m2, 2) },
  { key: 'area_mu', header: '面积（亩）', dbf: { name: '面积亩', type: 'N', length: 14, decimals: 4 }, width: 11, numFmt: '0.0000', value: (r) => fixed(r.area_mu, 4) },
  { key: 'center_lon', header: '中心点经度', dbf: { name: '中心经度', type: 'N', length: 14, decimals: 7 }, width: 13, numFmt: '0.0000000', value: (r) => fixed(r.center_lon, 7) },
  { key: 'center_lat', header: '中心点纬度', dbf: { name: '中心纬度', type: 'N', length: 13, decimals: 7 }, width: 12, numFmt: '0.0000000', value: (r) => fixed(r.center_lat, 7) },
  { key: 'status', header: '状态', dbf: { name: '状态', type: 'C', length: 20 }, width: 12, value: (r) => STATUS_LABELS[r.status]?.zh ?? r.status },
  { key: 'result', header: '处理结果', dbf: { name: '处理结果', type: 'C', length: 80 }, width: 26, value: result },
  { key: 'field_result', header: '核查结果', dbf: { name: '核查结果', type: 'C', length: 254 }, width: 28, value: fieldResult },
  { key: 'rectification', header: '整改情况', dbf: { name: '整改情况', type: 'C', length: 80 }, width: 20, value: rectification },
  { key: 'time_limit', header: '时限', dbf: { name: '时限', type: 'C', length: 20 }, width: 16, value: timeLimit },
  { key: 'decided_by', header: '认定人', dbf: { name: '认定人', type: 'C', length: 40 }, width: 12, value: (r) => r.decided_by },
  { key: 'decided_at', header: '认定时间', dbf: { name: '认定时间', type: 'C', length: 19 }, width: 19, type: 'datetime', value: (r) => r.decided_at },
  { key: 'case_number', header: '案件编号', dbf: { name: '案件编号', type: 'C', length: 60 }, width: 24, value: (r) => r.case_number },
  { key: 'party', header: '当事人', dbf: { name: '当事人', type: 'C', length: 100 }, width: 14, value: (r) => r.party },
  { key: 'reason', header: '排除原因', dbf: { name: '排除原因', type: 'C', length: 30 }, width: 14, value: (r) => reasonLabel(r.reason) || null },
  { key: 'note', header: '备注', dbf: { name: '备注', type: 'C', length: 254 }, width: 30, value: (r) => r.note },
  { key: 'responsible', header: '责任人', dbf: { name: '责任人', type: 'C', length: 100 }, width: 16, value: (r) => (r.responsible ? `${r.responsible}（${r.responsible_title}）` : null) },
  { key: 'responsible_phone', header: '责任人电话', dbf: { name: '责任电话', type: 'C', length: 30 }, width: 14, value: (r) => r.responsible_phone },
  { key: 'flags', header: '整治重点', dbf: { name: '整治重点', type: 'C', length: 100 }, width: 20, value: (r, _s, l) => r.flags.map((f) => l.get(f) ?? f).join('、') || null },
  { key: 'survey', header: '监测期次', dbf: { name: '监测期次', type: 'C', length: 20 }, width: 9, value: (r) => r.survey },
  // 卫片 / 巡查 / 举报 (issue 16 item 1); never the reporter's contact (item 3: it is not in survey_polygon)
  { key: 'source', header: '来源', dbf: { name: '来源', type: 'C', length: 8 }, width: 7, value: (r) => SOURCE_LABELS[r.source as LeadSource]?.zh ?? r.source },
  { key: 'status_code', header: '状态代码', dbf: { name: 'STATUS', type: 'C', length: 12 }, width: 11, value: (r) => r.status },
  { key: 'id', header: '系统ID', dbf: { name: 'TBID', type: 'N', length: 12 }, width: 9, value: (r) => r.id },
];

export const LEDGER_HEADERS = LEDGER_COLUMNS.map((c) => c.header);

export async function ledgerXlsx(q: Queryable, e: PolygonExport, res: Response, onStart: () => void): Promise<number> {
  const labels = await flagLabels(q);
  const pages = await primed(ledgerPages(q, e));
  onStart();
  return streamXlsx(res, '图斑台账', LEDGER_COLUMNS, pageCells(pages, (r, seq) => LEDGER_COLUMNS.map((c) => c.value(r, seq, labels))));
}

export async function ledgerCsv(q: Queryable, e: PolygonExport, res: Response, onStart: () => void): Promise<number> {
  const labels = await flagLabels(q);
  const pages = await primed(ledgerPages(q, e));
  onStart();
  return streamCsv(res, LEDGER_HEADERS, pageCells(pages, (r, seq) => LEDGER_COLUMNS.map((c) => c.value(r, seq, labels))));
}

/**
 * FeatureCollection in EPSG:4326 with the ledger's Chinese column names as property names and its
 * values (Beijing local time, labels in Chinese), the same as the XLSX/CSV/shapefile (?names=zh).
 */
export async function polygonsGeojsonZh(q: Queryable, e: PolygonExport, res: Response, onStart: () => void): Promise<number> {
  const labels = await flagLabels(q);
  const pages = await primed(ledgerPages(q, e, 4326));
  onStart();
  const sink = new ResponseSink(res);
  await sink.write('{"type":"FeatureCollection","name":"图斑台账","features":[\n');
  let n = 0;
  for await (const page of pages) {
    const first = n;
    const out = page.map((r) => {
      const seq = ++n;
      const props = Object.fromEntries(LEDGER_COLUMNS.map((c) => [c.header, c.value(r, seq, labels)]));
      return `{"type":"Feature","id":${r.id},"geometry":${r.geometry ?? 'null'},"properties":${JSON.stringify(props)}}`;
    });
    await sink.write((first ? ',\n' : '') + out.join(',\n'));
  }
  await sink.write(`\n],"numberReturned":${n}}\n`);
  res.end();
  return n;
}

/** FeatureCollection in EPSG:4326 (RFC 7946); each page's features are written by PostGIS. */
export async function polygonsGeojson(q: Queryable, e: PolygonExport, res: Response, onStart: () => void): Promise<number> {
  const { sql, params } = withFilter(SQL.geojson_page, e, 2);
  const size = e.pageSize ?? PAGE_SIZE;
  const page = async (last: number) =>
    (await q.query<{ last: number | null; n: number; features: string | null }>(sql, [last, size, ...params])).rows[0];
  let p = await page(0);
  onStart();
  const sink = new ResponseSink(res);
  await sink.write('{"type":"FeatureCollection","features":[\n');
  let n = 0;
  while (p.n > 0) {
    await sink.write((n ? ',\n' : '') + p.features);
    n += p.n;
    if (p.n < size) break;
    p = await page(p.last!);
  }
  await sink.write(`\n],"numberReturned":${n}}\n`);
  res.end();
  return n;
}

/**
 * Zipped shapefile: written to a temporary directory with ShapefileFileWriter (flat memory), then streamed
 * as a zip (fflate, deflate) and removed. Coordinates in the work CRS as stored; .prj in ESRI WKT for
 * CGCS2000 (else PostGIS's OGC WKT); attributes GBK with .cpg.
 */
export async function polygonsShapefile(q: Queryable, e: PolygonExport, res: Response, baseName: string, onStart: () => void): Promise<number> {
  const labels = await flagLabels(q);
  const prj = isCgcs2000Epsg(e.workSrid)
    ? esriWktForEpsg(e.workSrid)
    : (await q.query<{ srtext: string }>(SQL.work_crs_wkt, [e.workSrid])).rows[0]?.srtext;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tuban-export-'));
  try {
    const base = path.join(dir, baseName);
    const w = new ShapefileFileWriter(base, { shapeType: 'polygon', fields: LEDGER_COLUMNS.map((c) => ({ ...c.dbf, name: c.dbf.name })), encoding: 'gbk', prj });
    let seq = 0;
    try {
      for await (const page of ledgerPages(q, e, e.workSrid)) {
        for (const r of page) {
          seq++;
          const rec: Record<string, unknown> = {};
          for (const c of LEDGER_COLUMNS) rec[c.dbf.name] = c.value(r, seq, labels);
          w.add(r.geometry ? (JSON.parse(r.geometry) as MultiPolygon) : null, rec);
        }
      }
    } finally {
      w.close();
    }
    onStart();
    const sink = new ResponseSink(res);
    await zipFiles(sink, ['shp', 'shx', 'dbf', 'cpg', 'prj'].filter((x) => x !== 'prj' || prj).map((x) => ({ path: `${base}.${x}`, name: `${baseName}.${x}` })));
    res.end();
    return seq;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Streams files into a zip on the sink, one 1 MiB chunk at a time (waits for the client between chunks). */
async function zipFiles(sink: ResponseSink, files: { path: string; name: string }[]) {
  let failure: Error | null = null;
  const pending: Uint8Array[] = [];
  const zip = new Zip((err, chunk) => {
    if (err) failure = err;
    else pending.push(chunk);
  });
  const flush = async () => {
    while (pending.length) await sink.write(pending.shift()!);
    if (failure) throw failure;
  };
  for (const f of files) {
    const entry = new ZipDeflate(f.name, { level: 6 });
    zip.add(entry);
    for await (const chunk of createReadStream(f.path, { highWaterMark: 1 << 20 })) {
      entry.push(chunk as Uint8Array, false);
      await flush();
    }
    entry.push(new Uint8Array(0), true);
    await flush();
  }
  zip.end();
  await flush();
}
