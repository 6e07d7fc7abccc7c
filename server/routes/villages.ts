import express, { Router } from 'express';
import { z } from 'zod';
import type { AppContext } from '../context';
import { villageScope } from '../auth/guard';
import { route } from '../http/openapi';
import { AppError } from '../errors';
import { deleteEntry, importRegisterCsv, listRegister, RegisterEntry, RegisterRow, upsertEntry } from '../villages/register';

const VillageParam = z.object({ village: z.string().trim().min(1).max(100) });

/**
 * The village register (村（社区）责任人名册): read by everyone who sees the ledger, kept by admins, one
 * village at a time or by a CSV upload (body: the file's bytes, Content-Type text/csv; UTF-8 or GBK).
 */
export function villageRoutes(ctx: AppContext) {
  const r = Router();
  const region = ctx.config.regionCode;
  const csvBody = express.raw({ type: ['text/csv', 'text/plain', 'application/octet-stream'], limit: '1mb' });

  route(r, {
    method: 'get', path: '/api/villages/register', tags: ['villages'], roles: ['admin', 'analyst', 'reviewer'],
    summary: 'The village register: village → responsible person (村（居）书记), title, phone', summary_zh: '村（社区）责任人名册',
    response: z.object({ items: z.array(RegisterRow) }),
  }, async (req, res) => {
    res.json({ items: await listRegister(ctx.db, region, villageScope(req)) });
  });

  route(r, {
    method: 'put', path: '/api/villages/register/:village', tags: ['villages'], roles: ['admin'],
    summary: 'Set a village\'s responsible person and phone (creates or replaces the row)', summary_zh: '设置村（社区）责任人及电话',
    params: VillageParam, body: RegisterEntry,
    example: { params: { village: '示例村' }, body: { responsible: '张三', phone: '13800000000' } },
  }, async (req, res) => {
    const { village } = VillageParam.parse(req.params);
    const body = RegisterEntry.parse(req.body ?? {});
    const row = await upsertEntry(ctx.db, region, village, body, req.principal!.username);
    res.status(row.inserted ? 201 : 200).json({ village: row.village, responsible: row.responsible, title: row.title, phone: row.phone });
  });

  route(r, {
    method: 'delete', path: '/api/villages/register/:village', tags: ['villages'], roles: ['admin'], status: 204,
    summary: 'Remove a village from the register', summary_zh: '从名册中删除村（社区）', params: VillageParam,
    example: { params: { village: '示例村' } },
  }, async (req, res) => {
    const { village } = VillageParam.parse(req.params);
    await deleteEntry(ctx.db, region, village);
    res.status(204).end();
  });

  route(r, {
    method: 'post', path: '/api/villages/register/import', tags: ['villages'], roles: ['admin'],
    summary: 'Import the register from CSV (header row: 村（社区）,责任人[,职务][,联系电话]; UTF-8 or GBK). Rows are added or replace the village\'s row; refused rows are listed with their line and reason',
    summary_zh: '导入责任人名册（CSV）',
    description: 'Send the file as the request body with Content-Type: text/csv. One transaction: a refused row is reported, the others are stored. 422 when the header row lacks the village or responsible column.',
  }, csvBody, async (req, res) => {
    if (!Buffer.isBuffer(req.body) || !req.body.length) {
      throw new AppError('csv_missing', 'Send the CSV file as the request body (Content-Type: text/csv)', '请以请求正文上传 CSV 文件（Content-Type: text/csv）', 400);
    }
    const bytes = new Uint8Array(req.body);
    const report = await ctx.db.tx((q) => importRegisterCsv(q, region, bytes, req.principal!.username));
    res.json(report);
  });

  return r;
}
