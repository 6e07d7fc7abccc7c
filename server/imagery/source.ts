/**
 * A GeoTIFF opened for import: its size, bands and sample format, its georeferencing (GeoTIFF keys, or a
 * .tfw + .prj beside it) and CRS, nodata and acquisition date — each checked, each refusal a bilingual 422
 * (issue 15 item 1). Pixels are read later, window by window (pyramid.ts).
 */
import { readFile } from 'node:fs/promises';
import { fromFile, type GeoTIFF, type GeoTIFFImage } from 'geotiff';
import { IngestError } from '../errors';
import { crsFromOption, crsFromPrj, knownCrs, type ResolvedCrs } from '../ingest/crs';

/** x = c + a·col + b·row, y = f + d·col + e·row, at pixel corners (col, row = 0 is the upper-left corner) */
export interface Affine {
  a: number;
  b: number;
  c: number;
  d: number;
  e: number;
  f: number;
}

export type BandLayout = 'grey' | 'grey_alpha' | 'rgb' | 'rgba';

export interface ImagerySource {
  tiff: GeoTIFF;
  image: GeoTIFFImage;
  width: number;
  height: number;
  /** bands read, in order (1–4); more bands in the file are ignored (a warning says so) */
  samples: number[];
  layout: BandLayout;
  bits: 8 | 16;
  signed: boolean;
  geo: Affine;
  georef: 'geokeys' | 'worldfile';
  crs: ResolvedCrs;
  crsHow: 'option' | 'geokeys' | 'prj';
  nodata: number | null;
  /** YYYY-MM-DD from the TIFF DateTime tag, if any */
  tiffDate: string | null;
  tiled: boolean;
  warnings: { code: string; message: string; message_zh: string }[];
}

export interface Sidecars {
  /** the text of a world file (.tfw / .tifw / .wld) beside the image */
  tfw?: string;
  /** the bytes of a .prj beside the image */
  prj?: Uint8Array;
}

/** a tag's value as numbers: tags come as a number, an array or a typed array */
const nums = (v: unknown): number[] =>
  v == null ? [] : typeof v === 'number' ? [v] : typeof v === 'string' ? [] : Array.from(v as ArrayLike<number>, Number);

const refuse = (code: string, message: string, message_zh: string, details?: unknown) => new IngestError(code, message, message_zh, details);

/** World file: six lines A, D, B, E, C, F — C/F at the CENTRE of the upper-left pixel. */
export function parseWorldFile(text: string): Affine {
  const v = text.trim().split(/\s+/).map(Number);
  if (v.length !== 6 || v.some((n) => !Number.isFinite(n))) {
    throw refuse('imagery_worldfile_invalid', 'The world file (.tfw) must hold six numbers', '世界文件（.tfw）必须包含 6 个数字', { values: v.length });
  }
  const [a, d, b, e, c, f] = v;
  return { a, b, c: c - a / 2 - b / 2, d, e, f: f - d / 2 - e / 2 };
}

function geoKeyAffine(image: GeoTIFFImage): Affine | undefined {
  const fd = image.fileDirectory;
  const pointShift = image.getGeoKeys()?.GTRasterTypeGeoKey === 2 ? 0.5 : 0; // PixelIsPoint: tie point at pixel centre
  const m = nums(fd.getValue('ModelTransformation'));
  if (m.length >= 16) {
    const g = { a: m[0], b: m[1], c: m[3], d: m[4], e: m[5], f: m[7] };
    return { ...g, c: g.c - pointShift * (g.a + g.b), f: g.f - pointShift * (g.d + g.e) };
  }
  const tie = nums(fd.getValue('ModelTiepoint'));
  const scale = nums(fd.getValue('ModelPixelScale'));
  if (tie.length >= 6 && scale.length >= 2) {
    const [i, j, , x, y] = tie;
    const [sx, sy] = scale;
    return { a: sx, b: 0, c: x - (i + pointShift) * sx, d: 0, e: -sy, f: y + (j + pointShift) * sy };
  }
  return undefined;
}

function geoKeyCrs(image: GeoTIFFImage): { code?: number; userDefined: boolean } {
  const k = image.getGeoKeys() ?? {};
  const projected = k.ProjectedCSTypeGeoKey as number | undefined;
  const geographic = k.GeographicTypeGeoKey as number | undefined;
  const model = k.GTModelTypeGeoKey as number | undefined; // 1 projected, 2 geographic
  const code = model === 2 ? geographic : (projected ?? geographic);
  if (code && code !== 32767) return { code, userDefined: false };
  return { userDefined: Object.keys(k).length > 0 };
}

