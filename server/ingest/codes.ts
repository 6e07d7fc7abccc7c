/**
 * Which attribute keys a survey polygon (its code, 图斑编号), and which survey a delivery belongs to.
 * Both are decided from the whole file, while its records stream into the staging table: the trackers
 * here see every record once (import.ts buildRows) and decide at the end. Issue 11, items 1 and 4.
 *
 * Code field rules:
 *  - a field the user named (--code-field) or a designated code name (图斑编号, TBBH …) is THE code field:
 *    its duplicated values are a defect of the delivery (refused unless --duplicates says otherwise);
 *  - a generic synonym (编号, BH, CODE, ID, BSM, 标识码 — ArcGIS writes an all-zero `Id` into every
 *    shapefile) is chosen only when its values are non-empty and unique in the file; otherwise it is passed
 *    over and the report says why;
 *  - when no field qualifies, codes are generated ('<survey>-<record>'): the import succeeds with a warning,
 *    and a later version of the survey is matched to these polygons by geometry overlap (load.sql).
 */
import { IngestError } from '../errors';
import { FIELD_SYNONYMS, textValue } from './fields';
import { warning, type Warning } from './warn';

/** Names that can only mean the polygon's code: their duplicates are genuine. */
export const DESIGNATED_CODE_FIELDS = ['图斑编号', 'TBBH', '图斑号', 'TBH', '监测图斑编号', 'JCBH'] as const;

const upper = (s: string) => s.toUpperCase();
/**
 * A dBase field name holds 10 bytes: in UTF-8 (3 bytes a character) 图斑编号 arrives as 图斑编, 监测图斑编号 as
 * 监测图. A Chinese name of 3+ characters that begins a designated name is that name, cut short.
 */
const truncatedDesignated = (f: string) =>
  /^[\u4e00-\u9fff]{3,}$/.test(f) && DESIGNATED_CODE_FIELDS.some((d) => d !== f && d.startsWith(f));
const isDesignated = (f: string) => DESIGNATED_CODE_FIELDS.some((d) => upper(d) === upper(f)) || truncatedDesignated(f);

export type CodeSource = 'option' | 'designated' | 'synonym' | 'generated';

export interface PassedOver {
  field: string;
  /** records with no value */
  empty: number;
  /** records whose value an earlier record already had */
  duplicated: number;
  /** a few of the duplicated values */
  examples: string[];
}

export interface CodeChoice {
  /** the field whose values are the codes; null when every code is generated */
  field: string | null;
  /** index into CodeTracker.candidates (null: none) */
  index: number | null;
  source: CodeSource;
  passedOver: PassedOver[];
}

interface Stats {
  empty: number;
  duplicated: number;
  examples: string[];
  seen: Set<string>;
}

/** Fields matching the code synonyms, in synonym order (or just the one the user named). */
export function codeCandidates(fields: readonly string[], explicit?: string): string[] {
  if (explicit) {
    const hit = fields.find((f) => f === explicit) ?? fields.find((f) => upper(f) === upper(explicit));
    return hit ? [hit] : [];
  }
  const out: string[] = [];
  for (const s of FIELD_SYNONYMS.code) {
    const hit = fields.find((f) => f === s) ?? fields.find((f) => upper(f) === upper(s));
    if (hit && !out.includes(hit)) out.push(hit);
  }
  // truncated designated names rank after every exact name
  for (const f of fields) if (truncatedDesignated(f) && !out.includes(f)) out.push(f);
  return out;
}

/** Sees each record's candidate values; decides the code field once the file has been read. */
export class CodeTracker {
  private readonly stats: Stats[];
  constructor(
    readonly candidates: string[],
    private readonly explicit: boolean,
  ) {
    this.stats = candidates.map(() => ({ empty: 0, duplicated: 0, examples: [], seen: new Set() }));
  }

  /** The record's value of every candidate (text, trimmed; null when empty). */
  observe(props: Record<string, unknown>): (string | null)[] {
    return this.candidates.map((c, i) => {
      const v = textValue(props[c]);
      const s = this.stats[i];
      if (v === null) s.empty++;
      else if (s.seen.has(v)) {
        s.duplicated++;
        if (s.examples.length < 5 && !s.examples.includes(v)) s.examples.push(v);
      } else s.seen.add(v);
      return v;
    });
  }

  choose(): CodeChoice {
    const passedOver: PassedOver[] = [];
    for (let i = 0; i < this.candidates.length; i++) {
      const field = this.candidates[i];
      const s = this.stats[i];
      const any = s.seen.size > 0;
      if (this.explicit && any) return { field, index: i, source: 'option', passedOver };
      if (isDesignated(field) && any) return { field, index: i, source: 'designated', passedOver };
      if (!isDesignated(field) && !this.explicit && any && s.empty === 0 && s.duplicated === 0) {
        return { field, index: i, source: 'synonym', passedOver };
      }
      passedOver.push({ field, empty: s.empty, duplicated: s.duplicated, examples: s.examples });
    }
    return { field: null, index: null, source: 'generated', passedOver };
  }

  /** free the value sets (a district survey's 50k codes) once the choice is made */
  release() {
    for (const s of this.stats) s.seen.clear();
  }
}

/** A generated code: the survey key and the record number, readable and the same on every re-import. */
export const generatedCode = (survey: string, record: number) => `${survey}-${record}`;

// ---------------------------------------------------------------- the survey key

export type SurveyKeySource = 'option' | 'attribute' | 'file_name' | 'default';

export interface SurveyKey {
  value: string;
  source: SurveyKeySource;
  /** the attribute the year was read from */
  field?: string;
  /** records per year in that attribute, when they disagree */
  years?: Record<string, number>;
}

