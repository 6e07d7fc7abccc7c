/**
 * The band width of a frontage delivered as centrelines (issue 11 item 8): `--width` or a field named with
 * `--width-field`, never a road's own width (路宽, 道路宽度) picked up by its name — that cut frontage hits
 * from 142 to 26 without a word. The report says which width was used and where it came from.
 */
import { IngestError } from '../errors';
import { WIDTH_LIKE_FIELDS } from './fields';
import type { ReadResult } from './types';
import { warning, type Warning } from './warn';

export interface BandReport {
  width_m: number | null;
  source: 'option' | 'field';
  field?: string;
}

const LINEAR = new Set(['LineString', 'MultiLineString']);

/** Band width of a frontage delivered as centrelines: --width-field, else --width; never guessed. */
export function bandWidth(widthOption: number | undefined, mode: string, src: ReadResult, fields: string[], widthField: string | undefined): BandReport | undefined {
  const hasLines = Object.keys(src.geometryTypes).some((t) => LINEAR.has(t));
  if (mode !== 'band' || !hasLines) return undefined;
  const widthM = widthOption && widthOption > 0 ? widthOption : null;
  if (widthField) return { width_m: widthM, source: 'field', field: widthField };
  if (widthM !== null) return { width_m: widthM, source: 'option' };
  const like = fields.filter((f) => WIDTH_LIKE_FIELDS.some((w) => w.toUpperCase() === f.toUpperCase()));
  throw new IngestError('width_missing',
    'The frontage is delivered as centrelines: give the band width in metres with --width, or name the field holding it with --width-field' +
      (like.length ? ` (the file has ${like.join(', ')}; a road's width is not the frontage band's, so it is not used unless named)` : ''),
    '沿线图层为道路中心线：请用 --width <米> 指定带宽，或用 --width-field 指定存放带宽的字段' +
      (like.length ? `（文件中有字段${like.map((x) => `“${x}”`).join('、')}；道路宽度不等于沿线带宽，除非明确指定，否则不使用）` : ''),
    { fields, width_like_fields: like });
}

export function bandWarnings(band: BandReport, fields: string[]): Warning[] {
  const unused = fields.filter((f) => f !== band.field && WIDTH_LIKE_FIELDS.some((w) => w.toUpperCase() === f.toUpperCase()));
  const used = band.source === 'field'
    ? [`field ${band.field}${band.width_m ? ` (${band.width_m} m where it is empty)` : ''}`, `字段“${band.field}”${band.width_m ? `（为空时取 ${band.width_m} 米）` : ''}`]
    : [`${band.width_m} m from --width`, `--width 指定的 ${band.width_m} 米`];
  return [
    warning('band_width',
      `The frontage centrelines were buffered to a band of ${used[0]}${unused.length ? `; ${unused.join(', ')} (a road width) was not used` : ''}.`,
      `沿线道路中心线按带宽 ${used[1]} 生成缓冲带${unused.length ? `；未使用字段${unused.map((x) => `“${x}”`).join('、')}（道路宽度）` : ''}。`),
  ];
}
