/**
 * Issue 11, items 1, 4 and 8, on the deliveries in test/fixtures/deliveries (scripts/fixtures/make-deliveries.ts):
 * which field keys a survey, duplicated codes, generated codes and re-survey matching by overlap, the survey
 * key's source, reference-layer rollbacks and the frontage band width.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDb, freshDb, type TestDb } from '../helpers/db';
import { TEST_REGION, TEST_WORK_SRID } from '../helpers/snapshot';
import { LIMITS } from '../helpers/ingest';
import { importFile, type ImportReport, type ImportRequest, type ImportSettings } from '../../server/ingest/import';
import { IngestError } from '../../server/errors';
import { startApp } from '../helpers/api';

const DIR = path.resolve('test/fixtures/deliveries');
const settings: ImportSettings = { regionCode: TEST_REGION, workSrid: TEST_WORK_SRID, schoolDistanceM: 200, limits: LIMITS };

describeEachDb('import codes, survey keys, reference versions', (backend) => {
  let db: TestDb;
  const run = (file: string, req: Omit<ImportRequest, 'bytes' | 'fileName'>): Promise<ImportReport> =>
    importFile(db, settings, { bytes: new Uint8Array(readFileSync(path.join(DIR, file))), fileName: file, ...req });
  const codes = async (survey: string) =>
    (await db.query<{ code: string; code_generated: boolean }>(
      `SELECT code, code_generated FROM survey_polygon WHERE survey = $1 AND removed_batch_id IS NULL ORDER BY id`, [survey])).rows;
  const refusal = async (p: Promise<unknown>): Promise<IngestError> => {
    const e = await p.then(() => undefined, (x: unknown) => x);
    expect(e).toBeInstanceOf(IngestError);
    return e as IngestError;
  };

  beforeAll(async () => {
    db = await freshDb(backend);
  });
  afterAll(async () => {
    await db?.dispose();
  });

  it("passes over ArcGIS's all-zero Id, says why, and generates readable codes", async () => {
    const r = await run('arcgis-id-zero.zip', { layer: 'survey', survey: 'idz' });
    expect(r.code).toMatchObject({ field: null, source: 'generated', generated: 6 });
    expect(r.code!.passed_over).toEqual([{ field: 'Id', empty: 0, duplicated: 5, examples: ['0'] }]);
    expect(r.warnings.map((w) => w.code)).toEqual(expect.arrayContaining(['code_field_passed_over', 'code_generated']));
    expect({ stored: r.stored, repaired: r.repaired, skipped: r.skipped.total }).toEqual({ stored: 6, repaired: 0, skipped: 0 });
    expect(await codes('idz')).toEqual([1, 2, 3, 4, 5, 6].map((i) => ({ code: `idz-${i}`, code_generated: true })));
  });

  it('takes a generic synonym only when it is non-empty and unique', async () => {
    const r = await run('generic-codes.zip', { layer: 'survey', survey: 'gen' });
    expect(r.code).toMatchObject({ field: 'BH', source: 'synonym', generated: 0 });
    expect(r.code!.passed_over).toEqual([{ field: '编号', empty: 0, duplicated: 1, examples: ['A1'] }]);
    expect((await codes('gen')).map((c) => c.code)).toEqual(['B1', 'B2', 'B3', 'B4']);
  });

  it('refuses codes shared by different polygons, listing them; nothing is stored', async () => {
    const e = await refusal(run('duplicate-codes-mixed.geojson', { layer: 'survey', survey: 'dup' }));
    expect(e.code).toBe('duplicate_codes');
    expect(e.details).toMatchObject({ field: '图斑编号', count: 1, duplicates: [{ code: 'T2', records: [2, 4] }] });
    expect(e.message).toContain('T2 (records 2, 4)');
    expect(e.message).toContain('--duplicates');
    expect(e.message_zh).toContain('T2（第 2、4 条）');
    expect(await codes('dup')).toEqual([]);
    expect((await db.query(`SELECT 1 FROM import_batch WHERE survey = 'dup'`)).rowCount).toBe(0);
  });

  it('--duplicates keep-first skips the later record, naming it; the exact copy is skipped as duplicate_record', async () => {
    const r = await run('duplicate-codes-mixed.geojson', { layer: 'survey', survey: 'dup-kf', duplicates: 'keep-first' });
    expect(r.skipped.reasons).toEqual({ duplicate_record: 1, duplicate_code: 1 });
    expect(r.skipped.examples).toEqual(expect.arrayContaining([
      { record: 5, reason: 'duplicate_record', code: 'T1' }, { record: 4, reason: 'duplicate_code', code: 'T2' },
    ]));
    expect(r.code!.duplicates).toMatchObject({ policy: 'keep-first', exact_records: 1, values: 1, action: 'kept_first' });
    expect(r.stored).toBe(3);
    expect((await codes('dup-kf')).map((c) => c.code)).toEqual(['T1', 'T2', 'T3']);
  });

  it('POST /api/imports: refuses duplicated codes (422, both languages), takes duplicates=suffix and width_field', async () => {
    const app = await startApp(db, { env: { TUBAN_REGION_CODE: TEST_REGION, TUBAN_WORK_SRID: String(TEST_WORK_SRID) } });
    try {
      const analyst = await app.as('analyst');
      const form = (file: string, fields: Record<string, string>) => {
        const f = new FormData();
        f.set('file', new Blob([readFileSync(path.join(DIR, file))]), file);
        for (const [k, v] of Object.entries(fields)) f.set(k, v);
        return f;
      };
      const refused = await analyst.request('POST', '/api/imports', { form: form('duplicate-codes-mixed.geojson', { layer: 'survey', survey: 'http-dup' }) });
      expect(refused.status).toBe(422);
      expect(refused.body.error).toMatchObject({ code: 'duplicate_codes', details: { duplicates: [{ code: 'T2', records: [2, 4] }] } });
      expect(refused.body.error.message_zh).toContain('T2');
      const bad = await analyst.request('POST', '/api/imports', { form: form('duplicate-codes-mixed.geojson', { layer: 'survey', duplicates: 'maybe' }) });
      expect(bad.status).toBe(400);
      const ok = await analyst.request('POST', '/api/imports', { form: form('duplicate-codes-mixed.geojson', { layer: 'survey', survey: 'http-dup', duplicates: 'suffix' }) });
      expect(ok.status).toBe(201);
      expect(ok.body.code.duplicates.action).toBe('suffixed');
      expect(ok.body.stored).toBe(4);
      const road = await analyst.request('POST', '/api/imports', { form: form('road-centreline-lukuan.geojson', { layer: 'frontage', width_field: '路宽' }) });
      expect(road.status).toBe(201);
      expect(road.body.band).toEqual({ width_m: null, source: 'field', field: '路宽' });
    } finally {
      await app.close();
    }
  });

  it('--duplicates suffix stores the later record as <code>-2', async () => {
    const r = await run('duplicate-codes-mixed.geojson', { layer: 'survey', survey: 'dup-sx', duplicates: 'suffix' });
    expect(r.skipped.reasons).toEqual({ duplicate_record: 1 });
    expect(r.stored).toBe(4);
    expect(r.code!.duplicates.action).toBe('suffixed');
    expect(r.warnings.map((w) => w.code)).toContain('duplicate_codes_suffixed');
    expect((await codes('dup-sx')).map((c) => c.code)).toEqual(['T1', 'T2', 'T3', 'T2-2']);
  });

  it('matches a new version of a survey with generated codes by overlap, not by record number', async () => {
    const v1 = await run('no-code-v1.geojson', { layer: 'survey', survey: 'nc' });
    expect(v1.code).toMatchObject({ source: 'generated', generated: 5 });
    const before = await db.query<{ id: number; code: string; area: number }>(
      `SELECT id, code, round(area_m2)::int AS area FROM survey_polygon WHERE survey = 'nc' ORDER BY id`);
    await db.query(`UPDATE survey_polygon SET status = 'verified', version = version + 1 WHERE survey = 'nc' AND code = 'nc-3'`);

    const v2 = await run('no-code-v2.geojson', { layer: 'survey', survey: 'nc' });
    expect(v2.survey_changes).toEqual({ new: 1, updated: 4, geometry_changed: 1, removed: 1, matched_by_overlap: 4 });
    const after = await db.query<{ id: number; code: string; area: number; status: string; removed: boolean; changed: boolean }>(
      `SELECT id, code, round(area_m2)::int AS area, status, removed_batch_id IS NOT NULL AS removed,
              geom_changed_batch_id IS NOT NULL AS changed
       FROM survey_polygon WHERE survey = 'nc' ORDER BY id`);
    // the five v1 polygons keep their ids and codes; square 3 (nc-3, 200 m east) was reshaped and kept its decision
    expect(after.rows.slice(0, 5).map((p) => p.code)).toEqual(before.rows.map((p) => p.code));
    expect(after.rows[2]).toMatchObject({ code: 'nc-3', area: 2025, status: 'verified', changed: true, removed: false });
    expect(after.rows[4]).toMatchObject({ code: 'nc-5', removed: true });
    // the new square is record 2 of v2; 'nc-2' is taken by v1's second square, so the batch is added
    expect(after.rows[5]).toMatchObject({ code: `nc-2-${v2.batch_id}`, removed: false });
  });

  it('a real code delivered later replaces a generated one matched by overlap', async () => {
    await run('no-code-v1.geojson', { layer: 'survey', survey: 'nc-real' });
    const withCodes = {
      type: 'FeatureCollection',
      crs: { type: 'name', properties: { name: 'urn:ogc:def:crs:EPSG::4523' } },
      features: (JSON.parse(readFileSync(path.join(DIR, 'no-code-v1.geojson'), 'utf8')).features as { properties: Record<string, unknown> }[])
        .map((f, i) => ({ ...f, properties: { ...f.properties, 图斑编号: `R${i + 1}` } })),
    };
    const r = await importFile(db, settings, {
      bytes: new TextEncoder().encode(JSON.stringify(withCodes)), fileName: 'v2.geojson', layer: 'survey', survey: 'nc-real',
    });
    expect(r.survey_changes).toMatchObject({ new: 0, updated: 5, removed: 0, matched_by_overlap: 5 });
    expect(await codes('nc-real')).toEqual(['R1', 'R2', 'R3', 'R4', 'R5'].map((code) => ({ code, code_generated: false })));
  });

  it('takes the survey key from 后时相, not from "cgcs2000" in the file name, and says so', async () => {
    const r = await run('dltb_cgcs2000.geojson', { layer: 'survey' });
    expect(r.survey).toBe('2021');
    expect(r.survey_key).toEqual({ value: '2021', source: 'attribute', field: '后时相' });
    const b = await db.query<{ survey: string }>(`SELECT survey FROM import_batch WHERE id = $1`, [r.batch_id]);
    expect(b.rows[0].survey).toBe('2021');
    // the same file again: found to be the survey's current version once its key is known; nothing stored
    const again = await run('dltb_cgcs2000.geojson', { layer: 'survey' });
    expect(again.duplicate).toBe(true);
    expect((await db.query(`SELECT 1 FROM import_batch WHERE survey = '2021'`)).rowCount).toBe(1);
  });

  it('takes a standalone year of the file name only, with a warning', async () => {
    const r = await run('tb_2019_cgcs2000.geojson', { layer: 'survey' });
    expect(r.survey_key).toEqual({ value: '2019', source: 'file_name' });
    expect(r.warnings.map((w) => w.code)).toContain('survey_key_from_file_name');
    const o = await run('tb_2019_cgcs2000.geojson', { layer: 'survey', survey: 'explicit' });
    expect(o.survey_key).toEqual({ value: 'explicit', source: 'option' });
  });

  it('re-imports an earlier version of a reference layer (rollback); only the current version is a duplicate', async () => {
    const count = async () => (await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM layer_feature f JOIN layer l ON l.id = f.layer_id WHERE l.name = 'green'`)).rows[0].n;
    const a = await run('green-v1.geojson', { layer: 'green' });
    expect(a.duplicate).toBe(false);
    expect(await count()).toBe(2);
    expect((await run('green-v1.geojson', { layer: 'green' })).duplicate).toBe(true);
    expect((await run('green-v2.geojson', { layer: 'green' })).duplicate).toBe(false);
    expect(await count()).toBe(1);
    const back = await run('green-v1.geojson', { layer: 'green' });
    expect(back.duplicate).toBe(false);
    expect(back.replaced).toBe(1);
    expect(await count()).toBe(2);
  });

  it("never takes a road's 路宽 as the frontage band width; the report says which width was used", async () => {
    const e = await refusal(run('road-centreline-lukuan.geojson', { layer: 'frontage' }));
    expect(e.code).toBe('width_missing');
    expect(e.message).toContain('路宽');
    expect(e.message).toContain('--width-field');
    const area = async () => (await db.query<{ a: number }>(
      `SELECT sum(ST_Area(f.geom)) AS a FROM layer_feature f JOIN layer l ON l.id = f.layer_id WHERE l.name = 'frontage'`)).rows[0].a;

    const r = await run('road-centreline-lukuan.geojson', { layer: 'frontage', widthM: 60 });
    expect(r.band).toEqual({ width_m: 60, source: 'option' });
    expect(r.warnings.find((w) => w.code === 'band_width')!.message).toContain('路宽');
    expect(await area()).toBeCloseTo(1000 * 60, 0); // flat end caps: length × width

    const f = await run('road-centreline-lukuan.geojson', { layer: 'frontage', widthField: '路宽' });
    expect(f.band).toEqual({ width_m: null, source: 'field', field: '路宽' });
    expect(await area()).toBeCloseTo(1000 * 20, 0);
  });
});
