import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDb, freshDb, type TestDb } from '../helpers/db';
import { splitSql } from '../../server/db/migrate';

describeEachDb('database layer', (backend) => {
  let db: TestDb;
  beforeAll(async () => { db = await freshDb(backend); });
  afterAll(async () => { await db?.dispose(); });

  it('has PostGIS and the work SRID recorded', async () => {
    const r = await db.query<{ v: string; srid: string }>(
      `SELECT postgis_version() AS v, (SELECT value FROM setting WHERE key = 'work_srid') AS srid`);
    expect(r.rows[0].v).toMatch(/^3\./);
    expect(r.rows[0].srid).toBe('4523');
  });

  it('returns int8 and numeric as numbers on both drivers', async () => {
    const r = await db.query<{ a: number; b: number }>('SELECT 9007199254740991::int8 AS a, 1.5::numeric AS b');
    expect(r.rows[0]).toEqual({ a: 9007199254740991, b: 1.5 });
  });

  it('runs a prepared statement again and again with new parameters, on every pooled connection', async () => {
    const sql = 'SELECT $1::int * 2 AS v, current_setting($2::text) AS s';
    // more calls at once than one connection: each connection prepares it on first use
    const rs = await Promise.all(Array.from({ length: 24 }, (_, i) =>
      db.query<{ v: number; s: string }>(sql, [i, 'server_encoding'], { prepare: true })));
    expect(rs.map((r) => r.rows[0].v)).toEqual(Array.from({ length: 24 }, (_, i) => i * 2));
    expect(rs.every((r) => r.rows[0].s === 'UTF8')).toBe(true);
    // the same text unprepared, and a different text prepared, still work beside it
    expect((await db.query<{ v: number }>(sql, [5, 'server_encoding'])).rows[0].v).toBe(10);
    expect((await db.query<{ v: number }>('SELECT $1::int + 1 AS v', [5], { prepare: true })).rows[0].v).toBe(6);
  });

  it('rolls a failed transaction back completely', async () => {
    await expect(db.tx(async (q) => {
      await q.query(`INSERT INTO setting (key, value) VALUES ('probe', 'x')`);
      throw new Error('boom');
    })).rejects.toThrow('boom');
    const r = await db.query(`SELECT 1 FROM setting WHERE key = 'probe'`);
    expect(r.rowCount).toBe(0);
  });

  it('copies text rows with escapes intact', async () => {
    await db.tx(async (q) => {
      await q.query('CREATE TEMP TABLE c (a text, b int) ON COMMIT DROP');
      const n = await q.copyFrom('COPY c (a, b) FROM STDIN', ['tab\\there\t1\n', '村名\\\\x\t\\N\n']);
      expect(n).toBe(2);
      const r = await q.query<{ a: string; b: number | null }>('SELECT a, b FROM c ORDER BY a');
      expect(r.rows).toEqual([{ a: 'tab\there', b: 1 }, { a: '村名\\x', b: null }]);
    });
  });
});

it('splits SQL on semicolons outside strings, comments and dollar bodies', () => {
  expect(splitSql(`SELECT ';'; -- a; comment\nDO $$ BEGIN PERFORM 1; END $$; SELECT 2`)).toEqual([
    `SELECT ';'`, `DO $$ BEGIN PERFORM 1; END $$`, `SELECT 2`,
  ]);
});
