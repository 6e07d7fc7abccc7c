import { Router } from 'express';
import type { AppContext } from '../context';

export function healthRoutes(ctx: AppContext) {
  const r = Router();
  // Public liveness: says the database answers, nothing more.
  r.get('/api/health', async (_req, res) => {
    await ctx.db.query('SELECT 1');
    res.json({ ok: true, db: ctx.db.kind });
  });
  return r;
}
