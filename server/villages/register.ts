/**
 * The village register (村（社区）责任人名册, migration 010): for each village the person who answers for it
 * (the 村（居）书记 by default, or another named responsible person) and a phone. Shown as 责任人 in the
 * 图斑台账, in the village report and on a case. Kept by an admin one row at a time or by a CSV import
 * (the office keeps the list in Excel: UTF-8 with or without a BOM, or GBK as Excel zh-CN saves it).
 */
import iconv from 'iconv-lite';
import { z } from 'zod';
import type { Queryable } from '../db/types';
import { sqlSet } from '../db/sql-file';
import { AppError } from '../errors';

const SQL = sqlSet(new URL('./register.sql', import.meta.url), ['list', 'get', 'upsert', 'delete', 'known_villages'] as const);

export const DEFAULT_TITLE = '村（居）书记';

const name = (max: number) => z.string().trim().min(1).max(max);
/** digits, spaces, + - ( ): a mobile (13812345678) or a landline (0796-1234567) */
const Phone = z.string().trim().regex(/^[0-9+() -]{3,30}$/, 'a phone number: digits, spaces, + - ( )');

export const RegisterEntry = z.object({
  responsible: name(100).describe('责任人: the 村（居）书记 or the named responsible person'),
  title: z.string().trim().max(50).optional().describe(`职务; default ${DEFAULT_TITLE}`),
  phone: Phone.nullable().optional().describe('联系电话'),
}).strict();
export type RegisterEntry = z.infer<typeof RegisterEntry>;

export const RegisterRow = z.object({
  village: z.string(), responsible: z.string(), title: z.string(), phone: z.string().nullable(),
  updated_at: z.string(), updated_by: z.string(),
});

export interface Responsible {
  village: string;
  responsible: string;
  title: string;
  phone: string | null;
}

export async function listRegister(q: Queryable, region: string, scope?: string[]) {
  return (await q.query<z.infer<typeof RegisterRow>>(SQL.list, [region, scope ?? null])).rows;
}

/** The village's responsible person, or null when the register has no row for it. */
export async function responsibleFor(q: Queryable, region: string, village: string | null | undefined): Promise<Responsible | null> {
  if (!village) return null;
  return (await q.query<Responsible>(SQL.get, [region, village])).rows[0] ?? null;
}

export async function upsertEntry(q: Queryable, region: string, village: string, e: RegisterEntry, by: string) {
  const v = name(100).parse(village);
  const r = (await q.query<Responsible & { inserted: boolean }>(SQL.upsert, [region, v, e.responsible, e.title || DEFAULT_TITLE, e.phone || null, by])).rows[0];
  return r;
}

export async function deleteEntry(q: Queryable, region: string, village: string) {
  const r = await q.query(SQL.delete, [region, village]);
  if (!r.rows.length) throw new AppError('not_found', `No register entry for ${village}`, `名册中没有村（社区）“${village}”`, 404);
}

// ---------------------------------------------------------------------------------------------------
// CSV import

/** Header names accepted for each column (the office's spreadsheets use several). */
const HEADERS: Record<'village' | 'responsible' | 'title' | 'phone', string[]> = {
  village: ['村（社区）', '村(社区)', '村名', '村', '社区', '村（居）', 'village'],
  responsible: ['责任人', '负责人', '村（居）书记', '书记', '姓名', 'responsible'],
  title: ['职务', 'title'],
  phone: ['联系电话', '电话', '手机', '手机号', 'phone'],
};

export interface ImportReport {
  inserted: number;
  updated: number;
  /** rows refused, each with its line number and why (nothing is dropped in silence) */
  refused: { line: number; reason: string; reason_zh: string }[];
  /** villages of the file the data does not know (a typo?): stored, but said */
  unknown_villages: string[];
}

/** UTF-8 (BOM or valid) or else GBK, as Excel zh-CN writes "CSV". */
export function decodeCsv(bytes: Uint8Array): string {
  const b = Buffer.from(bytes);
  if (b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) return b.subarray(3).toString('utf8');
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(b);
  } catch {
    return iconv.decode(b, 'gbk');
  }
}

