/**
 * The history is the proof (issue 12 item 4), on PostgreSQL with the two roles of README "Database roles":
 * the owner migrates and imports, the server runs as the runtime role. As the runtime role every way of
 * rewriting the history fails (DISABLE TRIGGER, UPDATE/DELETE/TRUNCATE of events, photos and findings, a
 * status change without an event), while the app's own flows (a decision, a case link, a photo and a
 * finding with it, a case step, an import) still work through HTTP. The owner can still tamper behind the
 * app's back: the integrity check finds it. PostgreSQL only: the embedded database has one role.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/db';
import { startApp, type TestApp, type UserClient } from '../helpers/api';
import { TEST_WORK_SRID } from '../helpers/snapshot';
import { TEST_OWNER_ROLE, TEST_RUNTIME_ROLE } from '../global-setup';
import { openPostgres } from '../../server/db/postgres';
import { migrate } from '../../server/db/migrate';
import { canAlterHistory, checkRuntimeRole, grantRuntime, roleReport, UnsafeRoleError } from '../../server/db/roles';
import type { Db } from '../../server/db/types';
import { photoForm } from './field-helpers';
import { REGION, seedPolygons, uuid } from './review-helpers';

const PHOTO = new Uint8Array(readFileSync(new URL('../fixtures/photos/gps.jpg', import.meta.url)));

function logSink() {
  const lines: { level: number; msg: string }[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  return { log, lines };
}

if (BACKENDS.includes('postgres')) {
  describe('history roles [postgres]', () => {
    const base = process.env.TEST_DATABASE_URL!;
    const name = `tuban_roles_${randomBytes(6).toString('hex')}`;
    const urlAs = (user: string) => {
      const u = new URL(base);
      u.username = user;
      u.pathname = `/${name}`;
      return u.toString();
    };
    let owner: Db;
    let runtime: Db;
    let root: Db;
    let app: TestApp;
    let dataDir: string;
    let analyst: UserClient;
    let field: UserClient;
    let admin: UserClient;
    let ids: number[];
    /** a plain connection as the runtime role, as an attacker holding its credentials would have */
    let raw: pg.Client;

    beforeAll(async () => {
      const a = new pg.Client({ connectionString: base });
      await a.connect();
      await a.query(`CREATE DATABASE ${name} OWNER ${TEST_OWNER_ROLE}`);
      await a.end();
      // PostGIS is not a trusted extension: a superuser installs it, the owner's migration finds it there
      root = await openPostgres({ url: (() => { const u = new URL(base); u.pathname = `/${name}`; return u.toString(); })() });
      owner = await openPostgres({ url: urlAs(TEST_OWNER_ROLE) });
      await migrate(owner, { workSrid: TEST_WORK_SRID });
      await grantRuntime(owner, TEST_RUNTIME_ROLE);
      runtime = await openPostgres({ url: urlAs(TEST_RUNTIME_ROLE) });
      ids = await seedPolygons(owner, 6, '吉安村', 'RR');
      dataDir = mkdtempSync(path.join(os.tmpdir(), 'tuban-roles-'));
      app = await startApp(runtime, { env: { TUBAN_DATA_DIR: dataDir }, importDb: owner });
      [analyst, field, admin] = await Promise.all([app.as('analyst'), app.as('field'), app.as('admin')]);
      raw = new pg.Client({ connectionString: urlAs(TEST_RUNTIME_ROLE) });
      await raw.connect();
    }, 120_000);
    afterAll(async () => {
      await raw?.end();
      await app?.close();
      await runtime?.close();
      await owner?.close();
      await root?.close();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
      const a = new pg.Client({ connectionString: base });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    });

    const versionOf = async (id: number) =>
      (await runtime.query<{ version: number }>('SELECT version FROM survey_polygon WHERE region_code = $1 AND id = $2', [REGION, id])).rows[0].version;

    it('tells a runtime role from one that could alter the history, and npm start refuses the latter', async () => {
      const rt = await roleReport(runtime);
      expect(rt).toMatchObject({ role: TEST_RUNTIME_ROLE, superuser: false, owns: [], may_rewrite: [] });
      expect(canAlterHistory(rt)).toBe(false);
      const ow = await roleReport(owner);
      expect(ow.owns).toEqual(['evidence', 'field_finding', 'polygon_event', 'survey_polygon']);
      expect(canAlterHistory(ow)).toBe(true);
      expect((await roleReport(root)).superuser).toBe(true);

      const s = logSink();
      await expect(checkRuntimeRole(runtime, { allowOwnerRole: false }, s.log)).resolves.toMatchObject({ role: TEST_RUNTIME_ROLE });
      await expect(checkRuntimeRole(owner, { allowOwnerRole: false }, s.log)).rejects.toThrow(UnsafeRoleError);
      await expect(checkRuntimeRole(root, { allowOwnerRole: false }, s.log)).rejects.toThrow(/superuser/);
      // accepted explicitly: it starts, with a warning naming the risk
      await checkRuntimeRole(owner, { allowOwnerRole: true }, s.log);
      expect(s.lines.some((l) => l.level === 40 && /TUBAN_ALLOW_OWNER_ROLE=1/.test(l.msg) && /rewrite the history/.test(l.msg))).toBe(true);
    });

    it('runs the app\'s flows as the runtime role: decisions, a case link, a photo and a finding with it, a case step, an import', async () => {
      const [a, b, c] = ids;
      const verify = await analyst.post(`/api/polygons/${a}/decisions`, { action: 'verify', version: await versionOf(a), request_id: uuid() });
      expect(verify.status, verify.text).toBe(200);
      const dismiss = await analyst.post(`/api/polygons/${b}/decisions`,
        { action: 'dismiss', reason: 'false_change', version: await versionOf(b), request_id: uuid() });
      expect(dismiss.status, dismiss.text).toBe(200);
      const link = await analyst.post(`/api/polygons/${c}/decisions`, {
        action: 'link', version: await versionOf(c), request_id: uuid(),
        new_case: { party: '陈某', address: '吉安镇吉安大道 12 号', kind: 'under_construction', village: '吉安村', discovered_on: '2021-09-30' },
      });
      expect(link.status, link.text).toBe(200);
      const caseId = link.body.case.id;
      const step = await analyst.post(`/api/cases/${caseId}/steps`, { step: 'stop_order', done_on: '2021-10-08' });
      expect(step.status, step.text).toBe(200);

      const photo = await field.request('POST', '/api/evidence', { form: photoForm(PHOTO, { polygon_id: ids[3], client_id: uuid() }) });
      expect(photo.status, photo.text).toBe(201);
      const finding = await field.post(`/api/polygons/${ids[3]}/findings`,
        { finding: 'under_construction', client_id: uuid(), photos: [photo.body.evidence.id], note: '正在浇筑' });
      expect(finding.status, finding.text).toBe(201);
      expect(finding.body.finding.photos).toEqual([photo.body.evidence.id]);

      // an import runs on the owner's connection (it needs DDL the runtime role does not have)
      const form = new FormData();
      form.set('layer', 'school');
      form.set('file', new Blob([JSON.stringify({
        type: 'FeatureCollection',
        features: [{ type: 'Feature', properties: { name: '吉安小学' }, geometry: { type: 'Point', coordinates: [105.0, 29.36] } }],
      })], { type: 'application/geo+json' }), 'schools.geojson');
      const imp = await admin.request('POST', '/api/imports', { form });
      expect(imp.status, imp.text).toBe(201);

      const hist = await analyst.get(`/api/polygons/${ids[3]}/history`);
      expect(hist.body.items.map((e: { action: string }) => e.action)).toEqual(['evidence_added', 'field_finding']);
      const integrity = await admin.get('/api/admin/integrity');
      expect(integrity.status).toBe(200);
      expect(integrity.body.history.mismatches).toEqual([]);
      expect(integrity.body.evidence).toMatchObject({ rows: 1, orphan_files: { count: 0 }, missing_files: { count: 0 } });
      expect(integrity.body.ok).toBe(true);
    });

    it('refuses every rewrite of the history to the runtime role', async () => {
      const [, dismissed] = ids;
      const refused = (sql: string, params: unknown[] = []) => expect(raw.query(sql, params)).rejects.toThrow();
      await expect(raw.query('ALTER TABLE polygon_event DISABLE TRIGGER polygon_event_no_update')).rejects.toThrow(/must be owner/);
      await expect(raw.query('ALTER TABLE polygon_event DISABLE TRIGGER ALL')).rejects.toThrow(/must be owner/);
      await expect(raw.query('ALTER TABLE survey_polygon DISABLE TRIGGER survey_polygon_status_has_event')).rejects.toThrow(/must be owner/);
      await expect(raw.query(`UPDATE polygon_event SET action = 'verify', to_status = 'verified' WHERE polygon_id = $1`, [dismissed]))
        .rejects.toThrow(/permission denied/);
      await expect(raw.query('DELETE FROM polygon_event WHERE polygon_id = $1', [dismissed])).rejects.toThrow(/permission denied/);
      await expect(raw.query('TRUNCATE polygon_event')).rejects.toThrow(/permission denied/);
      for (const t of ['evidence', 'field_finding']) {
        await expect(raw.query(`UPDATE ${t} SET user_id = 0`)).rejects.toThrow(/permission denied/);
        await expect(raw.query(`DELETE FROM ${t}`)).rejects.toThrow(/permission denied/);
        await expect(raw.query(`TRUNCATE ${t}`)).rejects.toThrow(/permission denied/);
      }
      await expect(raw.query('DROP TABLE polygon_event')).rejects.toThrow(/must be owner/);
      await refused('CREATE TABLE sneaky (x int)');
      // a status without an event: refused at commit, in autocommit and in an explicit transaction alike
      const pending = ids[4];
      await expect(raw.query(`UPDATE survey_polygon SET status = 'verified' WHERE region_code = $1 AND id = $2`, [REGION, pending]))
        .rejects.toThrow(/no event in its history/);
      await raw.query('BEGIN');
      await raw.query(`UPDATE survey_polygon SET status = 'dismissed', version = version + 1 WHERE region_code = $1 AND id = $2`, [REGION, dismissed]);
      await raw.query(`UPDATE survey_polygon SET status = 'verified' WHERE region_code = $1 AND id = $2`, [REGION, dismissed]);
      await expect(raw.query('COMMIT')).rejects.toThrow(/no event in its history/);
      // the deferred check cannot be switched off, only made immediate
      await raw.query('BEGIN');
      await raw.query('SET CONSTRAINTS ALL IMMEDIATE');
      await expect(raw.query(`UPDATE survey_polygon SET status = 'pending' WHERE region_code = $1 AND id = $2`, [REGION, dismissed]))
        .rejects.toThrow(/no event in its history/);
      await raw.query('ROLLBACK');
      // nor may it touch the polygon's other columns (imports write them, as the owner)
      await expect(raw.query(`UPDATE survey_polygon SET village_name = 'x' WHERE region_code = $1 AND id = $2`, [REGION, pending]))
        .rejects.toThrow(/permission denied/);
      await expect(raw.query('DELETE FROM survey_polygon WHERE region_code = $1 AND id = $2', [REGION, pending])).rejects.toThrow(/permission denied/);

      const st = await runtime.query<{ id: number; status: string }>('SELECT id, status FROM survey_polygon WHERE id = ANY($1) ORDER BY id', [[dismissed, pending]]);
      expect(st.rows.map((r) => r.status)).toEqual(['dismissed', 'pending']);
      const ev = await runtime.query<{ action: string }>('SELECT action FROM polygon_event WHERE polygon_id = $1 ORDER BY seq', [dismissed]);
      expect(ev.rows.map((r) => r.action)).toEqual(['dismiss']);
    });

    it('finds what the owner did behind the app\'s back: a dismissal rewritten as a verification, a status without an event', async () => {
      const [, dismissed, , , , untouched] = ids;
      const o = new pg.Client({ connectionString: urlAs(TEST_OWNER_ROLE) });
      await o.connect();
      try {
        await o.query('BEGIN');
        await o.query('ALTER TABLE polygon_event DISABLE TRIGGER polygon_event_no_update');
        await o.query(`UPDATE polygon_event SET action = 'verify', to_status = 'verified', reason = NULL WHERE polygon_id = $1`, [dismissed]);
        await o.query('ALTER TABLE polygon_event ENABLE TRIGGER polygon_event_no_update');
        await o.query('COMMIT');
        await o.query(`UPDATE survey_polygon SET status = 'verified' WHERE region_code = $1 AND id = $2`, [REGION, untouched]);
      } finally {
        await o.end();
      }
      const r = await admin.get('/api/admin/integrity');
      expect(r.status).toBe(200);
      expect(r.body.ok).toBe(false);
      const byId = new Map(r.body.history.mismatches.map((m: { polygon_id: number }) => [m.polygon_id, m]));
      expect(byId.get(dismissed)).toMatchObject({ status: 'dismissed', replayed: 'verified', events: 1, problem: null });
      expect(byId.get(untouched)).toMatchObject({ status: 'verified', replayed: 'pending', events: 0 });
      expect(r.body.history.mismatches).toHaveLength(2);
      expect((await analyst.get('/api/admin/integrity')).status).toBe(403);
    });

    it('takes a public report as the runtime role (the lead written on the owner\'s connection), and a merge', async () => {
      const at = (await runtime.query<{ lon: number; lat: number }>(
        'SELECT ST_X(ST_Transform(ST_Centroid(geom), 4326)) AS lon, ST_Y(ST_Transform(ST_Centroid(geom), 4326)) AS lat FROM survey_polygon WHERE id = $1',
        [ids[4]])).rows[0];
      const form = new FormData();
      for (const [k, v] of Object.entries({ lon: at.lon, lat: at.lat, category: 'construction', description: '有人在建房', phone: '13900001111' })) form.set(k, String(v));
      form.append('photo', new Blob([PHOTO as Uint8Array<ArrayBuffer>], { type: 'image/jpeg' }), 'p.jpg');
      const r = await app.client({}).request('POST', '/api/public/reports', { form });
      expect(r.status, r.text).toBe(201);
      const lead = (await analyst.get('/api/polygons', { query: { source: 'report' } })).body.items[0];
      expect(lead).toMatchObject({ source: 'report', duplicate_of: ids[4] });
      const m = await analyst.post(`/api/polygons/${lead.id}/merge`, { into: ids[4], version: lead.version, request_id: uuid() });
      expect(m.status, m.text).toBe(200);
      const st = await app.client({}).get(`/api/public/reports/${r.body.code}`, { query: { secret: r.body.secret } });
      expect(st.status, st.text).toBe(200);
      const contact = await admin.get(`/api/admin/reports/${r.body.code}/contact`);
      expect(contact.body.phone).toBe('13900001111');
    });

    it('records a patrol as the runtime role: a 在建 finding with its case and photo, the patrol, the ledger', async () => {
      // the village the patrol is of: a feature of the village layer around the seeded polygons (as the owner)
      await owner.query(
        `INSERT INTO layer_feature (region_code, layer_id, batch_id, name, attrs, geom)
         SELECT $1, (SELECT id FROM layer WHERE name = 'village'), p.first_batch_id, '巡查村', '{}', ST_Multi(ST_Envelope(ST_Buffer(ST_Collect(p.geom), 500)))
         FROM survey_polygon p WHERE p.id = ANY($2::bigint[]) GROUP BY p.first_batch_id LIMIT 1`, [REGION, ids]);
      const at = (await runtime.query<{ lon: number; lat: number }>(
        'SELECT ST_X(ST_Transform(ST_Centroid(geom), 4326)) AS lon, ST_Y(ST_Transform(ST_Centroid(geom), 4326)) AS lat FROM survey_polygon WHERE id = $1',
        [ids[5]])).rows[0];
      const patrol = uuid();
      const form = new FormData();
      for (const [k, v] of Object.entries({ lon: at.lon + 0.002, lat: at.lat, found_at: new Date().toISOString(), category: 'construction',
        under_construction: 'true', open_case: 'true' })) form.set(k, String(v));
      form.append('photo', new Blob([PHOTO as Uint8Array<ArrayBuffer>], { type: 'image/jpeg' }), 'p.jpg');
      const f = await field.request('PUT', `/api/patrols/${patrol}/findings/${uuid()}`, { form });
      expect(f.status, f.text).toBe(201);
      expect(f.body.finding.case).not.toBeNull();
      expect(f.body.photos).toHaveLength(1);
      const p = await field.put(`/api/patrols/${patrol}`, {
        village: '巡查村', members: ['张三'], started_at: new Date(Date.now() - 600_000).toISOString(), ended_at: new Date().toISOString(),
        track: [[at.lon, at.lat], [at.lon + 0.002, at.lat]],
      });
      expect(p.status, p.text).toBe(201);
      expect(p.body.patrol.findings).toHaveLength(1);
      // the phone's resend: the stored record, nothing written
      const again = await field.put(`/api/patrols/${patrol}`, {
        village: '巡查村', members: ['张三'], started_at: p.body.patrol.started_at, ended_at: p.body.patrol.ended_at, track: [],
      });
      expect(again.status, again.text).toBe(200);
      expect(again.body.patrol.distance_m).toBe(p.body.patrol.distance_m);
      const ledger = await fetch(`${app.url}/api/exports/patrols.csv`, { headers: { cookie: analyst.cookie! } });
      expect(ledger.status).toBe(200);
      expect(await ledger.text()).toContain('巡查村');
      const weeks = await analyst.get('/api/patrol-weeks');
      expect(weeks.status, weeks.text).toBe(200);
      expect(weeks.body.totals.patrols).toBe(1);
    });
  });
} else {
  // Without TEST_DATABASE_URL (a fresh machine's `npm test`) there is no second role to test: PGlite runs as
  // its owner, and the app says so at start (README "Database roles"). The file must still hold a suite, or
  // vitest fails the whole run with "No test suite found".
  describe('history roles', () => {
    it('need PostgreSQL with two roles: set TEST_DATABASE_URL to run them (CI does)', () => {
      expect(BACKENDS).toEqual(['pglite']);
    });
  });
}
