import pg from 'pg';
import { from as copyFromStream } from 'pg-copy-streams';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import type { Db, QueryOptions, Queryable, QueryResult, TxOptions } from './types';
import { DatabaseUnavailableError, unavailableReason } from './unavailable';
import { INT8_OID, NUMERIC_OID, toNumber } from './pg-types';
import { PgListener } from './pg-listener';

pg.types.setTypeParser(INT8_OID, toNumber);
pg.types.setTypeParser(NUMERIC_OID, toNumber);

export interface PostgresOptions {
  url: string;
  statementTimeoutMs?: number;
  max?: number;
  /** a new connection not established within this long is abandoned, and so is a wait for a free one (ms) */
  connectTimeoutMs?: number;
  /**
   * Client-side bound on one query (ms). The server's statement_timeout cannot fire if the wire is dead (a
   * proxy that accepts and relays nothing, a half-open TCP connection), so the client gives up too, a little
   * later than the server would. Default: statement_timeout + 5 s; none without a statement_timeout.
   */
  queryTimeoutMs?: number;
  /** told when the pool drops an idle connection that failed (for the log) */
  onConnectionError?: (e: Error) => void;
}

/** Issue 12, item 1: a database that stops answering must never wedge the server. */
const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
const QUERY_TIMEOUT_GRACE_MS = 5000;
/** TCP keepalive: a peer that vanished (host down, cable cut) is noticed within a minute or so, idle or not */
const KEEPALIVE_INITIAL_DELAY_MS = 10_000;

/** The name of a prepared statement: its text's digest (the same text is the same statement on every connection). */
const names = new Map<string, string>();
function statementName(sql: string): string {
  let n = names.get(sql);
  if (!n) names.set(sql, (n = `tuban_${createHash('sha1').update(sql).digest('hex').slice(0, 20)}`));
  return n;
}

/** The driver's connection-level failures become a 503 database_unavailable; everything else as it was. */
function mapError(e: unknown): unknown {
  if (e instanceof DatabaseUnavailableError) return e;
  const reason = unavailableReason(e);
  return reason ? new DatabaseUnavailableError('postgres', reason, e) : e;
}

/** @param timeoutMs client-side bound per query; 0: none (a long-running transaction) */
function wrap(client: pg.Pool | pg.PoolClient, timeoutMs: number): Queryable {
  return {
    async query<T>(sql: string, params: unknown[] = [], options?: QueryOptions): Promise<QueryResult<T>> {
      const t = options?.timeoutMs ?? timeoutMs;
      // query_timeout: honoured per query by node-postgres (client.js), absent from its type declarations
      const config: pg.QueryConfig & { query_timeout?: number } = { text: sql, values: params as unknown[] };
      if (options?.prepare) config.name = statementName(sql);
      if (t > 0) config.query_timeout = t;
      try {
        const r = await client.query(config);
        return { rows: r.rows as T[], rowCount: r.rowCount ?? 0 };
      } catch (e) {
        // from the pool, a failed query's connection is already destroyed (pg-pool releases it with the error)
        throw mapError(e);
      }
    },
    async copyFrom(sql: string, chunks: Iterable<string | Uint8Array>): Promise<number> {
      const own = client instanceof pg.Pool;
      let c: pg.PoolClient;
      try {
        c = own ? await client.connect() : (client as pg.PoolClient);
      } catch (e) {
        throw mapError(e);
      }
      let failed: Error | undefined;
      const onError = (e: Error) => {
        failed = e;
      };
      if (own) c.on('error', onError);
      try {
        const stream = c.query(copyFromStream(sql));
        await pipeline(Readable.from(chunks), stream);
        return Number(stream.rowCount ?? 0);
      } catch (e) {
        failed = e instanceof Error ? e : new Error(String(e));
        throw mapError(e);
      } finally {
        // a connection that failed mid-COPY is in an unknown state: destroyed, not handed to the next request
        if (own) {
          c.removeListener('error', onError);
          c.release(failed);
        }
      }
    },
  };
}

export async function openPostgres(opts: PostgresOptions): Promise<Db> {
  // JIT bought nothing on these queries and doubled small ones (PERFORMANCE.md).
  const options = ['-c jit=off'];
  if (opts.statementTimeoutMs) options.push(`-c statement_timeout=${opts.statementTimeoutMs}`);
  const queryTimeoutMs = opts.queryTimeoutMs ?? (opts.statementTimeoutMs ? opts.statementTimeoutMs + QUERY_TIMEOUT_GRACE_MS : 0);
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.max ?? 10,
    options: options.join(' '),
    connectionTimeoutMillis: opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    keepAlive: true,
    keepAliveInitialDelayMillis: KEEPALIVE_INITIAL_DELAY_MS,
  });
  pool.on('error', (e) => {
    // an idle connection died (server restart, keepalive gave up): pg-pool has already removed it and opens
    // a new one on next use. Without this listener the 'error' event would crash the process.
    opts.onConnectionError?.(e);
  });
  const base = wrap(pool, queryTimeoutMs);
  const listener = new PgListener({
    connectionString: opts.url,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    keepAlive: true,
    keepAliveInitialDelayMillis: KEEPALIVE_INITIAL_DELAY_MS,
  });
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
    async tx<T>(fn: (q: Queryable) => Promise<T>, txOptions?: TxOptions): Promise<T> {
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (e) {
        throw mapError(e);
      }
      const long = txOptions?.longRunning === true;
      const q = wrap(client, long ? 0 : queryTimeoutMs);
      // set when the connection can no longer be trusted: it is destroyed instead of returned to the pool
      let broken: Error | undefined;
      // a checked-out client whose socket fails emits 'error'; unheard, it would crash the process
      const onError = (e: Error) => {
        broken = e;
      };
      client.on('error', onError);
      try {
        await q.query('BEGIN');
        if (long) await q.query('SET LOCAL statement_timeout = 0');
        const result = await fn(q);
        await q.query('COMMIT');
        return result;
      } catch (e) {
        if (unavailableReason(e)) broken = e as Error;
        else {
          // bounded even inside a long-running transaction: a ROLLBACK that does not come back means a dead wire
          await q.query('ROLLBACK', [], { timeoutMs: queryTimeoutMs || DEFAULT_CONNECT_TIMEOUT_MS }).catch((r: Error) => {
            broken = r;
          });
        }
        throw mapError(e);
      } finally {
        client.removeListener('error', onError);
        client.release(broken);
      }
    },
    listen: (channel, subscriber) => listener.listen(channel, subscriber),
    close: async () => {
      await listener.close();
      await pool.end();
    },
  };
}