/**
 * RFC 4180 records: quoted fields with "" escapes and line breaks, CRLF or LF. Small enough to keep here
 * (the register is a few hundred lines at most) rather than add a CSV package for one import.
 */
export function parseCsv(text: string): { line: number; cells: string[] }[] {
  const out: { line: number; cells: string[] }[] = [];
  let cells: string[] = [];
  let cur = '';
  let quoted = false;
  let line = 1;
  let start = 1;
  const endRecord = () => {
    cells.push(cur);
    if (cells.some((c) => c.trim() !== '')) out.push({ line: start, cells });
    cells = [];
    cur = '';
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { cur += '"'; i++; } else if (ch === '"') quoted = false;
      else { if (ch === '\n') line++; cur += ch; }
    } else if (ch === '"' && cur === '') quoted = true;
    else if (ch === ',') { cells.push(cur); cur = ''; } else if (ch === '\r' && text[i + 1] === '\n') { /* CRLF: the \n ends it */ } else if (ch === '\n') {
      endRecord();
      line++;
      start = line;
    } else cur += ch;
  }
  if (quoted) throw new AppError('csv_unterminated', `Unterminated quoted field from line ${start}`, `第 ${start} 行起的引号未闭合`, 422);
  endRecord();
  return out;
}

export async function importRegisterCsv(q: Queryable, region: string, bytes: Uint8Array, by: string): Promise<ImportReport> {
  const records = parseCsv(decodeCsv(bytes));
  if (!records.length) throw new AppError('csv_empty', 'The file has no rows', '文件中没有数据', 422);
  const head = records[0].cells.map((h) => h.trim());
  const col = Object.fromEntries(Object.entries(HEADERS).map(([k, names]) => [k, head.findIndex((h) => names.includes(h))])) as Record<keyof typeof HEADERS, number>;
  if (col.village < 0 || col.responsible < 0) {
    throw new AppError('csv_headers', `The header row needs a village column (${HEADERS.village[0]}) and a responsible-person column (${HEADERS.responsible[0]}); found: ${head.join(', ')}`,
      `表头须有“${HEADERS.village[0]}”列和“${HEADERS.responsible[0]}”列，实际为：${head.join('，')}`, 422, { headers: head });
  }
  const report: ImportReport = { inserted: 0, updated: 0, refused: [], unknown_villages: [] };
  const known = new Set((await q.query<{ village: string }>(SQL.known_villages, [region])).rows.map((r) => r.village));
  const seen = new Map<string, number>();
  for (const { line, cells } of records.slice(1)) {
    const cell = (i: number) => (i >= 0 ? (cells[i] ?? '').trim() : '');
    const village = cell(col.village);
    const entry = RegisterEntry.safeParse({ responsible: cell(col.responsible), title: cell(col.title) || undefined, phone: cell(col.phone) || null });
    if (!village || village.length > 100) {
      report.refused.push({ line, reason: 'no village name (or longer than 100 characters)', reason_zh: '缺少村（社区）名称（或超过 100 字）' });
      continue;
    }
    if (!entry.success) {
      const bad = entry.error.issues[0]?.path[0];
      report.refused.push(bad === 'phone'
        ? { line, reason: `${village}: phone "${cell(col.phone)}" is not a phone number`, reason_zh: `${village}：电话“${cell(col.phone)}”不是有效号码` }
        : { line, reason: `${village}: no responsible person (or longer than 100 characters)`, reason_zh: `${village}：缺少责任人（或超过 100 字）` });
      continue;
    }
    if (seen.has(village)) {
      report.refused.push({ line, reason: `${village} already on line ${seen.get(village)}`, reason_zh: `${village} 已在第 ${seen.get(village)} 行出现` });
      continue;
    }
    seen.set(village, line);
    const r = await upsertEntry(q, region, village, entry.data, by);
    if (r.inserted) report.inserted++;
    else report.updated++;
    if (!known.has(village)) report.unknown_villages.push(village);
  }
  return report;
}
