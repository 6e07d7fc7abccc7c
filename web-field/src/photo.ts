/// <reference path="./exifr-mini.d.ts" />
/**
 * A photo from the phone's camera, made ready to upload: its EXIF (time, GPS, heading, camera) read from the
 * ORIGINAL first — resizing through a canvas drops it — then scaled to about 2 megapixels as a JPEG. A small
 * JPEG (≤ 2.2 MP, ≤ 2.5 MB) is sent as it is, EXIF included, so the server can read it itself.
 */
import type { LonLat } from './geo';

/**
 * The tags the server keeps (server/field/exif.ts EXIF_TAGS), by their numeric ids: exifr's mini build has
 * no tag dictionary. Per IFD: 0th (camera), Exif (times), GPS.
 */
const TAG_IDS: Record<'ifd0' | 'exif' | 'gps', Record<number, string>> = {
  ifd0: { 271: 'Make', 272: 'Model', 274: 'Orientation' },
  exif: { 36867: 'DateTimeOriginal', 36868: 'CreateDate', 36880: 'OffsetTime', 36881: 'OffsetTimeOriginal' },
  gps: {
    1: 'GPSLatitudeRef', 2: 'GPSLatitude', 3: 'GPSLongitudeRef', 4: 'GPSLongitude', 6: 'GPSAltitude', 7: 'GPSTimeStamp',
    16: 'GPSImgDirectionRef', 17: 'GPSImgDirection', 29: 'GPSDateStamp', 31: 'GPSHPositioningError',
  },
};
const TARGET_PIXELS = 2_000_000;

export interface PreparedPhoto {
  blob: Blob;
  width: number;
  height: number;
  /** raw EXIF tags of the original (what the server is sent as `exif`) */
  exif: Record<string, unknown>;
  takenAt: string | null;
  exifPosition: LonLat | null;
  heading: number | null;
  resized: boolean;
}

export async function readExif(file: Blob): Promise<Record<string, unknown>> {
  try {
    const { default: exifr } = await import('exifr/dist/mini.esm.mjs');
    // a JPEG's EXIF lives in its APP1 segment (≤ 64 KB) near the start: read no more than that
    const head = await file.slice(0, 192 * 1024).arrayBuffer();
    const raw = await exifr.parse(head, { mergeOutput: false, reviveValues: false, translateValues: false, translateKeys: false, ifd1: false });
    if (!raw) return {};
    const out: Record<string, unknown> = {};
    for (const [block, names] of Object.entries(TAG_IDS)) {
      const src = raw[block] as Record<string, unknown> | undefined;
      if (!src) continue;
      for (const [id, name] of Object.entries(names)) {
        const v = src[id];
        if (typeof v === 'string') out[name] = v.slice(0, 200);
        else if (typeof v === 'number' && Number.isFinite(v)) out[name] = v;
        else if (Array.isArray(v) && v.every((n) => typeof n === 'number')) out[name] = v.slice(0, 4);
      }
    }
    return out;
  } catch {
    return {};
  }
}

function dms(v: unknown, ref: unknown, neg: string): number | null {
  if (!Array.isArray(v) || !v.length) return typeof v === 'number' ? v : null;
  const d = (v[0] ?? 0) + (v[1] ?? 0) / 60 + (v[2] ?? 0) / 3600;
  return typeof ref === 'string' && ref.toUpperCase().startsWith(neg) ? -d : d;
}

/** EXIF time as an ISO instant; without an offset tag the camera clock is China time (as on the server). */
export function exifTime(dt: unknown, off: unknown): string | null {
  if (typeof dt !== 'string') return null;
  const m = /^(\d{4})[:-](\d{2})[:-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})/.exec(dt.trim());
  if (!m) return null;
  const o = typeof off === 'string' && /^[+-]\d{2}:\d{2}$/.test(off.trim()) ? off.trim() : '+08:00';
  const d = new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${o}`);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

async function decode(file: Blob): Promise<{ src: CanvasImageSource; width: number; height: number; close(): void }> {
  if ('createImageBitmap' in window) {
    try {
      const bmp = await createImageBitmap(file, { imageOrientation: 'from-image' });
      return { src: bmp, width: bmp.width, height: bmp.height, close: () => bmp.close() };
    } catch {
      /* fall back to an <img> */
    }
  }
  const url = URL.createObjectURL(file);
  try {
    const img = new Image();
    img.decoding = 'async';
    img.src = url;
    await img.decode();
    return { src: img, width: img.naturalWidth, height: img.naturalHeight, close: () => URL.revokeObjectURL(url) };
  } catch (e) {
    URL.revokeObjectURL(url);
    throw e;
  }
}

export async function preparePhoto(file: File): Promise<PreparedPhoto> {
  const exif = await readExif(file);
  const lat = dms(exif.GPSLatitude, exif.GPSLatitudeRef, 'S');
  const lon = dms(exif.GPSLongitude, exif.GPSLongitudeRef, 'W');
  const base = {
    exif,
    takenAt: exifTime(exif.DateTimeOriginal, exif.OffsetTimeOriginal) ?? exifTime(exif.CreateDate, exif.OffsetTime),
    exifPosition: lat !== null && lon !== null && !(lat === 0 && lon === 0) ? ([lon, lat] as LonLat) : null,
    heading: typeof exif.GPSImgDirection === 'number' ? exif.GPSImgDirection : null,
  };
  const img = await decode(file);
  try {
    const px = img.width * img.height;
    if (file.type === 'image/jpeg' && px <= TARGET_PIXELS * 1.1 && file.size <= 2.5 * 1024 * 1024) {
      return { ...base, blob: file, width: img.width, height: img.height, resized: false };
    }
    const k = Math.min(1, Math.sqrt(TARGET_PIXELS / px));
    const w = Math.max(1, Math.round(img.width * k));
    const h = Math.max(1, Math.round(img.height * k));
    const canvas = document.createElement('canvas');
    canvas.width = w;
    canvas.height = h;
    const ctx = canvas.getContext('2d')!;
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(img.src, 0, 0, w, h);
    const blob = await new Promise<Blob>((resolve, reject) =>
      canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('toBlob failed'))), 'image/jpeg', 0.85));
    return { ...base, blob, width: w, height: h, resized: true };
  } finally {
    img.close();
  }
}
