import multer from 'multer';
import { z } from 'zod';
import { int4PositiveParam } from '../http/schemas';
import type { AppContext } from '../context';
import { router } from '../http/canonical-path';
import { AppError } from '../errors';
import { requireRole } from '../auth/guard';
import { multipart } from '../http/multipart';
import { DUPLICATE_POLICIES, importFile } from '../ingest/import';
import { logDemoDisabled } from '../auth/users';
import { CUSTOM_ROLES } from '../ingest/layers';
import { getBatch, listBatches, listLayers } from '../polygons/repo';

export const ImportFields = z.object({
  layer: z.string().min(1).max(40),
  role: z.enum(CUSTOM_ROLES).optional(),
  title: z.string().max(100).optional(),
  distance: z.coerce.number().min(0).max(100_000).optional(),
  srs: z.string().regex(/^EPSG:\d{4,6}$/i, 'srs must look like EPSG:4523').optional(),
  encoding: z.string().max(20).optional(),
  source_layer: z.string().max(200).optional(),
  survey: z.string().regex(/^[\w\-]{1,40}$/).optional(),
  code_field: z.string().max(60).optional(),
  width: z.coerce.number().positive().max(1000).optional(),
  width_field: z.string().max(60).optional(),
  duplicates: z.enum(DUPLICATE_POLICIES).optional(),
});

export function importRoutes(ctx: AppContext) {
  const r = router();
  // Files are bounded before they reach the reader: one file, at most maxUploadBytes, few small fields.
  const upload = multer({
    storage: multer.memoryStorage(),
    limits: { fileSize: ctx.config.limits.maxUploadBytes, files: 1, fields: 20, fieldSize: 10_000 },
  });
  const importers = requireRole('admin', 'analyst');

  r.post('/api/imports', importers, multipart(upload.single('file')), async (req, res) => {
    if (!req.file) {
      throw new AppError('file_missing', "Send the file as multipart field 'file'", "请以 multipart 字段“file”上传文件", 400);
    }
    const f = ImportFields.parse(req.body ?? {});
    const report = await importFile(ctx.importDb ?? ctx.db, ctx.config, {
      bytes: new Uint8Array(req.file.buffer.buffer, req.file.buffer.byteOffset, req.file.buffer.byteLength),
      fileName: Buffer.from(req.file.originalname, 'latin1').toString('utf8'),
      layer: f.layer,
      role: f.role,
      title: f.title,
      distanceM: f.distance,
      srs: f.srs?.toUpperCase(),
      encoding: f.encoding,
      sourceLayer: f.source_layer,
      survey: f.survey,
      codeField: f.code_field,
      widthM: f.width,
      widthField: f.width_field,
      duplicates: f.duplicates,
      user: req.principal?.username,
    });
    ctx.log.info({ batch: report.batch_id, layer: report.layer, stored: report.stored, duplicate: report.duplicate }, 'import');
    if (report.demo_accounts_disabled?.length) logDemoDisabled(ctx.log, report.demo_accounts_disabled);
    res.status(report.duplicate ? 200 : 201).json(report);
  });

  r.get('/api/imports', importers, async (_req, res) => {
    res.json({ items: await listBatches(ctx.db, ctx.config.regionCode) });
  });

  r.get('/api/imports/:id', importers, async (req, res) => {
    const id = int4PositiveParam().safeParse(req.params.id);
    const b = id.success ? await getBatch(ctx.db, ctx.config.regionCode, id.data) : undefined;
    if (!b) throw new AppError('not_found', 'No such import', '没有此导入批次', 404);
    res.json(b);
  });

  r.get('/api/layers', requireRole('admin', 'analyst', 'reviewer', 'field'), async (_req, res) => {
    res.json({ items: await listLayers(ctx.db) });
  });
  return r;
}
