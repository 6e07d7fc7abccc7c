/**
 * The 巡查登记台账 (patrol ledger) as XLSX / CSV: the plan has the town office "建立违建巡查登记台账"
 * (实施方案 五(一)) for its 日常巡查 (六(三)). The plan names no columns; these are what a patrol register
 * holds — when, where, who, how far — and, on the same row, what the patrol found: one row per patrol, its
 * findings (the leads they became, and the cases opened at once for construction in progress) in its cells.
 * Patrols are read through patrol/patrol.ts listPatrols (scope and filters there), a page at a time.
 */
import type { Response } from 'express';
import type { Queryable } from '../db/types';
import { listPatrols, type PatrolFilter } from '../patrol/patrol';
import { REPORT_CATEGORIES, type ReportCategory } from '../leads/reports';
import { STATUS_LABELS, type Status } from '../review/transitions';
import { pageCells, primed, streamCsv, streamXlsx, type SheetColumn } from './stream';

const PAGE = 500;

interface Finding {
  code: string;
  category: ReportCategory;
  under_construction: boolean;
  note: string | null;
  status: Status;
  case_number: string | null;
  found_at: Date | string;
}

interface PatrolRow {
  client_id: string;
  village: string;
  members: string[];
  started_at: Date | string;
  ended_at: Date | string;
  distance_m: number;
  track_points: number;
  note: string | null;
  created_by_name: string;
  findings: Finding[];
}

async function* patrolPages(q: Queryable, region: string, f: PatrolFilter): AsyncGenerator<PatrolRow[]> {
  for (let offset = 0; ; offset += PAGE) {
    const { items } = await listPatrols(q, region, f, PAGE, offset);
    if (!items.length) return;
    yield items as unknown as PatrolRow[];
    if (items.length < PAGE) return;
  }
}

/** Beijing wall-clock text (the ledger's dates and times are Beijing's, as in the other ledgers) */
function beijing(v: Date | string): string {
  const d = new Date(new Date(v).getTime() + 8 * 3600_000);
  return d.toISOString().slice(0, 19).replace('T', ' ');
}

interface Column extends SheetColumn {
  value: (p: PatrolRow, seq: number) => string | number | null;
}

const joined = (p: PatrolRow, fn: (f: Finding) => string | null) => p.findings.map(fn).filter(Boolean).join('；') || null;

export const PATROL_COLUMNS: Column[] = [
  { header: '序号', width: 7, value: (_p, seq) => seq },
  { header: '巡查日期', width: 12, type: 'date', value: (p) => beijing(p.started_at).slice(0, 10) },
  { header: '村（社区）', width: 14, value: (p) => p.village },
  { header: '巡查人员', width: 18, value: (p) => p.members.join('、') },
  { header: '开始时间', width: 19, type: 'datetime', value: (p) => beijing(p.started_at) },
  { header: '结束时间', width: 19, type: 'datetime', value: (p) => beijing(p.ended_at) },
  { header: '时长（分钟）', width: 10, value: (p) => Math.round((new Date(p.ended_at).getTime() - new Date(p.started_at).getTime()) / 60_000) },
  { header: '巡查里程（公里）', width: 12, numFmt: '0.00', value: (p) => Number((p.distance_m / 1000).toFixed(2)) },
  { header: '轨迹点数', width: 9, value: (p) => p.track_points },
  { header: '发现问题数', width: 10, value: (p) => p.findings.length },
  { header: '其中在建', width: 9, value: (p) => p.findings.filter((f) => f.under_construction).length },
  { header: '线索编号', width: 26, value: (p) => joined(p, (f) => f.code) },
  {
    header: '发现情况', width: 40,
    value: (p) => joined(p, (f) => `${f.code} ${REPORT_CATEGORIES[f.category] ?? f.category}${f.under_construction ? '（在建）' : ''}${f.note ? `：${f.note}` : ''}`),
  },
  { header: '处理状态', width: 22, value: (p) => joined(p, (f) => `${f.code} ${STATUS_LABELS[f.status]?.zh ?? f.status}`) },
  { header: '立案编号', width: 24, value: (p) => joined(p, (f) => f.case_number) },
  { header: '登记人', width: 10, value: (p) => p.created_by_name },
  { header: '备注', width: 24, value: (p) => p.note },
  { header: '巡查编号', width: 38, value: (p) => p.client_id },
];

export const PATROL_HEADERS = PATROL_COLUMNS.map((c) => c.header);

const cells = (p: PatrolRow, seq: number) => PATROL_COLUMNS.map((c) => c.value(p, seq));

export async function patrolsXlsx(q: Queryable, region: string, f: PatrolFilter, res: Response, onStart: () => void): Promise<number> {
  const pages = await primed(patrolPages(q, region, f));
  onStart();
  return streamXlsx(res, '巡查登记台账', PATROL_COLUMNS, pageCells(pages, cells));
}

export async function patrolsCsv(q: Queryable, region: string, f: PatrolFilter, res: Response, onStart: () => void): Promise<number> {
  const pages = await primed(patrolPages(q, region, f));
  onStart();
  return streamCsv(res, PATROL_HEADERS, pageCells(pages, cells));
}
