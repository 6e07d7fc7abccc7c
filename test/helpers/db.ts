import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describe } from 'vitest';
import { openPglite } from '../../server/db/pglite';
import { openPostgres } from '../../server/db/postgres';
import type { Db } from '../../server/db/types';
import { pgliteSnapshotPath, templateDbName } from './snapshot';

export type Backend = 'pglite' | 'postgres';

/** PGlite always; PostgreSQL/PostGIS too when TEST_DATABASE_URL is set (CI sets it). */
export const BACKENDS: Backend[] = process.env.TEST_DATABASE_URL ? ['pglite', 'postgres'] : ['pglite'];

export interface TestDb extends Db {
  dispose(): Promise<void>;
}

/** A fresh, migrated, empty database: PGlite from the snapshot, or a clone of the server template. */
export async function freshDb(kind: Backend): Promise<TestDb> {
  if (kind === 'pglite') {
    const db = await openPglite({ loadDataDir: new Blob([readFileSync(pgliteSnapshotPath())]) });
    return Object.assign(db, { dispose: () => db.close() });
  }
  const url = process.env.TEST_DATABASE_URL!;
  const name = `tuban_t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name} TEMPLATE ${templateDbName()}`);
  await admin.end();
  const u = new URL(url);
  u.pathname = `/${name}`;
  const db = await openPostgres({ url: u.toString(), max: 30 });
  return Object.assign(db, {
    async dispose() {
      await db.close();
      const a = new pg.Client({ connectionString: url });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    },
  });
}

/** `describe` once per backend: `describeEachDb('import', (getDb) => { ... })`. */
export function describeEachDb(name: string, body: (backend: Backend) => void) {
  for (const b of BACKENDS) describe(`${name} [${b}]`, () => body(b));
}
