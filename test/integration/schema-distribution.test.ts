/**
 * Citus readiness (issue 17 item 3, docs/SCALING.md): tuban runs on one PostgreSQL today, and on Citus with
 * `region_code` as the distribution column when one server is not enough. That only works if the schema and
 * the SQL never need two regions at once. This test reads the migrated catalog (both databases) and every
 * `.sql` file under server/ and fails on the first thing that would stop `create_distributed_table`:
 *   1. a large table (one carrying region_code) whose primary key does not start with region_code, unless it
 *      is named below as a small reference table with its reason;
 *   2. a foreign key from a large table to another large table without region_code on both sides;
 *   3. a unique index on a large table without region_code (Citus cannot enforce it across shards);
 *   4. a sequence feeding anything but a surrogate key that sits beside region_code in the primary key
 *      (case numbers, which people read, come from the per-region case_counter, not a sequence);
 *   5. a statement that joins large tables without an equality on region_code for every table it names.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDb, freshDb, type TestDb } from '../helpers/db';

/**
 * Statements the textual check of rule 5 flags although no two large tables are joined there, each with why.
 * Kept short and exact: a new statement is never covered by these.
 */
const NOT_A_JOIN: Record<string, string> = {
  'server/polygons/queries.sql layers: parcel parcel is not joined on region_code': 'independent counts (uncorrelated aggregates), not joined to each other',
  'server/polygons/queries.sql layers: survey_polygon survey_polygon is not joined on region_code': 'independent counts (uncorrelated aggregates), not joined to each other',
  'server/polygons/queries.sql layers: layer_feature f is not joined on region_code': 'independent counts (uncorrelated aggregates), not joined to each other',
  'server/reconcile/reconcile.sql summary_rows: layer_feature f is not joined on region_code':
    'read alone in the village_code CTE, whose rows are joined on region_code (vf.region_code = v.region_code)',
};

/** Tables that carry region_code but stay small (one row per delivery): Citus reference tables. */
const REFERENCE_TABLES: Record<string, string> = {
  import_batch: 'one row per imported file; referenced by every large table, replicated to every node',
};

