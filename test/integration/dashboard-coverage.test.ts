/**
 * GET /api/coverage on a town with known answers (dashboard-fixture.ts): every figure, the totals adding up
 * across breakdowns, every figure's filter listing exactly its polygons, the weekly curve against the
 * campaign phases, village scope, the choropleth and GET /api/overdue.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { booleanPointInPolygon } from '@turf/boolean-point-in-polygon';
import { describeEachDb, freshDb, type TestDb } from '../helpers/db';
import { startApp, type Client, type TestApp } from '../helpers/api';
import { PolygonListQuery } from '../../server/routes/polygons';
import type { Coverage } from '../../server/dashboard/coverage';
import { randomUUID } from 'node:crypto';
import { decide, insertPolygons, REGION, seedTown, seedVillages, type Town } from './dashboard-fixture';
import { reportForm, toLonLat } from './leads-fixture';

const POLYGON_KEYS = new Set(Object.keys(PolygonListQuery.shape));

/**
 * How many polygons a figure's filter lists: through the GeoJSON export (which takes every filter), and
 * through GET /api/polygons too when that knows every key of the filter.
 */
async function listed(c: Client, filter: Record<string, string>): Promise<number> {
  const g = await c.get('/api/exports/polygons.geojson', { query: filter });
  expect(g.status, g.text).toBe(200);
  const n = JSON.parse(g.text).features.length as number;
  if (Object.keys(filter).every((k) => POLYGON_KEYS.has(k))) {
    const r = await c.get('/api/polygons', { query: { ...filter, limit: 1 } });
    expect(r.status, r.text).toBe(200);
    expect(r.body.total, `GET /api/polygons ${JSON.stringify(filter)}`).toBe(n);
  }
  return n;
}

/** Every (count, filter) pair of a coverage answer. */
function figures(c: Coverage): { what: string; count: number; filter: Record<string, string> }[] {
  const out: { what: string; count: number; filter: Record<string, string> }[] = [];
  const group = (what: string, g: { total: number; decided: number; filter: Record<string, string>; decided_filter: Record<string, string> }) => {
    out.push({ what, count: g.total, filter: g.filter }, { what: `${what} decided`, count: g.decided, filter: g.decided_filter });
  };
  group('overall', c.overall);
  c.by_village.forEach((v) => group(`village ${v.village}`, v));
  c.by_flag.forEach((v) => group(`flag ${v.flag}`, v));
  c.by_batch.forEach((v) => group(`batch ${v.batch_id}`, v));
  c.by_outcome.forEach((v) => out.push({ what: `status ${v.status}`, count: v.count, filter: v.filter }));
  c.by_reason.forEach((v) => out.push({ what: `reason ${v.reason}`, count: v.count, filter: v.filter }));
  out.push({ what: 'evidence', count: c.evidence.with_photo, filter: c.evidence.filter });
  out.push({ what: 'verified', count: c.evidence.verified, filter: c.evidence.verified_filter });
  out.push({ what: 'deadline', count: c.weekly.deadline.decided, filter: c.weekly.deadline.filter });
  out.push({ what: 'undated', count: c.weekly.undated.count, filter: c.weekly.undated.filter });
  for (const w of c.weekly.weeks) {
    out.push({ what: `week ${w.week}`, count: w.decided, filter: w.filter }, { what: `week ${w.week} cumulative`, count: w.cumulative, filter: w.cumulative_filter });
  }
  c.pending_age.buckets.forEach((b) => out.push({ what: `age ${b.min_days}-${b.max_days}`, count: b.count, filter: b.filter }));
  if (c.pending_age.oldest) out.push({ what: 'oldest', count: c.pending_age.oldest.count, filter: c.pending_age.oldest.filter });
  return out;
}

