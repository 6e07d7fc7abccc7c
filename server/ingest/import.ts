import { createHash } from 'node:crypto';
import type { Db } from '../db/types';
import { sqlSet } from '../db/sql-file';
import { IngestError, isAppError } from '../errors';
import { reconcile, type ReconcileReport } from '../reconcile/reconcile';
import { readSource } from './read';
import type { IngestLimits, ReadFeature, ReadResult } from './types';
import { resolveLayer, type CustomRole } from './layers';
import { findField, numberValue, textValue } from './fields';
import { toHexEwkb } from './wkb';
import { ChunkBuilder } from './copy-text';

const SQL = sqlSet(new URL('./load.sql', import.meta.url), [
  'stage_create', 'stage_copy', 'stage_buffer_lines', 'stage_drop_not_polygonal', 'stage_repair', 'stage_drop_empty',
  'stage_index', 'stage_analyze', 'stage_counts', 'batch_find', 'batch_insert', 'batch_report',
  'survey_dedupe', 'survey_missing_code', 'survey_keep_versions', 'survey_update', 'survey_new_create',
  'survey_new_fill', 'survey_new_key', 'survey_new_analyze', 'survey_new_drop',
  'survey_mark_removed', 'survey_analyze', 'parcels_clear_overlaps', 'parcels_clear', 'parcels_copy',
  'parcels_lock_imports', 'parcels_lock_for_survey', 'parcels_find_invalid', 'parcels_invalid_drop',
  'parcels_repair', 'parcels_drop_empty', 'parcels_count', 'parcels_analyze', 'features_clear_results', 'features_clear', 'features_insert',
  'features_analyze', 'vacuum_survey', 'vacuum_overlaps', 'vacuum_parcels', 'vacuum_features',
] as const);

export interface ImportSettings {
  regionCode: string;
  workSrid: number;
  schoolDistanceM: number;
  limits: IngestLimits;
}

export interface ImportRequest {
  bytes: Uint8Array;
  fileName: string;
  /** survey | cadastral | frontage | village | school | compound | green | <custom name> */
  layer: string;
  /** custom layers, first import: what the layer does in reconciliation */
  role?: CustomRole;
  title?: string;
  distanceM?: number;
  srs?: string;
  encoding?: string;
  /** which layer of a multi-layer zip */
  sourceLayer?: string;
  /** survey key ('2020'); default: a year in the file name */
  survey?: string;
  /** attribute holding the polygon code (图斑编号) when it is not one of the usual names */
  codeField?: string;
  /** band width (m) for a frontage delivered as a centreline without a width attribute */
  widthM?: number;
  user?: string;
  onProgress?: (p: { phase: 'read' | 'stage' | 'store' | 'reconcile' | 'done'; done: number; total: number }) => void;
}

export interface ImportReport {
  batch_id: number;
  duplicate: boolean;
  layer: string;
  survey: string | null;
  file: { name: string; sha256: string; bytes: number };
  source_layer: string;
  available_layers: string[];
  crs: ReadResult['crs'];
  encoding: ReadResult['encoding'];
  fields: string[];
  read: number;
  stored: number;
  repaired: number;
  skipped: { total: number; reasons: Record<string, number>; examples: { record: number; reason: string }[] };
  survey_changes?: { new: number; updated: number; geometry_changed: number; removed: number };
  replaced?: number;
  reconcile?: ReconcileReport;
  warnings: ReadResult['warnings'];
  /** seconds per phase: read, check, clear, copy (incl. decoding + WKB, overlapped with the server), repair, index (survey) or analyze (parcels), merge, reconcile */
  timings: Record<string, number>;
  seconds: number;
}

/** Which geometries a layer accepts. */
function geometryMode(layer: string, role: string): 'polygon' | 'band' | 'any' {
  if (layer === 'frontage') return 'band';
  if (layer === 'school' || role === 'flag' || role === 'distance') return 'any';
  return 'polygon';
}

function surveyKey(req: ImportRequest): string {
  if (req.survey) return req.survey;
  const year = /(?:^|[^0-9])((?:19|20)\d\d)(?![0-9])/.exec(req.fileName);
  return year ? year[1] : 'default';
}