/** "2020:10:01 10:30:00" → "2020-10-01" */
function tiffDateOf(image: GeoTIFFImage): string | null {
  // DateTime (306) is not among the tags geotiff types as eagerly read; it is, being short ASCII
  const v = (image.fileDirectory.getValue as (t: number) => unknown)(306);
  const m = typeof v === 'string' ? /^(\d{4})[:-](\d{2})[:-](\d{2})/.exec(v.trim()) : null;
  if (!m) return null;
  const iso = `${m[1]}-${m[2]}-${m[3]}`;
  return Number.isNaN(Date.parse(iso)) ? null : iso;
}

export async function openImagerySource(file: string, o: { srs?: string; sidecars?: Sidecars } = {}): Promise<ImagerySource> {
  let tiff: GeoTIFF;
  try {
    tiff = await fromFile(file);
  } catch (e) {
    throw refuse('imagery_not_tiff', 'The file is not a readable GeoTIFF', '该文件不是可读取的 GeoTIFF', { reason: (e as Error).message });
  }
  try {
    return await describe(tiff, o);
  } catch (e) {
    await tiff.close();
    throw e;
  }
}

async function describe(tiff: GeoTIFF, o: { srs?: string; sidecars?: Sidecars }): Promise<ImagerySource> {
  const image = await tiff.getImage(0);
  const fd = image.fileDirectory;
  const width = image.getWidth();
  const height = image.getHeight();
  const spp = image.getSamplesPerPixel();
  const bits = nums(fd.getValue('BitsPerSample'))[0] ?? 8;
  const fmt = nums(fd.getValue('SampleFormat'))[0] ?? 1;
  const photometric = nums(fd.getValue('PhotometricInterpretation'))[0];
  const extra = nums(fd.getValue('ExtraSamples'));
  const warnings: ImagerySource['warnings'] = [];

  // sample formats: 8-bit and 16-bit integers; the rest is refused with what to do instead
  if (fmt === 3) {
    throw refuse('imagery_sample_format', `Floating-point samples (${bits}-bit float) are not supported: deliver 8-bit or 16-bit integer imagery (gdal_translate -ot Byte -scale)`,
      `不支持浮点像元（${bits} 位浮点）：请提供 8 位或 16 位整数影像（可用 gdal_translate -ot Byte -scale 转换）`, { bits, sample_format: 'float' });
  }
  if (bits !== 8 && bits !== 16) {
    throw refuse('imagery_sample_format', `${bits}-bit samples are not supported: deliver 8-bit or 16-bit imagery`,
      `不支持 ${bits} 位像元：请提供 8 位或 16 位影像`, { bits });
  }
  if (photometric === 3) {
    throw refuse('imagery_sample_format', 'Palette (colour-mapped) images are not supported: expand to RGB first (gdal_translate -expand rgb)',
      '不支持调色板影像：请先展开为 RGB（gdal_translate -expand rgb）', { photometric: 'palette' });
  }
  if (photometric === 6 && nums(fd.getValue('Compression'))[0] !== 7) {
    throw refuse('imagery_sample_format', 'YCbCr images are supported only with JPEG compression: convert to RGB first',
      'YCbCr 影像仅支持 JPEG 压缩：请先转换为 RGB', { photometric: 'ycbcr' });
  }
  const alphaAt = (i: number) => extra[i - (photometric === 2 || photometric === 6 ? 3 : 1)] === 1 || extra[i - (photometric === 2 || photometric === 6 ? 3 : 1)] === 2;
  let layout: BandLayout;
  let samples: number[];
  if (spp === 1) [layout, samples] = ['grey', [0]];
  else if (spp === 2) [layout, samples] = ['grey_alpha', [0, 1]];
  else if (spp === 3) [layout, samples] = ['rgb', [0, 1, 2]];
  else if (spp === 4 && alphaAt(3)) [layout, samples] = ['rgba', [0, 1, 2, 3]];
  else if (spp === 4) {
    // a fourth band that is not alpha is usually near-infrared: the first three are shown as RGB
    [layout, samples] = ['rgb', [0, 1, 2]];
    warnings.push({ code: 'imagery_band4_ignored', message: 'The fourth band is not alpha (near-infrared?); bands 1–3 are shown as red, green, blue',
      message_zh: '第 4 波段不是透明度（可能是近红外），已按第 1–3 波段作为红、绿、蓝显示' });
  } else {
    throw refuse('imagery_bands', `${spp} bands: only 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA / RGB + NIR) are supported; pick the RGB bands first (gdal_translate -b 3 -b 2 -b 1)`,
      `影像有 ${spp} 个波段：仅支持 1（灰度）、2（灰度+透明）、3（RGB）或 4（RGBA / RGB+近红外）个波段；请先选出 RGB 波段（gdal_translate -b 3 -b 2 -b 1）`, { bands: spp });
  }

  // georeferencing: the file's own keys, else a world file beside it
  let geo = geoKeyAffine(image);
  let georef: ImagerySource['georef'] = 'geokeys';
  if (!geo && o.sidecars?.tfw) {
    geo = parseWorldFile(o.sidecars.tfw);
    georef = 'worldfile';
  }
  if (!geo) {
    throw refuse('imagery_no_georeference', 'The image has no georeferencing: no GeoTIFF tie point / transformation and no .tfw world file beside it',
      '影像没有地理参考：既无 GeoTIFF 控制点/变换参数，旁边也没有 .tfw 世界文件', {});
  }
  if (Math.abs(geo.b) > 1e-9 * Math.abs(geo.a) || Math.abs(geo.d) > 1e-9 * Math.abs(geo.e)) {
    throw refuse('imagery_rotated', 'The image is rotated or sheared (its geotransform has rotation terms); warp it north-up first (gdalwarp)',
      '影像有旋转或错切（地理变换含旋转参数）；请先重采样为正北朝上（gdalwarp）', { geotransform: [geo.c, geo.a, geo.b, geo.f, geo.d, geo.e] });
  }
  if (!(geo.a > 0) || !(geo.e < 0)) {
    throw refuse('imagery_rotated', 'The image is flipped (pixel size must be positive east and negative north); warp it north-up first (gdalwarp)',
      '影像上下或左右翻转（像元大小须东向为正、北向为负）；请先重采样为正北朝上（gdalwarp）', { pixel_size: [geo.a, geo.e] });
  }

  // CRS: the option, else the file's EPSG code, else the .prj beside it
  let crs: ResolvedCrs;
  let crsHow: ImagerySource['crsHow'];
  const keys = geoKeyCrs(image);
  if (o.srs) [crs, crsHow] = [crsFromOption(o.srs), 'option'];
  else if (keys.code && knownCrs(keys.code)) [crs, crsHow] = [crsFromOption(`EPSG:${keys.code}`), 'geokeys'];
  else if (o.sidecars?.prj) [crs, crsHow] = [crsFromPrj(o.sidecars.prj), 'prj'];
  else if (keys.code) {
    throw refuse('imagery_crs_unknown', `The image's coordinate system EPSG:${keys.code} is not one tuban knows; pass --srs EPSG:n or reproject (gdalwarp -t_srs EPSG:4523)`,
      `影像坐标系 EPSG:${keys.code} 不受支持；请用 --srs EPSG:n 指定或先重投影（gdalwarp -t_srs EPSG:4523）`, { epsg: keys.code });
  } else {
    throw refuse('imagery_crs_unknown', 'The coordinate system of the image is unknown (no EPSG code in the file, no .prj beside it); pass --srs EPSG:n',
      '无法确定影像的坐标系（文件中无 EPSG 代码，旁边也无 .prj）；请用 --srs EPSG:n 指定', {});
  }

  return {
    tiff, image, width, height, samples, layout, bits, signed: fmt === 2, geo, georef, crs, crsHow,
    nodata: image.getGDALNoData(), tiffDate: tiffDateOf(image), tiled: image.isTiled, warnings,
  };
}

/** The .tfw / .prj next to a file on disk (same base name; .tfw, .tifw or .wld), when there. */
export async function sidecarsBeside(file: string): Promise<Sidecars> {
  const base = file.replace(/\.[^./\\]+$/, '');
  const first = async (exts: string[]) => {
    for (const ext of exts) {
      for (const e of [ext, ext.toUpperCase()]) {
        const b = await readFile(base + e).catch(() => undefined);
        if (b) return b;
      }
    }
    return undefined;
  };
  const tfw = await first(['.tfw', '.tifw', '.wld']);
  const prj = await first(['.prj']);
  return { tfw: tfw?.toString('utf8'), prj };
}
