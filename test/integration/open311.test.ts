/**
 * Open311 GeoReport v2 (issue 16 item 7, docs/OPEN311.md): a civic tool submits (form-encoded and JSON) and
 * reads back; the status follows the analyst's decision; what is confidential never comes back.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDb } from '../helpers/db';
import type { Client } from '../helpers/api';
import { leadTown, toLonLat, type LeadTown } from './leads-fixture';
import { decide } from './dashboard-fixture';

describeEachDb('Open311 GeoReport v2', (backend) => {
  let t: LeadTown;
  let anon: Client;
  beforeAll(async () => {
    t = await leadTown(backend);
    anon = t.app.client({});
  });
  afterAll(async () => t?.close());

  it('services.json lists the four categories', async () => {
    const r = await anon.get('/open311/v2/services.json');
    expect(r.status, r.text).toBe(200);
    expect(r.body.map((s: { service_code: string; service_name: string }) => `${s.service_code} ${s.service_name}`)).toEqual([
      'construction 在建违法建设', 'compound 小区违法搭建/占用绿地', 'school 学校周边', 'other 其他',
    ]);
  });

  it('round trip: submit form-encoded, read back by id and in the list, status follows the decision', async () => {
    const [lon, lat] = toLonLat(220, 320);
    const body = new URLSearchParams({
      service_code: 'compound', lat: String(lat), long: String(lon), description: '小区绿地上搭了板房',
      phone: '13600003333', email: 'someone@example.com', first_name: '王', device_id: 'IMEI-86-0000', media_url: 'http://x.example/p.jpg',
    });
    const res = await fetch(`${t.app.url}/open311/v2/requests.json`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': '10.9.0.1' }, body,
    });
    const created = await res.json();
    expect(res.status, JSON.stringify(created)).toBe(201);
    expect(created).toHaveLength(1);
    const { service_request_id: id, token } = created[0];
    expect(id).toMatch(/^[A-Z2-9]{10}$/);
    expect(token).toBeTruthy();
    expect(created[0].account_id).toBeNull();

    const one = await anon.get(`/open311/v2/requests/${id}.json`);
    expect(one.status, one.text).toBe(200);
    expect(one.body).toHaveLength(1);
    expect(one.body[0]).toMatchObject({
      service_request_id: id, status: 'open', status_notes: '已受理', service_code: 'compound', service_name: '小区违法搭建/占用绿地',
      agency_responsible: '东村', address: '东村', description: null, media_url: null,
    });
    expect(Math.abs(one.body[0].lat - lat)).toBeLessThan(0.001);
    expect(one.body[0].expected_datetime).toMatch(/^\d{4}-\d{2}-\d{2}T18:00:00\+08:00$/);
    for (const secret of ['13600003333', 'someone@example.com', 'IMEI-86-0000', '10.9.0.1', '板房']) expect(one.text).not.toContain(secret);
    // the discarded fields were never stored
    const stored = await t.db.query<{ j: string }>(`SELECT row_to_json(r)::text AS j FROM public_report r WHERE receipt_code = $1`, [id]);
    expect(stored.rows[0].j).not.toContain('someone@example.com');
    expect(stored.rows[0].j).not.toContain('IMEI');
    const lead = await t.db.query<{ j: string }>(`SELECT row_to_json(p)::text AS j FROM survey_polygon p WHERE code = $1`, [`JB-${id}`]);
    expect(lead.rows[0].j).not.toContain('13600003333');

    // JSON body too; then the list by ids
    const j = await anon.request('POST', '/open311/v2/requests.json', {
      body: { service_code: 'other', lat, long: lon, description: 'JSON 提交' }, headers: { 'x-forwarded-for': '10.9.0.2' },
    });
    expect(j.status, j.text).toBe(201);
    const both = await anon.get('/open311/v2/requests.json', { query: { service_request_id: `${id},${j.body[0].service_request_id}` } });
    expect(both.body.map((x: { service_request_id: string }) => x.service_request_id).sort()).toEqual([id, j.body[0].service_request_id].sort());
    const latest = await anon.get('/open311/v2/requests.json', { query: { service_code: 'compound' } });
    expect(latest.body.map((x: { service_request_id: string }) => x.service_request_id)).toEqual([id]);

    // the analyst decides: closed, and the status page (with the token) agrees
    const leadId = (await t.analyst.get('/api/polygons', { query: { q: `JB-${id}` } })).body.items[0].id;
    await decide(t.analyst, leadId, 'verify');
    const closed = await anon.get(`/open311/v2/requests/${id}.json`);
    expect(closed.body[0]).toMatchObject({ status: 'closed', status_notes: '已处理' });
    expect((await anon.get('/open311/v2/requests.json', { query: { service_request_id: id, status: 'open' } })).body).toEqual([]);
    const page = await anon.get(`/api/public/reports/${id}`, { query: { secret: token } });
    expect(page.body.status_zh).toBe('已处理');
  });

  it('refuses bad input with a bilingual 4xx', async () => {
    const r = await anon.request('POST', '/open311/v2/requests.json', { body: { service_code: 'nope', lat: 1, long: 1, description: 'x' } });
    expect(r.status).toBe(400);
    expect(r.body.error.message_zh).toMatch(/[\u4e00-\u9fff]/);
    expect((await anon.get('/open311/v2/requests/NOPE.json')).status).toBe(400);
    expect((await anon.get('/open311/v2/requests/ABCDEFGH23.json')).status).toBe(404);
  });
});