const POLYGONAL = new Set(['Polygon', 'MultiPolygon']);
const LINEAR = new Set(['LineString', 'MultiLineString']);

function checkGeometryTypes(src: ReadResult, mode: 'polygon' | 'band' | 'any', layer: string) {
  const types = Object.keys(src.geometryTypes).filter((t) => t !== 'null');
  const allowed = (t: string) => POLYGONAL.has(t) || (mode === 'band' && LINEAR.has(t)) || mode === 'any';
  const bad = types.filter((t) => !allowed(t));
  if (bad.length) {
    throw new IngestError('wrong_geometry_type',
      `Layer '${layer}' needs polygons${mode === 'band' ? ' or a centreline' : ''}; the file has ${bad.join(', ')}`,
      `图层“${layer}”需要面${mode === 'band' ? '或道路中心线' : ''}数据，文件中是 ${bad.join('、')}`,
      { geometryTypes: src.geometryTypes });
  }
}

/**
 * One import: read and check the file, then in ONE transaction store the batch, its features and the
 * reconciliation they trigger. A refusal at any point leaves the database as it was.
 */
export async function importFile(db: Db, settings: ImportSettings, req: ImportRequest): Promise<ImportReport> {
  const started = performance.now();
  const progress = req.onProgress ?? (() => undefined);
  if (req.bytes.byteLength > settings.limits.maxUploadBytes) {
    throw new IngestError('file_too_large',
      `File is ${(req.bytes.byteLength / 1048576).toFixed(1)} MB; the limit is ${settings.limits.maxUploadBytes / 1048576} MB`,
      `文件大小 ${(req.bytes.byteLength / 1048576).toFixed(1)} MB，超过上限 ${settings.limits.maxUploadBytes / 1048576} MB`);
  }
  const sha256 = createHash('sha256').update(req.bytes).digest('hex');
  const declaration = { name: req.layer, role: req.role, title: req.title, distanceM: req.distanceM };
  // checked before the (slow) read, created only inside the transaction: a refused file leaves no layer
  const layer = await resolveLayer(db, declaration, { create: false });
  progress({ phase: 'read', done: 0, total: 1 });
  const readStarted = performance.now();
  const src = await readSource(req.bytes, {
    fileName: req.fileName, srs: req.srs, encoding: req.encoding, sourceLayer: req.sourceLayer,
    workSrid: settings.workSrid, limits: settings.limits,
  });
  const readSeconds = Math.round(performance.now() - readStarted) / 1000;
  const mode = geometryMode(layer.name, layer.role);
  checkGeometryTypes(src, mode, layer.name);

  const fieldNames = src.fields.map((f) => f.name);
  const f = {
    code: findField(fieldNames, 'code', req.codeField),
    name: findField(fieldNames, layer.name === 'village' ? 'villageName' : 'name'),
    regionCode: findField(fieldNames, 'regionCode'),
    parcelCode: findField(fieldNames, 'parcelCode'),
    holder: findField(fieldNames, 'holder'),
    landUse: findField(fieldNames, 'landUse'),
    approvedArea: findField(fieldNames, 'approvedArea'),
    width: findField(fieldNames, 'width'),
  };
  if (req.codeField && !f.code) {
    throw new IngestError('field_missing', `No field '${req.codeField}' in the file`, `文件中没有字段“${req.codeField}”`,
      { fields: fieldNames });
  }
  if (layer.role === 'survey' && !f.code) {
    throw new IngestError('code_field_missing',
      'No polygon code field (图斑编号/TBBH…) found; name it with --code-field',
      '未找到图斑编号字段（图斑编号/TBBH 等），请用 --code-field 指定', { fields: fieldNames });
  }
  const hasLines = Object.keys(src.geometryTypes).some((t) => LINEAR.has(t));
  if (mode === 'band' && hasLines && !f.width && !(req.widthM && req.widthM > 0)) {
    throw new IngestError('width_missing',
      'The frontage is a centreline without a width field (宽度/WIDTH); give the band width with --width <metres>',
      '沿线图层为道路中心线，但没有宽度字段（宽度/WIDTH），请用 --width <米> 指定带宽');
  }

  const skipped: Record<string, number> = {};
  const examples: { record: number; reason: string }[] = [];
  const skip = (record: number, reason: string) => {
    skipped[reason] = (skipped[reason] ?? 0) + 1;
    if (examples.length < 50) examples.push({ record, reason });
  };
  const timings: Record<string, number> = { read: readSeconds };
  let mark = performance.now();
  const lap = (name: string) => {
    const now = performance.now();
    timings[name] = Math.round(now - mark) / 1000;
    mark = now;
  };
  const multi = mode !== 'any';
  const text = (p: ReadFeature['properties'], k: string | undefined) => (k ? textValue(p[k]) : null);
  const num = (p: ReadFeature['properties'], k: string | undefined) => (k ? numberValue(p[k]) : null);

  /**
   * COPY rows, built feature by feature (decoding and reprojection happen here, lazily) and handed over
   * in ~1 MB chunks as the driver asks for them, so the server parses one chunk while the next is built.
   * Null geometries are skipped and reported.
   */
  function* buildRows(row: (idx: number, f: ReadFeature, wkb: string) => (string | number | null)[]): Generator<Uint8Array> {
    const rows = new ChunkBuilder();
    let idx = 0;
    try {
      for (const feat of src.features()) {
        idx++;
        if (idx % 10000 === 0) progress({ phase: 'stage', done: idx, total: src.count });
        // hexEwkb: the reader's shortcut, straight from the file's bytes (checked first: asking for
        // .geometry would build the GeoJSON it exists to avoid)
        const wkb = feat.hexEwkb
          ? feat.hexEwkb(settings.workSrid, multi)
          : feat.geometry ? toHexEwkb(feat.geometry, settings.workSrid, multi) : null;
        if (wkb === null) { skip(idx, 'null_geometry'); continue; }
        rows.row(row(idx, feat, wkb));
        if (rows.ready()) yield rows.take();
      }
    } catch (e) {
      if (isAppError(e)) throw e;
      // decoding and reprojection run lazily here, outside readSource's own guard
      throw new IngestError('read_failed', `Could not read record ${idx}: ${(e as Error).message}`,
        `无法读取第 ${idx} 条记录：${(e as Error).message}`, { record: idx });
    }
    const last = rows.take();
    if (last.length) yield last;
  }
  const isParcels = layer.name === 'cadastral';
  const stageRows = () => buildRows((idx, feat, wkb) => {
    const p = feat.properties;
    return [idx, wkb, JSON.stringify(p), text(p, f.code), text(p, f.name), text(p, f.parcelCode), text(p, f.holder),
      text(p, f.landUse), num(p, f.approvedArea), num(p, f.width) ?? req.widthM ?? null];
  });
  lap('check');
  progress({ phase: 'store', done: 0, total: src.count });

  const survey = layer.role === 'survey' ? surveyKey(req) : null;
  const result = await db.tx(async (q) => {
    if (isParcels) await q.query(SQL.parcels_lock_imports); // one cadastral import at a time (load.sql)
    else if (layer.role === 'survey') await q.query(SQL.parcels_lock_for_survey); // overlays parcels: not during a cadastral import
    const lay = await resolveLayer(q, declaration, { create: true });
    const dup = await q.query<{ id: number; report: ImportReport }>(SQL.batch_find, [lay.id, sha256, src.sourceLayer]);
    if (dup.rows[0]) return { ...dup.rows[0].report, duplicate: true, stored: 0 } satisfies ImportReport;

    const region = settings.regionCode;
    const batchId = (await q.query<{ id: number }>(SQL.batch_insert,
      [region, lay.id, survey, req.fileName, sha256, src.sourceLayer, req.user ?? null])).rows[0].id;
    const report: Partial<ImportReport> = {};
    let counts: { kept: number; repaired: number };
    let recon: ReconcileReport | undefined;
    const base = { regionCode: region, schoolDistanceM: settings.schoolDistanceM };

    if (isParcels) {
      await q.query(SQL.parcels_clear_overlaps, [region]);
      report.replaced = (await q.query(SQL.parcels_clear, [region])).rowCount;
      // No DDL on parcel (issue 12, item 3): dropping its index or foreign key takes an ACCESS EXCLUSIVE lock
      // until commit, and every tile, OGC and detail read of parcels waited for the whole import (19 s
      // measured). Row changes only: readers see the previous version until this transaction commits.
      const chunks = buildRows((idx, feat, wkb) => {
        const p = feat.properties;
        return [region, batchId, idx, text(p, f.parcelCode), text(p, f.holder), text(p, f.landUse), num(p, f.approvedArea),
          JSON.stringify(p), wkb];
      });
      lap('clear');
      await q.copyFrom(SQL.parcels_copy, chunks);
      lap('copy'); // includes decoding the records and building WKB: they overlap with the server's parsing
      await q.query(SQL.parcels_find_invalid, [region, batchId]);
      const repaired = (await q.query<{ record: number }>(SQL.parcels_repair, [region])).rowCount;
      for (const r of (await q.query<{ record: number }>(SQL.parcels_drop_empty, [region])).rows) skip(r.record, 'empty_after_repair');
      await q.query(SQL.parcels_invalid_drop);
      lap('repair');
      await q.query(SQL.parcels_analyze);
      lap('analyze');
      counts = { kept: (await q.query<{ kept: number }>(SQL.parcels_count, [region, batchId])).rows[0].kept, repaired };
      progress({ phase: 'reconcile', done: 0, total: 1 });
      recon = await reconcile(q, { ...base, polygons: 'all', parcels: true, layers: [], prior: false });
    } else {
      await q.query(SQL.stage_create);
      await q.copyFrom(SQL.stage_copy, stageRows());
      lap('copy');
      if (mode === 'band') await q.query(SQL.stage_buffer_lines);
      if (mode !== 'any') for (const r of (await q.query<{ idx: number }>(SQL.stage_drop_not_polygonal)).rows) skip(r.idx, 'not_polygonal');
      await q.query(SQL.stage_repair);
      for (const r of (await q.query<{ idx: number }>(SQL.stage_drop_empty)).rows) skip(r.idx, 'empty_after_repair');
      await q.query(SQL.stage_index);
      await q.query(SQL.stage_analyze);
      lap('repair');

      if (lay.role === 'survey') {
        for (const r of (await q.query<{ idx: number }>(SQL.survey_missing_code)).rows) skip(r.idx, 'missing_code');
        for (const r of (await q.query<{ idx: number }>(SQL.survey_dedupe)).rows) skip(r.idx, 'duplicate_code');
        const params = [region, survey, batchId];
        await q.query(SQL.survey_keep_versions, params);
        const updated = (await q.query<{ id: number; changed: boolean }>(SQL.survey_update, params)).rows;
        // polygons delivered for the first time: reconciled from a staging table and stored once, with their
        // results (load.sql survey_new_create)
        const table = `survey_new_${Number(batchId)}`;
        const named = (sql: string) => sql.replaceAll('{{table}}', table);
        await q.query(named(SQL.survey_new_create));
        const added = (await q.query(named(SQL.survey_new_fill), params)).rowCount;
        await q.query(named(SQL.survey_new_key));
        // the district's parcel overlay needs them; on PGlite, reconcile takes them later (see sourceAnalyzed)
        const sourceAnalyzed = db.kind === 'postgres';
        if (sourceAnalyzed) await q.query(named(SQL.survey_new_analyze));
        lap('merge');
        progress({ phase: 'reconcile', done: 0, total: 1 });
        const reconNew = added
          ? await reconcile(q, { ...base, polygons: 'all', source: table, sourceAnalyzed, parcels: true, layers: 'all', prior: true })
          : undefined;
        await q.query(named(SQL.survey_new_drop));
        await q.query(SQL.survey_analyze);
        const removed = (await q.query<{ id: number }>(SQL.survey_mark_removed, params)).rows;
        const changed = updated.filter((r) => r.changed);
        report.survey_changes = { new: added, updated: updated.length, geometry_changed: changed.length, removed: removed.length };
        // stored polygons whose geometry changed: reconciled again in place
        const reconChanged = changed.length || !reconNew
          ? await reconcile(q, { ...base, polygons: changed.map((r) => r.id), parcels: true, layers: 'all', prior: true })
          : undefined;
        recon = combineReports(reconNew, reconChanged);
      } else {
        await q.query(SQL.features_clear_results, [region, lay.id]);
        report.replaced = (await q.query(SQL.features_clear, [region, lay.id])).rowCount;
        await q.query(SQL.features_insert, [region, lay.id, batchId, settings.workSrid]);
        await q.query(SQL.features_analyze);
        lap('merge');
        progress({ phase: 'reconcile', done: 0, total: 1 });
        recon = await reconcile(q, { ...base, polygons: 'all', parcels: false, layers: [lay.id], prior: false });
      }
      counts = (await q.query<{ kept: number; repaired: number }>(SQL.stage_counts)).rows[0];
    }
    if (counts.kept === 0) {
      // an import is a new version of its layer: storing nothing would retire a whole survey or wipe a
      // reference layer, so an empty delivery is refused (the transaction rolls back)
      throw new IngestError('empty_layer',
        `Nothing to store: ${src.count} record(s), none with a usable geometry`,
        `没有可导入的要素：共 ${src.count} 条记录，均无有效图形`, { read: src.count, skipped });
    }
    lap('reconcile');
    const total = Object.values(skipped).reduce((a, b) => a + b, 0);
    const full: ImportReport = {
      batch_id: batchId,
      duplicate: false,
      layer: lay.name,
      survey,
      file: { name: req.fileName, sha256, bytes: req.bytes.byteLength },
      source_layer: src.sourceLayer,
      available_layers: src.availableLayers,
      crs: src.crs,
      encoding: src.encoding,
      fields: fieldNames,
      read: src.count,
      stored: counts.kept,
      repaired: counts.repaired,
      skipped: { total, reasons: skipped, examples },
      ...report,
      reconcile: recon,
      // read after the features were iterated: value problems (bad dates, numbers) are found on the way
      warnings: src.warnings,
      timings,
      seconds: Math.round(performance.now() - started) / 1000,
    };
    await q.query(SQL.batch_report, [batchId, JSON.stringify(full)]);
    return full;
  }, { longRunning: true }); // no statement or query timeout: a district import runs for minutes
  if (!result.duplicate) {
    // dead rows out (load.sql); timed, but after the stored report: it is upkeep, not part of the import
    const t0 = performance.now();
    try {
      await db.query(SQL.vacuum_survey);
      await db.query(SQL.vacuum_overlaps);
      if (result.replaced) await db.query(isParcels ? SQL.vacuum_parcels : SQL.vacuum_features);
    } catch {
      /* upkeep only: the import is committed, and a later VACUUM (or autovacuum) does the same */
    }
    result.timings = { ...result.timings, vacuum: Math.round(performance.now() - t0) / 1000 };
    result.seconds = Math.round(performance.now() - started) / 1000;
  }
  progress({ phase: 'done', done: src.count, total: src.count });
  return result;
}

/** One import may reconcile twice (new polygons, changed ones): reported as one. */
function combineReports(a: ReconcileReport | undefined, b: ReconcileReport | undefined): ReconcileReport | undefined {
  if (!a || !b) return a ?? b;
  const steps = { ...a.steps };
  for (const [k, v] of Object.entries(b.steps)) steps[k] = (steps[k] ?? 0) + v;
  const c = (k: 'first_time' | 'village' | 'flags' | 'parcels') => a.changes[k] + b.changes[k];
  return {
    polygons: a.polygons + b.polygons,
    seconds: Math.round((a.seconds + b.seconds) * 1000) / 1000,
    steps,
    changes: {
      first_time: c('first_time'), village: c('village'), flags: c('flags'), parcels: c('parcels'),
      examples: [...a.changes.examples, ...b.changes.examples].slice(0, 20),
    },
  };
}