function addsUp(c: Coverage) {
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const o = c.overall;
  expect(o.verified + o.linked + o.dismissed).toBe(o.decided);
  expect(o.decided + o.pending + o.field_check).toBe(o.total);
  for (const k of ['total', 'decided', 'verified', 'linked', 'dismissed', 'pending', 'field_check'] as const) {
    expect(sum(c.by_village.map((v) => v[k])), `villages: ${k}`).toBe(o[k]);
  }
  expect(sum(c.by_outcome.map((s) => s.count))).toBe(o.total);
  expect(sum(c.by_reason.map((r) => r.count))).toBe(o.dismissed);
  expect(sum(c.pending_age.buckets.map((b) => b.count))).toBe(o.pending + o.field_check);
  const last = c.weekly.weeks.at(-1);
  expect((last?.cumulative ?? 0) + c.weekly.undated.count).toBe(o.decided);
  expect(sum(c.weekly.weeks.map((w) => w.decided))).toBe(last?.cumulative ?? 0);
  for (const f of c.by_flag) expect(f.total).toBeLessThanOrEqual(o.total);
  // a polygon is in at most two batches (first and last delivery)
  expect(sum(c.by_batch.map((b) => b.total))).toBeGreaterThanOrEqual(o.total);
  expect(sum(c.by_batch.map((b) => b.total))).toBeLessThanOrEqual(2 * o.total);
  if (o.total) expect(o.share).toBeCloseTo(o.decided / o.total, 12);
}

