import { PGlite, type Transaction } from '@electric-sql/pglite';
import { postgis } from '@electric-sql/pglite-postgis';
import type { Db, Queryable, QueryResult } from './types';
import { INT8_OID, NUMERIC_OID, toNumber } from './pg-types';

export interface PgliteOptions {
  /** directory for the database files; undefined = in memory (tests) */
  dataDir?: string;
  /** start from a dump made by dumpDataDir (tests: a fresh migrated database in ~1 s instead of ~15 s) */
  loadDataDir?: Blob;
}

type Runner = Pick<PGlite, 'query'> | Transaction;

// PGlite has no STDIN: COPY reads from a virtual /dev/blob file handed in with the query.
const toBlobCopy = (sql: string) => sql.replace(/\bFROM\s+STDIN\b/i, "FROM '/dev/blob'");

function wrap(r: Runner): Queryable {
  return {
    async query<T>(sql: string, params: unknown[] = []): Promise<QueryResult<T>> {
      const res = await r.query<T>(sql, params);
      // like pg: rows returned for a SELECT (or RETURNING), rows affected otherwise
      return { rows: res.rows, rowCount: res.fields.length > 0 ? res.rows.length : (res.affectedRows ?? 0) };
    },
    async copyFrom(sql: string, chunks: Iterable<string | Uint8Array>): Promise<number> {
      const blob = new Blob([...chunks] as BlobPart[]); // strings and bytes alike
      const res = await r.query(toBlobCopy(sql), [], { blob });
      return res.affectedRows ?? 0;
    },
  };
}

export async function openPglite(opts: PgliteOptions = {}): Promise<Db & { pglite: PGlite }> {
  const pglite = await PGlite.create({
    dataDir: opts.dataDir,
    loadDataDir: opts.loadDataDir,
    extensions: { postgis },
    parsers: { [INT8_OID]: toNumber, [NUMERIC_OID]: toNumber },
  });
  await pglite.exec('CREATE EXTENSION IF NOT EXISTS postgis');
  const base = wrap(pglite);
  return {
    kind: 'pglite',
    hasMvt: false,
    pglite,
    query: base.query,
    copyFrom: base.copyFrom,
    tx: <T>(fn: (q: Queryable) => Promise<T>) => pglite.transaction((t) => fn(wrap(t))),
    close: () => pglite.close(),
  };
}
