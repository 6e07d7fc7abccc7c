import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const MIGRATIONS = path.resolve('server/db/migrations');
export const TEST_WORK_SRID = 4523;
export const TEST_REGION = '500118';

/** Changes whenever a migration (or the PGlite version) changes, so cached snapshots never go stale. */
export function schemaHash(): string {
  const h = createHash('sha256');
  for (const f of readdirSync(MIGRATIONS).sort()) h.update(f).update(readFileSync(path.join(MIGRATIONS, f)));
  h.update(JSON.parse(readFileSync('node_modules/@electric-sql/pglite/package.json', 'utf8')).version);
  return h.digest('hex').slice(0, 12);
}

export const pgliteSnapshotPath = () => path.join(os.tmpdir(), `tuban-pglite-${schemaHash()}.tar.gz`);
export const templateDbName = () => `tuban_tpl_${schemaHash()}`;
