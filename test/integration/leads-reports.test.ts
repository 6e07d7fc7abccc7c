/**
 * Leads and public reports (issue 16 items 1, 2, 4, 5, 6): a report becomes a lead in the same queue with
 * its village by location; a lead near a polygon is marked a possible duplicate and can be merged (both
 * histories kept); photos lose their device identifiers but keep time and position; the abuse guards; the
 * receipt and the status the reporter sees; the overdue figure.
 */
import { randomUUID } from 'node:crypto';
import exifr from 'exifr';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDb } from '../helpers/db';
import type { Client } from '../helpers/api';
import { GPS_PHOTO, leadTown, reportForm, toLonLat, type LeadTown } from './leads-fixture';
import { decide } from './dashboard-fixture';

describeEachDb('leads and public reports', (backend) => {
  let t: LeadTown;
  let anon: Client;
  let admin: Client;
  const from = (ip: string) => ({ 'x-forwarded-for': ip });
  const report = (f: Parameters<typeof reportForm>[0], ip = '10.0.0.1') =>
    anon.request('POST', '/api/public/reports', { form: reportForm(f), headers: from(ip) });

  beforeAll(async () => {
    t = await leadTown(backend, { TUBAN_REPORT_LIMIT_HOUR: '3', TUBAN_REPORT_LIMIT_PHONE_DAY: '2' });
    anon = t.app.client({});
    admin = await t.app.as('admin');
  });
  afterAll(async () => t?.close());

  it('a report is a lead in the queue: source report, village by location, a receipt whose status the reporter reads', async () => {
    const [lon, lat] = toLonLat(200, 300);
    const r = await report({ lon, lat, description: '东村新建三层楼', photos: [GPS_PHOTO] });
    expect(r.status, r.text).toBe(201);
    expect(r.body).toMatchObject({ status: 'received', status_zh: '已受理', photos: 1, added_to_existing: false });
    expect(r.body.code).toMatch(/^[A-Z2-9]{10}$/);
    expect(r.body.url).toContain(`/report/${r.body.code}#${r.body.secret}`);

    const q = await t.analyst.get('/api/polygons', { query: { source: 'report' } });
    expect(q.status, q.text).toBe(200);
    expect(q.body.total).toBe(1);
    const lead = q.body.items[0];
    expect(lead).toMatchObject({ source: 'report', village: '东村', status: 'pending', code: `JB-${r.body.code}`, duplicate_of: null });
    // the survey polygons are the other source, and the two add up
    const s = await t.analyst.get('/api/polygons', { query: { source: 'survey', status: 'pending,field_check,verified,linked,dismissed' } });
    const all = await t.analyst.get('/api/polygons', { query: { status: 'pending,field_check,verified,linked,dismissed' } });
    expect(s.body.total + 1).toBe(all.body.total);

    // the photo: resized JPEG without the camera's make and model, time and position kept with the evidence
    const ev = await t.analyst.get(`/api/polygons/${lead.id}/evidence`);
    expect(ev.body.evidence).toHaveLength(1);
    const photo = ev.body.evidence[0];
    expect(photo).toMatchObject({ uploaded_by: '公众举报', camera: null, taken_at: '2021-07-21T02:30:00.000Z' });
    expect(photo.exif_position.lat).toBeCloseTo(29.403428, 4);
    const full = await fetch(`${t.app.url}${photo.urls.full}`, {
      headers: t.analyst.token ? { authorization: `Bearer ${t.analyst.token}` } : { cookie: t.analyst.cookie! }, redirect: 'manual',
    });
    const bytes = new Uint8Array(await full.arrayBuffer());
    expect(full.status).toBe(200);
    const tags = await exifr.parse(bytes, { tiff: true, exif: true, gps: true }).catch(() => undefined);
    expect(tags?.Make).toBeUndefined();
    expect(tags?.Model).toBeUndefined();

    // status: only with the secret; then the analyst decides and the reporter sees 已处理
    expect((await anon.get(`/api/public/reports/${r.body.code}`)).status).toBe(404);
    expect((await anon.get(`/api/public/reports/${r.body.code}`, { query: { secret: 'wrong' } })).status).toBe(404);
    const st = await anon.get(`/api/public/reports/${r.body.code}`, { query: { secret: r.body.secret } });
    expect(st.status, st.text).toBe(200);
    expect(st.body).toMatchObject({ status: 'received', status_zh: '已受理', category_zh: '在建违法建设' });
    expect(JSON.stringify(st.body)).not.toContain('东村新建三层楼'.slice(0, 0) + 'note');

    await decide(t.analyst, lead.id, 'request_field_check');
    expect((await anon.get(`/api/public/reports/${r.body.code}`, { query: { secret: r.body.secret } })).body.status_zh).toBe('核查中');
    await decide(t.analyst, lead.id, 'dismiss', { reason: 'other', note: '内部意见：村干部家属，勿外传' });
    const done = await anon.get(`/api/public/reports/${r.body.code}`, { query: { secret: r.body.secret } });
    expect(done.body).toMatchObject({ status: 'done', status_zh: '已处理' });
    expect(done.text).not.toContain('内部意见');
    expect(Date.parse(done.body.status_since)).toBeGreaterThan(Date.parse(done.body.received_at) - 1);

    // the dashboard counts by source, and the sources add up to the whole
    const cov = await t.analyst.get('/api/coverage');
    expect(cov.status, cov.text).toBe(200);
    const by = Object.fromEntries(cov.body.by_source.map((g: { source: string; total: number }) => [g.source, g.total]));
    expect(by).toEqual({ survey: 3, patrol: 0, report: 1 });
    expect(cov.body.by_source.reduce((n: number, g: { total: number }) => n + g.total, 0)).toBe(cov.body.overall.total);
    const lst = await t.analyst.get('/api/polygons', { query: { ...cov.body.by_source[2].filter } });
    expect(lst.body.total).toBe(1);
    // the exports filter by source too, and say where each row came from
    const csv = await t.analyst.get('/api/exports/ledger.csv', { query: { source: 'report' } });
    expect(csv.status).toBe(200);
    expect(csv.text).toContain(`JB-${r.body.code}`);
    expect(csv.text).toContain('来源');
    expect(csv.text).toContain('举报');
    expect(csv.text).not.toContain('TB1');
  });

  it('a lead within 30 m of a polygon is a possible duplicate; merging keeps both histories', async () => {
    const [lon, lat] = toLonLat(170, 125); // 20 m east of TB1
    const field = await t.app.as('field');
    const l = await field.post('/api/leads', { source: 'patrol', lon, lat, note: '巡查发现搭建' });
    expect(l.status, l.text).toBe(201);
    expect(l.body).toMatchObject({ source: 'patrol', village: '东村', duplicate_of: t.ids.TB1, duplicate_of_code: 'TB1' });
    const [flon, flat] = toLonLat(400, 400); // far from everything
    const far = await field.post('/api/leads', { source: 'patrol', lon: flon, lat: flat });
    expect(far.body.duplicate_of).toBeNull();

    await decide(t.analyst, t.ids.TB1, 'request_field_check');
    const m = await t.analyst.post(`/api/polygons/${l.body.id}/merge`, { into: t.ids.TB1, version: l.body.version, request_id: randomUUID() });
    expect(m.status, m.text).toBe(200);
    expect(m.body).toMatchObject({ polygon: { status: 'dismissed' }, merged_into: { id: t.ids.TB1, code: 'TB1' } });
    const lead = await t.analyst.get(`/api/polygons/${l.body.id}`);
    expect(lead.body).toMatchObject({ merged_into: t.ids.TB1, merged_into_code: 'TB1', source: 'patrol' });
    const target = await t.analyst.get(`/api/polygons/${t.ids.TB1}`);
    expect(target.body.merged_leads).toEqual([{ id: l.body.id, code: l.body.code, source: 'patrol', status: 'dismissed' }]);
    const h1 = await t.analyst.get(`/api/polygons/${l.body.id}/history`);
    const h2 = await t.analyst.get(`/api/polygons/${t.ids.TB1}/history`);
    expect(h1.body.items?.map?.((e: { action: string }) => e.action) ?? h1.body.map((e: { action: string }) => e.action)).toEqual(['dismiss']);
    expect(JSON.stringify(h2.body)).toContain('request_field_check');
    // merged once; a survey polygon cannot be merged
    const again = await t.analyst.post(`/api/polygons/${l.body.id}/merge`, { into: t.ids.TB1, version: 2, request_id: randomUUID() });
    expect(again.status).toBe(409);
    const survey = await t.analyst.post(`/api/polygons/${t.ids.TB2}/merge`, { into: t.ids.TB1, version: 1, request_id: randomUUID() });
    expect(survey.body.error.code).toBe('not_a_lead');
    // a reviewer may not merge
    const reviewer = await t.app.as('reviewer');
    expect((await reviewer.post(`/api/polygons/${far.body.id}/merge`, { into: t.ids.TB1, version: 1, request_id: randomUUID() })).status).toBe(403);
  });

  it('before submitting: open items within 50 m, and a photo added to one of them instead of a new lead', async () => {
    const [lon, lat] = toLonLat(325, 170); // 20 m north of TB2
    const near = await anon.get('/api/public/reports/nearby', { query: { lon, lat } });
    expect(near.status, near.text).toBe(200);
    expect(near.body.items.map((i: { id: number }) => i.id)).toContain(t.ids.TB2);
    expect(near.body.items[0]).toMatchObject({ label_zh: '已在处理' });
    expect(Object.keys(near.body.items[0]).sort()).toEqual(['distance_m', 'id', 'label_zh', 'reported', 'status_zh']);
    const before = (await t.analyst.get('/api/polygons', { query: { source: 'report', status: 'pending,field_check,verified,linked,dismissed' } })).body.total;
    const r = await report({ lon, lat, add_to: t.ids.TB2, photos: [GPS_PHOTO] }, '10.0.0.2');
    expect(r.status, r.text).toBe(201);
    expect(r.body).toMatchObject({ added_to_existing: true, photos: 1 });
    expect((await t.analyst.get('/api/polygons', { query: { source: 'report', status: 'pending,field_check,verified,linked,dismissed' } })).body.total).toBe(before);
    const ev = await t.analyst.get(`/api/polygons/${t.ids.TB2}/evidence`);
    expect(ev.body.evidence.map((e: { uploaded_by: string }) => e.uploaded_by)).toContain('公众举报');
    // an item further than 50 m, or a verified one, is refused
    const [flon, flat] = toLonLat(600, 400);
    const bad = await report({ lon: flon, lat: flat, add_to: t.ids.TB2 }, '10.0.0.2');
    expect(bad.status).toBe(422);
    expect(bad.body.error.code).toBe('not_nearby');
  });

  it('abuse: honeypot, rate limits per address and per phone, photo checks and caps, all refused with a reason', async () => {
    const [lon, lat] = toLonLat(450, 50);
    const hp = await report({ lon, lat, website: 'http://spam.example' }, '10.0.1.1');
    expect(hp.status).toBe(400);
    expect(hp.body.error).toMatchObject({ code: 'rejected' });
    expect(hp.body.error.message_zh).toMatch(/[\u4e00-\u9fff]/);

    for (let i = 0; i < 3; i++) expect((await report({ lon, lat }, '10.0.2.1')).status).toBe(201);
    const limited = await report({ lon, lat }, '10.0.2.1');
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('rate_limited');
    expect((await report({ lon, lat }, '10.0.2.2')).status).toBe(201); // another address is not limited

    expect((await report({ lon, lat, phone: '138 0000 1111' }, '10.0.3.1')).status).toBe(201);
    expect((await report({ lon, lat, phone: '13800001111' }, '10.0.3.2')).status).toBe(201);
    const byPhone = await report({ lon, lat, phone: '+86 138-0000-1111' }, '10.0.3.3');
    expect(byPhone.status).toBe(429);
    expect(byPhone.body.error.message_zh).toContain('电话号码');
    expect((await report({ lon, lat, phone: '12345' }, '10.0.3.4')).body.error.code).toBe('invalid_phone');

    const four = await report({ lon, lat, photos: [GPS_PHOTO, GPS_PHOTO, GPS_PHOTO, GPS_PHOTO] }, '10.0.4.1');
    expect(four.status).toBe(400);
    expect(four.body.error.code).toBe('too_many_photos');
    const notPhoto = await report({ lon, lat, photos: [new TextEncoder().encode('<html>not a photo</html>')] }, '10.0.4.2');
    expect(notPhoto.status).toBe(415);
    const big = await report({ lon, lat, photos: [new Uint8Array(11 * 1024 * 1024)] }, '10.0.4.3');
    expect(big.status).toBe(413);
    const [olon, olat] = toLonLat(50_000, 50_000);
    const outside = await report({ lon: olon, lat: olat }, '10.0.4.4');
    expect(outside.status).toBe(422);
    expect(outside.body.error.code).toBe('outside_area');
    // nothing of the refused reports was stored
    const n = (await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM public_report WHERE reporter_ip LIKE '10.0.4.%' OR reporter_ip = '10.0.1.1'`)).rows[0].n;
    expect(n).toBe(0);
  });

  it('overdue for a response: past N working days with no response; the admin alone sees who reported', async () => {
    const [lon, lat] = toLonLat(150, 450);
    const r = await report({ lon, lat, phone: '13900002222' }, '10.0.5.1');
    expect(r.status, r.text).toBe(201);
    expect(r.body.due_on).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    const today = (await t.analyst.get('/api/reports/overdue')).body;
    expect(today.items.map((i: { code: string }) => i.code)).not.toContain(`JB-${r.body.code}`);
    const later = await t.analyst.get('/api/reports/overdue', { query: { as_of: '2099-01-01' } });
    expect(later.status, later.text).toBe(200);
    expect(later.body.response_workdays).toBe(3);
    expect(later.body.items.map((i: { code: string }) => i.code)).toContain(`JB-${r.body.code}`);
    const id = later.body.items.find((i: { code: string }) => i.code === `JB-${r.body.code}`).polygon_id;
    await decide(t.analyst, id, 'request_field_check');
    const after = await t.analyst.get('/api/reports/overdue', { query: { as_of: '2099-01-01' } });
    expect(after.body.items.map((i: { code: string }) => i.code)).not.toContain(`JB-${r.body.code}`);

    const c = await admin.get(`/api/admin/reports/${r.body.code}/contact`);
    expect(c.status, c.text).toBe(200);
    expect(c.body).toMatchObject({ phone: '13900002222', reporter_ip: '10.0.5.1' });
    expect((await t.analyst.get(`/api/admin/reports/${r.body.code}/contact`)).status).toBe(403);
  });
});
