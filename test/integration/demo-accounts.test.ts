/**
 * Demo accounts (issue 12 item 9): their passwords are published, so they live only as long as the
 * synthetic sample town is all the database holds. The first import of anything else disables them in the
 * same transaction; the import report, the log and GET /api/users say so; a start finds real data imported
 * before and disables them too.
 */
import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDb, freshDb, type TestDb } from '../helpers/db';
import { startApp, type TestApp, type UserClient } from '../helpers/api';
import { DEMO_USERS, disableDemoUsersIfRealData, ensureDemoUsers } from '../../server/auth/users';
import { importFile } from '../../server/ingest/import';

const square = (name: string, lon: number) => ({
  type: 'Feature',
  properties: { name },
  geometry: { type: 'Polygon', coordinates: [[[lon, 29.36], [lon + 0.01, 29.36], [lon + 0.01, 29.37], [lon, 29.37], [lon, 29.36]]] },
});
const villages = (...names: string[]) =>
  new TextEncoder().encode(JSON.stringify({ type: 'FeatureCollection', features: names.map((n, i) => square(n, 105 + i * 0.01)) }));

describeEachDb('demo accounts', (backend) => {
  let db: TestDb;
  let app: TestApp;
  let admin: UserClient;
  const lines: { level: number; msg: string; accounts?: string[] }[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  const sink = { write: () => true };
  const demoNames = DEMO_USERS.map((d) => d.username).sort();

  beforeAll(async () => {
    db = await freshDb(backend);
    app = await startApp(db, { log });
    admin = await app.as('admin');
  });
  afterAll(async () => {
    await app?.close();
    await db?.dispose();
  });

  const demoState = async () =>
    (await db.query<{ username: string; disabled: boolean; disabled_reason: string | null }>(
      'SELECT username, disabled, disabled_reason FROM app_user WHERE is_demo ORDER BY username',
    )).rows;

  it('keeps them while only the synthetic sample town is imported', async () => {
    const r = await importFile(db, app.config, { bytes: villages('吉安社区'), fileName: 'villages.geojson', layer: 'village', user: 'sample', sample: true });
    expect(r.demo_accounts_disabled).toBeUndefined();
    expect((await ensureDemoUsers(db, sink)).map((c) => c.username).sort()).toEqual(demoNames);
    expect(await disableDemoUsersIfRealData(db, log)).toEqual([]);
    expect((await demoState()).every((u) => !u.disabled)).toBe(true);
    expect((await db.query<{ sample: boolean }>('SELECT sample FROM import_batch')).rows).toEqual([{ sample: true }]);
  });

  it('disables them with the first real import, in its transaction, and says so in the report, the log and the users list', async () => {
    const demo = await app.login('demo-analyst', DEMO_USERS[0].password);
    expect((await demo.get('/api/auth/me')).status).toBe(200);

    const form = new FormData();
    form.set('layer', 'village');
    form.set('file', new Blob([villages('石竹村', '红旗村')], { type: 'application/geo+json' }), '村界.geojson');
    const r = await admin.request('POST', '/api/imports', { form });
    expect(r.status, r.text).toBe(201);
    expect(r.body.demo_accounts_disabled).toEqual(demoNames);
    // the stored report says it too
    expect((await admin.get(`/api/imports/${r.body.batch_id}`)).body.report.demo_accounts_disabled).toEqual(demoNames);

    expect(await demoState()).toEqual(demoNames.map((username) => ({ username, disabled: true, disabled_reason: 'real_data_imported' })));
    expect((await demo.get('/api/auth/me')).status).toBe(401);
    const login = await app.post('/api/auth/login', { username: 'demo-field', password: DEMO_USERS[1].password });
    expect(login.status).toBe(403);
    expect(login.body.error.code).toBe('account_disabled');

    expect(lines.find((l) => /demo accounts disabled/.test(l.msg))).toMatchObject({ level: 40, accounts: demoNames });
    const users = await admin.get('/api/users');
    expect(users.body.notices).toEqual([expect.objectContaining({ code: 'demo_accounts_disabled', accounts: demoNames, message_zh: expect.stringMatching(/演示账号/) })]);
    expect(users.body.items.filter((u: { is_demo: boolean }) => u.is_demo).map((u: { disabled_reason: string }) => u.disabled_reason))
      .toEqual(['real_data_imported', 'real_data_imported', 'real_data_imported']);

    // nothing left to disable: the next import says nothing
    const again = await importFile(db, app.config, { bytes: villages('石竹村'), fileName: '村界2.geojson', layer: 'village' });
    expect(again.demo_accounts_disabled).toBeUndefined();
  });

  it('a person may enable one again; the next start disables it once more, as real data is there', async () => {
    const field = (await admin.get('/api/users')).body.items.find((u: { username: string }) => u.username === 'demo-field');
    const on = await admin.patch(`/api/users/${field.id}`, { disabled: false });
    expect(on.status, on.text).toBe(200);
    expect(on.body.user).toMatchObject({ disabled: false, disabled_reason: null });
    expect((await admin.get('/api/users')).body.notices[0].accounts).toEqual(['demo-analyst', 'demo-reviewer']);

    expect(await disableDemoUsersIfRealData(db, log)).toEqual(['demo-field']);
    expect((await demoState()).find((u) => u.username === 'demo-field')).toMatchObject({ disabled: true, disabled_reason: 'real_data_imported' });
    expect(lines.at(-1)).toMatchObject({ level: 40, accounts: ['demo-field'] });
  });
});
