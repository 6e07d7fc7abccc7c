/**
 * `importImagery`: one GeoTIFF → the current imagery layer of an epoch ('before' | 'after'; 前时相 / 后时相,
 * 实施方案 二(四): the 2020 suspect polygons are judged by comparing the two). Checked first (georeferencing,
 * sample format, CRS, inside the work region), then its whole pyramid is written under a staged row, then
 * the row is made current in one transaction, then the replaced layer's files are removed: a failure at any
 * step leaves the previous layer exactly as it was.
 */
import { readdir, rm, stat } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import proj4 from 'proj4';
import type { Db } from '../db/types';
import { IngestError } from '../errors';
import { GEO_4490, workDef } from '../ingest/crs';
import { openImagerySource, sidecarsBeside, type ImagerySource, type Sidecars } from './source';
import { percentileStretch, planPyramid, writePyramid, type Stretch } from './pyramid';
import { EPOCHS, imageryRoot, layerDir, SQL, type Epoch, type ImageryStore } from './store';

export interface ImageryImportRequest {
  path: string;
  fileName: string;
  epoch: string;
  /** YYYY-MM-DD; default: the TIFF DateTime tag */
  date?: string;
  srs?: string;
  /** .tfw/.prj contents; default: the files beside `path` */
  sidecars?: Sidecars;
  user?: string;
  /** the app's store, told to forget the old layer at once */
  store?: ImageryStore;
  onProgress?: (p: { phase: 'read' | 'tiles' | 'overview' | 'done'; done: number; total: number }) => void;
}

export interface ImagerySettings {
  dataDir: string;
  regionCode: string;
  workSrid: number;
}

