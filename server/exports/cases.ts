/**
 * The case ledger (案件台账) as XLSX / CSV: every case the caller may see with the same filters as
 * GET /api/cases, its polygons, and each step of the plan's procedure with its deadline and completion.
 * Cases are read through review/cases.ts listCases (scope, filters and the overdue rule are defined there),
 * a page at a time.
 */
import type { Response } from 'express';
import type { Queryable } from '../db/types';
import { sqlSet } from '../db/sql-file';
import { isEstimate, listCases, type CaseFilter } from '../review/cases';
import { CASE_STEP_LABELS, CASE_STEPS, type CaseStep } from '../review/schemas';
import { pageCells, primed, streamCsv, streamXlsx } from './stream';

const SQL = sqlSet(new URL('./cases.sql', import.meta.url), ['case_steps', 'case_polygons', 'case_notes'] as const);

const PAGE = 1000;

export type CaseExportFilter = Omit<CaseFilter, 'limit' | 'offset'>;

interface CaseItem {
  id: number;
  number: string;
  year: number;
  party: string;
  address: string;
  village: string | null;
  kind: 'under_construction' | 'existing';
  discovered_on: string;
  status: 'open' | 'closed';
  outcome: keyof typeof OUTCOME | null;
  outcome_at: string | null;
  outcome_m2: number | null;
  created_by_name: string;
  overdue: boolean;
  overdue_steps: CaseStep[];
  next_deadline: string | null;
  polygon_count: number;
}

interface Step {
  case_id: number;
  step: CaseStep;
  started_on: string | null;
  deadline: string | null;
  done_on: string | null;
}

type CaseRow = CaseItem & { steps: Map<CaseStep, Step>; codes: string | null; polygons_m2: number | null; note: string | null };

/** Pages of cases with their steps and polygons. */
async function* casePages(q: Queryable, f: CaseExportFilter): AsyncGenerator<CaseRow[]> {
  for (let offset = 0; ; offset += PAGE) {
    const { items } = await listCases(q, { ...f, order: 'asc', limit: PAGE, offset });
    const cases = items as unknown as CaseItem[];
    if (!cases.length) return;
    const ids = cases.map((c) => c.id);
    const [steps, polys, notes] = await Promise.all([
      q.query<Step>(SQL.case_steps, [f.regionCode, ids]),
      q.query<{ case_id: number; codes: string; area_m2: number }>(SQL.case_polygons, [f.regionCode, ids, f.scope ?? null]),
      q.query<{ id: number; note: string | null }>(SQL.case_notes, [f.regionCode, ids]),
    ]);
    const stepsOf = new Map<number, Map<CaseStep, Step>>();
    for (const s of steps.rows) {
      if (!stepsOf.has(s.case_id)) stepsOf.set(s.case_id, new Map());
      stepsOf.get(s.case_id)!.set(s.step, s);
    }
    const polyOf = new Map(polys.rows.map((p) => [p.case_id, p]));
    const noteOf = new Map(notes.rows.map((n) => [n.id, n.note]));
    yield cases.map((c) => ({
      ...c,
      steps: stepsOf.get(c.id) ?? new Map(),
      codes: polyOf.get(c.id)?.codes ?? null,
      polygons_m2: polyOf.get(c.id)?.area_m2 ?? null,
      note: noteOf.get(c.id) ?? null,
    }));
    if (cases.length < PAGE) return;
  }
}

const KIND = { under_construction: '在建', existing: '存量' } as const;
const OUTCOME = { demolished: '拆除', regularised: '完善手续', confiscated: '没收', other: '其他' } as const;

interface Column {
  header: string;
  width: number;
  numFmt?: string;
  /** a date column of the XLSX (see SheetColumn) */
  type?: 'date';
  value: (c: CaseRow, seq: number) => string | number | null;
}

const stepColumns: Column[] = CASE_STEPS.flatMap((s): Column[] => [
  ...(s === 'utility_notice' ? [{ header: `${CASE_STEP_LABELS[s].zh}：通知日期`, width: 14, type: 'date' as const, value: (c: CaseRow) => c.steps.get(s)?.started_on ?? null }] : []),
  ...(s !== 'outcome' ? [{ header: `${CASE_STEP_LABELS[s].zh}：期限`, width: 14, type: 'date' as const, value: (c: CaseRow) => c.steps.get(s)?.deadline ?? null }] : []),
  { header: `${CASE_STEP_LABELS[s].zh}：完成日期`, width: 14, type: 'date', value: (c: CaseRow) => c.steps.get(s)?.done_on ?? null },
]);

export const CASE_COLUMNS: Column[] = [
  { header: '序号', width: 7, value: (_c, seq) => seq },
  { header: '案件编号', width: 24, value: (c) => c.number },
  { header: '当事人', width: 14, value: (c) => c.party },
  { header: '地址', width: 26, value: (c) => c.address },
  { header: '村（社区）', width: 14, value: (c) => c.village },
  { header: '类型', width: 8, value: (c) => KIND[c.kind] ?? c.kind },
  { header: '发现日期', width: 12, type: 'date', value: (c) => c.discovered_on },
  { header: '案件状态', width: 10, value: (c) => (c.status === 'open' ? '办理中' : '已结案') },
  { header: '处理结果', width: 10, value: (c) => (c.outcome ? OUTCOME[c.outcome] : null) },
  { header: '结案日期', width: 12, type: 'date', value: (c) => c.outcome_at },
  { header: '拆除面积（平方米）', width: 14, numFmt: '0.00', value: (c) => c.outcome_m2 },
  { header: '图斑数', width: 8, value: (c) => c.polygon_count },
  { header: '图斑编号', width: 30, value: (c) => c.codes },
  { header: '图斑面积（平方米）', width: 14, numFmt: '0.00', value: (c) => (c.polygons_m2 == null ? null : Number(c.polygons_m2.toFixed(2))) },
  ...stepColumns,
  { header: '是否逾期', width: 9, value: (c) => (c.overdue ? '是' : '否') },
  { header: '逾期步骤', width: 26, value: (c) => c.overdue_steps.map((s) => CASE_STEP_LABELS[s]?.zh ?? s).join('、') || null },
  { header: '最近期限', width: 12, type: 'date', value: (c) => c.next_deadline },
  // beyond the published holiday calendar the holidays are estimated (issue 13 rule 8)
  {
    header: '估算期限的步骤', width: 20,
    value: (c) => [...c.steps.values()].filter((s) => s.step !== 'outcome' && isEstimate(s.deadline)).map((s) => CASE_STEP_LABELS[s.step].zh).join('、') || null,
  },
  { header: '立案人', width: 10, value: (c) => c.created_by_name },
  { header: '备注', width: 24, value: (c) => c.note },
];

export const CASE_HEADERS = CASE_COLUMNS.map((c) => c.header);

export async function casesXlsx(q: Queryable, f: CaseExportFilter, res: Response, onStart: () => void): Promise<number> {
  const pages = await primed(casePages(q, f));
  onStart();
  return streamXlsx(res, '案件台账', CASE_COLUMNS, pageCells(pages, (c, seq) => CASE_COLUMNS.map((col) => col.value(c, seq))));
}

export async function casesCsv(q: Queryable, f: CaseExportFilter, res: Response, onStart: () => void): Promise<number> {
  const pages = await primed(casePages(q, f));
  onStart();
  return streamCsv(res, CASE_HEADERS, pageCells(pages, (c, seq) => CASE_COLUMNS.map((col) => col.value(c, seq))));
}
