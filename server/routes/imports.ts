import { mkdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { Request, RequestHandler, Response } from 'express';
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
import { importImageryFile } from '../imagery/upload';
import { imageryStoreOf } from './imagery';

const tooLarge = (limit: number) =>
  new AppError('payload_too_large', `Upload too large: at most ${Math.round(limit / 1048576)} MB`, `上传内容过大：最大 ${Math.round(limit / 1048576)} MB`, 413, { limit });

export const ImportFields = z.object({
  layer: z.string().min(1).max(40),
  role: z.enum(CUSTOM_ROLES).optional(),
  title: z.string().max(100).optional(),
  distance: z.coerce.number().min(0).max(100_000).optional(),
  srs: z.string().regex(/^EPSG:\d{4,6}$/i, 'srs must look like EPSG:4523').optional(),
  encoding: z.string().max(20).optional(),
  source_layer: z.string().max(200).optional(),
  survey: z.string().regex(/^[\p{L}\p{N}_-]{1,40}$/u, 'survey: letters, digits, _ or -, at most 40').optional(),
  code_field: z.string().max(60).optional(),
  width: z.coerce.number().positive().max(1000).optional(),
  width_field: z.string().max(60).optional(),
  duplicates: z.enum(DUPLICATE_POLICIES).optional(),
  // layer=imagery (issue 15): which epoch the GeoTIFF is, and when it was taken (default: its DateTime tag)
  epoch: z.enum(['before', 'after']).optional(),
  date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'date must look like 2020-10-01').optional(),
});

/** layer=imagery: a GeoTIFF, not a vector layer (server/imagery/) */
export const IMAGERY_LAYER = 'imagery';

/** The API's field names as the importer's options: one mapping for uploads and for the CLI's hand-off. */
export function importOptions(f: z.infer<typeof ImportFields>) {
  return {
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
  };
}

export function importRoutes(ctx: AppContext) {
  const r = router();
  // Files are bounded before they reach the reader: one file, at most maxUploadBytes, few small fields.
  // They go to disk, never into memory (issue 11 item 6: a 600 MB upload was buffered before its 413),
  // and are removed once the request is done, whatever its outcome.
  const uploads = path.join(ctx.config.tmpDir, 'uploads');
  mkdirSync(uploads, { recursive: true });
  const maxBytes = ctx.config.limits.maxUploadBytes;
  const upload = multer({
    storage: multer.diskStorage({ destination: uploads }),
    limits: { fileSize: maxBytes, files: 1, fields: 20, fieldSize: 10_000 },
  });
  const importers = requireRole('admin', 'analyst');
  const removeUpload = (req: Request) => (req.file?.path ? rm(req.file.path, { force: true }) : Promise.resolve());
  // a declared length far past the limit (the file plus 20 small fields) is refused before a byte is read
  const FORM_OVERHEAD = 1 << 20;
  const receive: RequestHandler = (req, res, next) => {
    if (Number(req.headers['content-length'] ?? 0) > maxBytes + FORM_OVERHEAD) return next(tooLarge(maxBytes));
    multipart(upload.single('file'))(req, res, (err?: unknown) => {
      if (err) void removeUpload(req).finally(() => next(err));
      else next();
    });
  };

  r.post('/api/imports', importers, receive, async (req, res) => {
    if (!req.file) {
      throw new AppError('file_missing', "Send the file as multipart field 'file'", "请以 multipart 字段“file”上传文件", 400);
    }
    try {
      await importUpload(req, res, req.file);
    } finally {
      await removeUpload(req);
    }
  });

  async function importUpload(req: Request, res: Response, file: Express.Multer.File) {
    const f = ImportFields.parse(req.body ?? {});
    if (f.layer === IMAGERY_LAYER) {
      const report = await importImageryFile(ctx.importDb ?? ctx.db, ctx.config, {
        path: file.path, fileName: Buffer.from(file.originalname, 'latin1').toString('utf8'),
        epoch: f.epoch ?? '', date: f.date, srs: f.srs?.toUpperCase(), user: req.principal?.username, store: imageryStoreOf(ctx),
      });
      ctx.log.info({ imagery: report.import_id, epoch: report.epoch, tiles: report.tiles }, 'imagery import');
      res.status(201).json(report);
      return;
    }
    const report = await importFile(ctx.importDb ?? ctx.db, ctx.config, {
      path: file.path,
      fileName: Buffer.from(file.originalname, 'latin1').toString('utf8'),
      ...importOptions(f),
      user: req.principal?.username,
    });
    ctx.log.info({ batch: report.batch_id, layer: report.layer, stored: report.stored, duplicate: report.duplicate }, 'import');
    if (report.demo_accounts_disabled?.length) logDemoDisabled(ctx.log, report.demo_accounts_disabled);
    res.status(report.duplicate ? 200 : 201).json(report);
  }

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
