import { type Request, type Response } from 'express';
import { router } from '../http/canonical-path';
import { z } from 'zod';
import type { AppContext } from '../context';
import { villageScope } from '../auth/guard';
import { route } from '../http/openapi';
import { baseFilterOf, PolygonFilterQuery } from '../dashboard/filters';
import { casesCsv, casesXlsx } from '../exports/cases';
import { ledgerCsv, ledgerXlsx, polygonsGeojson, polygonsGeojsonZh, polygonsShapefile, type PolygonExport } from '../exports/polygons';
import { STATUS_LABELS } from '../review/transitions';
import { ClientGone, contentDisposition, stamp } from '../exports/stream';
import { CaseListQuery } from '../review/schemas';
import { today } from '../review/workdays';
import { patrolsCsv, patrolsXlsx } from '../exports/patrols';
import { PatrolListQuery } from './patrols';

/** who exports (the district's reviewers, the town office) */
const EXPORTERS = ['admin', 'analyst', 'reviewer'] as const;

export const PatrolExportQuery = PatrolListQuery.omit({ limit: true, offset: true });
export const CaseExportQuery = CaseListQuery.omit({ limit: true, offset: true });
export const GeojsonExportQuery = PolygonFilterQuery.extend({
  names: z.enum(['en', 'zh']).default('en').describe('zh: the ledger\'s Chinese column names and values (Beijing time), as in the XLSX/CSV/shapefile'),
});

