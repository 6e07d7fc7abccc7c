/**
 * Quality check (抽查): seeded samples of decided polygons per village, verdicts, a return that goes through
 * the review workflow, agreement per village and per analyst; and the printable village report.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDb, freshDb, type TestDb } from '../helpers/db';
import { startApp, type Client, type TestApp } from '../helpers/api';
import { decide, REGION, seedTown, type Town } from './dashboard-fixture';

describeEachDb('dashboard: quality check', (backend) => {
  let db: TestDb;
  let app: TestApp;
  let town: Town;
  let reviewer: Client;
  let east: Client;

  beforeAll(async () => {
    db = await freshDb(backend);
    app = await startApp(db, { env: { TUBAN_REGION_CODE: REGION, TUBAN_WORK_SRID: '4523' } });
    town = await seedTown(app, '2021');
    reviewer = town.reviewer;
    east = await app.as('reviewer', { villages: ['东村'] });
  });
  afterAll(async () => {
    await app?.close();
    await db?.dispose();
  });

  const decidedIds = () => new Set(['A1', 'A2', 'A3', 'B1', 'B2', 'N1'].map((c) => town.ids[c]));

  it('draws N decided polygons per village, the same ones for the same seed', async () => {
    const a = await reviewer.post('/api/qc/samples', { per_village: 2, seed: 's1', survey: '2021' });
    expect(a.status, a.text).toBe(201);
    const items = a.body.items as any[];
    // 东村 has 3 decided (A1, A2, A3), 西村 2 (B1, B2), no village 1 (N1); removed R1 never
    const perVillage = items.reduce((m: Record<string, number>, i) => ({ ...m, [i.village ?? '-']: (m[i.village ?? '-'] ?? 0) + 1 }), {});
    expect(perVillage).toEqual({ 东村: 2, 西村: 2, '-': 1 });
    for (const i of items) expect(decidedIds().has(i.polygon_id)).toBe(true);
    const b = await reviewer.post('/api/qc/samples', { per_village: 2, seed: 's1' });
    expect(b.body.items.map((i: any) => i.polygon_id)).toEqual(items.map((i) => i.polygon_id));
    // who decided: the last outcome event's username
    const a1 = (await reviewer.post('/api/qc/samples', { per_village: 3, seed: 'all' })).body.items.find((i: any) => i.polygon_id === town.ids.A3);
    expect(a1.decided_by).toBe(town.analystB.user.username);
    expect(a1.decided_status).toBe('linked');
    const c = await reviewer.post('/api/qc/samples', { per_village: 1000 });
    expect(c.body.items).toHaveLength(6);
    expect(c.body.seed).toMatch(/^[0-9a-f]{12}$/);
  });

  it('keeps a village-limited reviewer to their villages', async () => {
    const s = await east.post('/api/qc/samples', { per_village: 5, seed: 'e' });
    expect(s.status, s.text).toBe(201);
    expect(new Set(s.body.items.map((i: any) => i.village))).toEqual(new Set(['东村']));
    // a sample drawn over every village shows them only their village's items
    const all = await reviewer.post('/api/qc/samples', { per_village: 5, seed: 'x' });
    const seen = await east.get(`/api/qc/samples/${all.body.id}`);
    expect(seen.status).toBe(200);
    expect(seen.body.items.every((i: any) => i.village === '东村')).toBe(true);
    expect(JSON.stringify(seen.body)).not.toContain('西村');
    expect(seen.body.stats.by_village.map((v: any) => v.village)).toEqual(['东村']);
    // and their verdicts only there
    const other = all.body.items.find((i: any) => i.village === '西村');
    expect((await east.post(`/api/qc/items/${other.id}`, { verdict: 'approve' })).status).toBe(404);
    const list = await east.get('/api/qc/samples');
    expect(list.body.items.every((x: any) => x.items <= 3)).toBe(true);
  });

  it('approves, returns through the review workflow, and reports agreement per village and analyst', async () => {
    const s = (await reviewer.post('/api/qc/samples', { per_village: 10, seed: 'verdicts' })).body;
    const item = (code: string) => s.items.find((i: any) => i.polygon_id === town.ids[code]);
    expect((await reviewer.post(`/api/qc/items/${item('A1').id}`, { verdict: 'approve' })).status).toBe(200);
    expect((await reviewer.post(`/api/qc/items/${item('A2').id}`, { verdict: 'return' })).status).toBe(400); // comment required
    const ret = await reviewer.post(`/api/qc/items/${item('A2').id}`, { verdict: 'return', comment: '现场为新建房屋，不是误判' });
    expect(ret.status, ret.text).toBe(200);
    expect(ret.body.decision.polygon.status).toBe('pending');
    // the polygon is back in the queue, the return in its history with the reviewer's comment
    const h = await reviewer.get(`/api/polygons/${town.ids.A2}/history`);
    const last = h.body.items.at(-1);
    expect(last).toMatchObject({ action: 'return', from_status: 'dismissed', to_status: 'pending', note: '现场为新建房屋，不是误判', username: town.reviewer.user.username });
    // one verdict per item
    const again = await reviewer.post(`/api/qc/items/${item('A1').id}`, { verdict: 'return', comment: 'x' });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('already_reviewed');
    expect((await reviewer.post(`/api/qc/items/${item('B2').id}`, { verdict: 'approve' })).status).toBe(200);

    const got = (await reviewer.get(`/api/qc/samples/${s.id}`)).body;
    expect(got.stats.overall).toMatchObject({ items: 6, reviewed: 3, approved: 2, returned: 1 });
    expect(got.stats.overall.reviewed_share).toBeCloseTo(0.5, 12);
    expect(got.stats.overall.agreement).toBeCloseTo(2 / 3, 12);
    const v = Object.fromEntries(got.stats.by_village.map((x: any) => [x.village, x]));
    expect(v['东村']).toMatchObject({ items: 3, reviewed: 2, approved: 1, returned: 1, agreement: 0.5 });
    expect(v['西村']).toMatchObject({ items: 2, reviewed: 1, approved: 1, agreement: 1 });
    expect(v['-']).toMatchObject({ items: 1, reviewed: 0, agreement: null });
    const a = Object.fromEntries(got.stats.by_analyst.map((x: any) => [x.analyst, x]));
    // 甲 decided A1 (approved) and A2 (returned), N1; 乙 decided A3, B1, B2 (approved)
    expect(a[town.analystA.user.username]).toMatchObject({ items: 3, reviewed: 2, approved: 1, returned: 1, agreement: 0.5 });
    expect(a[town.analystB.user.username]).toMatchObject({ items: 3, reviewed: 1, approved: 1, agreement: 1 });
    expect(got.items.find((i: any) => i.polygon_id === town.ids.A2)).toMatchObject({ verdict: 'return', current_status: 'pending' });
  });

  it('refuses a verdict on a polygon changed since it was drawn, and leaves the item open', async () => {
    const s = (await reviewer.post('/api/qc/samples', { per_village: 10, seed: 'changed' })).body;
    const it = s.items.find((i: any) => i.polygon_id === town.ids.B1);
    await decide(town.analystB, town.ids.B1, 'reopen', { note: '重新核查' });
    const r = await reviewer.post(`/api/qc/items/${it.id}`, { verdict: 'return', comment: '请复核' });
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe('decision_changed');
    const got = (await reviewer.get(`/api/qc/samples/${s.id}`)).body;
    expect(got.items.find((i: any) => i.id === it.id).verdict).toBeNull();
    // analysts read samples, only reviewers (and admins) give verdicts
    expect((await town.analystA.get(`/api/qc/samples/${s.id}`)).status).toBe(200);
    expect((await town.analystA.post(`/api/qc/items/${it.id}`, { verdict: 'approve' })).status).toBe(403);
    expect((await reviewer.get('/api/qc/samples/999999')).status).toBe(404);
  });

  it('renders the printable village report with the coverage figures and an SVG map', async () => {
    const r = await reviewer.get(`/reports/village/${encodeURIComponent('东村')}`);
    expect(r.status, r.text).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/text\/html/);
    const html = r.text;
    expect(html).toContain('@page { size: A4');
    expect(html).toContain('东村违法建设图斑核查情况报告');
    expect(html).toMatch(/<svg[^>]*viewBox/);
    // one path per polygon of the village (6), coloured by status, and the village outline
    expect((html.match(/<path d="M[^"]+" fill="#[0-9a-f]{6}" fill-opacity/g) ?? []).length).toBe(6);
    expect(html).toContain('stroke-dasharray');
    for (const code of ['A1', 'A2', 'A3', 'A4', 'A5', 'A6']) expect(html).toContain(`<td class="code">${code}</td>`);
    expect(html).not.toContain('<td class="code">B1</td>');
    expect(html).not.toContain('<td class="code">R1</td>'); // removed
    expect(html).toContain('照片待上传');
    expect(html).not.toMatch(/<script/i);
    // village scope: another village is not found; unknown villages neither
    expect((await east.get(`/reports/village/${encodeURIComponent('西村')}`)).status).toBe(404);
    expect((await east.get(`/reports/village/${encodeURIComponent('东村')}`)).status).toBe(200);
    expect((await reviewer.get(`/reports/village/${encodeURIComponent('没有这个村')}`)).status).toBe(404);
    expect((await app.get(`/reports/village/${encodeURIComponent('东村')}`)).status).toBe(401);
    // an unknown name is an HTML page in both languages (a person opened it), the name escaped
    const evil = await reviewer.get(`/reports/village/${encodeURIComponent('<script>alert(1)</script>')}`, { headers: { accept: 'text/html,*/*;q=0.8' } });
    expect(evil.status).toBe(404);
    expect(evil.headers.get('content-type')).toMatch(/text\/html/);
    expect(evil.text).toContain('未找到报告');
    expect(evil.text).toContain('Report not found');
    expect(evil.text).toContain('没有村（社区）“&lt;script&gt;alert(1)&lt;/script&gt;”');
    expect(evil.text).not.toMatch(/<script/i);
    expect(evil.headers.get('content-security-policy')).toContain("default-src 'none'");
    // a JSON client still gets the error shape
    const json = await reviewer.get(`/reports/village/${encodeURIComponent('没有这个村')}`, { headers: { accept: 'application/json' } });
    expect(json.status).toBe(404);
    expect(json.body.error).toMatchObject({ code: 'not_found', message_zh: '没有村（社区）“没有这个村”' });
  });

  it('numbers every polygon on the report map with its table row, legible at print size', async () => {
    const html = (await reviewer.get(`/reports/village/${encodeURIComponent('东村')}`)).text;
    // the table's rows in order: 序号 → code
    const rows = [...html.matchAll(/<tr>\s*<td class="n">(\d+)<\/td><td class="code">([^<]+)<\/td>/g)].map((m) => [Number(m[1]), m[2]] as const);
    expect(rows.map((r) => r[1])).toEqual(['A1', 'A2', 'A3', 'A4', 'A5', 'A6']);
    // the map: one number per row, 1..n, each placed on or beside its polygon
    const svg = /<svg[^>]*viewBox="([^"]+)" width="([\d.]+)mm" height="([\d.]+)mm"[\s\S]*?<\/svg>/.exec(html)!;
    expect(svg).toBeTruthy();
    const labels = /<g class="labels" font-size="([\d.]+)"[^>]*>([\s\S]*?)<\/g>/.exec(svg[0])!;
    const numbers = [...labels[2].matchAll(/<text x="([-\d.]+)" y="([-\d.]+)"[^>]*>(\d+)<\/text>/g)].map((m) => ({ x: +m[1], y: +m[2], n: Number(m[3]) }));
    expect(numbers.map((l) => l.n)).toEqual(rows.map((r) => r[0]));
    // printed size: font-size (map units) × printed mm per map unit, in points; at least 7 pt
    const [, , vbW, vbH] = svg[1].split(' ').map(Number);
    const mmPerUnit = Number(svg[2]) / vbW;
    expect(Number(svg[3]) / vbH).toBeCloseTo(mmPerUnit, 3);
    expect(Number(svg[2])).toBeLessThanOrEqual(182);
    expect(Number(svg[3])).toBeLessThanOrEqual(165);
    expect((Number(labels[1]) * mmPerUnit) / (25.4 / 72)).toBeGreaterThanOrEqual(7);
    // each number near its polygon: within 20 printed mm of the polygon (the map's y axis points south)
    const { rows: geo } = await db.query<{ code: string; x: number; y: number; x0: number; y1: number }>(
      `WITH b AS (SELECT ST_Extent(g) AS e FROM (SELECT geom AS g FROM survey_polygon WHERE village_name = '东村' AND removed_batch_id IS NULL
                  UNION ALL SELECT f.geom FROM layer_feature f JOIN layer l ON l.id = f.layer_id WHERE l.name = 'village' AND f.name = '东村') x)
       SELECT p.code, ST_X(ST_Centroid(p.geom)) AS x, ST_Y(ST_Centroid(p.geom)) AS y, ST_XMin(b.e) AS x0, ST_YMax(b.e) AS y1
       FROM survey_polygon p, b WHERE p.village_name = '东村' AND p.removed_batch_id IS NULL`);
    for (const [n, code] of rows) {
      const g = geo.find((r) => r.code === code)!;
      const l = numbers.find((x) => x.n === n)!;
      const d = Math.hypot(l.x - (g.x - g.x0), l.y - (g.y1 - g.y)) * mmPerUnit;
      expect(d, code).toBeLessThan(20);
    }
    expect(html).toContain('图上数字为下表序号');
  });
});
