/**
 * The CLI's import handed to the running server (issue 11 item 7: "while a server runs, the CLI sends the
 * import to it"). One process per embedded data directory (db/lock.ts): while `npm start` holds it, `npm run
 * ingest` cannot open it, so it asks the server to run the import instead, through the same importFile as
 * POST /api/imports, and prints the same progress and report.
 *
 * How the CLI finds and proves itself to the server: at start the server writes <pgliteDir>.handoff.json
 * (mode 0600: pid, a loopback port, a random token), removed at shutdown. The listener is a separate one on
 * 127.0.0.1, never on the public address, and every request must carry the token. Whoever can read the 0600
 * file could open the data directory itself, so the token grants nothing more than that.
 *
 * Wire: POST /import, `Authorization: Bearer <token>`, JSON {path, ...ImportFields, user}. Refusals before
 * the import starts are the usual `{error}` with a 4xx. Once it starts: 200, NDJSON, one {progress} line per
 * update, and a last line {report} or {error}.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { chmodSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import path from 'node:path';
import express from 'express';
import { z } from 'zod';
import type { AppContext } from '../context';
import { AppError } from '../errors';
import { errorHandler, toAppError } from '../http/errors';
import { ImportFields, importOptions } from '../routes/imports';
import { removeWhenDone } from '../db/owned-file';
import { importFile, type ImportReport, type ImportRequest } from './import';
import { IMAGERY_LAYER } from '../routes/imports';
import { imageryStoreOf } from '../routes/imagery';
import { importImageryFile } from '../imagery/upload';
import type { ImageryReport } from '../imagery/import';

export interface HandoffInfo {
  pid: number;
  port: number;
  token: string;
}

export const handoffFileFor = (pgliteDir: string) => `${path.resolve(pgliteDir)}.handoff.json`;

export function readHandoff(file: string): HandoffInfo | undefined {
  try {
    const o = JSON.parse(readFileSync(file, 'utf8')) as Partial<HandoffInfo>;
    return typeof o.pid === 'number' && typeof o.port === 'number' && typeof o.token === 'string'
      ? { pid: o.pid, port: o.port, token: o.token }
      : undefined;
  } catch {
    return undefined;
  }
}

/** The API's fields (routes/imports.ts ImportFields: the same rules as an upload), plus where the file is. */
export const HandoffRequest = ImportFields.extend({
  path: z.string().min(1).max(4096).refine((p) => path.isAbsolute(p), 'path must be absolute'),
  user: z.string().min(1).max(100).optional(),
});
export type HandoffRequest = z.infer<typeof HandoffRequest>;

export type HandoffLine =
  | { progress: Parameters<NonNullable<ImportRequest['onProgress']>>[0] }
  | { report: ImportReport | ImageryReport }
  | { error: { code: string; message: string; message_zh: string; details: unknown; status: number } };

const unauthorized = () =>
  new AppError('unauthorized', 'Missing or wrong hand-off token', '缺少或错误的移交令牌', 401);

function tokenMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer (\S+)$/.exec(header ?? '');
  if (!m) return false;
  const a = Buffer.from(m[1]);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The file is read from its path by the importer, as the CLI's own import does (bounded memory). */
async function importFromPath(ctx: AppContext, f: HandoffRequest, onProgress: ImportRequest['onProgress']): Promise<ImportReport | ImageryReport> {
  if (f.layer === IMAGERY_LAYER) {
    // imagery (issue 15) goes through the same hand-off: the server holds the database and the data directory
    return importImageryFile(ctx.importDb ?? ctx.db, ctx.config, {
      path: f.path, fileName: path.basename(f.path), epoch: f.epoch ?? '', date: f.date, srs: f.srs?.toUpperCase(),
      user: f.user ?? 'cli', beside: true, store: imageryStoreOf(ctx),
      onProgress: (p) => onProgress?.({ phase: p.phase === 'read' || p.phase === 'done' ? p.phase : 'store', done: p.done, total: p.total }),
    });
  }
  return importFile(ctx.importDb ?? ctx.db, ctx.config, {
    path: f.path,
    fileName: path.basename(f.path),
    ...importOptions(f),
    user: f.user ?? 'cli',
    onProgress,
  });
}

export function handoffApp(ctx: AppContext, token: string) {
  const app = express();
  app.disable('x-powered-by');
  app.use((req, _res, next) => next(tokenMatches(req.headers.authorization, token) ? undefined : unauthorized()));
  app.use(express.json({ limit: '64kb' }));
  app.post('/import', async (req, res) => {
    const f = HandoffRequest.parse(req.body ?? {});
    let st;
    try {
      st = statSync(f.path);
    } catch {
      st = undefined;
    }
    if (!st?.isFile()) {
      throw new AppError('file_missing', `The server cannot read ${f.path}: no such file`, `服务无法读取 ${f.path}：文件不存在`, 400);
    }
    res.status(200).type('application/x-ndjson');
    const send = (line: HandoffLine) => res.write(JSON.stringify(line) + '\n');
    try {
      const report = await importFromPath(ctx, f, (p) => send({ progress: p }));
      if (report.layer === IMAGERY_LAYER) ctx.log.info({ imagery: (report as ImageryReport).import_id, via: 'cli' }, 'imagery import');
      else ctx.log.info({ batch: (report as ImportReport).batch_id, layer: report.layer, stored: (report as ImportReport).stored, duplicate: (report as ImportReport).duplicate, via: 'cli' }, 'import');
      send({ report });
    } catch (e) {
      const a = toAppError(e);
      if (!a) ctx.log.error({ err: e }, 'handed-off import failed');
      // a database error reaches the CLI as its SQLSTATE and message (the CLI says it was the database)
      const err = a
        ? { code: a.code, message: a.message, message_zh: a.message_zh, details: a.details ?? null, status: a.status }
        : { code: 'database_error', message: (e as Error).message, message_zh: '数据库中止了导入', details: { sqlstate: (e as { code?: string }).code ?? null }, status: 500 };
      send({ error: err });
    }
    res.end();
  });
  app.use((_req, _res, next) => next(new AppError('not_found', 'No such hand-off route', '没有此移交接口', 404)));
  app.use(errorHandler);
  return app;
}

/** Starts the loopback listener and writes the hand-off file; close() removes the file. */
export async function startHandoff(ctx: AppContext, pgliteDir: string): Promise<{ server: Server; file: string; close(): void }> {
  const token = randomBytes(32).toString('base64url');
  const server = handoffApp(ctx, token).listen(0, '127.0.0.1');
  await once(server, 'listening');
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  const file = handoffFileFor(pgliteDir);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify({ pid: process.pid, port, token } satisfies HandoffInfo) + '\n', { mode: 0o600 });
  chmodSync(tmp, 0o600); // the umask cannot widen it, but an existing tmp file would keep its old mode
  renameSync(tmp, file);
  const remove = removeWhenDone(file, () => readHandoff(file)?.pid === process.pid);
  return { server, file, close: remove };
}