/** Attributes that date a survey, best first: the monitoring year, then the later image's date (后时相). */
export const SURVEY_DATE_FIELDS = ['监测年度', 'JCND', '年度', 'ND', '后时相', 'HSX'] as const;

const YEAR_IN_VALUE = /(?:^|[^0-9])((?:19|20)\d\d)(?![0-9])/;

/** The year a date-ish value carries: '2020', 2020, '2020-11-15', '20201115', '2020年11月'. */
export function yearOfValue(v: unknown): string | null {
  const t = textValue(v);
  if (t === null) return null;
  if (/^(?:19|20)\d\d(?:\d{4})?$/.test(t)) return t.slice(0, 4); // 2020 or 20201115
  const m = YEAR_IN_VALUE.exec(t);
  return m ? m[1] : null;
}

/**
 * A year that stands alone in a file name: a run of letters and digits that is exactly 19xx/20xx
 * ('survey-2020.zip', '2020年图斑.zip', 'tb_2021_v2.zip'), never a part of a longer token
 * ('dltb_cgcs2000.zip', 'DLTB20201115.zip').
 */
export function fileNameYear(fileName: string): string | null {
  const base = fileName.replace(/\\/g, '/').split('/').pop()!.replace(/\.[^.]*$/, '');
  for (const token of base.split(/[^A-Za-z0-9]+/)) if (/^(?:19|20)\d\d$/.test(token)) return token;
  return null;
}

/** Counts the years of the survey's date attribute while the records stream by. */
export class SurveyYearTracker {
  readonly field: string | undefined;
  private readonly years = new Map<string, number>();
  constructor(fields: readonly string[]) {
    this.field = SURVEY_DATE_FIELDS.map((s) => fields.find((f) => upper(f) === upper(s))).find((f) => f !== undefined);
  }
  observe(props: Record<string, unknown>) {
    if (!this.field) return;
    const y = yearOfValue(props[this.field]);
    if (y) this.years.set(y, (this.years.get(y) ?? 0) + 1);
  }
  /** --survey, else the most common year of the date attribute, else a standalone year in the file name. */
  key(option: string | undefined, fileName: string): SurveyKey {
    if (option) return { value: option, source: 'option' };
    if (this.field && this.years.size) {
      const sorted = [...this.years].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
      return {
        value: sorted[0][0],
        source: 'attribute',
        field: this.field,
        ...(sorted.length > 1 ? { years: Object.fromEntries(sorted) } : {}),
      };
    }
    const y = fileNameYear(fileName);
    return y ? { value: y, source: 'file_name' } : { value: 'default', source: 'default' };
  }
}

/** What to do with different polygons delivered under one code: refuse (default), keep the first, suffix. */
export const DUPLICATE_POLICIES = ['refuse', 'keep-first', 'suffix'] as const;
export type DuplicatePolicy = (typeof DUPLICATE_POLICIES)[number];

export function surveyKeyWarnings(key: SurveyKey): Warning[] {
  switch (key.source) {
    case 'option':
      return [];
    case 'attribute':
      return key.years
        ? [warning('survey_key_years_differ',
          `The survey key ${key.value} is the most common year of ${key.field}; the records span ${Object.entries(key.years).map(([y, n]) => `${y}: ${n}`).join(', ')}. Give --survey if that is wrong.`,
          `监测批次取字段“${key.field}”中最多的年份 ${key.value}；各年份记录数：${Object.entries(key.years).map(([y, n]) => `${y} 年 ${n} 条`).join('，')}。如不正确，请用 --survey 指定。`)]
        : [];
    case 'file_name':
      return [warning('survey_key_from_file_name',
        `No survey date attribute (监测年度/后时相); the survey key ${key.value} was taken from the file name. Give --survey if that is wrong.`,
        `没有监测年度或后时相字段，监测批次 ${key.value} 取自文件名。如不正确，请用 --survey 指定。`)];
    case 'default':
      return [warning('survey_key_default',
        `No survey date attribute (监测年度/后时相) and no year in the file name: the survey key is '${key.value}'. Give --survey.`,
        `没有监测年度或后时相字段，文件名中也没有年份，监测批次记为“${key.value}”。请用 --survey 指定。`)];
  }
}

export const listCodes = (d: { code: string; records: number[] }[], zh = false) =>
  d.slice(0, 10).map((x) => zh ? `${x.code}（第 ${x.records.join('、')} 条）` : `${x.code} (records ${x.records.join(', ')})`).join(zh ? '；' : '; ') +
  (d.length > 10 ? (zh ? ` 等共 ${d.length} 个` : ` and ${d.length - 10} more`) : '');

export function duplicateCodes(field: string | null, dups: { code: string; records: number[] }[], afterSuffix = false): IngestError {
  const f = field ?? 'code';
  return new IngestError('duplicate_codes',
    afterSuffix
      ? `Suffixing the duplicated codes of ${f} made codes that the file already has: ${listCodes(dups)}. Correct the delivery.`
      : `${dups.length} value(s) of ${f} are shared by different polygons: ${listCodes(dups)}. Correct the delivery, or import with --duplicates keep-first (later records skipped) or --duplicates suffix (later records get '-2', '-3').`,
    afterSuffix
      ? `为字段“${f}”的重复编号加后缀后，与文件中已有的编号冲突：${listCodes(dups, true)}。请修正数据后重新导入。`
      : `字段“${f}”有 ${dups.length} 个编号被不同图斑重复使用：${listCodes(dups, true)}。请修正数据，或使用 --duplicates keep-first（保留第一条，跳过其余）或 --duplicates suffix（其余依次加“-2”“-3”后缀）导入。`,
    { field, duplicates: dups.slice(0, 200), count: dups.length, policies: DUPLICATE_POLICIES });
}
