/**
 * Proof per outcome (issue 13 item 18): the requirements table an admin keeps, enforced on dismissals and
 * case closings (422 proof_missing in both languages, nothing changed), and the count of outcomes lacking
 * their proof — computed from the data, so a later photo supplies it and a new requirement counts old outcomes.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDb } from '../helpers/db';
import type { UserClient } from '../helpers/api';
import { fieldEnv, photoForm, type FieldEnv } from './field-helpers';
import { uuid } from './review-helpers';

// EXIF DateTimeOriginal 2021-07-21 10:30 (China): its photo date is 2021-07-21
const PHOTO = new Uint8Array(readFileSync(new URL('../fixtures/photos/gps.jpg', import.meta.url)));

describeEachDb('proof per outcome', (backend) => {
  let env: FieldEnv;
  let admin: UserClient;
  let analyst: UserClient;
  let reviewer: UserClient;
  let field: UserClient;

  beforeAll(async () => {
    env = await fieldEnv(backend);
    admin = await env.app.as('admin');
    analyst = await env.app.as('analyst');
    reviewer = await env.app.as('reviewer');
    field = await env.app.as('field');
  });
  afterAll(async () => {
    await env?.close();
  });

  const version = async (id: number) => (await analyst.get(`/api/polygons/${id}`)).body.version as number;
  const dismiss = async (id: number, reason: string, proof?: Record<string, string>) =>
    analyst.post(`/api/polygons/${id}/decisions`, { action: 'dismiss', reason, version: await version(id), request_id: uuid(), ...(proof ? { proof } : {}) });
  const photo = (id: number) => field.request('POST', '/api/evidence', { form: photoForm(PHOTO, { polygon_id: id }) });
  const lacking = async () => (await reviewer.get('/api/proof/lacking')).body;

  it('lists the requirements of the issue, and lets only an admin replace them', async () => {
    const r = await analyst.get('/api/proof-requirements');
    expect(r.status).toBe(200);
    const key = (x: { subject: string; outcome: string; proof: string; enforced: boolean }) => `${x.subject}/${x.outcome}/${x.proof}/${x.enforced}`;
    expect(r.body.items.map(key).sort()).toEqual([
      'case/demolished/photo_after/false', 'case/regularised/permit_ref/true',
      'dismiss/agricultural_facility/field_photo/true', 'dismiss/already_removed/photo_after/true', 'dismiss/legal_permitted/permit_ref/true',
    ]);
    expect(r.body.items.find((x: { outcome: string }) => x.outcome === 'legal_permitted').outcome_label.zh).toBe('合法/已批准');
    expect((await analyst.put('/api/admin/proof-requirements', { items: [] })).status).toBe(403);
    // an outcome that does not exist for its subject is refused
    const bad = await admin.put('/api/admin/proof-requirements', { items: [{ subject: 'case', outcome: 'false_change', proof: 'permit_ref', enforced: true }] });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message_zh).toBeTruthy();
  });

  it('refuses a dismissal without its enforced proof, in both languages, and changes nothing', async () => {
    const [a, b, c] = env.jian;
    const r = await dismiss(a, 'legal_permitted');
    expect(r.status).toBe(422);
    expect(r.body.error.code).toBe('proof_missing');
    expect(r.body.error.message_zh).toContain('批准文号');
    expect(r.body.error.message).toMatch(/permit reference/);
    expect(r.body.error.details.missing).toEqual([{ proof: 'permit_ref', polygon_ids: [a] }]);
    expect((await analyst.get(`/api/polygons/${a}`)).body.status).toBe('pending');
    const ok = await dismiss(a, 'legal_permitted', { permit_ref: '永规建字〔2020〕018号' });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body.event.payload.proof).toEqual({ permit_ref: '永规建字〔2020〕018号' });

    // 农业设施 needs a field photo: refused, then accepted once the field team sent one
    expect((await dismiss(b, 'agricultural_facility')).body.error.details.missing).toEqual([{ proof: 'field_photo', polygon_ids: [b] }]);
    expect((await photo(b)).status).toBe(201);
    expect((await dismiss(b, 'agricultural_facility')).status).toBe(200);

    // 已拆除 needs a photo taken on or after the demolition date
    expect((await photo(c)).status).toBe(201);
    const late = await dismiss(c, 'already_removed', { demolished_on: '2021-08-01' });
    expect(late.status).toBe(422);
    expect(late.body.error.details.missing[0].proof).toBe('photo_after');
    expect((await dismiss(c, 'already_removed')).status).toBe(422); // no date, no proof
    expect((await dismiss(c, 'already_removed', { demolished_on: '2021-07-21' })).status).toBe(200);

    // a proof is for dismissals only
    const v = await analyst.post(`/api/polygons/${env.jian[3]}/decisions`, {
      action: 'verify', version: await version(env.jian[3]), request_id: uuid(), proof: { permit_ref: 'x' },
    });
    expect(v.status).toBe(400);
  });

  it('checks every polygon of a bulk dismissal: all or nothing', async () => {
    const [h1, h2] = env.hongqi;
    await photo(h1);
    const items = [{ id: h1, version: await version(h1) }, { id: h2, version: await version(h2) }];
    const r = await analyst.post('/api/decisions/bulk', { action: 'dismiss', reason: 'agricultural_facility', items, request_id: uuid() });
    expect(r.status).toBe(422);
    expect(r.body.error.details.missing).toEqual([{ proof: 'field_photo', polygon_ids: [h2] }]);
    expect((await analyst.get(`/api/polygons/${h1}`)).body.status).toBe('pending');
  });

  it('counts the outcomes lacking their proof: a new requirement counts old outcomes, a photo supplies it', async () => {
    const before = await lacking();
    expect(before.lacking).toBe(0);
    expect(before.by_requirement.find((x: { outcome: string }) => x.outcome === 'legal_permitted')).toMatchObject({ outcomes: 1, lacking: 0 });
    // the admin now also wants a field photo of a legal building, and accepts a dismissal without it (not enforced)
    const cur = (await admin.get('/api/proof-requirements')).body.items.map(({ subject, outcome, proof, enforced }: Record<string, unknown>) => ({ subject, outcome, proof, enforced }));
    const put = await admin.put('/api/admin/proof-requirements', {
      items: [...cur, { subject: 'dismiss', outcome: 'legal_permitted', proof: 'field_photo', enforced: false }],
    });
    expect(put.status, put.text).toBe(200);
    expect(put.body.items.find((x: { proof: string; outcome: string }) => x.outcome === 'legal_permitted' && x.proof === 'field_photo').updated_by_name)
      .toBe(admin.user.username);
    const after = await lacking();
    expect(after.lacking).toBe(1);
    expect(after.polygons.ids).toEqual([env.jian[0]]);
    // a dismissal that does not meet a requirement that is not enforced goes through, and says so in its event
    const h2 = env.hongqi[1];
    const ok = await dismiss(h2, 'legal_permitted', { permit_ref: '建字 2 号' });
    expect(ok.status).toBe(200);
    expect(ok.body.event.payload.lacking_proof).toEqual(['field_photo']);
    expect((await lacking()).lacking).toBe(2);
    // the field team's photo supplies the proof afterwards
    await photo(env.jian[0]);
    const now = await lacking();
    expect(now.lacking).toBe(1);
    expect(now.polygons.ids).toEqual([h2]);
    // a village-limited reviewer counts only their villages
    const hongqiOnly = await env.app.as('reviewer', { villages: ['吉安村'] });
    expect((await hongqiOnly.get('/api/proof/lacking')).body.lacking).toBe(0);
  });

  it('closes a case as demolished without a photo (not enforced) and counts it; enforced, it is refused', async () => {
    const id = env.jian[3];
    const open = await analyst.post(`/api/polygons/${id}/decisions`, {
      action: 'link', version: await version(id), request_id: uuid(), new_case: { party: '某某', address: '吉安村 3 组', kind: 'existing', discovered_on: '2021-07-01' },
    });
    expect(open.status, open.text).toBe(200);
    const caseId = open.body.case.id as number;
    const cur = (await admin.get('/api/proof-requirements')).body.items.map(({ subject, outcome, proof, enforced }: Record<string, unknown>) => ({ subject, outcome, proof, enforced }));
    // enforced: refused in both languages
    await admin.put('/api/admin/proof-requirements', {
      items: cur.map((x: { subject: string; outcome: string; enforced: boolean }) => (x.subject === 'case' && x.outcome === 'demolished' ? { ...x, enforced: true } : x)),
    });
    const refused = await analyst.post(`/api/cases/${caseId}/close`, { outcome: 'demolished', outcome_at: '2021-07-25', outcome_m2: 120 });
    expect(refused.status).toBe(422);
    expect(refused.body.error).toMatchObject({ code: 'proof_missing', details: { subject: 'case', outcome: 'demolished', missing: [{ proof: 'photo_after' }] } });
    expect(refused.body.error.message_zh).toContain('结案');
    // not enforced (as shipped): closed, and counted as lacking its photo
    await admin.put('/api/admin/proof-requirements', { items: cur });
    const closed = await analyst.post(`/api/cases/${caseId}/close`, { outcome: 'demolished', outcome_at: '2021-07-25', outcome_m2: 120 });
    expect(closed.status, closed.text).toBe(200);
    const l = await lacking();
    expect(l.cases).toEqual({ lacking: 1, ids: [caseId] });
    expect(l.by_requirement.find((x: { subject: string }) => x.subject === 'case')).toMatchObject({ outcome: 'demolished', outcomes: 1, lacking: 1 });
  });
});
