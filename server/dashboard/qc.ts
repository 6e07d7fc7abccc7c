/**
 * Quality check (抽查): a reviewer draws N decided polygons per village, then approves or returns each
 * decision. A return goes through the review workflow (decideOne, action `return`): the polygon is back in
 * the queue with the reviewer's comment in its history, exactly as a return from the map.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Principal } from '../auth/guard';
import type { Db, Queryable } from '../db/types';
import { sqlSet } from '../db/sql-file';
import { AppError } from '../errors';
import { decideOne } from '../review/decisions';
import { inTx } from '../review/tx';

const SQL = sqlSet(new URL('./qc.sql', import.meta.url), [
  'insert_sample', 'draw_items', 'get_sample', 'list_samples', 'sample_items', 'sample_stats', 'lock_item',
  'record_verdict', 'undo_verdict',
] as const);

type Scope = string[] | undefined;

export const NewSample = z
  .object({
    per_village: z.number().int().min(1).max(1000).describe('decided polygons drawn per village'),
    seed: z.string().trim().min(1).max(100).optional().describe('same seed + same decisions = same sample; default random'),
    survey: z.string().max(40).optional().describe('draw from this survey only'),
  })
  .strict();
export type NewSample = z.infer<typeof NewSample>;

export const VerdictBody = z
  .object({
    verdict: z.enum(['approve', 'return']),
    comment: z.string().trim().max(2000).optional().describe('required for return: it becomes the return note'),
  })
  .strict()
  .refine((b) => b.verdict !== 'return' || !!b.comment, { message: 'a return needs a comment', path: ['comment'] });
export type VerdictBody = z.infer<typeof VerdictBody>;

const sampleNotFound = (id: number) => new AppError('not_found', `No QC sample ${id}`, `没有 ID 为 ${id} 的抽查`, 404);
const itemNotFound = (id: number) => new AppError('not_found', `No QC item ${id}`, `没有 ID 为 ${id} 的抽查项`, 404);
const visible = (scope: Scope, village: string | null) => !scope || (village !== null && scope.includes(village));

/** POST /api/qc/samples: draws and stores the sample in one transaction. */
export async function createSample(db: Db, regionCode: string, p: Principal, b: NewSample, scope: Scope) {
  const seed = b.seed ?? randomBytes(6).toString('hex');
  const id = await inTx(db, async (q) => {
    const s = (await q.query<{ id: number }>(SQL.insert_sample, [
      regionCode, b.per_village, seed, b.survey ?? null, scope ?? null, p.id, p.username,
    ])).rows[0];
    await q.query(SQL.draw_items, [regionCode, s.id, b.per_village, seed, b.survey ?? null, scope ?? null]);
    return s.id;
  });
  return getSample(db, regionCode, id, scope);
}

/** GET /api/qc/samples/:id: items the caller may see, reviewed share and agreement per village and analyst. */
export async function getSample(q: Queryable, regionCode: string, id: number, scope: Scope) {
  const s = (await q.query<Record<string, unknown>>(SQL.get_sample, [regionCode, id])).rows[0];
  if (!s) throw sampleNotFound(id);
  const items = (await q.query<Record<string, unknown>>(SQL.sample_items, [regionCode, id, scope ?? null])).rows;
  // a sample drawn by someone else over other villages: nothing of it is visible
  if (scope && !items.length) throw sampleNotFound(id);
  const stats = (await q.query<{ dimension: string; key: string | null } & Record<string, unknown>>(SQL.sample_stats, [regionCode, id, scope ?? null])).rows;
  const pick = (d: string) => stats.filter((x) => x.dimension === d).map(({ dimension: _d, ...rest }) => rest);
  const { villages: _v, ...sample } = s;
  return {
    ...sample,
    items,
    stats: {
      overall: pick('overall').map(({ key: _k, ...rest }) => rest)[0] ?? null,
      by_village: pick('village').map(({ key, ...rest }) => ({ village: key, ...rest })),
      by_analyst: pick('analyst').map(({ key, ...rest }) => ({ analyst: key, ...rest })),
    },
  };
}

export async function listSamples(q: Queryable, regionCode: string, scope: Scope) {
  return (await q.query(SQL.list_samples, [regionCode, scope ?? null])).rows;
}

/**
 * POST /api/qc/items/:id. The item is claimed first (one verdict per item, a second reviewer gets 409),
 * then a return is carried out by the review workflow; if the workflow refuses it (the polygon changed
 * meanwhile: 409 version_conflict), the claim is undone and the refusal answered.
 */
export async function recordVerdict(db: Db, regionCode: string, p: Principal, itemId: number, b: VerdictBody, scope: Scope) {
  const item = await inTx(db, async (q) => {
    const it = (await q.query<{
      id: number; sample_id: number; polygon_id: number; village: string | null; status: string; version: number;
      verdict: string | null; current_version: number; current_status: string;
    }>(SQL.lock_item, [regionCode, itemId])).rows[0];
    if (!it || !visible(scope, it.village)) throw itemNotFound(itemId);
    if (it.verdict) {
      throw new AppError('already_reviewed', `Item ${itemId} already has a verdict (${it.verdict})`, `该抽查项已有结论（${it.verdict === 'approve' ? '通过' : '退回'}）`, 409);
    }
    if (it.current_version !== it.version) {
      throw new AppError(
        'decision_changed',
        `Polygon ${it.polygon_id} changed since it was drawn (now ${it.current_status}, version ${it.current_version})`,
        `图斑 ${it.polygon_id} 抽取后已被改动（当前“${it.current_status}”，版本 ${it.current_version}），不能再评议`,
        409,
        { current: { status: it.current_status, version: it.current_version }, drawn: { status: it.status, version: it.version } },
      );
    }
    const claimed = await q.query(SQL.record_verdict, [regionCode, itemId, b.verdict, b.comment ?? null, p.id, p.username]);
    if (!claimed.rows.length) throw new AppError('already_reviewed', `Item ${itemId} already has a verdict`, '该抽查项已有结论', 409);
    return it;
  });
  let decision: unknown = null;
  if (b.verdict === 'return') {
    try {
      const out = await decideOne(db, regionCode, p, item.polygon_id, {
        action: 'return', note: b.comment!, version: item.version, request_id: randomUUID(),
      }, scope);
      decision = out.body;
    } catch (e) {
      await db.query(SQL.undo_verdict, [regionCode, itemId, p.id]);
      throw e;
    }
  }
  return { item_id: itemId, sample_id: item.sample_id, polygon_id: item.polygon_id, verdict: b.verdict, comment: b.comment ?? null, decision };
}
