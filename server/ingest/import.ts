import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Db, Queryable } from '../db/types';
import { sqlSet } from '../db/sql-file';
import { IngestError, isAppError } from '../errors';
import { reconcile, type ReconcileReport } from '../reconcile/reconcile';
import { readSource } from './read';
import type { IngestLimits, ReadFeature, ReadResult } from './types';
import { resolveLayer, type CustomRole } from './layers';
import { findField, numberValue, textValue } from './fields';
import { bandWarnings, bandWidth } from './band';
import {
  CodeTracker, codeCandidates, duplicateCodes, listCodes, SurveyYearTracker, surveyKeyWarnings, type DuplicatePolicy,
  type SurveyKey,
} from './codes';
import { toHexEwkb } from './wkb';
import { loadParcels, lockParcelsForCadastral, lockParcelsForSurvey, swapParcels } from './parcels';
import { ChunkBuilder } from './copy-text';
import { demoAccountsAfterImport, forgetDemoSessions } from '../auth/users';
import { warning, type Warning } from './warn';
import type { CodeReport, ImportReport } from './import-report';

const SQL = sqlSet(new URL('./load.sql', import.meta.url), [
  'stage_create', 'stage_copy', 'stage_buffer_lines', 'stage_drop_not_polygonal', 'stage_repair', 'stage_drop_empty',
  'stage_index', 'stage_analyze', 'stage_counts', 'batch_lock', 'batch_current', 'batch_insert', 'batch_survey', 'batch_report',
  'stage_code_from', 'stage_code_clear', 'stage_code_generate', 'survey_exact_duplicates', 'survey_duplicate_codes',
  'survey_dedupe', 'survey_suffix_duplicates', 'survey_has_generated', 'survey_match_overlap', 'survey_generated_unclash',
  'survey_rename_matched', 'survey_keep_versions', 'survey_update', 'survey_new_create',
  'survey_new_fill', 'survey_new_key', 'survey_new_analyze', 'survey_new_drop',
  'survey_mark_removed', 'survey_analyze', 'features_clear_results', 'features_clear', 'features_insert',
  'features_analyze', 'vacuum_survey', 'vacuum_overlaps', 'vacuum_parcels', 'vacuum_features',
] as const);

export { DUPLICATE_POLICIES, type DuplicatePolicy } from './codes';

export interface ImportSettings {
  regionCode: string;
  workSrid: number;
  schoolDistanceM: number;
  limits: IngestLimits;
  /** where a zip is inflated while it is imported (a fresh folder inside, removed afterwards); default the OS temp dir */
  tmpDir?: string;
}

export interface ImportRequest {
  /** the file: its bytes, or (bounded memory, issue 11 item 6) its path on disk — one of the two */
  bytes?: Uint8Array;
  path?: string;
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
  /** survey key ('2020'); default: the year of the 监测年度/后时相 attribute, else a standalone year in the file name */
  survey?: string;
  /** attribute holding the polygon code (图斑编号) when it is not one of the usual names */
  codeField?: string;
  /** what to do with different polygons delivered under one code: refuse (default), keep the first, suffix */
  duplicates?: DuplicatePolicy;
  /** band width (m) for a frontage delivered as a centreline */
  widthM?: number;
  /** attribute holding each centreline's band width (m); never guessed (fields.ts WIDTH_LIKE_FIELDS) */
  widthField?: string;
  user?: string;
  /** the synthetic sample town (server/sample.ts): any other import is real data and disables the demo accounts */
  sample?: boolean;
  onProgress?: (p: { phase: 'read' | 'stage' | 'store' | 'reconcile' | 'done'; done: number; total: number }) => void;
}


export type { CodeReport, ImportReport } from './import-report';

/** Which geometries a layer accepts. */
function geometryMode(layer: string, role: string): 'polygon' | 'band' | 'any' {
  if (layer === 'frontage') return 'band';
  if (layer === 'school' || role === 'flag' || role === 'distance') return 'any';
  return 'polygon';
}

/** The import found the layer's current version to be this very file: its report is the answer. */
class AlreadyCurrent {
  constructor(readonly report: ImportReport) {}
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
  const base = settings.tmpDir ?? os.tmpdir();
  await mkdir(base, { recursive: true });
  const scratch = await mkdtemp(path.join(base, 'import-'));
  const closers: (() => void)[] = [];
  try {
    return await importIn(db, settings, req, scratch, closers);
  } finally {
    // every path, refusals included: the inflated layer never outlives its import
    for (const c of closers) c();
    await rm(scratch, { recursive: true, force: true });
  }
}

