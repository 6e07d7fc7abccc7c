import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Db } from './types';

const MIGRATIONS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');

export interface MigrateOptions {
  workSrid: number;
}

/**
 * Plain numbered .sql files, applied in order, each in its own transaction, the same on PGlite and
 * PostgreSQL. The only templating is `{{WORK_SRID}}`: geometry columns are typed with the analysis CRS,
 * which is recorded in `setting` and may not change under existing data.
 */
export async function migrate(db: Db, opts: MigrateOptions): Promise<string[]> {
  // created only when missing: a runtime role (no CREATE on the schema) may check an up-to-date database
  const exists = (await db.query<{ t: string | null }>(`SELECT to_regclass('schema_migration')::text AS t`)).rows[0].t;
  if (!exists) {
    await db.query(`CREATE TABLE IF NOT EXISTS schema_migration (
    name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
  }
  const done = new Set((await db.query<{ name: string }>('SELECT name FROM schema_migration')).rows.map((r) => r.name));
  const files = (await readdir(MIGRATIONS_DIR)).filter((f) => /^\d{3}_.*\.sql$/.test(f)).sort();
  const applied: string[] = [];
  for (const file of files) {
    if (done.has(file)) continue;
    const sql = (await readFile(path.join(MIGRATIONS_DIR, file), 'utf8')).replaceAll('{{WORK_SRID}}', String(opts.workSrid));
    await db.tx(async (q) => {
      for (const stmt of splitSql(sql)) await q.query(stmt);
      await q.query('INSERT INTO schema_migration (name) VALUES ($1)', [file]);
    });
    applied.push(file);
  }
  const srid = await db.query<{ value: string }>(`SELECT value FROM setting WHERE key = 'work_srid'`);
  if (srid.rows[0] && Number(srid.rows[0].value) !== opts.workSrid) {
    throw new Error(
      `Database was created with work SRID ${srid.rows[0].value}, configuration says ${opts.workSrid} / ` +
        `数据库的分析坐标系为 EPSG:${srid.rows[0].value}，与配置 EPSG:${opts.workSrid} 不一致`,
    );
  }
  if (!srid.rows[0]) {
    await db.query(`INSERT INTO setting (key, value) VALUES ('work_srid', $1) ON CONFLICT (key) DO NOTHING`, [
      String(opts.workSrid),
    ]);
  }
  return applied;
}

/**
 * Split a migration into statements so both drivers can run them with the extended protocol.
 * Understands '...' strings, -- comments and $tag$ bodies (functions, DO blocks).
 */
export function splitSql(sql: string): string[] {
  const out: string[] = [];
  let cur = '';
  let i = 0;
  while (i < sql.length) {
    const ch = sql[i];
    if (ch === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      i = end === -1 ? sql.length : end + 1;
      cur += '\n';
      continue;
    }
    if (ch === "'") {
      const end = sql.indexOf("'", i + 1);
      cur += sql.slice(i, end + 1);
      i = end + 1;
      continue;
    }
    if (ch === '$') {
      const m = /^\$[A-Za-z_]*\$/.exec(sql.slice(i));
      if (m) {
        const end = sql.indexOf(m[0], i + m[0].length);
        cur += sql.slice(i, end + m[0].length);
        i = end + m[0].length;
        continue;
      }
    }
    if (ch === ';') {
      if (cur.trim()) out.push(cur.trim());
      cur = '';
      i++;
      continue;
    }
    cur += ch;
    i++;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}