describeEachDb('dashboard: coverage', (backend) => {
  let db: TestDb;
  let app: TestApp;
  let town: Town;
  let reviewer: Client;
  let east: Client;
  let photos = false;

  beforeAll(async () => {
    db = await freshDb(backend);
    app = await startApp(db, { env: { TUBAN_REGION_CODE: REGION, TUBAN_WORK_SRID: '4523' } });
    town = await seedTown(app, '2021');
    reviewer = await app.as('reviewer');
    east = await app.as('reviewer', { villages: ['东村'] });
    // photo evidence, where the field-work migration has added its table: A1 (verified) and A5 (pending)
    photos = !!(await db.query<{ t: string | null }>(`SELECT to_regclass('evidence')::text AS t`)).rows[0].t;
    if (photos) {
      for (const code of ['A1', 'A5']) {
        await db.query(
          `INSERT INTO evidence (region_code, polygon_id, sha256, mime, bytes, user_id, username)
           VALUES ($1, $2, encode(sha256(convert_to($3, 'UTF8')), 'hex'), 'image/jpeg', 1000, 1, 'fixture')`,
          [REGION, town.ids[code], code],
        );
      }
    }
  });
  afterAll(async () => {
    await app?.close();
    await db?.dispose();
  });

  const coverage = async (c: Client, query: Record<string, string> = {}) => {
    const r = await c.get<Coverage>('/api/coverage', { query: { survey: '2021', ...query } });
    expect(r.status, r.text).toBe(200);
    return r.body;
  };

  it('gives the known figures of the fixture town', async () => {
    const c = await coverage(reviewer);
    expect(c.overall).toMatchObject({ total: 11, decided: 6, verified: 3, linked: 1, dismissed: 2, pending: 4, field_check: 1 });
    expect(c.overall.share).toBeCloseTo(6 / 11, 12);
    const v = Object.fromEntries(c.by_village.map((x) => [x.village, x]));
    expect(Object.keys(v).sort()).toEqual(['-', '东村', '西村'].sort());
    expect(v['东村']).toMatchObject({ total: 6, decided: 3, verified: 1, linked: 1, dismissed: 1, pending: 2, field_check: 1 });
    expect(v['西村']).toMatchObject({ total: 4, decided: 2, verified: 1, dismissed: 1, pending: 2 });
    expect(v['-']).toMatchObject({ total: 1, decided: 1, verified: 1 });
    expect(v['东村'].share).toBeCloseTo(0.5, 12);
    const f = Object.fromEntries(c.by_flag.map((x) => [x.flag, x]));
    expect(c.by_flag.map((x) => x.flag)).toEqual(['frontage', 'compound', 'school', 'green']);
    expect(f.frontage).toMatchObject({ total: 2, decided: 2 }); // R1 (removed) does not count
    expect(f.school).toMatchObject({ total: 1, decided: 1 });
    expect(f.compound).toMatchObject({ total: 1, decided: 1, linked: 1 });
    expect(f.green).toMatchObject({ total: 1, decided: 1, dismissed: 1 });
    const [b1, b2] = town.batches;
    const b = Object.fromEntries(c.by_batch.map((x) => [x.batch_id, x]));
    expect(b[b1]).toMatchObject({ total: 10, decided: 6 });
    expect(b[b2]).toMatchObject({ total: 4, decided: 2 });
    expect(Object.fromEntries(c.by_reason.map((r) => [r.reason, r.count]))).toEqual({
      legal_permitted: 1, false_change: 1, agricultural_facility: 0, temporary_use: 0, already_removed: 0, other: 0,
    });
    expect(c.by_reason.find((r) => r.reason === 'false_change')!.label.zh).toBe('误判变化');
    if (photos) expect(c.evidence).toMatchObject({ evidence_available: true, verified: 3, with_photo: 1 });
    else expect(c.evidence).toMatchObject({ evidence_available: false, verified: 3, with_photo: 0, share: 0 });
    if (photos) expect(c.evidence.share).toBeCloseTo(1 / 3, 12);
    // waiting: A4 (field check), A5, A6 (returned), B3 first imported 40 days ago, B4 10 days ago
    const ages = Object.fromEntries(c.pending_age.buckets.map((x) => [`${x.min_days}-${x.max_days}`, x.count]));
    expect(ages).toEqual({ '0-7': 0, '7-14': 1, '14-30': 0, '30-60': 4, '60-90': 0, '90-null': 0 });
    expect(c.pending_age.oldest).toMatchObject({ age_days: 40, count: 4 });
    // the longest-waiting polygons, oldest first
    expect(c.pending_age.oldest!.polygons.map((p) => p.code)).toEqual(['A4', 'A5', 'A6', 'B3', 'B4']);
    // every decision was made today: one week on the curve holds them all (A6 was returned: not counted)
    // the campaign of the data, not of the wall clock: survey 2021 is worked on in the 2022 campaign (issue 13 rule 12)
    expect(c.weekly.year).toBe(2022);
    expect(c.weekly.weeks.filter((w) => w.decided > 0).map((w) => w.decided)).toEqual([6]);
    expect(c.weekly.undated.count).toBe(0);
  });

  it('adds up across breakdowns', async () => {
    addsUp(await coverage(reviewer));
    addsUp(await coverage(east));
    addsUp(await coverage(reviewer, { village: '西村' }));
    addsUp(await coverage(reviewer, { flags: 'frontage' }));
  });

  it('lists exactly the polygons behind every figure through its filter', async () => {
    // this year's campaign (the decisions were all taken today): the weeks run from its start (or today) to today
    const year = new Intl.DateTimeFormat('en', { year: 'numeric', timeZone: 'Asia/Shanghai' }).format(new Date());
    const cases: [Client, Record<string, string>][] = [[reviewer, { year }], [east, { year }], [reviewer, { flags: 'frontage', year }], [reviewer, { batch: String(town.batches[1]), year }]];
    for (const [client, query] of cases) {
      const c = await coverage(client, query);
      expect(c.weekly.weeks.length).toBeLessThan(60);
      for (const f of figures(c)) expect(await listed(client, f.filter), `${JSON.stringify(query)} ${f.what} ${JSON.stringify(f.filter)}`).toBe(f.count);
    }
  });

  it('shows a village-limited reviewer nothing of another village', async () => {
    const c = await coverage(east);
    expect(c.overall).toMatchObject({ total: 6, decided: 3 });
    expect(c.by_village.map((v) => v.village)).toEqual(['东村']);
    expect(c.by_batch.map((x) => x.total)).toEqual([6]);
    expect(JSON.stringify(c)).not.toContain('西村');
    expect(JSON.stringify(c)).not.toMatch(/"code":"(B|N)\d"/);
    // asking for another village does not widen the scope
    const other = await coverage(east, { village: '西村' });
    expect(other.overall.total).toBe(0);
    expect(other.by_village).toEqual([]);
    // choropleth: own village only
    const g = await east.get('/api/coverage/villages.geojson', { query: { survey: '2021' } });
    expect(g.status).toBe(200);
    expect(g.headers.get('content-type')).toMatch(/geo\+json/);
    const fc = JSON.parse(g.text);
    expect(fc.features.map((x: any) => x.properties.name)).toEqual(['东村']);
    const o = await east.get('/api/overdue');
    expect(JSON.stringify(o.body)).not.toContain('西村');
  });

  it('serves the choropleth with the village figures', async () => {
    const g = await reviewer.get('/api/coverage/villages.geojson', { query: { survey: '2021' } });
    const fc = JSON.parse(g.text);
    const p = Object.fromEntries(fc.features.map((x: any) => [x.properties.name, x.properties]));
    expect(Object.keys(p).sort()).toEqual(['东村', '南村', '西村'].sort());
    expect(p['东村']).toMatchObject({ total: 6, decided: 3, share: 0.5 });
    expect(p['南村']).toMatchObject({ total: 0, decided: 0, share: null });
    const ring = fc.features[0].geometry.coordinates[0][0][0];
    expect(ring[0]).toBeGreaterThan(105);
    expect(ring[0]).toBeLessThan(107);
    expect(ring[1]).toBeGreaterThan(29);
    expect(ring[1]).toBeLessThan(30);
    // where the map writes each village's name and share: a point inside its outline
    for (const f of fc.features) expect(booleanPointInPolygon(f.properties.label, f), f.properties.name).toBe(true);
    // figures=0: the same outlines and labels, nothing computed
    const bare = JSON.parse((await reviewer.get('/api/coverage/villages.geojson', { query: { figures: '0' } })).text);
    expect(bare.features.map((x: any) => x.geometry)).toEqual(fc.features.map((x: any) => x.geometry));
    expect(bare.features.map((x: any) => Object.keys(x.properties).sort())).toEqual(fc.features.map(() => ['code', 'id', 'label', 'name']));
    // and still only the caller's villages
    const eastBare = JSON.parse((await east.get('/api/coverage/villages.geojson', { query: { figures: '0' } })).text);
    expect(eastBare.features.map((x: any) => x.properties.name)).toEqual(['东村']);
  });

  it('lists overdue polygons (waiting > TUBAN_PENDING_DAYS) and overdue cases', async () => {
    const o = await reviewer.get('/api/overdue', { query: { survey: '2021', as_of_date: '2030-01-01' } });
    expect(o.status, o.text).toBe(200);
    expect(o.body.pending_days).toBe(14);
    expect(o.body.polygons.count).toBe(4); // A4, A5, A6, B3 (B4: 10 days)
    expect(o.body.polygons.oldest.map((p: any) => p.code).sort()).toEqual(['A4', 'A5', 'A6', 'B3']);
    expect(o.body.polygons.oldest[0].days_waiting).toBe(40);
    expect(await listed(reviewer, o.body.polygons.filter)).toBe(4);
    for (const v of o.body.polygons.by_village) expect(await listed(reviewer, v.filter)).toBe(v.count);
    // A3's case: report to the town within 1 working day of 2021-08-20 — long past in 2030
    expect(o.body.cases.count).toBe(1);
    expect(o.body.cases.items[0].overdue_steps).toContain('report_to_town');
    const before = await reviewer.get('/api/overdue', { query: { as_of_date: '2021-08-20' } });
    expect(before.body.cases.count).toBe(0);
  });

  it('refuses other roles and bad filters', async () => {
    const field = await app.as('field', { villages: ['东村'] });
    expect((await field.get('/api/coverage')).status).toBe(403);
    expect((await app.get('/api/coverage')).status).toBe(401);
    expect((await reviewer.get('/api/coverage', { query: { as_of: 'yesterday' } })).status).toBe(400);
    expect((await reviewer.get('/api/coverage', { query: { flags: 'DROP TABLE' } })).status).toBe(400);
  });
});

