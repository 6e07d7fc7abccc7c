import { router } from '../http/canonical-path';
import { z } from 'zod';
import type { AppContext } from '../context';
import { route } from '../http/openapi';
import { checkIntegrity } from '../integrity/check';

const Mismatch = z.object({
  polygon_id: z.number().int(),
  code: z.string(),
  survey: z.string(),
  village: z.string().nullable(),
  status: z.string().describe('what survey_polygon says'),
  replayed: z.string().nullable().describe('what the history leads to; null when the history is not a valid one'),
  events: z.number().int(),
  problem: z.string().nullable().describe('why the history is invalid (rewritten, deleted or out-of-order events)'),
});
const FileItem = z.object({
  path: z.string().describe('relative to the data directory'),
  bytes: z.number().int(),
  modified: z.iso.datetime(),
  kind: z.enum(['original', 'thumbnail', 'captioned', 'temporary', 'unknown']),
});
const MissingItem = z.object({ sha256: z.string(), mime: z.string(), evidence_ids: z.array(z.number().int()), path: z.string() });

export const IntegrityOut = z.object({
  ok: z.boolean().describe('no mismatch, no orphan file, no missing file'),
  checked_at: z.iso.datetime(),
  seconds: z.number(),
  history: z.object({
    polygons: z.number().int(),
    events: z.number().int(),
    mismatches: z.array(Mismatch).describe('polygons whose status is not the replay of their history'),
  }),
  evidence: z.object({
    rows: z.number().int(),
    files: z.number().int(),
    orphan_files: z.object({ count: z.number().int(), items: z.array(FileItem) }).describe('files in the photo store without an evidence row'),
    missing_files: z.object({ count: z.number().int(), items: z.array(MissingItem) }).describe('evidence rows whose file is gone'),
    completed_writes: z.array(z.string()),
  }),
});

export function adminRoutes(ctx: AppContext) {
  const r = router();
  route(r, {
    method: 'get', path: '/api/admin/integrity', tags: ['admin'], roles: ['admin'],
    summary: 'Integrity check: every polygon\'s status against the replay of its history, the photo store against the evidence rows',
    summary_zh: '完整性检查：图斑状态与处理记录回放比对，照片文件与照片记录比对',
    description: 'Reads everything (a few seconds for a district). Reports; changes nothing, except finishing a photo ' +
      'write interrupted between its commit and its rename. See README "Integrity check".',
    response: IntegrityOut,
  }, async (req, res) => {
    const report = await checkIntegrity(ctx.db, ctx.config.regionCode, ctx.config.dataDir);
    req.log?.info({ ok: report.ok, mismatches: report.history.mismatches.length, orphan_files: report.evidence.orphan_files.count,
      missing_files: report.evidence.missing_files.count }, 'integrity check');
    res.json(report);
  });
  return r;
}
