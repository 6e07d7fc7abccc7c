/**
 * A small town with known answers for the dashboard, export and OGC tests (not a test file itself).
 *
 * Villages (layer `village`, EPSG:4523 metres from X0,Y0): 东村 [0,500]×[0,500], 西村 [500,1000]×[0,500],
 * 南村 [0,1000]×[-500,0] (no polygons). Two survey batches of survey `key`: batch 1 imported 40 days ago,
 * batch 2 ten days ago. Polygons (40 × 30 m rectangles, 1,200 m²):
 *
 *   code  village  flags              batches (first→last)  decided through the API
 *   A1    东村     frontage           1→1                   verify (analyst 甲)
 *   A2    东村     frontage, school   1→1                   dismiss false_change (甲)
 *   A3    东村     compound           1→1                   link, new case (乙)
 *   A4    东村                        1→1                   request_field_check (甲)
 *   A5    东村                        1→1                   —
 *   A6    东村                        1→1                   verify (甲), then return (reviewer)
 *   B1    西村     green              1→2                   dismiss legal_permitted (乙)
 *   B2    西村                        1→2                   verify (乙)
 *   B3    西村                        1→2                   —
 *   B4    西村                        2→2                   —
 *   N1    (none)                      1→1                   verify (甲)
 *   R1    东村     frontage           1, removed by 2       status verified, never counts
 */
import { randomUUID } from 'node:crypto';
import ExcelJS from 'exceljs';
import { expect } from 'vitest';
import type { Queryable } from '../../server/db/types';
import type { Client, TestApp, UserClient } from '../helpers/api';
import { X0, Y0 } from '../helpers/fixtures';
import { TEST_REGION } from '../helpers/snapshot';

export const REGION = TEST_REGION;
export const RECT_AREA = 1200;

export interface Town {
  ids: Record<string, number>;
  batches: [number, number];
  analystA: UserClient;
  analystB: UserClient;
  reviewer: UserClient;
}

async function batch(q: Queryable, layer: string, survey: string | null, daysAgo: number, tag: string): Promise<number> {
  return (await q.query<{ id: number }>(
    `INSERT INTO import_batch (region_code, layer_id, survey, file_name, sha256, source_layer, report, created_at)
     VALUES ($1, (SELECT id FROM layer WHERE name = $2), $3, $4, md5($4 || random()::text), 'fixture', '{}', now() - make_interval(days => $5::int))
     RETURNING id`,
    [REGION, layer, survey, `${tag}.zip`, daysAgo],
  )).rows[0].id;
}

/** Village outlines 东村, 西村, 南村. */
export async function seedVillages(q: Queryable) {
  const b = await batch(q, 'village', null, 60, `villages-${randomUUID().slice(0, 6)}`);
  const rect = (x: number, y: number, w: number, h: number) => `ST_Multi(ST_MakeEnvelope(${X0 + x}, ${Y0 + y}, ${X0 + x + w}, ${Y0 + y + h}, 4523))`;
  await q.query(
    `INSERT INTO layer_feature (region_code, layer_id, batch_id, name, code, attrs, geom) VALUES
       ($1, (SELECT id FROM layer WHERE name = 'village'), $2, '东村', '500118109001', '{}', ${rect(0, 0, 500, 500)}),
       ($1, (SELECT id FROM layer WHERE name = 'village'), $2, '西村', '500118109002', '{}', ${rect(500, 0, 500, 500)}),
       ($1, (SELECT id FROM layer WHERE name = 'village'), $2, '南村', '500118109003', '{}', ${rect(0, -500, 1000, 500)})`,
    [REGION, b],
  );
}

/** Inserts polygons; `spec`: code → [village, flags, first batch, last batch, x, y, removed batch]. */
export async function insertPolygons(
  q: Queryable,
  survey: string,
  spec: Record<string, { village: string | null; flags?: string[]; first: number; last: number; x: number; y: number; status?: string; removed?: number }>,
): Promise<Record<string, number>> {
  const ids: Record<string, number> = {};
  for (const [code, s] of Object.entries(spec)) {
    const r = await q.query<{ id: number }>(
      `INSERT INTO survey_polygon (region_code, survey, code, first_batch_id, batch_id, attrs, geom, area_m2, village_name, flags,
                                   status, removed_batch_id, priority)
       VALUES ($1, $2, $3, $4, $5, jsonb_build_object('图斑编号', $3::text),
               ST_Multi(ST_MakeEnvelope($6::float8, $7::float8, $6::float8 + 40, $7::float8 + 30, 4523)), ${RECT_AREA},
               $8, $9::text[], $10, $11, 1)
       RETURNING id`,
      [REGION, survey, code, s.first, s.last, X0 + s.x, Y0 + s.y, s.village, s.flags ?? [], s.status ?? 'pending', s.removed ?? null],
    );
    ids[code] = r.rows[0].id;
  }
  return ids;
}

export async function decide(c: Client, id: number, action: string, extra: Record<string, unknown> = {}) {
  const p = await c.get(`/api/polygons/${id}`);
  expect(p.status, p.text).toBe(200);
  const r = await c.post(`/api/polygons/${id}/decisions`, { action, version: p.body.version, request_id: randomUUID(), ...extra });
  expect(r.status, r.text).toBe(200);
  return r.body;
}