describeEachDb('dashboard: weekly curve against the campaign phases', (backend) => {
  let db: TestDb;
  let app: TestApp;
  let reviewer: Client;

  // decisions at chosen instants: events written directly (the API stamps them with now())
  const at = {
    W1: '2021-07-19T10:00:00+08:00', // Monday of 2021-W29; its Thursday (7/22) is in rectification
    W2: '2021-10-30T23:30:00+08:00', // the deadline day, Beijing time (15:30 UTC)
    W3: '2021-10-31T00:10:00+08:00', // ten minutes too late (still 10/30 in UTC)
    W4: '2021-11-02T09:00:00+08:00',
  };

  beforeAll(async () => {
    db = await freshDb(backend);
    app = await startApp(db, { env: { TUBAN_REGION_CODE: REGION, TUBAN_WORK_SRID: '4523' } });
    reviewer = await app.as('reviewer');
    await seedVillages(db);
    const b = (await db.query<{ id: number }>(
      `INSERT INTO import_batch (region_code, layer_id, survey, file_name, sha256, source_layer, report, created_at)
       VALUES ($1, (SELECT id FROM layer WHERE name = 'survey'), 'JA2021', 'w.zip', 'w', 'w', '{}', '2021-04-01T00:00:00+08:00') RETURNING id`, [REGION])).rows[0].id;
    const ids = await insertPolygons(db, 'JA2021', {
      W1: { village: '东村', first: b, last: b, x: 0, y: 0, status: 'verified' },
      W2: { village: '东村', first: b, last: b, x: 50, y: 0, status: 'dismissed' },
      W3: { village: '西村', first: b, last: b, x: 550, y: 0, status: 'verified' },
      W4: { village: '西村', first: b, last: b, x: 600, y: 0, status: 'verified' },
      W5: { village: '西村', first: b, last: b, x: 650, y: 0, status: 'verified' }, // no event: undated
      W6: { village: '西村', first: b, last: b, x: 700, y: 0 },
    });
    for (const [code, when] of Object.entries(at)) {
      const action = code === 'W2' ? 'dismiss' : 'verify';
      await db.query(
        `INSERT INTO polygon_event (region_code, polygon_id, seq, at, user_id, username, action, from_status, to_status, reason)
         VALUES ($1, $2, 1, $3, 1, 'fixture', $4, 'pending', $5, $6)`,
        [REGION, ids[code], when, action, action === 'dismiss' ? 'dismissed' : 'verified', action === 'dismiss' ? 'temporary_use' : null],
      );
    }
  });
  afterAll(async () => {
    await app?.close();
    await db?.dispose();
  });

  it('counts first outcomes per ISO week (Beijing), cumulates them, and judges the 10/30 deadline', async () => {
    // by default the JA2021 survey belongs to the 2022 campaign (issue 13 rule 12); here its 2021 phases are asked for
    const byData = await reviewer.get<Coverage>('/api/coverage', { query: { survey: 'JA2021', as_of: '2021-11-10T00:00:00+08:00' } });
    expect(byData.body.weekly.year).toBe(2022);
    const r = await reviewer.get<Coverage>('/api/coverage', { query: { survey: 'JA2021', year: '2021', as_of: '2021-11-10T00:00:00+08:00' } });
    expect(r.status, r.text).toBe(200);
    const c = r.body;
    expect(c.weekly.year).toBe(2021);
    expect(c.weekly.phases.map((p) => [p.phase, p.start, p.end])).toEqual([
      ['publicity', '2021-04-15', '2021-07-20'], ['rectification', '2021-07-21', '2021-10-30'], ['consolidation', '2021-10-31', '2021-12-31'],
    ]);
    const weeks = c.weekly.weeks;
    expect(weeks[0].week).toBe('2021-W15'); // holds 4/15
    expect(weeks.at(-1)!.week).toBe('2021-W45'); // holds as_of (11/10)
    expect(weeks).toHaveLength(31);
    const w = Object.fromEntries(weeks.map((x) => [x.week, x]));
    expect(w['2021-W29']).toMatchObject({ decided: 1, cumulative: 1, phase: 'rectification', from: '2021-07-18T16:00:00.000Z' });
    expect(w['2021-W28'].phase).toBe('publicity');
    expect(w['2021-W43']).toMatchObject({ decided: 2, cumulative: 3 });
    expect(w['2021-W44']).toMatchObject({ decided: 1, cumulative: 4, phase: 'consolidation' });
    expect(c.weekly.deadline).toMatchObject({ date: '2021-10-30', passed: true, decided: 2 });
    expect(c.weekly.deadline.share).toBeCloseTo(2 / 6, 12);
    expect(c.weekly.undated.count).toBe(1);
    expect(w['2021-W45'].share).toBeCloseTo(4 / 6, 12);
    addsUp(c);
    for (const f of figures(c)) expect(await listed(reviewer, f.filter), `${f.what} ${JSON.stringify(f.filter)}`).toBe(f.count);
    // the year can be set
    const y = await reviewer.get<Coverage>('/api/coverage', { query: { survey: 'JA2021', year: '2022', as_of: '2021-11-10T00:00:00+08:00' } });
    expect(y.body.weekly.phases[0].start).toBe('2022-04-15');
    expect(y.body.weekly.deadline.decided).toBe(4);
  });

  it('filters the whole dashboard to one ISO week (?week=YYYY-Www): the polygons first decided that week', async () => {
    const query = { survey: 'JA2021', year: '2021', as_of: '2021-11-10T00:00:00+08:00' };
    const r = await reviewer.get<Coverage>('/api/coverage', { query: { ...query, week: '2021-W43' } });
    expect(r.status, r.text).toBe(200);
    const c = r.body;
    // W2 (10/30 23:30 Beijing) and W3 (10/31 00:10): Monday 10/25 to Monday 11/1, Beijing time
    expect(c.overall).toMatchObject({ total: 2, decided: 2, verified: 1, dismissed: 1, pending: 0 });
    expect(c.filter).toMatchObject({ first_outcome_from: '2021-10-24T16:00:00.000Z', first_outcome_to: '2021-10-31T16:00:00.000Z' });
    expect(c.by_village.map((v) => [v.village, v.total])).toEqual([['东村', 1], ['西村', 1]]);
    // the deadline figure inside the week: W2 only, and its link narrows to the week's start, not back to all time
    expect(c.weekly.deadline.decided).toBe(1);
    expect(c.weekly.deadline.filter.first_outcome_from).toBe('2021-10-24T16:00:00.000Z');
    expect(c.weekly.weeks.filter((w) => w.decided).map((w) => [w.week, w.decided])).toEqual([['2021-W43', 2]]);
    addsUp(c);
    for (const f of figures(c)) expect(await listed(reviewer, f.filter), `${f.what} ${JSON.stringify(f.filter)}`).toBe(f.count);
    // with a village too, and the overdue polygons (waiting ones never have a first outcome: none)
    const both = await reviewer.get<Coverage>('/api/coverage', { query: { ...query, week: '2021-W43', village: '西村' } });
    expect(both.body.overall).toMatchObject({ total: 1, verified: 1 });
    const o = await reviewer.get('/api/overdue', { query: { survey: 'JA2021', week: '2021-W43', as_of: '2021-11-10T00:00:00+08:00' } });
    expect(o.status, o.text).toBe(200);
    expect(o.body.polygons.count).toBe(0);
    expect(o.body.polygons.filter.first_outcome_to).toBe('2021-10-31T16:00:00.000Z');
    const ch = await reviewer.get('/api/coverage/villages.geojson', { query: { ...query, week: '2021-W29' } });
    expect(ch.status).toBe(200);
    const east = JSON.parse(ch.text).features.find((f: { properties: { name: string } }) => f.properties.name === '东村');
    expect(east.properties).toMatchObject({ total: 1, decided: 1 });
    // a week that does not exist, or is not a week: 400 with the error shape
    for (const week of ['2021-W53', '2021-W00', '2021-W54', '2021-43', 'W43', '2021-W4', 'x']) {
      const bad = await reviewer.get('/api/coverage', { query: { week } });
      expect(bad.status, week).toBe(400);
      expect(bad.body.error.message_zh, week).toBeTruthy();
      expect((await reviewer.get('/api/overdue', { query: { week } })).status, week).toBe(400);
    }
    // 2020 has a week 53 (Thursday 31 December), Monday 28 December
    const w53 = await reviewer.get<Coverage>('/api/coverage', { query: { week: '2020-W53' } });
    expect(w53.status).toBe(200);
    expect(w53.body.filter.first_outcome_from).toBe('2020-12-27T16:00:00.000Z');
  });

  it('ages waiting polygons from as_of', async () => {
    const r = await reviewer.get<Coverage>('/api/coverage', { query: { survey: 'JA2021', as_of: '2021-11-10T00:00:00+08:00' } });
    expect(r.body.pending_age.buckets.find((b) => b.max_days === null)!.count).toBe(1); // W6: 223 days
    expect(r.body.pending_age.oldest!.age_days).toBe(223);
  });
});

