import { existsSync, renameSync, writeFileSync } from 'node:fs';
import pg from 'pg';
import { openPglite } from '../server/db/pglite';
import { migrate } from '../server/db/migrate';
import { openPostgres } from '../server/db/postgres';
import { pgliteSnapshotPath, templateDbName, TEST_WORK_SRID } from './helpers/snapshot';

/**
 * Build once per schema: a dump of a migrated PGlite (every test file starts from it in ~1 s instead of a
 * ~15 s PostGIS cold start) and, when TEST_DATABASE_URL is set, a migrated template database on the
 * server that each test file clones.
 */
export default async function setup() {
  const snap = pgliteSnapshotPath();
  if (!existsSync(snap)) {
    const db = await openPglite();
    await migrate(db, { workSrid: TEST_WORK_SRID });
    const dump = await db.pglite.dumpDataDir('gzip');
    await db.close();
    const tmp = `${snap}.${process.pid}`;
    writeFileSync(tmp, Buffer.from(await dump.arrayBuffer()));
    renameSync(tmp, snap);
  }
  const url = process.env.TEST_DATABASE_URL;
  if (url) {
    const tpl = templateDbName();
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [tpl]);
    if (!exists.rowCount) {
      await admin.query(`CREATE DATABASE ${tpl}`);
      const u = new URL(url);
      u.pathname = `/${tpl}`;
      const db = await openPostgres({ url: u.toString() });
      await migrate(db, { workSrid: TEST_WORK_SRID });
      await db.close();
    }
    await ensureTestRoles(admin);
    await admin.end();
  }
}

/**
 * The owner and runtime roles of test/integration/history-roles.test.ts (README "Database roles"). Roles
 * are cluster-global: created once, idempotently (two engineers' runs may race: a duplicate is fine), with
 * names no real deployment uses.
 */
export const TEST_OWNER_ROLE = 'tuban_test_owner';
export const TEST_RUNTIME_ROLE = 'tuban_test_runtime';

async function ensureTestRoles(admin: pg.Client) {
  for (const role of [TEST_OWNER_ROLE, TEST_RUNTIME_ROLE]) {
    const has = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
    if (has.rowCount) continue;
    try {
      await admin.query(`CREATE ROLE ${role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE`);
    } catch (e) {
      // duplicate_object, or the unique index of pg_authid when two runs create it at the same moment
      if (!['42710', '23505'].includes((e as { code?: string }).code ?? '')) throw e;
    }
  }
}
