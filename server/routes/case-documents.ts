import { Router } from 'express';
import { z } from 'zod';
import type { AppContext } from '../context';
import { villageScope } from '../auth/guard';
import { route } from '../http/openapi';
import { AppError } from '../errors';
import { DateString, IdParam } from '../review/schemas';
import { CASE_DOCUMENT_TITLES, CASE_DOCUMENTS, caseDocument } from '../cases/documents';

/** who issues the notices: the case officers (reviewers read the case, they do not issue its documents) */
const OFFICERS = ['admin', 'analyst'] as const;
const Params = z.object({ id: IdParam, doc: z.enum(CASE_DOCUMENTS) });
const Query = z.object({ date: DateString.optional().describe('the date printed on the notice; default today (Beijing)') });

/** Printable notices of a case (issue 13 item 4): A4 HTML pages, village scope as for the case itself. */
export function caseDocumentRoutes(ctx: AppContext) {
  const r = Router();
  route(r, {
    method: 'get', path: '/reports/cases/:id/:doc', tags: ['cases'], roles: OFFICERS,
    summary: `Printable notice of a case (HTML, A4): ${CASE_DOCUMENTS.join(', ')}`,
    summary_zh: `案件文书打印页：${Object.values(CASE_DOCUMENT_TITLES).join('、')}`,
    params: Params, query: Query, responseType: 'text/html',
    example: { params: { id: '1', doc: 'stop_order' } },
  }, async (req, res) => {
    const p = Params.safeParse(req.params);
    if (!p.success) {
      throw new AppError('invalid_input', `Unknown document; one of ${CASE_DOCUMENTS.join(', ')}`, `没有这种文书，可选：${CASE_DOCUMENTS.join('、')}`, 400);
    }
    const q = Query.parse(req.query);
    const html = await caseDocument(ctx.db, ctx.config.regionCode, p.data.id, p.data.doc, villageScope(req), q.date);
    res.set('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'");
    res.set('Cache-Control', 'private, no-store');
    res.type('html').send(html);
  });
  return r;
}
