import type { AppContext } from '../context';
import { router } from '../http/canonical-path';
import { DatabaseUnavailableError } from '../db/unavailable';

/**
 * How long the health check waits for the database (ms). It answers within about this long whatever the
 * database does (issue 12, item 1): a monitor or load balancer polling it must never hang with it.
 */
export const HEALTH_TIMEOUT_MS = 3000;

export function healthRoutes(ctx: AppContext) {
  const r = router();
  // Public liveness: says the database answers, nothing more. 503 database_unavailable while it does not.
  r.get('/api/health', async (_req, res) => {
    let timer: NodeJS.Timeout | undefined;
    // the query has its own client-side timeout; the race also bounds the wait for a free pooled connection
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new DatabaseUnavailableError(ctx.db.kind, 'query_timeout')), HEALTH_TIMEOUT_MS);
    });
    const probe = ctx.db.query('SELECT 1', [], { timeoutMs: HEALTH_TIMEOUT_MS });
    probe.catch(() => undefined); // if the deadline wins, the probe's later failure is not an unhandled rejection
    try {
      await Promise.race([probe, deadline]);
    } catch (e) {
      // whatever kept SELECT 1 from answering, the database is not usable: 503, never a 500
      throw e instanceof DatabaseUnavailableError ? e : new DatabaseUnavailableError(ctx.db.kind, 'connection_lost', e);
    } finally {
      clearTimeout(timer);
    }
    res.set('cache-control', 'no-store').json({ ok: true, db: ctx.db.kind });
  });
  return r;
}