describe('dashboard helpers', () => {
  it('keeps filters as plain query strings', async () => {
    const { toQuery } = await import('../../server/dashboard/filters');
    expect(toQuery({ village: ['东村', '西村'], batch: '3', x: undefined })).toEqual({ village: '东村,西村', batch: '3' });
  });
  it('numbers ISO weeks as the curve does (Monday 00:00 Beijing)', async () => {
    const { weekRange } = await import('../../server/dashboard/filters');
    expect(weekRange('2021-W01')).toEqual({ from: '2021-01-03T16:00:00.000Z', to: '2021-01-10T16:00:00.000Z' });
    expect(weekRange('2026-W01')!.from).toBe('2025-12-28T16:00:00.000Z'); // 2026's week 1 starts in 2025
    expect(weekRange('2025-W53')).toBeNull();
    expect(weekRange('2026-W53')!.to).toBe('2027-01-03T16:00:00.000Z'); // 1 January 2026 is a Thursday
    expect(weekRange('2015-W53')!.from).toBe('2015-12-27T16:00:00.000Z');
  });
});

/**
 * Leads (issue 16): patrol findings and public reports are items like the survey polygons — one definition.
 * The coverage counts them by source and the totals still add up; the patrol dashboard's per-village,
 * per-week figures count the same items, so all its weeks add up to the coverage's sources and villages.
 */
