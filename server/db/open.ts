import type { Db } from './types';
import { openPglite } from './pglite';
import { openPostgres } from './postgres';
import { DataDirLocked, type LockOwner } from './lock';

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
  /**
   * PGlite: while an import (npm run ingest) holds the data directory, wait for it (every second, this
   * long at most, calling onLockWait) instead of being refused: a server started during an import starts
   * after it (issue 11 item 7). Anything else holding it is refused at once.
   */
  waitForImportS?: number;
  onLockWait?: (owner: LockOwner, seconds: number) => void;
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
    for (;;) {
      try {
        return await openPglite({ dataDir: opts.pgliteDir, role: opts.role });
      } catch (e) {
        const waited = (Date.now() - started) / 1000;
        if (!(e instanceof DataDirLocked) || e.owner.role !== 'ingest' || waited >= (opts.waitForImportS ?? 0)) throw e;
        opts.onLockWait?.(e.owner, Math.round(waited));
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  } finally {
    if (timer) clearInterval(timer);
  }
}