describeEachDb('schema: ready for Citus with region_code as the distribution column', (backend) => {
  let db: TestDb;
  let large: string[] = [];

  beforeAll(async () => {
    db = await freshDb(backend);
    large = (
      await db.query<{ t: string }>(
        `SELECT c.relname AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition -- a partitioned table is checked once, as its parent
           AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'region_code' AND NOT a.attisdropped)
         ORDER BY 1`,
      )
    ).rows
      .map((r) => r.t)
      .filter((t) => !(t in REFERENCE_TABLES));
  });
  afterAll(async () => db?.dispose());

  it('finds the large tables (the check is not vacuous)', () => {
    for (const t of ['survey_polygon', 'parcel', 'layer_feature', 'polygon_event', 'enforcement_case']) expect(large).toContain(t);
  });

  it('1. every large table’s primary key starts with region_code', async () => {
    const { rows } = await db.query<{ t: string; first: string | null }>(
      `SELECT c.relname AS t, (SELECT a.attname FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum = i.indkey[0]) AS first
       FROM pg_class c LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
       WHERE c.relname = ANY($1::text[])`,
      [large],
    );
    expect(rows.filter((r) => r.first !== 'region_code').map((r) => r.t)).toEqual([]);
  });

  it('2. foreign keys between large tables carry region_code on both sides', async () => {
    const { rows } = await db.query<{ src: string; dst: string; def: string; ok: boolean }>(
      `SELECT s.relname AS src, d.relname AS dst, pg_get_constraintdef(k.oid) AS def,
              EXISTS (SELECT 1 FROM unnest(k.conkey) WITH ORDINALITY sk(n, o)
                      JOIN unnest(k.confkey) WITH ORDINALITY dk(n, o) ON dk.o = sk.o
                      JOIN pg_attribute sa ON sa.attrelid = k.conrelid AND sa.attnum = sk.n
                      JOIN pg_attribute da ON da.attrelid = k.confrelid AND da.attnum = dk.n
                      WHERE sa.attname = 'region_code' AND da.attname = 'region_code') AS ok
       FROM pg_constraint k JOIN pg_class s ON s.oid = k.conrelid JOIN pg_class d ON d.oid = k.confrelid
       WHERE k.contype = 'f' AND (s.relname = ANY($1::text[]) OR d.relname = ANY($1::text[]))`,
      [large],
    );
    const bad = rows.filter((r) => {
      const srcLarge = large.includes(r.src);
      const dstLarge = large.includes(r.dst);
      if (srcLarge && dstLarge) return !r.ok; // colocated: must join on region_code
      return !srcLarge && dstLarge; // a reference table may not point into a distributed one
    });
    expect(bad.map((r) => `${r.src} → ${r.dst}: ${r.def}`)).toEqual([]);
  });

  it('3. no unique index on a large table leaves region_code out', async () => {
    const { rows } = await db.query<{ idx: string; def: string }>(
      `SELECT ic.relname AS idx, pg_get_indexdef(i.indexrelid) AS def
       FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid JOIN pg_class ic ON ic.oid = i.indexrelid
       WHERE i.indisunique AND t.relname = ANY($1::text[])
         AND NOT EXISTS (SELECT 1 FROM unnest(i.indkey) k(n) JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.n
                         WHERE a.attname = 'region_code')`,
      [large],
    );
    expect(rows.map((r) => r.def)).toEqual([]);
  });

  it('4. sequences only feed surrogate keys paired with region_code in the primary key', async () => {
    const { rows } = await db.query<{ seq: string; t: string; col: string; in_pk: boolean }>(
      `SELECT s.relname AS seq, t.relname AS t, a.attname AS col,
              EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = t.oid AND i.indisprimary AND a.attnum = ANY(i.indkey)) AS in_pk
       FROM pg_class s JOIN pg_depend d ON d.objid = s.oid AND d.deptype IN ('a', 'i')
       JOIN pg_class t ON t.oid = d.refobjid JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
       WHERE s.relkind = 'S' AND t.relname = ANY($1::text[])`,
      [large],
    );
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.filter((r) => !r.in_pk).map((r) => `${r.t}.${r.col} (${r.seq})`)).toEqual([]);
  });

  it('5. every statement in server/**/*.sql that joins large tables joins them on region_code', () => {
    const problems: string[] = [];
    for (const file of sqlFiles('server')) {
      for (const [name, sql] of statements(readFileSync(file, 'utf8'))) {
        for (const miss of unjoinedLargeTables(sql, large)) {
          const where = `${path.relative('.', file)} ${name}: ${miss}`;
          if (!(where in NOT_A_JOIN)) problems.push(where);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('5″. an apostrophe in a comment does not hide the statements after it (it once hid four)', () => {
    const text = "-- name: a\n-- PostGIS's estimator\nSELECT 1\n-- name: b\nSELECT * FROM survey_polygon p JOIN polygon_event e ON e.polygon_id = p.id\n-- the layer's index\n";
    const found = statements(text);
    expect(found.map(([n]) => n)).toEqual(['a', 'b']);
    expect(unjoinedLargeTables(found[1][1], ['survey_polygon', 'polygon_event'])).toHaveLength(2);
  });

  it('5′. the statement check catches a join without region_code (checked on a made-up statement)', () => {
    const bad = 'SELECT * FROM survey_polygon p JOIN polygon_event e ON e.polygon_id = p.id';
    const good = 'SELECT * FROM survey_polygon p JOIN polygon_event e ON e.region_code = p.region_code AND e.polygon_id = p.id';
    expect(unjoinedLargeTables(bad, large).length).toBeGreaterThan(0);
    expect(unjoinedLargeTables(good, large)).toEqual([]);
  });
});

function sqlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    if (statSync(p).isDirectory()) return sqlFiles(p);
    return p.endsWith('.sql') ? [p] : [];
  });
}

/** Named statements (`-- name:` blocks), or the file's `;`-separated statements for migrations. */
function statements(text: string): [string, string][] {
  // one left-to-right pass over literals and comments, whichever starts first: a literal may contain anything
  // (the word JOIN, '--'), and a comment may contain an apostrophe ("PostGIS's") that must not open a literal
  const code = text.replace(/'(?:[^']|'')*'|--[^\n]*/g, (m) => (m.startsWith("'") ? "''" : /^--\s*name:/.test(m) ? m : ''));
  const named = code.split(/^--\s*name:\s*/m);
  if (named.length > 1) return named.slice(1).map((b) => [b.split('\n')[0].trim(), b] as [string, string]);
  return code
    .split(/;\s*$/m)
    .map((s, i) => [`#${i + 1}`, s] as [string, string])
    .filter(([, s]) => s.trim());
}

const NOT_ALIAS = new Set(['on', 'using', 'where', 'join', 'left', 'right', 'inner', 'full', 'cross', 'natural', 'group',
  'order', 'limit', 'set', 'returning', 'union', 'except', 'intersect', 'window', 'having', 'for', 'lateral', 'as', 'offset']);

/**
 * Every occurrence of a large table in a statement that names two or more: its alias must meet region_code
 * in an equality (alias.region_code = x, x = alias.region_code, or a parameter), or the join must be USING
 * (region_code …). `{{polygons}}` is survey_polygon or its staging twin, so it counts as large.
 */
export function unjoinedLargeTables(sql: string, large: string[]): string[] {
  const names = [...large, '\\{\\{polygons\\}\\}'].join('|');
  const refs = [...sql.matchAll(new RegExp(`\\b(?:FROM|JOIN|UPDATE|INTO)\\s+(?:ONLY\\s+)?(${names})\\b(?:\\s+(?:AS\\s+)?([a-z_][a-z0-9_]*))?`, 'gi'))]
    .map((m) => ({ table: m[1], alias: m[2] && !NOT_ALIAS.has(m[2].toLowerCase()) ? m[2] : m[1] }));
  if (refs.length < 2) return [];
  if (/USING\s*\(\s*region_code\b/i.test(sql) && refs.length === 2) return [];
  return refs
    .filter(({ alias }) => {
      const a = alias.replace(/[{}\\]/g, '\\$&');
      const q = `(?:\\b${a}\\.)${alias === refs.find((r) => r.alias === alias)?.table ? '?' : ''}region_code`;
      return !new RegExp(`${q}\\s*=|=\\s*${q}|${q}\\s+IN\\b`, 'i').test(sql);
    })
    .map(({ table, alias }) => `${table} ${alias} is not joined on region_code`);
}
