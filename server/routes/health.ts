import type { AppContext } from '../context';
import { router } from '../http/canonical-path';

export function healthRoutes(ctx: AppContext) {
  const r = router();
  // Public liveness: says the database answers, nothing more.
  r.get('/api/health', async (_req, res) => {
    await ctx.db.query('SELECT 1');
    res.json({ ok: true, db: ctx.db.kind });
  });
  return r;
}