async function fileSha256(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(file)) h.update(c as Buffer);
  return h.digest('hex');
}

async function importIn(db: Db, settings: ImportSettings, req: ImportRequest, scratch: string, closers: (() => void)[]): Promise<ImportReport> {
  const started = performance.now();
  const progress = req.onProgress ?? (() => undefined);
  if (!req.bytes === !req.path) throw new Error('importFile: give bytes or path, not both');
  const input = req.bytes ?? { path: req.path! };
  const fileBytes = req.bytes ? req.bytes.byteLength : (await stat(req.path!)).size;
  if (fileBytes > settings.limits.maxUploadBytes) {
    throw new IngestError('file_too_large',
      `File is ${(fileBytes / 1048576).toFixed(1)} MB; the limit is ${settings.limits.maxUploadBytes / 1048576} MB`,
      `文件大小 ${(fileBytes / 1048576).toFixed(1)} MB，超过上限 ${settings.limits.maxUploadBytes / 1048576} MB`);
  }
  const sha256 = req.bytes ? createHash('sha256').update(req.bytes).digest('hex') : await fileSha256(req.path!);
  const declaration = { name: req.layer, role: req.role, title: req.title, distanceM: req.distanceM };
  // checked before the (slow) read, created only inside the transaction: a refused file leaves no layer
  const layer = await resolveLayer(db, declaration, { create: false });
  progress({ phase: 'read', done: 0, total: 1 });
  const readStarted = performance.now();
  const mode = geometryMode(layer.name, layer.role);
  const src = await readSource(input, {
    fileName: req.fileName, srs: req.srs, encoding: req.encoding, sourceLayer: req.sourceLayer,
    workSrid: settings.workSrid, limits: settings.limits, scratchDir: scratch,
    // the reader refuses a wrong geometry type or an empty layer first, before encoding and CRS (accept.ts)
    accept: { geometry: mode, layer: layer.name },
  });
  if (src.close) closers.push(src.close);
  const readSeconds = Math.round(performance.now() - readStarted) / 1000;
  checkGeometryTypes(src, mode, layer.name);

  const fieldNames = src.fields.map((f) => f.name);
  const isSurvey = layer.role === 'survey';
  const f = {
    code: findField(fieldNames, 'code', req.codeField),
    width: req.widthField ? findField(fieldNames, 'name', req.widthField) : undefined,
    name: findField(fieldNames, layer.name === 'village' ? 'villageName' : 'name'),
    regionCode: findField(fieldNames, 'regionCode'),
    parcelCode: findField(fieldNames, 'parcelCode'),
    holder: findField(fieldNames, 'holder'),
    landUse: findField(fieldNames, 'landUse'),
    approvedArea: findField(fieldNames, 'approvedArea'),
  };
  if (req.codeField && !f.code) {
    throw new IngestError('field_missing', `No field '${req.codeField}' in the file`, `文件中没有字段“${req.codeField}”`,
      { fields: fieldNames });
  }
  if (req.widthField && !f.width) {
    throw new IngestError('field_missing', `No field '${req.widthField}' in the file`, `文件中没有字段“${req.widthField}”`,
      { fields: fieldNames });
  }
  const band = bandWidth(req.widthM, mode, src, fieldNames, f.width);

  // survey codes and key: decided from every record as they stream into the staging table (codes.ts)
  const codeTracker = isSurvey ? new CodeTracker(codeCandidates(fieldNames, req.codeField), !!req.codeField) : undefined;
  const yearTracker = isSurvey && !req.survey ? new SurveyYearTracker(fieldNames) : undefined;
  const policy: DuplicatePolicy = req.duplicates ?? 'refuse';

  const skipped: Record<string, number> = {};
  const examples: ImportReport['skipped']['examples'] = [];
  const skip = (record: number, reason: string, code?: string) => {
    skipped[reason] = (skipped[reason] ?? 0) + 1;
    // a few examples of every reason, not the first 50 of whichever comes first
    if (skipped[reason] <= 10) examples.push(code === undefined ? { record, reason } : { record, reason, code });
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
  function* buildRows(
    row: (idx: number, f: ReadFeature, wkb: string, codes: (string | null)[] | undefined) => (string | number | null)[],
  ): Generator<Uint8Array> {
    const rows = new ChunkBuilder();
    let idx = 0;
    try {
      for (const feat of src.features()) {
        idx++;
        if (idx % 10000 === 0) progress({ phase: 'stage', done: idx, total: src.count });
        // every record counts for the code field and the survey year, with a geometry or not
        const codes = codeTracker?.observe(feat.properties);
        yearTracker?.observe(feat.properties);
        // hexEwkb: the reader's shortcut, straight from the file's bytes (checked first: asking for
        // .geometry would build the GeoJSON it exists to avoid)
        const wkb = feat.hexEwkb
          ? feat.hexEwkb(settings.workSrid, multi)
          : feat.geometry ? toHexEwkb(feat.geometry, settings.workSrid, multi) : null;
        if (wkb === null) { skip(idx, 'null_geometry'); continue; }
        rows.row(row(idx, feat, wkb, codes));
        if (rows.ready()) yield rows.take();
      }
    } catch (e) {
      if (isAppError(e)) throw e;
      // decoding and reprojection run lazily here, outside readSource's own guard
      throw new IngestError('read_failed', `Could not read record ${idx}: ${(e as Error).message}`,
        `无法读取第 ${idx} 条记录（解析时出错）。`, { record: idx, error: (e as Error).message });
    }
    const last = rows.take();
    if (last.length) yield last;
  }
  const isParcels = layer.name === 'cadastral';
  const stageRows = () => buildRows((idx, feat, wkb, codes) => {
    const p = feat.properties;
    // a survey's code is its first candidate's value until the choice is made (codes: all of them)
    const code = codes ? (codes[0] ?? null) : text(p, f.code);
    const allCodes = codes && codes.length > 1 ? JSON.stringify(codes) : null;
    return [idx, wkb, JSON.stringify(p), code, text(p, f.name), text(p, f.parcelCode), text(p, f.holder),
      text(p, f.landUse), num(p, f.approvedArea), (band ? num(p, band.field) ?? band.width_m : null), allCodes];
  });
  lap('check');
  progress({ phase: 'store', done: 0, total: src.count });

  let demoDisabled: { id: number; username: string }[] = [];
  const region = settings.regionCode;
  const extraWarnings: Warning[] = [];
  if (band) extraWarnings.push(...bandWarnings(band, fieldNames));
  // a survey's key is known before the read only from --survey; otherwise once its dates have been read
  let survey: string | null = isSurvey ? (req.survey ?? null) : null;
  /** the layer's (survey's) current version, when it is this very file */
  const options = importOptions(req);
  const currentIsThis = async (q: Queryable, layerId: number, key: string | null) => {
    const c = (await q.query<{ sha256: string; source_layer: string; report: ImportReport }>(SQL.batch_current, [layerId, region, key])).rows[0];
    return c && c.sha256 === sha256 && c.source_layer === src.sourceLayer && JSON.stringify(c.report.options ?? {}) === JSON.stringify(options)
      ? ({ ...c.report, duplicate: true, stored: 0, repaired: 0 } satisfies ImportReport)
      : undefined;
  };
  const result = await db.tx(async (q): Promise<ImportReport> => {
    if (isParcels) await lockParcelsForCadastral(q); // one cadastral import at a time (parcels.sql)
    else if (isSurvey) await lockParcelsForSurvey(q); // overlays parcels: not during a cadastral import
    const lay = await resolveLayer(q, declaration, { create: true });
    await q.query(SQL.batch_lock, [lay.id]);
    if (!isSurvey || survey !== null) {
      const dup = await currentIsThis(q, lay.id, survey);
      if (dup) return dup;
    }

    const batchId = (await q.query<{ id: number }>(SQL.batch_insert,
      [region, lay.id, survey, req.fileName, sha256, src.sourceLayer, req.user ?? null])).rows[0].id;
    demoDisabled = await demoAccountsAfterImport(q, batchId, req.sample === true);
    const report: Partial<ImportReport> = {};
    let counts: { kept: number; repaired: number };
    let recon: ReconcileReport | undefined;
    const base = { regionCode: region, schoolDistanceM: settings.schoolDistanceM };

    if (isParcels) {
      // loaded beside the current version and swapped in last (parcels.ts): readers keep the current one
      const rows = buildRows((idx, feat, wkb) => {
        const p = feat.properties;
        return [region, batchId, idx, text(p, f.parcelCode), text(p, f.holder), text(p, f.landUse), num(p, f.approvedArea),
          JSON.stringify(p), wkb];
      });
      const load = await loadParcels(q, { region, batchId, rows, lap });
      for (const record of load.emptied) skip(record, 'empty_after_repair');
      // a repair that emptied a parcel is counted once, as skipped (empty_after_repair), not also as repaired
      counts = { kept: load.kept, repaired: load.repaired.length - load.emptied.length };
      progress({ phase: 'reconcile', done: 0, total: 1 });
      recon = await reconcile(q, { ...base, polygons: 'all', parcels: true, parcelsFrom: load.table, layers: [], prior: false });
      lap('reconcile');
      report.replaced = await swapParcels(q, region, load.table);
      lap('swap');
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
        const key: SurveyKey = req.survey ? { value: req.survey, source: 'option' } : yearTracker!.key(undefined, req.fileName);
        survey = key.value;
        report.survey_key = key;
        extraWarnings.push(...surveyKeyWarnings(key));
        if (!req.survey) {
          // the duplicate check needed the key (an identical file is refused before anything is written,
          // this one only now: the transaction is rolled back and the current version's report returned)
          const dup = await currentIsThis(q, lay.id, survey);
          if (dup) throw new AlreadyCurrent(dup);
          await q.query(SQL.batch_survey, [batchId, survey]);
        }
        report.code = await settleCodes(q, { tracker: codeTracker!, policy, survey, region, batchId, skip, warnings: extraWarnings });
        const params = [region, survey, batchId];
        await q.query(SQL.survey_keep_versions, params);
        const updated = (await q.query<{ id: number; changed: boolean }>(SQL.survey_update, params)).rows;
        // polygons delivered for the first time: reconciled from a staging table and stored once, with their
        // results (load.sql survey_new_create)
        const table = `survey_new_${Number(batchId)}`;
        const named = (sql: string) => sql.replaceAll('{{table}}', table);
        await q.query(named(SQL.survey_new_create));
        const added = (await q.query(named(SQL.survey_new_fill), params)).rowCount;
        await q.query(SQL.survey_rename_matched, [region, survey]); // after new_fill: it looks for the old codes
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
        report.survey_changes = {
          new: added, updated: updated.length, geometry_changed: changed.length, removed: removed.length,
          matched_by_overlap: report.code.matched_by_overlap,
        };
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
    if (!isParcels) lap('reconcile'); // (a cadastral import's is timed before its swap)
    const total = Object.values(skipped).reduce((a, b) => a + b, 0);
    const full: ImportReport = {
      batch_id: batchId,
      duplicate: false,
      layer: lay.name,
      survey,
      ...(band ? { band } : {}),
      file: { name: req.fileName, sha256, bytes: fileBytes },
      options,
      source_layer: src.sourceLayer,
      available_layers: src.availableLayers,
      crs: src.crs,
      encoding: src.encoding,
      fields: fieldNames,
      read: src.count,
      stored: counts.kept - counts.repaired,
      repaired: counts.repaired,
      skipped: { total, reasons: skipped, examples },
      ...report,
      reconcile: recon,
      ...(demoDisabled.length ? { demo_accounts_disabled: demoDisabled.map((u) => u.username) } : {}),
      // read after the features were iterated: value problems (bad dates, numbers) are found on the way
      warnings: [...src.warnings, ...extraWarnings],
      timings,
      seconds: Math.round(performance.now() - started) / 1000,
    };
    await q.query(SQL.batch_report, [batchId, JSON.stringify(full)]);
    return full;
  }, { longRunning: true }) // no statement or query timeout: a district import runs for minutes
  .catch((e: unknown) => {
    if (e instanceof AlreadyCurrent) return e.report; // rolled back: the current version is this file
    throw e;
  });
  forgetDemoSessions(demoDisabled);
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

/** The request's options that change what is stored, in a fixed order (compared as JSON). */
function importOptions(req: ImportRequest): Record<string, string | number> {
  const o: Record<string, string | number | undefined> = {
    srs: req.srs, encoding: req.encoding, code_field: req.codeField, duplicates: req.duplicates,
    width_m: req.widthM, width_field: req.widthField,
  };
  return Object.fromEntries(Object.entries(o).filter((e): e is [string, string | number] => e[1] !== undefined));
}

/**
 * A survey's codes, after the staging COPY (codes.ts has the rules): the chosen field's values, generated
 * codes where there is none, exact duplicate records dropped, duplicated codes refused or resolved by the
 * policy, and generated codes matched by overlap to the survey's stored polygons.
 */
async function settleCodes(q: Queryable, o: {
  tracker: CodeTracker; policy: DuplicatePolicy; survey: string; region: string; batchId: number;
  skip: (record: number, reason: string, code?: string) => void; warnings: Warning[];
}): Promise<CodeReport> {
  const choice = o.tracker.choose();
  o.tracker.release();
  if (choice.index === null) {
    if (o.tracker.candidates.length) await q.query(SQL.stage_code_clear);
  } else if (choice.index > 0) await q.query(SQL.stage_code_from, [choice.index]);
  for (const p of choice.passedOver) {
    o.warnings.push(warning('code_field_passed_over',
      `Field ${p.field} was not used as the polygon code: ${p.empty} record(s) have no value and ${p.duplicated} repeat an earlier value${p.examples.length ? ` (e.g. ${p.examples.join(', ')})` : ''}.`,
      `字段“${p.field}”未用作图斑编号：${p.empty} 条记录为空，${p.duplicated} 条与前面的记录重复${p.examples.length ? `（如 ${p.examples.join('、')}）` : ''}。`));
  }
  const generated = (await q.query(SQL.stage_code_generate, [o.survey])).rowCount;
  if (generated) {
    o.warnings.push(choice.field === null
      ? warning('code_generated',
        `No field gives every polygon a unique code, so codes were generated as '${o.survey}-<record number>' for all ${generated}. A later version of this survey is matched to them by geometry overlap. If the file has a code field, name it with --code-field.`,
        `没有能为每个图斑提供唯一编号的字段，已按“${o.survey}-记录号”为全部 ${generated} 个图斑生成编号；该批次的后续版本将按图形重叠与其匹配。如文件中有编号字段，请用 --code-field 指定。`)
      : warning('code_generated',
        `${generated} record(s) have no value in ${choice.field}; their codes were generated as '${o.survey}-<record number>'.`,
        `有 ${generated} 条记录的“${choice.field}”为空，已按“${o.survey}-记录号”生成编号。`));
  }
  const exact = (await q.query<{ idx: number; code: string }>(SQL.survey_exact_duplicates)).rows;
  for (const r of exact) o.skip(r.idx, 'duplicate_record', r.code);
  const dups = (await q.query<{ code: string; records: number[] }>(SQL.survey_duplicate_codes)).rows;
  let action: CodeReport['duplicates']['action'] = 'none';
  if (dups.length) {
    if (o.policy === 'refuse') throw duplicateCodes(choice.field, dups);
    if (o.policy === 'keep-first') {
      for (const r of (await q.query<{ idx: number; code: string }>(SQL.survey_dedupe)).rows) o.skip(r.idx, 'duplicate_code', r.code);
      action = 'kept_first';
    } else {
      await q.query(SQL.survey_suffix_duplicates);
      const left = (await q.query<{ code: string; records: number[] }>(SQL.survey_duplicate_codes)).rows;
      if (left.length) throw duplicateCodes(choice.field, left, true);
      action = 'suffixed';
    }
    const n = dups.reduce((a, d) => a + d.records.length - 1, 0);
    o.warnings.push(action === 'kept_first'
      ? warning('duplicate_codes_kept_first', `${dups.length} code(s) were shared by different polygons: the first record of each was kept, ${n} later one(s) skipped (${listCodes(dups)}).`,
        `有 ${dups.length} 个编号被不同图斑重复使用：各保留第一条，跳过其余 ${n} 条（${listCodes(dups, true)}）。`)
      : warning('duplicate_codes_suffixed', `${dups.length} code(s) were shared by different polygons: ${n} later record(s) were stored with '-2', '-3'… appended (${listCodes(dups)}).`,
        `有 ${dups.length} 个编号被不同图斑重复使用：其余 ${n} 条记录的编号加“-2”“-3”等后缀后存储（${listCodes(dups, true)}）。`));
  }
  let matched = 0;
  if ((await q.query<{ any: boolean }>(SQL.survey_has_generated, [o.region, o.survey])).rows[0].any) {
    matched = (await q.query(SQL.survey_match_overlap, [o.region, o.survey])).rowCount;
    await q.query(SQL.survey_generated_unclash, [o.region, o.survey, o.batchId]);
  }
  return {
    field: choice.field,
    source: choice.source,
    passed_over: choice.passedOver,
    generated,
    duplicates: { policy: o.policy, exact_records: exact.length, values: dups.length, action, examples: dups.slice(0, 20) },
    matched_by_overlap: matched,
  };
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
