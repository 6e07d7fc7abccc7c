import { PGlite, type Transaction } from '@electric-sql/pglite';
import { postgis } from '@electric-sql/pglite-postgis';
import type { Db, Queryable, QueryResult, Subscriber } from './types';
import { INT8_OID, NUMERIC_OID, toNumber } from './pg-types';
import { lockDataDir } from './lock';

export interface PgliteOptions {
  /** directory for the database files; undefined = in memory (tests) */
  dataDir?: string;
  /** start from a dump made by dumpDataDir (tests: a fresh migrated database in ~1 s instead of ~15 s) */
  loadDataDir?: Blob;
  /** who opens a dataDir, named in the lock (db/lock.ts) a second process is refused with: 'server', 'ingest' … */
  role?: string;
}

type Runner = Pick<PGlite, 'query'> | Transaction;

/** rows per COPY statement, in bytes of COPY text (see copyFrom) */
const COPY_BATCH_BYTES = 16 << 20;

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
      // PGlite's COPY reads one Blob, which it copies whole into its own memory: the rows go in batches of
      // ~COPY_BATCH_BYTES, one COPY each, so an import's memory does not grow with the layer (issue 11 item 6;
      // one Blob of a 518k-parcel layer is ~600 MB of text). Rows never straddle a batch: a chunk ends on a row.
      let rows = 0;
      let batch: BlobPart[] = [];
      let bytes = 0;
      const flush = async () => {
        if (!batch.length) return;
        const blob = new Blob(batch); // strings and bytes alike
        batch = [];
        bytes = 0;
        rows += (await r.query(toBlobCopy(sql), [], { blob })).affectedRows ?? 0;
      };
      for (const c of chunks) {
        batch.push(c as BlobPart);
        bytes += typeof c === 'string' ? c.length * 3 : c.byteLength;
        if (bytes >= COPY_BATCH_BYTES) await flush();
      }
      await flush();
      return rows;
    },
  };
}

export async function openPglite(opts: PgliteOptions = {}): Promise<Db & { pglite: PGlite }> {
  // one process per data directory, taken before PGlite touches a file (issue 11 item 7)
  const lock = opts.dataDir ? lockDataDir(opts.dataDir, opts.role ?? 'tuban') : undefined;
  let pglite: PGlite;
  try {
    pglite = await PGlite.create({
      dataDir: opts.dataDir,
      loadDataDir: opts.loadDataDir,
      extensions: { postgis },
      parsers: { [INT8_OID]: toNumber, [NUMERIC_OID]: toNumber },
    });
    await pglite.exec('CREATE EXTENSION IF NOT EXISTS postgis');
  } catch (e) {
    lock?.release();
    throw e;
  }
  const base = wrap(pglite);
  return {
    kind: 'pglite',
    hasMvt: false,
    pglite,
    query: base.query,
    copyFrom: base.copyFrom,
    tx: <T>(fn: (q: Queryable) => Promise<T>) => pglite.transaction((t) => fn(wrap(t))),
    // in-process: notifications arrive after the statement that committed them, and never go missing
    async listen(channel: string, s: Subscriber) {
      const unlisten = await pglite.listen(channel, (payload) => s.notify(payload));
      s.live(true);
      return () => {
        s.live(false);
        void unlisten().catch(() => undefined);
      };
    },
    close: async () => {
      try {
        await pglite.close();
      } finally {
        lock?.release();
      }
    },
  };
}
