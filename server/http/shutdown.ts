import type { Server } from 'node:http';
import type { Logger } from 'pino';
import type { Db } from '../db/types';

export interface ShutdownOptions {
  server: Server;
  /** other listeners drained the same way (the CLI's hand-off port: ingest/handoff.ts) */
  alsoServers?: Server[];
  db: Db;
  log: Logger;
  /** requests in flight get this long to finish before their connections are closed (ms) */
  graceMs?: number;
  /** the whole stop, database included, gets this long; then the process exits with 1 (ms) */
  hardMs?: number;
  /** runs first (timers of the caller: the photo-store sweep) */
  before?: () => void;
  /** closed after `db` (the owner role's pool on PostgreSQL with two roles) */
  alsoClose?: { close(): Promise<void> }[];
  /** process.exit, unless a test watches the outcome */
  exit?: (code: number) => void;
}

/** Below the 10 s a container runtime waits between SIGTERM and SIGKILL by default. */
const GRACE_MS = 8000;
const HARD_MS = 9500;
/** keep-alive connections go idle once their response is written: closed as soon as they do */
const IDLE_SWEEP_MS = 100;

/**
 * A graceful stop (issue 12, item 2): stop accepting connections, let the requests in flight finish
 * (bounded), close the database (PGlite flushes its files, the pool ends its connections), exit 0.
 * Returns the stop function; the same stop runs once however many signals arrive (a terminal's Ctrl-C
 * reaches npm and the server both, and npm forwards it again).
 */
export function gracefulShutdown(o: ShutdownOptions): (reason: string) => Promise<void> {
  const exit = o.exit ?? ((code: number) => process.exit(code));
  let stopping: Promise<void> | undefined;
  const run = async (reason: string) => {
    const started = Date.now();
    o.log.info({ signal: reason }, 'shutting down: no new connections, finishing the requests in flight');
    o.before?.();
    const hard = setTimeout(() => {
      o.log.error({ ms: o.hardMs ?? HARD_MS }, 'shutdown did not finish in time; exiting');
      exit(1);
    }, o.hardMs ?? HARD_MS);
    hard.unref();
    const servers = [o.server, ...(o.alsoServers ?? [])];
    const closed = Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    const sweep = setInterval(() => servers.forEach((s) => s.closeIdleConnections()), IDLE_SWEEP_MS);
    servers.forEach((s) => s.closeIdleConnections());
    const grace = setTimeout(() => {
      o.log.warn('requests still running after the grace period: closing their connections');
      servers.forEach((s) => s.closeAllConnections());
    }, o.graceMs ?? GRACE_MS);
    try {
      await closed;
    } finally {
      clearInterval(sweep);
      clearTimeout(grace);
    }
    try {
      await o.db.close();
      for (const other of o.alsoClose ?? []) await other.close();
    } catch (e) {
      o.log.error({ err: e }, 'closing the database failed');
      clearTimeout(hard);
      exit(1);
      return;
    }
    clearTimeout(hard);
    o.log.info({ ms: Date.now() - started }, 'stopped');
    exit(0);
  };
  return (reason: string) => (stopping ??= run(reason));
}
