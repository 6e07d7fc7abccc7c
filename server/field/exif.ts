/**
 * EXIF of photo evidence: what the server reads from a stored file, and what the phone read from the
 * original before resizing it (the resized JPEG carries none). Both arrive as the same raw tag subset
 * (exifr with reviveValues: false) and are normalised here the same way.
 */
import { AppError } from '../errors';
import exifr from 'exifr';

/** The tags kept: time, position, heading, camera. Anything else the phone sends is dropped. */
export const EXIF_TAGS = [
  'Make', 'Model', 'Orientation', 'DateTimeOriginal', 'OffsetTimeOriginal', 'CreateDate', 'OffsetTime',
  'GPSLatitude', 'GPSLatitudeRef', 'GPSLongitude', 'GPSLongitudeRef', 'GPSAltitude', 'GPSImgDirection',
  'GPSImgDirectionRef', 'GPSDateStamp', 'GPSTimeStamp', 'GPSHPositioningError', 'latitude', 'longitude',
] as const;

export type RawExif = Partial<Record<(typeof EXIF_TAGS)[number], string | number | number[]>>;

export interface NormalExif {
  /** DateTimeOriginal as an instant; without an offset tag the camera clock is taken as China time (UTC+8) */
  taken_at: string | null;
  lat: number | null;
  lon: number | null;
  heading: number | null;
  camera: string | null;
}

/** Reads the kept tags from an image (JPEG/PNG/WebP…); {} when it has none or cannot be read. */
export async function readExif(bytes: Uint8Array): Promise<RawExif> {
  try {
    const raw = await exifr.parse(bytes, {
      tiff: true, exif: true, gps: true, ifd1: false, interop: false, xmp: false, icc: false, iptc: false, jfif: false,
      reviveValues: false, translateValues: false, translateKeys: true, pick: [...EXIF_TAGS],
    });
    return raw ? sanitize(raw) : {};
  } catch {
    return {};
  }
}

/** Untrusted input (the phone's JSON) → the kept tags only, each a short string, a number or up to 4 numbers. */
export function sanitize(v: unknown): RawExif {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return {};
  const out: RawExif = {};
  const src = v as Record<string, unknown>;
  for (const k of EXIF_TAGS) {
    const x = src[k];
    if (typeof x === 'string') out[k] = x.slice(0, 200);
    else if (typeof x === 'number' && Number.isFinite(x)) out[k] = x;
    else if (Array.isArray(x) && x.length >= 1 && x.length <= 4 && x.every((n) => typeof n === 'number' && Number.isFinite(n))) {
      out[k] = x as number[];
    }
  }
  return out;
}

const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);

function dms(v: unknown, ref: unknown, neg: string): number | null {
  let d: number | null = null;
  if (Array.isArray(v) && v.length) d = (v[0] ?? 0) + (v[1] ?? 0) / 60 + (v[2] ?? 0) / 3600;
  else d = num(v);
  if (d === null) return null;
  return typeof ref === 'string' && ref.toUpperCase().startsWith(neg) ? -Math.abs(d) : d;
}

/** `2021:07:21 10:30:00` (+ `+08:00`) → ISO instant, or null. */
export function exifTime(dt: unknown, offset: unknown): string | null {
  if (typeof dt !== 'string') return null;
  const m = /^(\d{4})[:-](\d{2})[:-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})/.exec(dt.trim());
  if (!m) return null;
  const off = typeof offset === 'string' && /^[+-]\d{2}:\d{2}$/.test(offset.trim()) ? offset.trim() : '+08:00';
  const d = new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${off}`);
  return Number.isNaN(d.getTime()) || d.getUTCFullYear() < 1990 ? null : d.toISOString();
}

export function normalizeExif(x: RawExif): NormalExif {
  let lat = num(x.latitude) ?? dms(x.GPSLatitude, x.GPSLatitudeRef, 'S');
  let lon = num(x.longitude) ?? dms(x.GPSLongitude, x.GPSLongitudeRef, 'W');
  if (lat === null || lon === null || Math.abs(lat) > 90 || Math.abs(lon) > 180 || (lat === 0 && lon === 0)) lat = lon = null;
  const heading = num(x.GPSImgDirection);
  const camera = [x.Make, x.Model].filter((s) => typeof s === 'string' && s.trim()).join(' ').trim() || null;
  return {
    taken_at: exifTime(x.DateTimeOriginal, x.OffsetTimeOriginal) ?? exifTime(x.CreateDate, x.OffsetTime),
    lat,
    lon,
    heading: heading !== null && heading >= 0 && heading <= 360 ? heading : null,
    camera,
  };
}

/** The file's own EXIF wins field by field; the phone's reading fills the gaps (a resized photo has none). */
export function mergeExif(file: NormalExif, phone: NormalExif): NormalExif {
  const gps = file.lat !== null ? { lat: file.lat, lon: file.lon } : { lat: phone.lat, lon: phone.lon };
  return {
    taken_at: file.taken_at ?? phone.taken_at,
    ...gps,
    heading: file.heading ?? phone.heading,
    camera: file.camera ?? phone.camera,
  };
}

/** The phone's own reading of a photo's EXIF, sent beside it as a JSON form field (absent: undefined). */
export function phoneExif(field: string | undefined): unknown {
  if (!field) return undefined;
  try {
    return JSON.parse(field);
  } catch {
    throw new AppError('invalid_input', 'exif must be JSON', 'exif 必须为 JSON', 400, [{ path: 'exif', message: 'not JSON' }]);
  }
}