/** characters a file name may not hold on Windows (and the separators) */
const unsafe = /[\\/:*?"<>|\x00-\x1f]/g;
const day = (iso: string | undefined) => iso?.slice(0, 10).replaceAll('-', '');

/**
 * The filters in the download's name (issue 14.3), so two exports of different villages or dates do not
 * overwrite each other: villages, statuses, survey, the date range or as-of day, then the export day.
 * `ascii` is the plain-ASCII fallback name's part (statuses, dates; Chinese only in filename*).
 */
export function filterNameParts(q: { village?: string[]; status?: string | string[]; survey?: string; year?: number; as_of?: string;
  first_outcome_from?: string; first_outcome_to?: string }): { zh: string; ascii: string } {
  const status = q.status === undefined ? [] : Array.isArray(q.status) ? q.status : [q.status];
  const range = q.first_outcome_from || q.first_outcome_to ? `${day(q.first_outcome_from) ?? ''}至${day(q.first_outcome_to) ?? ''}` : undefined;
  const rangeAscii = range?.replace('至', '-to-');
  const zh = [q.village?.slice(0, 5).join('、'), status.map((x) => (STATUS_LABELS as Record<string, { zh: string }>)[x]?.zh ?? (x === 'open' ? '办理中' : x === 'closed' ? '已结案' : x)).join('、'),
    q.survey, q.year && `${q.year}年`, range, q.as_of && `截至${day(q.as_of)}`].filter(Boolean).join('-');
  const ascii = [status.join('+'), q.survey && /^[\w.-]+$/.test(q.survey) ? q.survey : '', q.year, rangeAscii, q.as_of && `asof${day(q.as_of)}`].filter(Boolean).join('-');
  return { zh: zh.replace(unsafe, '_'), ascii: ascii.replace(unsafe, '_') };
}
const withParts = (base: string, part: string, s: string, ext: string) => `${base}${part ? `-${part}` : ''}-${s}.${ext}`;

const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

/**
 * Downloads, streamed (keyset pages of 2,000 rows, backpressure from the client): the polygon ledger
 * (台账) as XLSX/CSV, polygons as GeoJSON and as a zipped shapefile, the case ledger as XLSX/CSV. Same
 * filters as GET /api/polygons (plus the dashboard's review filters) and GET /api/cases; the caller's
 * villages only.
 */
export function exportRoutes(ctx: AppContext) {
  const r = router();
  const region = ctx.config.regionCode;

  /** Runs an export; a failure after the headers went out can only cut the download short. */
  const run = async (req: Request, res: Response, what: string, fn: () => Promise<number>) => {
    const started = performance.now();
    try {
      const rows = await fn();
      req.log?.info({ export: what, rows, ms: Math.round(performance.now() - started) }, 'export done');
    } catch (e) {
      if (!res.headersSent) throw e;
      if (!(e instanceof ClientGone)) req.log?.error({ err: e, export: what }, 'export failed after the headers were sent');
      res.destroy(e as Error);
    }
  };
  const start = (res: Response, type: string, ascii: string, name: string) => () => {
    res.status(200);
    res.set({
      'Content-Type': type,
      'Content-Disposition': contentDisposition(ascii, name),
      'Cache-Control': 'private, no-store',
      'X-Content-Type-Options': 'nosniff',
    });
    res.flushHeaders();
  };
  const polygonExport = (req: Request): PolygonExport & { names: ReturnType<typeof filterNameParts> } => {
    const q = PolygonFilterQuery.parse(req.query);
    return { base: baseFilterOf(region, req, q), review: q, workSrid: ctx.config.workSrid, names: filterNameParts(q) };
  };
  const spec = (path: string, summary: string, summary_zh: string, responseType: string, query: z.ZodObject = PolygonFilterQuery) => ({
    method: 'get' as const, path, tags: ['exports'], roles: EXPORTERS, summary, summary_zh, query, responseType,
    description: 'Streamed download (Content-Disposition with an RFC 5987 filename*). The caller\'s villages only.',
  });

  route(r, spec('/api/exports/ledger.xlsx', 'Polygon ledger (台账) as XLSX, Chinese headers', '图斑台账（Excel）', XLSX), async (req, res) => {
    const e = polygonExport(req);
    const s = stamp();
    await run(req, res, 'ledger.xlsx', () => ledgerXlsx(ctx.db, e, res, start(res, XLSX, withParts(`tuban-ledger-${region}`, e.names.ascii, s, 'xlsx'), withParts(`图斑台账-${region}`, e.names.zh, s, 'xlsx'))));
  });

  route(r, spec('/api/exports/ledger.csv', 'Polygon ledger (台账) as CSV (UTF-8 with BOM), same columns as the XLSX', '图斑台账（CSV）', 'text/csv'), async (req, res) => {
    const e = polygonExport(req);
    const s = stamp();
    await run(req, res, 'ledger.csv', () => ledgerCsv(ctx.db, e, res, start(res, 'text/csv; charset=utf-8', withParts(`tuban-ledger-${region}`, e.names.ascii, s, 'csv'), withParts(`图斑台账-${region}`, e.names.zh, s, 'csv'))));
  });

  route(r, spec('/api/exports/polygons.geojson', 'Polygons as a GeoJSON FeatureCollection (EPSG:4326); ?names=zh: the ledger\'s Chinese field names and values', '图斑（GeoJSON）', 'application/geo+json', GeojsonExportQuery), async (req, res) => {
    const e = polygonExport(req);
    const { names } = GeojsonExportQuery.parse(req.query);
    const s = stamp();
    const begin = start(res, 'application/geo+json', withParts(`tuban-polygons-${region}`, e.names.ascii, s, 'geojson'), withParts(`图斑-${region}`, e.names.zh, s, 'geojson'));
    await run(req, res, 'polygons.geojson', () => (names === 'zh' ? polygonsGeojsonZh : polygonsGeojson)(ctx.db, e, res, begin));
  });

  route(r, spec('/api/exports/polygons.zip', 'Polygons as a zipped shapefile: work CRS (CGCS2000 .prj), GBK .dbf with .cpg, ledger attributes', '图斑（Shapefile 压缩包）', 'application/zip'), async (req, res) => {
    const e = polygonExport(req);
    const s = stamp();
    const base = `tuban_polygons_${region}_${s}`;
    await run(req, res, 'polygons.zip', () => polygonsShapefile(ctx.db, e, res, base,
      start(res, 'application/zip', withParts(`tuban_polygons_${region}`, e.names.ascii, s, 'zip'), withParts(`图斑-${region}`, e.names.zh, s, 'zip'))));
  });

  const caseFilter = (req: Request) => {
    const q = CaseExportQuery.parse(req.query);
    return {
      names: filterNameParts(q),
      regionCode: region, scope: villageScope(req), status: q.status, village: q.village, year: q.year,
      overdue: q.overdue === '1' || q.overdue === 'true', asOf: q.as_of ?? today(), q: q.q,
    };
  };

  route(r, spec('/api/exports/cases.xlsx', 'Case ledger (案件台账) as XLSX: cases, polygons, steps with deadlines', '案件台账（Excel）', XLSX, CaseExportQuery), async (req, res) => {
    const f = caseFilter(req);
    const s = stamp();
    await run(req, res, 'cases.xlsx', () => casesXlsx(ctx.db, f, res, start(res, XLSX, withParts(`tuban-cases-${region}`, f.names.ascii, s, 'xlsx'), withParts(`案件台账-${region}`, f.names.zh, s, 'xlsx'))));
  });

  route(r, spec('/api/exports/cases.csv', 'Case ledger (案件台账) as CSV (UTF-8 with BOM)', '案件台账（CSV）', 'text/csv', CaseExportQuery), async (req, res) => {
    const f = caseFilter(req);
    const s = stamp();
    await run(req, res, 'cases.csv', () => casesCsv(ctx.db, f, res, start(res, 'text/csv; charset=utf-8', withParts(`tuban-cases-${region}`, f.names.ascii, s, 'csv'), withParts(`案件台账-${region}`, f.names.zh, s, 'csv'))));
  });

  // 巡查登记台账 (实施方案 五(一)): one row per patrol with its findings (exports/patrols.ts)
  const patrolFilter = (req: Request) => {
    const q = PatrolExportQuery.parse(req.query);
    const zh = [q.village?.slice(0, 5).join('、'), q.from || q.to ? `${day(q.from) ?? ''}至${day(q.to) ?? ''}` : ''].filter(Boolean).join('-').replace(unsafe, '_');
    const ascii = [q.from || q.to ? `${day(q.from) ?? ''}-to-${day(q.to) ?? ''}` : ''].filter(Boolean).join('-');
    return { scope: villageScope(req), village: q.village, from: q.from, to: q.to, names: { zh, ascii } };
  };
  route(r, spec('/api/exports/patrols.xlsx', 'Patrol ledger (巡查登记台账) as XLSX: one row per patrol with its findings', '巡查登记台账（Excel）', XLSX, PatrolExportQuery), async (req, res) => {
    const f = patrolFilter(req);
    const s = stamp();
    await run(req, res, 'patrols.xlsx', () => patrolsXlsx(ctx.db, region, f, res, start(res, XLSX, withParts(`tuban-patrols-${region}`, f.names.ascii, s, 'xlsx'), withParts(`巡查登记台账-${region}`, f.names.zh, s, 'xlsx'))));
  });
  route(r, spec('/api/exports/patrols.csv', 'Patrol ledger (巡查登记台账) as CSV (UTF-8 with BOM), same columns as the XLSX', '巡查登记台账（CSV）', 'text/csv', PatrolExportQuery), async (req, res) => {
    const f = patrolFilter(req);
    const s = stamp();
    await run(req, res, 'patrols.csv', () => patrolsCsv(ctx.db, region, f, res, start(res, 'text/csv; charset=utf-8', withParts(`tuban-patrols-${region}`, f.names.ascii, s, 'csv'), withParts(`巡查登记台账-${region}`, f.names.zh, s, 'csv'))));
  });

  return r;
}
