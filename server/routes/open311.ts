/**
 * Open311 GeoReport v2 (issue 16 item 7), so civic tools can submit and read public reports. JSON only, no
 * api_key. The field mapping, and what is discarded or never returned (confidentiality first), is in
 * docs/OPEN311.md. Errors keep tuban's bilingual shape `{error:{code,message,message_zh}}` rather than
 * GeoReport's `[{code, description}]`: one error shape for every route (README, fuzz test).
 */
import express from 'express';
import { z } from 'zod';
import type { AppContext } from '../context';
import { router } from '../http/canonical-path';
import { route } from '../http/openapi';
import { AppError } from '../errors';
import { isoInstant } from '../http/schemas';
import { CATEGORY_CODES, PUBLIC_STATUS, publicStatus, REPORT_CATEGORIES, reportCodes, statusRows, submitReport, type StatusRow } from '../leads/reports';
import { publicBase, ReceiptCode, reporterIp } from './leads';

const Row = z.record(z.string(), z.unknown());

const RequestBody = z.object({
  service_code: z.enum(CATEGORY_CODES),
  lat: z.coerce.number().min(-90).max(90),
  long: z.coerce.number().min(-180).max(180),
  description: z.string().trim().min(2).max(2000),
  phone: z.string().max(30).optional(),
  // accepted and discarded: never stored, so never leaked (docs/OPEN311.md)
  email: z.string().max(200).optional(),
  first_name: z.string().max(100).optional(),
  last_name: z.string().max(100).optional(),
  device_id: z.string().max(200).optional(),
  account_id: z.string().max(200).optional(),
  address_string: z.string().max(500).optional(),
  address_id: z.string().max(200).optional(),
  media_url: z.string().max(2000).optional(),
  api_key: z.string().max(200).optional(),
  jurisdiction_id: z.string().max(200).optional(),
});

const ListQuery = z.object({
  service_request_id: z.string().max(1200).optional()
    .transform((s) => (s === undefined ? undefined : s.split(',').map((x) => x.trim()).filter(Boolean)))
    .pipe(z.array(ReceiptCode).max(100).optional()),
  service_code: z.enum(CATEGORY_CODES).optional(),
  start_date: isoInstant().optional(),
  end_date: isoInstant().optional(),
  status: z.enum(['open', 'closed']).optional(),
  jurisdiction_id: z.string().max(200).optional(),
});

/** The empty strings a form sends for fields left blank are absent fields. */
const blankToUndefined = (o: unknown) =>
  Object.fromEntries(Object.entries((o ?? {}) as Record<string, unknown>).filter(([, v]) => v !== '' && v !== undefined && v !== null));

/** One report as GeoReport v2 shows it: status and coarse position only. */
function toGeoReport(r: StatusRow) {
  const s = publicStatus(r);
  return {
    service_request_id: r.receipt_code,
    status: s.status === 'done' ? 'closed' : 'open',
    status_notes: PUBLIC_STATUS[s.status].zh,
    service_name: REPORT_CATEGORIES[r.category],
    service_code: r.category,
    description: null,
    agency_responsible: r.village_name,
    service_notice: null,
    requested_datetime: new Date(r.received_at).toISOString(),
    updated_datetime: s.since,
    expected_datetime: `${r.due_on}T18:00:00+08:00`,
    address: r.village_name,
    address_id: null,
    zipcode: null,
    lat: r.lat,
    long: r.lon,
    media_url: null,
  };
}

export function open311Routes(ctx: AppContext) {
  const r = router();
  const region = ctx.config.regionCode;
  const form = express.urlencoded({ extended: false, limit: '64kb', parameterLimit: 40 });

  route(r, {
    method: 'get', path: '/open311/v2/services.json', tags: ['open311'], roles: 'public',
    summary: 'Open311 GeoReport v2: the report categories', summary_zh: 'Open311：举报类别',
    response: z.array(Row),
  }, (_req, res) => {
    res.json(CATEGORY_CODES.map((c) => ({
      service_code: c, service_name: REPORT_CATEGORIES[c], description: REPORT_CATEGORIES[c], metadata: false, type: 'realtime',
      keywords: '违法建设,举报', group: '违法建设举报',
    })));
  });

  route(r, {
    method: 'post', path: '/open311/v2/requests.json', tags: ['open311'], roles: 'public',
    summary: 'Open311 GeoReport v2: submit a report (form-encoded or JSON); the same limits and checks as /report',
    summary_zh: 'Open311：提交举报',
    description: 'Answers [{service_request_id, token, service_notice, account_id: null}]; token is the receipt secret ' +
      '(/report/<service_request_id>#<token>). email, names, device_id, address_string, media_url are accepted and discarded.',
    body: RequestBody, status: 201, response: z.array(Row),
  }, form, async (req, res) => {
    const b = RequestBody.parse(blankToUndefined(req.body));
    const receipt = await submitReport(ctx, {
      lon: b.long, lat: b.lat, category: b.service_code, description: b.description, phone: b.phone, photos: [], via: 'open311',
      ip: reporterIp(req),
    }, publicBase(ctx, req));
    res.status(201).json([{
      service_request_id: receipt.code, token: receipt.secret, service_notice: `已受理，请于 ${receipt.due_on} 前后查询办理状态`, account_id: null,
    }]);
  });

  route(r, {
    method: 'get', path: '/open311/v2/requests.json', tags: ['open311'], roles: 'public',
    summary: 'Open311 GeoReport v2: reports by id (≤ 100), or the latest 1000 by service_code, start_date, end_date, status',
    summary_zh: 'Open311：举报列表',
    query: ListQuery, response: z.array(Row),
  }, async (req, res) => {
    const q = ListQuery.parse(req.query);
    const codes = q.service_request_id ?? await reportCodes(ctx, { limit: 1000, category: q.service_code, from: q.start_date, to: q.end_date });
    const rows = codes.length ? await statusRows(ctx.db, region, codes) : [];
    const out = rows.map(toGeoReport).filter((x) => !q.status || x.status === q.status);
    res.set('Cache-Control', 'no-store');
    res.json(out);
  });

  route(r, {
    method: 'get', path: '/open311/v2/requests/:id.json', tags: ['open311'], roles: 'public',
    summary: 'Open311 GeoReport v2: one report (an array of one)', summary_zh: 'Open311：单个举报',
    params: z.object({ id: ReceiptCode }), response: z.array(Row),
    example: { params: { id: 'ABCDEFGH23' } },
  }, async (req, res) => {
    const id = ReceiptCode.safeParse(req.params.id);
    if (!id.success) throw new AppError('invalid_input', 'A service_request_id is 10 letters and digits', '举报编号为 10 位字母和数字', 400);
    const rows = await statusRows(ctx.db, region, [id.data]);
    if (!rows.length) throw new AppError('not_found', `No report ${id.data}`, `没有编号为 ${id.data} 的举报`, 404);
    res.set('Cache-Control', 'no-store');
    res.json(rows.map(toGeoReport));
  });

  return r;
}
