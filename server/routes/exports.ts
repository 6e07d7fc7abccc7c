import { type Request, type Response } from 'express';
import { router } from '../http/canonical-path';
import { z } from 'zod';
import type { AppContext } from '../context';
import { villageScope } from '../auth/guard';
import { route } from '../http/openapi';
import { baseFilterOf, PolygonFilterQuery } from '../dashboard/filters';
import { casesCsv, casesXlsx } from '../exports/cases';
import { ledgerCsv, ledgerXlsx, polygonsGeojson, polygonsShapefile, type PolygonExport } from '../exports/polygons';
import { ClientGone, contentDisposition, stamp } from '../exports/stream';
import { CaseListQuery } from '../review/schemas';
import { today } from '../review/workdays';

/** who exports (the district's reviewers, the town office) */
const EXPORTERS = ['admin', 'analyst', 'reviewer'] as const;

export const CaseExportQuery = CaseListQuery.omit({ limit: true, offset: true });

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
  const polygonExport = (req: Request): PolygonExport => {
    const q = PolygonFilterQuery.parse(req.query);
    return { base: baseFilterOf(region, req, q), review: q, workSrid: ctx.config.workSrid };
  };
  const spec = (path: string, summary: string, summary_zh: string, responseType: string, query: z.ZodObject = PolygonFilterQuery) => ({
    method: 'get' as const, path, tags: ['exports'], roles: EXPORTERS, summary, summary_zh, query, responseType,
    description: 'Streamed download (Content-Disposition with an RFC 5987 filename*). The caller\'s villages only.',
  });

  route(r, spec('/api/exports/ledger.xlsx', 'Polygon ledger (台账) as XLSX, Chinese headers', '图斑台账（Excel）', XLSX), async (req, res) => {
    const e = polygonExport(req);
    const s = stamp();
    await run(req, res, 'ledger.xlsx', () => ledgerXlsx(ctx.db, e, res, start(res, XLSX, `tuban-ledger-${region}-${s}.xlsx`, `图斑台账-${region}-${s}.xlsx`)));
  });

  route(r, spec('/api/exports/ledger.csv', 'Polygon ledger (台账) as CSV (UTF-8 with BOM), same columns as the XLSX', '图斑台账（CSV）', 'text/csv'), async (req, res) => {
    const e = polygonExport(req);
    const s = stamp();
    await run(req, res, 'ledger.csv', () => ledgerCsv(ctx.db, e, res, start(res, 'text/csv; charset=utf-8', `tuban-ledger-${region}-${s}.csv`, `图斑台账-${region}-${s}.csv`)));
  });

  route(r, spec('/api/exports/polygons.geojson', 'Polygons as a GeoJSON FeatureCollection (EPSG:4326)', '图斑（GeoJSON）', 'application/geo+json'), async (req, res) => {
    const e = polygonExport(req);
    const s = stamp();
    await run(req, res, 'polygons.geojson', () => polygonsGeojson(ctx.db, e, res, start(res, 'application/geo+json', `tuban-polygons-${region}-${s}.geojson`, `图斑-${region}-${s}.geojson`)));
  });

  route(r, spec('/api/exports/polygons.zip', 'Polygons as a zipped shapefile: work CRS (CGCS2000 .prj), GBK .dbf with .cpg, ledger attributes', '图斑（Shapefile 压缩包）', 'application/zip'), async (req, res) => {
    const e = polygonExport(req);
    const s = stamp();
    const base = `tuban_polygons_${region}_${s}`;
    await run(req, res, 'polygons.zip', () => polygonsShapefile(ctx.db, e, res, base, start(res, 'application/zip', `${base}.zip`, `图斑-${region}-${s}.zip`)));
  });

  const caseFilter = (req: Request) => {
    const q = CaseExportQuery.parse(req.query);
    return {
      regionCode: region, scope: villageScope(req), status: q.status, village: q.village, year: q.year,
      overdue: q.overdue === '1' || q.overdue === 'true', asOf: q.as_of ?? today(), q: q.q,
    };
  };

  route(r, spec('/api/exports/cases.xlsx', 'Case ledger (案件台账) as XLSX: cases, polygons, steps with deadlines', '案件台账（Excel）', XLSX, CaseExportQuery), async (req, res) => {
    const f = caseFilter(req);
    const s = stamp();
    await run(req, res, 'cases.xlsx', () => casesXlsx(ctx.db, f, res, start(res, XLSX, `tuban-cases-${region}-${s}.xlsx`, `案件台账-${region}-${s}.xlsx`)));
  });

  route(r, spec('/api/exports/cases.csv', 'Case ledger (案件台账) as CSV (UTF-8 with BOM)', '案件台账（CSV）', 'text/csv', CaseExportQuery), async (req, res) => {
    const f = caseFilter(req);
    const s = stamp();
    await run(req, res, 'cases.csv', () => casesCsv(ctx.db, f, res, start(res, 'text/csv; charset=utf-8', `tuban-cases-${region}-${s}.csv`, `案件台账-${region}-${s}.csv`)));
  });

  return r;
}
