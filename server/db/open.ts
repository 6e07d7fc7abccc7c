import type { Db } from './types';
import { openPglite } from './pglite';
import { openPostgres } from './postgres';

export interface OpenOptions {
  databaseUrl?: string;
  pgliteDir?: string;
  statementTimeoutMs?: number;
  poolMax?: number;
  connectTimeoutMs?: number;
  queryTimeoutMs?: number;
  onConnectionError?: (e: Error) => void;
  /** called every second while the embedded database starts (first start ~15–20 s: PostGIS initialises) */
  onWait?: (seconds: number) => void;
  /** named in the embedded database's lock: 'server', 'ingest', … (db/lock.ts) */
  role?: string;
}

/** DATABASE_URL set → PostgreSQL/PostGIS server; otherwise the embedded PGlite under data/. */
export async function openDb(opts: OpenOptions): Promise<Db> {
  if (opts.databaseUrl) {
    return openPostgres({
      url: opts.databaseUrl,
      statementTimeoutMs: opts.statementTimeoutMs,
      max: opts.poolMax,
      connectTimeoutMs: opts.connectTimeoutMs,
      queryTimeoutMs: opts.queryTimeoutMs,
      onConnectionError: opts.onConnectionError,
    });
  }
  const started = Date.now();
  const timer = opts.onWait ? setInterval(() => opts.onWait!(Math.round((Date.now() - started) / 1000)), 1000) : undefined;
  try {
    return await openPglite({ dataDir: opts.pgliteDir, role: opts.role });
  } finally {
    if (timer) clearInterval(timer);
  }
}
