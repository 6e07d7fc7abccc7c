/**
 * Streaming: 5,000 polygons through every polygon export (three keyset pages of 2,000), each row once, in
 * order; the server's heap does not grow with the export (noted, not asserted: this is the same process).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import ExcelJS from 'exceljs';
import { unzipSync } from 'fflate';
import { describeEachDb, freshDb, type TestDb } from '../helpers/db';
import { startApp, type Client, type TestApp } from '../helpers/api';
import { TEST_WORK_SRID } from '../helpers/snapshot';
import { PAGE_SIZE } from '../../server/exports/polygons';
import { csvRows, download, REGION } from './dashboard-fixture';

const N = 5000;

describeEachDb('exports: streaming 5,000 polygons', (backend) => {
  let db: TestDb;
  let app: TestApp;
  let reviewer: Client;
  const heap: Record<string, number> = {};

  beforeAll(async () => {
    db = await freshDb(backend);
    app = await startApp(db, { env: { TUBAN_REGION_CODE: REGION, TUBAN_WORK_SRID: String(TEST_WORK_SRID) } });
    reviewer = await app.as('reviewer');
    const b = (await db.query<{ id: number }>(
      `INSERT INTO import_batch (region_code, layer_id, survey, file_name, sha256, source_layer, report)
       VALUES ($1, (SELECT id FROM layer WHERE name = 'survey'), '2021', 'big.zip', 'big', 'big', '{}') RETURNING id`, [REGION])).rows[0].id;
    await db.query(
      `INSERT INTO survey_polygon (region_code, survey, code, first_batch_id, batch_id, attrs, geom, area_m2, village_name, status)
       SELECT $1, '2021', 'TB' || lpad(g::text, 6, '0'), $2, $2, '{}',
              ST_Multi(ST_MakeEnvelope(35590000 + (g % 100) * 30, 3250000 + (g / 100) * 30, 35590020 + (g % 100) * 30, 3250020 + (g / 100) * 30, 4523)),
              400, '村' || (g % 7), (ARRAY['pending', 'verified', 'dismissed'])[1 + g % 3]
       FROM generate_series(1, $3::int) g`,
      [REGION, b, N],
    );
  });
  afterAll(async () => {
    await app?.close();
    await db?.dispose();
    console.log(`[${backend}] heap growth during each export (MB): ${JSON.stringify(heap)}`);
  });

  const measured = async (what: string, fn: () => Promise<void>) => {
    global.gc?.();
    const before = process.memoryUsage().heapUsed;
    await fn();
    heap[what] = Math.round((process.memoryUsage().heapUsed - before) / 1e5) / 10;
  };

  it(`pages ${N} rows in pages of ${PAGE_SIZE}`, () => {
    expect(N).toBeGreaterThan(2 * PAGE_SIZE);
  });

  it('streams the ledger CSV: every polygon once, in id order', async () => {
    await measured('csv', async () => {
      const rows = csvRows((await download(app, reviewer, '/api/exports/ledger.csv')).text());
      expect(rows).toHaveLength(N + 1);
      const ids = rows.slice(1).map((r) => Number(r[r.length - 1]));
      expect(new Set(ids).size).toBe(N);
      expect(ids).toEqual([...ids].sort((a, b) => a - b));
      expect(rows.slice(1).map((r) => Number(r[0]))).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    });
  });

  it('streams the ledger XLSX', async () => {
    await measured('xlsx', async () => {
      const d = await download(app, reviewer, '/api/exports/ledger.xlsx');
      const wb = new ExcelJS.Workbook();
      await wb.xlsx.load(Buffer.from(d.bytes) as unknown as ArrayBuffer);
      expect(wb.getWorksheet('图斑台账')!.rowCount).toBe(N + 1);
    });
  });

  it('streams GeoJSON', async () => {
    await measured('geojson', async () => {
      const fc = JSON.parse((await download(app, reviewer, '/api/exports/polygons.geojson')).text());
      expect(fc.features).toHaveLength(N);
      expect(new Set(fc.features.map((f: { id: number }) => f.id)).size).toBe(N);
    });
  });

  it('writes the shapefile', async () => {
    await measured('shapefile', async () => {
      const files = unzipSync((await download(app, reviewer, '/api/exports/polygons.zip')).bytes);
      const shx = Object.entries(files).find(([n]) => n.endsWith('.shx'))![1];
      expect((shx.length - 100) / 8).toBe(N);
    });
  });

  it('keeps a filter across pages', async () => {
    const rows = csvRows((await download(app, reviewer, '/api/exports/ledger.csv', { status: 'verified', village: '村3' })).text());
    const expected = Array.from({ length: N }, (_, i) => i + 1).filter((g) => g % 3 === 1 && g % 7 === 3).length;
    expect(rows).toHaveLength(expected + 1);
  });
});