export interface ImageryReport {
  layer: 'imagery';
  import_id: number;
  epoch: Epoch;
  file: { name: string; bytes: number };
  pixels: { width: number; height: number; total: number };
  bands: string;
  bits: number;
  stretch: Stretch | null;
  resolution_m: number;
  pixel_size: [number, number];
  crs: { source: string; how: string };
  georeference: 'geokeys' | 'worldfile';
  /** CGCS2000 lon/lat: west, south, east, north */
  extent: [number, number, number, number];
  zooms: { min: number; max: number; tiles: Record<string, number> };
  tiles: number;
  bytes: number;
  date: string | null;
  date_source: 'option' | 'tiff' | null;
  /** largest error of the interpolated reprojection grid on sampled tiles, in source pixels */
  grid_error_px: number;
  replaced: number | null;
  warnings: { code: string; message: string; message_zh: string }[];
  seconds: number;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

function checkRequest(req: ImageryImportRequest): Epoch {
  if (!(EPOCHS as readonly string[]).includes(req.epoch)) {
    throw new IngestError('imagery_epoch', "Imagery needs an epoch: 'before' (前时相) or 'after' (后时相)",
      "影像须指定时相：before（前时相）或 after（后时相）", { epoch: req.epoch ?? null });
  }
  if (req.date !== undefined && (!DATE.test(req.date) || Number.isNaN(Date.parse(req.date)))) {
    throw new IngestError('imagery_date', `The date must look like 2020-10-01, not "${req.date}"`, `日期格式应为 2020-10-01，而不是“${req.date}”`, { date: req.date });
  }
  return req.epoch as Epoch;
}

/** The work region's extent (lon/lat) from what the database holds, or undefined when it holds nothing yet. */
async function workRegion(db: Db, s: ImagerySettings): Promise<[number, number, number, number] | undefined> {
  const r = await db.query<{ xmin: number; ymin: number; xmax: number; ymax: number }>(SQL.work_extent, [s.regionCode]);
  if (!r.rows.length) return undefined;
  const toGeo = proj4(workDef(s.workSrid), GEO_4490);
  const pts = r.rows.flatMap((b) => [[b.xmin, b.ymin], [b.xmin, b.ymax], [b.xmax, b.ymin], [b.xmax, b.ymax]].map((p) => toGeo.forward(p.map(Number))));
  return [Math.min(...pts.map((p) => p[0])), Math.min(...pts.map((p) => p[1])), Math.max(...pts.map((p) => p[0])), Math.max(...pts.map((p) => p[1]))];
}

const overlaps = (a: number[], b: number[]) => a[0] <= b[2] && b[0] <= a[2] && a[1] <= b[3] && b[1] <= a[3];
const round = (n: number, d = 6) => Math.round(n * 10 ** d) / 10 ** d;

/** Directories and staged rows an interrupted import left behind. */
async function sweep(db: Db, s: ImagerySettings): Promise<void> {
  const stale = await db.query<{ id: number }>(SQL.stale_staged, [s.regionCode]);
  for (const r of stale.rows) await rm(layerDir(s.dataDir, Number(r.id)), { recursive: true, force: true });
  const known = new Set((await db.query<{ id: number }>(SQL.known_ids, [s.regionCode])).rows.map((r) => String(r.id)));
  const dirs = await readdir(imageryRoot(s.dataDir)).catch(() => [] as string[]);
  // a directory is made only after its row exists: one without a row is an orphan of a failed flip
  for (const d of dirs) if (/^\d+$/.test(d) && !known.has(d)) await rm(layerDir(s.dataDir, Number(d)), { recursive: true, force: true });
}

export async function importImagery(db: Db, s: ImagerySettings, req: ImageryImportRequest): Promise<ImageryReport> {
  const started = performance.now();
  const epoch = checkRequest(req);
  const progress = req.onProgress ?? (() => undefined);
  progress({ phase: 'read', done: 0, total: 1 });
  const bytes = (await stat(req.path)).size;
  const src = await openImagerySource(req.path, { srs: req.srs, sidecars: req.sidecars ?? (await sidecarsBeside(req.path)) });
  try {
    return await importSource(db, s, req, src, { epoch, bytes, started });
  } finally {
    await src.tiff.close();
  }
}

async function importSource(db: Db, s: ImagerySettings, req: ImageryImportRequest, src: ImagerySource,
  o: { epoch: Epoch; bytes: number; started: number }): Promise<ImageryReport> {
  const { epoch, bytes, started } = o;
  const progress = req.onProgress ?? (() => undefined);
  const plan = planPyramid(src);
  const warnings = [...src.warnings, ...src.crs.warnings];

  const region = await workRegion(db, s);
  // a kilometre of slack (~0.01°): imagery is often cut a little tighter than the town's outer parcels
  const margin = 0.01;
  if (region && !overlaps(plan.extent, [region[0] - margin, region[1] - margin, region[2] + margin, region[3] + margin])) {
    throw new IngestError('imagery_outside_region',
      'The image lies outside the work region (it overlaps none of the survey polygons, parcels or layers imported); check its coordinate system (--srs)',
      '影像不在工作区域内（与已导入的图斑、宗地和图层均不重叠）；请检查其坐标系（--srs）',
      { image_extent: plan.extent.map((v) => round(v)), region_extent: region.map((v) => round(v)), crs: src.crs.source });
  }
  if (!region) {
    warnings.push({ code: 'imagery_region_unknown', message: 'Nothing is imported yet to tell the work region: the image was not checked against it',
      message_zh: '尚未导入任何数据，无法确定工作区域：未检查影像是否在区域内' });
  }
  const stretch = src.bits === 16 ? await percentileStretch(src) : null;
  const date = req.date ?? src.tiffDate;
  const dateSource = req.date ? 'option' : src.tiffDate ? 'tiff' : null;

  await sweep(db, s);
  const staged = await db.query<{ id: number }>(SQL.stage_layer, [
    s.regionCode, epoch, date, dateSource, req.fileName, src.crs.source, src.width, src.height, src.geo.a, -src.geo.e,
    plan.resolutionM, ...plan.extent, plan.minzoom, plan.maxzoom, req.user ?? null,
  ]);
  const id = Number(staged.rows[0].id);
  const dir = layerDir(s.dataDir, id);
  let replaced: number | null = null;
  let report: ImageryReport;
  try {
    const out = await writePyramid(src, plan, dir, {
      stretch: stretch ?? undefined,
      onProgress: (done, total) => progress({ phase: 'tiles', done, total }),
    });
    report = {
      layer: 'imagery', import_id: id, epoch, file: { name: req.fileName, bytes },
      pixels: { width: src.width, height: src.height, total: src.width * src.height },
      bands: src.layout, bits: src.bits, stretch, resolution_m: round(plan.resolutionM, 3), pixel_size: [src.geo.a, -src.geo.e],
      crs: { source: src.crs.source, how: src.crsHow }, georeference: src.georef,
      extent: plan.extent.map((v) => round(v)) as ImageryReport['extent'],
      zooms: { min: plan.minzoom, max: plan.maxzoom, tiles: Object.fromEntries(Object.entries(out.tilesPerZoom).map(([k, v]) => [k, v])) },
      tiles: out.tiles, bytes: out.bytes, date, date_source: dateSource, grid_error_px: round(out.gridErrorPx, 4),
      replaced: null, warnings, seconds: 0,
    };
    if (out.tiles === 0) {
      throw new IngestError('imagery_empty', 'The image holds no visible pixel (all nodata or transparent)', '影像没有可显示的像元（全部为无数据或透明）', {});
    }
    report.seconds = Math.round(performance.now() - started) / 1000;
    const finished = report;
    replaced = await db.tx(async (q) => {
      const old = await q.query<{ id: number }>(SQL.retire_current, [s.regionCode, epoch]);
      await q.query(SQL.make_current, [s.regionCode, id, finished.tiles, finished.bytes, JSON.stringify(finished)]);
      return old.rows[0] ? Number(old.rows[0].id) : null;
    });
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    await db.query(SQL.drop_staged, [s.regionCode, id]).catch(() => undefined);
    throw e;
  }
  req.store?.forget();
  if (replaced !== null) await rm(layerDir(s.dataDir, replaced), { recursive: true, force: true });
  progress({ phase: 'done', done: 1, total: 1 });
  return { ...report, replaced, seconds: Math.round(performance.now() - started) / 1000 };
}