describeEachDb('dashboard: patrol and report leads add up with the coverage', (backend) => {
  let db: TestDb;
  let app: TestApp;
  let reviewer: Client;
  let analyst: Client;
  let reportLead = 0;

  beforeAll(async () => {
    db = await freshDb(backend);
    app = await startApp(db, { env: { TUBAN_REGION_CODE: REGION, TUBAN_WORK_SRID: '4523' } });
    const town = await seedTown(app, '2021');
    analyst = town.analystA;
    reviewer = await app.as('reviewer');
    const field = await app.as('field');
    const patrol = randomUUID();
    // two patrol findings (东村 with its case at once, 西村), one patrol of 东村, one public report in 西村
    for (const [x, y, uc] of [[200, 300, true], [700, 300, false]] as const) {
      const [lon, lat] = toLonLat(x, y);
      const form = new FormData();
      for (const [k, v] of Object.entries({ lon: String(lon), lat: String(lat), found_at: new Date().toISOString(), category: 'construction',
        under_construction: String(uc), open_case: String(uc) })) form.set(k, v);
      const r = await field.request('PUT', `/api/patrols/${patrol}/findings/${randomUUID()}`, { form });
      expect(r.status, r.text).toBe(201);
    }
    const p = await field.put(`/api/patrols/${patrol}`, {
      village: '东村', members: ['张三'], started_at: new Date(Date.now() - 3600_000).toISOString(), ended_at: new Date().toISOString(),
      track: [toLonLat(100, 100), toLonLat(100, 400)],
    });
    expect(p.status, p.text).toBe(201);
    const [lon, lat] = toLonLat(800, 100);
    const rep = await app.client({}).request('POST', '/api/public/reports', { form: reportForm({ lon, lat }), headers: { 'x-forwarded-for': '10.9.9.9' } });
    expect(rep.status, rep.text).toBe(201);
    reportLead = (await analyst.get('/api/polygons', { query: { source: 'report' } })).body.items[0].id;
  });
  afterAll(async () => {
    await app?.close();
    await db?.dispose();
  });

  it('counts leads by source in the coverage, and the totals still add up', async () => {
    const r = await reviewer.get<Coverage>('/api/coverage');
    expect(r.status, r.text).toBe(200);
    const c = r.body;
    addsUp(c);
    const src = Object.fromEntries(c.by_source.map((g) => [g.source, g.total]));
    expect(src).toEqual({ survey: 11, patrol: 2, report: 1 });
    expect(c.by_source.reduce((a, g) => a + g.total, 0)).toBe(c.overall.total);
    // the 在建 finding is linked to its case: decided already
    expect(c.by_source.find((g) => g.source === 'patrol')!.decided).toBe(1);
    for (const g of c.by_source) expect(await listed(reviewer, g.filter), `source ${g.source}`).toBe(g.total);
  });

  it('gives per village and week the patrol figures, and its leads add up to the coverage', async () => {
    const c = (await reviewer.get<Coverage>('/api/coverage')).body;
    const w = await reviewer.get('/api/patrol-weeks');
    expect(w.status, w.text).toBe(200);
    const { weeks, totals } = w.body;
    const bySource = Object.fromEntries(c.by_source.map((g) => [g.source, g.total]));
    expect(totals.leads).toEqual(bySource);
    expect(totals).toMatchObject({ patrols: 1, patrol_days: 1, findings: 2, reports: 1 });
    expect(totals.km).toBeCloseTo(0.3, 2);
    // per village: all weeks' items = the coverage's village total ('-' = outside every village)
    for (const v of c.by_village) {
      const mine = weeks.filter((x: { village: string | null }) => (x.village ?? '-') === v.village);
      const n = mine.reduce((a: number, x: { leads: Record<string, number> }) => a + x.leads.survey + x.leads.patrol + x.leads.report, 0);
      expect(n, `village ${v.village}`).toBe(v.total);
    }
    const east = weeks.filter((x: { village: string }) => x.village === '东村');
    expect(east.reduce((a: number, x: { patrols: number }) => a + x.patrols, 0)).toBe(1);
    expect(east.reduce((a: number, x: { findings: number }) => a + x.findings, 0)).toBe(1);

    // a report answered: its response time is there
    expect(totals.responded).toBe(0);
    await decide(analyst, reportLead, 'request_field_check');
    const after = (await reviewer.get('/api/patrol-weeks')).body;
    expect(after.totals.responded).toBe(1);
    const wk = after.weeks.find((x: { reports: number }) => x.reports === 1);
    expect(wk.response_h_median).toBeGreaterThanOrEqual(0);
    expect(wk.response_h_median).toBeLessThan(1);
    // a village-limited reviewer sees their village only, and field accounts nothing
    const eastOnly = (await (await app.as('reviewer', { villages: ['东村'] })).get('/api/patrol-weeks')).body;
    expect(eastOnly.weeks.every((x: { village: string }) => x.village === '东村')).toBe(true);
    expect((await (await app.as('field')).get('/api/patrol-weeks')).status).toBe(403);
  });
});