/** The town of the table above, decided through the HTTP API by two analysts and a reviewer. */
export async function seedTown(app: TestApp, survey = '2021'): Promise<Town> {
  const db = app.db;
  await seedVillages(db);
  const tag = randomUUID().slice(0, 6);
  const b1 = await batch(db, 'survey', survey, 40, `survey-${survey}-1-${tag}`);
  const b2 = await batch(db, 'survey', survey, 10, `survey-${survey}-2-${tag}`);
  const ids = await insertPolygons(db, survey, {
    A1: { village: '东村', flags: ['frontage'], first: b1, last: b1, x: 20, y: 20 },
    A2: { village: '东村', flags: ['frontage', 'school'], first: b1, last: b1, x: 80, y: 20 },
    A3: { village: '东村', flags: ['compound'], first: b1, last: b1, x: 140, y: 20 },
    A4: { village: '东村', first: b1, last: b1, x: 200, y: 20 },
    A5: { village: '东村', first: b1, last: b1, x: 260, y: 20 },
    A6: { village: '东村', first: b1, last: b1, x: 320, y: 20 },
    B1: { village: '西村', flags: ['green'], first: b1, last: b2, x: 520, y: 20 },
    B2: { village: '西村', first: b1, last: b2, x: 580, y: 20 },
    B3: { village: '西村', first: b1, last: b2, x: 640, y: 20 },
    B4: { village: '西村', first: b2, last: b2, x: 700, y: 20 },
    N1: { village: null, first: b1, last: b1, x: 2000, y: 2000 },
    R1: { village: '东村', flags: ['frontage'], first: b1, last: b1, x: 20, y: 200, status: 'verified', removed: b2 },
  });
  const analystA = await app.as('analyst', { username: `甲-${tag}` });
  const analystB = await app.as('analyst', { username: `乙-${tag}` });
  const reviewer = await app.as('reviewer', { username: `审-${tag}` });
  await decide(analystA, ids.A1, 'verify');
  await decide(analystA, ids.A2, 'dismiss', { reason: 'false_change' });
  await decide(analystB, ids.A3, 'link', { new_case: { party: '陈某', address: '吉安大道 3 号', kind: 'under_construction', discovered_on: '2021-08-20' } });
  await decide(analystA, ids.A4, 'request_field_check');
  await decide(analystA, ids.A6, 'verify');
  await decide(reviewer, ids.A6, 'return', { note: '照片不清楚，请复核' });
  await decide(analystB, ids.B1, 'dismiss', { reason: 'legal_permitted', proof: { permit_ref: '永规建字〔2021〕7号' } });
  await decide(analystB, ids.B2, 'verify');
  await decide(analystA, ids.N1, 'verify');
  return { ids, batches: [b1, b2], analystA, analystB, reviewer };
}

/** A binary download with the client's session (the api helper decodes bodies as text). */
export async function download(app: TestApp, c: Client, path: string, query: Record<string, string> = {}) {
  const u = new URL(path, app.url);
  for (const [k, v] of Object.entries(query)) u.searchParams.set(k, v);
  const res = await fetch(u, { headers: c.cookie ? { cookie: c.cookie } : {} });
  const bytes = new Uint8Array(await res.arrayBuffer());
  return { status: res.status, headers: res.headers, bytes, text: () => new TextDecoder().decode(bytes) };
}

export function csvRows(text: string): string[][] {
  // the fixture holds no quoted line breaks
  return text.replace(/^\ufeff/, '').trimEnd().split('\r\n').map((l) => {
    const out: string[] = [];
    let cur = '';
    let q = false;
    for (let i = 0; i < l.length; i++) {
      const ch = l[i];
      if (q) {
        if (ch === '"' && l[i + 1] === '"') { cur += '"'; i++; } else if (ch === '"') q = false; else cur += ch;
      } else if (ch === '"') q = true;
      else if (ch === ',') { out.push(cur); cur = ''; } else cur += ch;
    }
    out.push(cur);
    return out;
  });
}


/** A cell as exceljs reads it, with inline/rich text flattened to its string (exceljs keeps the runs). */
export function cellValue(v: ExcelJS.CellValue | undefined): unknown {
  if (v && typeof v === 'object' && 'richText' in v) return v.richText.map((r) => r.text).join('');
  return v ?? null;
}

/** Every row of a sheet of an XLSX download as plain values (text, numbers, Dates, null), header first. */
export async function sheetRows(bytes: Uint8Array, sheet: string): Promise<unknown[][]> {
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(Buffer.from(bytes) as unknown as ArrayBuffer);
  const ws = wb.getWorksheet(sheet);
  if (!ws) throw new Error(`no sheet ${sheet}`);
  const out: unknown[][] = [];
  ws.eachRow({ includeEmpty: true }, (row) => {
    out.push(Array.from({ length: ws.columnCount }, (_, i) => cellValue(row.getCell(i + 1).value)));
  });
  return out;
}
