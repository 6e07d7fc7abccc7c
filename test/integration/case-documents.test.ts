/**
 * The printable notices of a case (issue 13 item 4, GET /reports/cases/:id/:doc): each carries the case number,
 * party, address, every polygon code and the total area, the date asked for, and a seal block; one per utility
 * company; officers only; a case outside a village-limited officer's villages is 404, an unknown document 400.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDb, freshDb, type TestDb } from '../helpers/db';
import type { Principal } from '../../server/auth/guard';
import { seedPolygons, startApp, user, uuid, type Api } from './review-helpers';

describeEachDb('case notices (print pages)', (backend) => {
  let db: TestDb;
  let api: Api;
  const analyst = user('analyst', '文书甲');
  const elsewhere = user('analyst', '外村乙', ['别的村']);
  const reviewer = user('reviewer');
  let caseId = 0;
  let codes: string[] = [];

  beforeAll(async () => {
    db = await freshDb(backend);
    api = await startApp(db);
    const ids = await seedPolygons(db, 2, '吉安村', 'DOC');
    codes = (await db.query<{ code: string }>('SELECT code FROM survey_polygon WHERE id = ANY($1::bigint[]) ORDER BY id', [ids])).rows.map((r) => r.code);
    const A = api.as(analyst);
    const bulk = await A.post('/api/decisions/bulk', {
      action: 'link', request_id: uuid(), items: ids.map((id) => ({ id, version: 1 })),
      new_case: { party: '陈某某', address: '吉安大道 8 号', kind: 'under_construction', village: '吉安村' },
    });
    expect(bulk.status, JSON.stringify(bulk.body)).toBe(200);
    caseId = bulk.body.case.id;
  });
  afterAll(async () => {
    await api?.close();
    await db?.dispose();
  });

  const page = async (p: Principal | null, path: string) => {
    const headers: Record<string, string> = {};
    if (p) headers['x-test-user'] = Buffer.from(JSON.stringify(p)).toString('base64');
    const r = await fetch(api.url + path, { headers });
    return { status: r.status, type: r.headers.get('content-type') ?? '', text: await r.text() };
  };

  it('prints each notice with the case data, the date and a seal block', async () => {
    const c = (await api.as(analyst).get(`/api/cases/${caseId}`)).body as { number: string; polygons: { area_m2: number }[] };
    const total = c.polygons.reduce((s, p) => s + Number(p.area_m2), 0);
    const titles: Record<string, string> = {
      stop_order: '责令停止违法建设通知书', utility_water: '停止供水服务', utility_power: '停止供电服务', utility_gas: '停止供气服务', self_removal: '限期自行拆除通知书',
    };
    for (const [doc, title] of Object.entries(titles)) {
      const r = await page(analyst, `/reports/cases/${caseId}/${doc}?date=2021-06-03`);
      expect(r.status, r.text.slice(0, 200)).toBe(200);
      expect(r.type).toContain('text/html');
      for (const s of [title, c.number, '陈某某', '吉安大道 8 号', ...codes, '2021年6月3日', '（盖章）', '经办人（签名）',
        total.toLocaleString('zh-CN', { minimumFractionDigits: 2, maximumFractionDigits: 2 })]) {
        expect(r.text, `${doc}: ${s}`).toContain(s);
      }
    }
  });

  it('refuses an unknown notice, another village, a reviewer and a bad date', async () => {
    expect((await page(analyst, `/reports/cases/${caseId}/summons`)).status).toBe(400);
    expect((await page(analyst, `/reports/cases/${caseId}/stop_order?date=2021-02-30`)).status).toBe(400);
    expect((await page(elsewhere, `/reports/cases/${caseId}/stop_order`)).status).toBe(404);
    expect((await page(analyst, '/reports/cases/999999/stop_order')).status).toBe(404);
    expect((await page(reviewer, `/reports/cases/${caseId}/stop_order`)).status).toBe(403);
    expect((await page(null, `/reports/cases/${caseId}/stop_order`)).status).toBe(401);
  });
});
