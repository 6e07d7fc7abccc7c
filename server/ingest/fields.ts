/**
 * Which delivered attribute plays which part. Deliveries name fields in Chinese, in pinyin initials
 * (TBBH = 图斑编号) or in English; we match case-insensitively against these synonyms, first hit wins.
 * A user can always name the field explicitly (--code-field / codeField).
 */
export const FIELD_SYNONYMS = {
  code: ['图斑编号', 'TBBH', '图斑号', 'TBH', '监测图斑编号', 'JCBH', '编号', 'BH', 'CODE', 'ID', 'BSM', '标识码'],
  regionCode: ['行政区代码', 'XZQDM', 'XZQHDM', '行政区划代码', 'REGION_CODE'],
  villageName: ['村名', '村名称', 'CM', 'XZQMC', '行政区名称', '村（社区）', '村社区'],
  parcelCode: ['宗地代码', 'ZDDM', '宗地编码', '宗地号', 'ZDH', 'PARCEL_CODE'],
  holder: ['权利人', 'QLR', '权利人名称', 'QLRMC', '使用权人', 'HOLDER', 'OWNER'],
  landUse: ['土地用途', 'TDYT', '用途', 'YT', '地类名称', 'DLMC', 'LAND_USE'],
  approvedArea: ['批准面积', 'PZMJ', '宗地面积', 'ZDMJ', 'APPROVED_AREA'],
  name: ['名称', 'MC', 'NAME', '村名', '学校名称', 'XXMC', '小区名称', 'XQMC', '道路名称', 'DLMC', '村名称', 'XZQMC'],
} as const;

/**
 * Width-like attributes of a road layer. Never taken as the frontage band's width on their own: a road's
 * 路宽 is the carriageway, not the band of first-row buildings (it once cut frontage hits from 142 to 26
 * without a word; issue 11, item 8). The band width comes from --width or a field named with --width-field;
 * these names only help the refusal say which field the user may mean.
 */
export const WIDTH_LIKE_FIELDS = ['宽度', 'KD', 'WIDTH', '路宽', 'LK', '道路宽度', 'DLKD', 'BUFFER', '缓冲宽度', '带宽'] as const;

export type FieldRole = keyof typeof FIELD_SYNONYMS;

/** The first delivered field name that matches one of the role's synonyms (exact, then case-insensitive). */
export function findField(fields: readonly string[], role: FieldRole, explicit?: string): string | undefined {
  if (explicit) return fields.find((f) => f === explicit) ?? fields.find((f) => f.toLowerCase() === explicit.toLowerCase());
  for (const s of FIELD_SYNONYMS[role]) {
    const hit = fields.find((f) => f === s) ?? fields.find((f) => f.toUpperCase() === s.toUpperCase());
    if (hit) return hit;
  }
  return undefined;
}

export function textValue(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  const s = String(v).trim();
  return s === '' ? null : s;
}

export function numberValue(v: unknown): number | null {
  if (v === null || v === undefined || v === '') return null;
  const n = typeof v === 'number' ? v : Number(String(v).trim());
  return Number.isFinite(n) ? n : null;
}
