import pg from 'pg';
import { from as copyFromStream } from 'pg-copy-streams';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import type { Db, QueryOptions, Queryable, QueryResult } from './types';
import { INT8_OID, NUMERIC_OID, toNumber } from './pg-types';

pg.types.setTypeParser(INT8_OID, toNumber);
pg.types.setTypeParser(NUMERIC_OID, toNumber);

export interface PostgresOptions {
  url: string;
  statementTimeoutMs?: number;
  max?: number;
}

/** The name of a prepared statement: its text's digest (the same text is the same statement on every connection). */
const names = new Map<string, string>();
function statementName(sql: string): string {
  let n = names.get(sql);
  if (!n) names.set(sql, (n = `tuban_${createHash('sha1').update(sql).digest('hex').slice(0, 20)}`));
  return n;
}

function wrap(client: pg.Pool | pg.PoolClient): Queryable {
  return {
    async query<T>(sql: string, params: unknown[] = [], options?: QueryOptions): Promise<QueryResult<T>> {
      const r = options?.prepare
        ? await client.query({ name: statementName(sql), text: sql, values: params as unknown[] })
        : await client.query(sql, params as unknown[]);
      return { rows: r.rows as T[], rowCount: r.rowCount ?? 0 };
    },
    async copyFrom(sql: string, chunks: Iterable<string | Uint8Array>): Promise<number> {
      const c = client instanceof pg.Pool ? await client.connect() : client;
      try {
        const stream = c.query(copyFromStream(sql));
        await pipeline(Readable.from(chunks), stream);
        return Number(stream.rowCount ?? 0);
      } finally {
        if (client instanceof pg.Pool) (c as pg.PoolClient).release();
      }
    },
  };
}

export async function openPostgres(opts: PostgresOptions): Promise<Db> {
  // JIT bought nothing on these queries and doubled small ones (PERFORMANCE.md).
  const options = ['-c jit=off'];
  if (opts.statementTimeoutMs) options.push(`-c statement_timeout=${opts.statementTimeoutMs}`);
  const pool = new pg.Pool({ connectionString: opts.url, max: opts.max ?? 10, options: options.join(' ') });
  pool.on('error', () => {
    /* an idle client died (server restart); the pool replaces it on next use */
  });
  const base = wrap(pool);
  // the MVT probe needs PostGIS; on a brand-new database the extension comes with the first migration,
  // so create it here already (IF NOT EXISTS needs no privilege when it exists)
  await pool.query('CREATE EXTENSION IF NOT EXISTS postgis');
  const mvt = await pool
    .query(`SELECT ST_AsMVT(t) FROM (SELECT 1 AS a, ST_AsMVTGeom(ST_MakePoint(0,0), ST_MakeEnvelope(0,0,1,1)) AS g) t`)
    .then(() => true)
    .catch(() => false);
  return {
    kind: 'postgres',
    hasMvt: mvt,
    query: base.query,
    copyFrom: base.copyFrom,
    async tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn(wrap(client));
        await client.query('COMMIT');
        return result;
      } catch (e) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw e;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}
