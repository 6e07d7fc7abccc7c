/**
 * The public report pages (issue 16 items 2, 5, 6): /report, /report/<code> (the secret in the fragment),
 * their script, and the village outlines their map draws. No account anywhere here.
 */
import { z } from 'zod';
import type { AppContext } from '../context';
import { router } from '../http/canonical-path';
import { route } from '../http/openapi';
import { sqlSet } from '../db/sql-file';
import { REPORT_CSP, REPORT_SCRIPT, reportFormPage, reportStatusPage } from '../leads/report-page';
import { ReceiptCode } from './leads';

const SQL = sqlSet(new URL('../leads/villages.sql', import.meta.url), ['public_villages'] as const);

export function reportPageRoutes(ctx: AppContext) {
  const r = router();
  const headers = {
    'Content-Security-Policy': REPORT_CSP, 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer', 'Cache-Control': 'no-cache',
  };

  route(r, {
    method: 'get', path: '/report', tags: ['public'], roles: 'public', responseType: 'text/html',
    summary: 'Public report page (no account, phone first, zh-CN): place by map tap or GPS, category, description, photos, optional phone',
    summary_zh: '公众举报页面',
  }, (_req, res) => {
    res.set(headers).type('text/html; charset=utf-8').send(reportFormPage());
  });

  route(r, {
    method: 'get', path: '/report/:code', tags: ['public'], roles: 'public', responseType: 'text/html',
    summary: 'Status page of a report: /report/<code>#<secret> shows 已受理 / 核查中 / 已处理 with the date, nothing else',
    summary_zh: '举报办理状态页面',
    params: z.object({ code: ReceiptCode }), example: { params: { code: 'ABCDEFGH23' } },
  }, (req, res) => {
    const code = ReceiptCode.safeParse(req.params.code);
    if (!code.success) {
      res.status(404).set(headers).type('text/html; charset=utf-8').send(reportStatusPage('——').replace('正在查询…', '回执编号不正确（10 位字母和数字）。'));
      return;
    }
    res.set(headers).type('text/html; charset=utf-8').send(reportStatusPage(code.data));
  });

  route(r, {
    method: 'get', path: '/report-assets/report.js', tags: ['public'], roles: 'public', responseType: 'application/javascript',
    summary: 'The report pages\' script', summary_zh: '举报页面脚本',
  }, (_req, res) => {
    res.set({ 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-cache' }).type('application/javascript; charset=utf-8').send(REPORT_SCRIPT);
  });

  route(r, {
    method: 'get', path: '/api/public/villages.geojson', tags: ['public'], roles: 'public', responseType: 'application/geo+json',
    summary: 'Village outlines and names for the public report map (simplified to 5 m)', summary_zh: '村界（举报地图用）',
  }, async (_req, res) => {
    const rows = (await ctx.db.query<{ name: string | null; geometry: unknown; label: number[] }>(SQL.public_villages, [ctx.config.regionCode])).rows;
    res.set('Cache-Control', 'public, max-age=300').type('application/geo+json').send(JSON.stringify({
      type: 'FeatureCollection',
      features: rows.map((v) => ({ type: 'Feature', geometry: v.geometry, properties: { name: v.name, label: v.label } })),
    }));
  });

  return r;
}
