/**
 * The sample town's synthetic imagery (issue 15 item 5), checked with GDAL as an outside reader:
 * a valid GeoTIFF in EPSG:4523 whose corners are the town's extent, labelled 合成数据, dated like the
 * survey records; every drawn survey building stands exactly on its polygon in the after image and
 * not in the before one; the structures the survey missed are there too. geotiff.js (the importer's
 * reader) must read the same georeferencing and pixels.
 *
 * GDAL must be installed (CI installs gdal-bin): locally the GDAL suite is skipped with a message when
 * `gdalinfo` is missing; under CI (process.env.CI) a missing gdalinfo fails.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Feature, FeatureCollection, Polygon, Position } from 'geojson';
import { fromFile } from 'geotiff';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSample, type SampleManifest } from '../../scripts/generate-sample';
import { AFTER_TINT, IMAGERY_FILES, NEW_ROOFS, generateSampleImagery, type SampleImageryInfo } from '../../scripts/sample/imagery';

function has(cmd: string): boolean {
  try {
    execFileSync(cmd, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const GDAL = has('gdalinfo') && has('gdallocationinfo') && has('ogr2ogr');
if (!GDAL && !process.env.CI) console.warn('sample-imagery: GDAL (gdalinfo/gdallocationinfo/ogr2ogr) not found, the GDAL checks are skipped. Install gdal-bin to run them.');

describe('GDAL for the sample imagery tests', () => {
  it.runIf(!!process.env.CI)('is installed in CI (gdalinfo, gdallocationinfo, ogr2ogr)', () => {
    expect(GDAL, 'gdalinfo/gdallocationinfo/ogr2ogr missing: .ci/run installs gdal-bin').toBe(true);
  });
});

type RGB = [number, number, number];
const env = { ...process.env, LC_ALL: 'C.UTF-8' };

/** RGB of the pixels under EPSG:4523 points, by gdallocationinfo (one process for all the points) */
function pixels(file: string, pts: Position[]): RGB[] {
  const out = execFileSync('gdallocationinfo', ['-geoloc', '-valonly', file], { input: pts.map((p) => `${p[0]} ${p[1]}`).join('\n') + '\n', env, encoding: 'utf8' });
  const v = out.trim().split(/\s+/).map(Number);
  expect(v.length, out).toBe(pts.length * 3);
  return pts.map((_, i) => [v[i * 3], v[i * 3 + 1], v[i * 3 + 2]]);
}
const tint = (c: RGB): RGB => c.map((v, b) => Math.min(255, Math.max(0, v * AFTER_TINT.gain[b] + AFTER_TINT.add[b]))) as RGB;
const dist = (a: RGB, b: RGB) => Math.max(...a.map((v, i) => Math.abs(v - b[i])));
/** the nearest new-roof colour as the after image shows it: a gable side is ±12, the grain ±2 */
const nearestNewRoof = (c: RGB) => Math.min(...NEW_ROOFS.flatMap((r) => [-12, 0, 12].map((s) => dist(c, tint(r.map((v) => v + s) as RGB)))));
const mean = (ring: Position[]): Position => {
  const n = ring.length - 1;
  return [ring.slice(0, n).reduce((a, p) => a + p[0], 0) / n, ring.slice(0, n).reduce((a, p) => a + p[1], 0) / n];
};

/** every turn the same way: not a bow-tie (whose centre is its crossing point) */
const convex = (ring: Position[]) => {
  const turns = ring.slice(0, -1).map((p, i, r) => {
    const q = r[(i + 1) % r.length];
    const s = r[(i + 2) % r.length];
    return Math.sign((q[0] - p[0]) * (s[1] - q[1]) - (q[1] - p[1]) * (s[0] - q[0]));
  });
  return turns.every((t) => t === turns[0]);
};

describe.runIf(GDAL)('sample imagery (tiny town)', () => {
  let dir: string;
  let again: string;
  let info: SampleImageryInfo;
  let manifest: SampleManifest;
  let survey: Feature<Polygon>[];
  const file = (epoch: 'before' | 'after', d = dir) => path.join(d, IMAGERY_FILES[epoch]);

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'tuban-imagery-'));
    again = mkdtempSync(path.join(tmpdir(), 'tuban-imagery-'));
    manifest = generateSample({ out: dir, scale: 'tiny', seed: 42 });
    info = await generateSampleImagery({ out: dir, scale: 'tiny', seed: 42 });
    await generateSampleImagery({ out: again, scale: 'tiny', seed: 42 });
    // the survey as delivered (the zip the server imports), read by GDAL
    const fc = JSON.parse(execFileSync('ogr2ogr', ['-f', 'GeoJSON', '/vsistdout/', `/vsizip/${path.join(dir, 'survey-2020.zip')}`], { env, encoding: 'utf8', maxBuffer: 64e6 })) as FeatureCollection;
    survey = fc.features.filter((f): f is Feature<Polygon> => f.geometry?.type === 'Polygon' && f.geometry.coordinates.length > 0);
  }, 60_000);
  afterAll(() => {
    for (const d of [dir, again]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it('is deterministic: the same seed gives byte-identical files', () => {
    for (const epoch of ['before', 'after'] as const) {
      const h = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');
      expect(h(file(epoch, again)), epoch).toBe(h(file(epoch)));
    }
  });

  it('is a georeferenced 8-bit RGB GeoTIFF in EPSG:4523 covering the town, labelled synthetic and dated like the survey', () => {
    const cadastral = manifest.layers.find((l) => l.key === 'cadastral')!.bbox!;
    const mode = (field: string) => {
      const n = new Map<string, number>();
      for (const f of survey) n.set(String(f.properties![field]), (n.get(String(f.properties![field])) ?? 0) + 1);
      return [...n].sort((a, b) => b[1] - a[1])[0][0];
    };
    for (const epoch of ['before', 'after'] as const) {
      const g = JSON.parse(execFileSync('gdalinfo', ['-json', file(epoch)], { env, encoding: 'utf8' }));
      expect(g.driverShortName).toBe('GTiff');
      expect(g.coordinateSystem.wkt).toMatch(/ID\["EPSG",4523\]\]$/);
      expect(g.bands.map((b: { type: string; colorInterpretation: string }) => `${b.type}/${b.colorInterpretation}`)).toEqual(['Byte/Red', 'Byte/Green', 'Byte/Blue']);
      const [x0, sx, rx, y0, ry, sy] = g.geoTransform;
      expect([sx, rx, ry, sy]).toEqual([info.resolution, 0, 0, -info.resolution]);
      expect([x0, y0]).toEqual([info.bbox[0], info.bbox[3]]);
      // the corners: the town's (cadastral) extent with a margin under 41 m on every side
      const { upperLeft, lowerRight } = g.cornerCoordinates;
      const margins = [cadastral[0] - upperLeft[0], upperLeft[1] - cadastral[3], lowerRight[0] - cadastral[2], cadastral[1] - lowerRight[1]];
      for (const m of margins) expect(m).toBeGreaterThan(0), expect(m).toBeLessThan(41 + info.resolution);
      const md = g.metadata[''];
      expect(md.TIFFTAG_IMAGEDESCRIPTION).toContain('合成数据');
      expect(md.TIFFTAG_IMAGEDESCRIPTION).toContain('SYNTHETIC');
      expect(md.AREA_OR_POINT).toBe('Area');
      const date = info.epochs.find((e) => e.epoch === epoch)!.date;
      expect(date).toBe(mode(epoch === 'before' ? '前时相' : '后时相'));
      expect(md.TIFFTAG_DATETIME).toBe(`${date.replaceAll('-', ':')} 00:00:00`);
      expect(date.slice(0, 4)).toBe(epoch === 'before' ? '2019' : '2020');
    }
  });

  it("puts every lone survey building's new roof exactly on its polygon, absent before", () => {
    const centres = survey.map((f) => mean(f.geometry.coordinates[0]));
    // rectangles (4 corners) that are buildings, with no other survey polygon within 30 m (whose shadow could reach)
    const lone = survey.filter((f, i) => {
      const ring = f.geometry.coordinates[0];
      if (ring.length !== 5 || !convex(ring) || !['新增建设用地', '疑似违法建筑'].includes(String(f.properties!['变化类型']))) return false;
      return centres.every((c, j) => j === i || Math.hypot(c[0] - centres[i][0], c[1] - centres[i][1]) > 45);
    });
    expect(lone.length).toBeGreaterThan(5);
    const inside = lone.map((f) => mean(f.geometry.coordinates[0]));
    // 2 m south of the southernmost corner: outside the roof, and shadows fall north
    const south = lone.map((f) => {
      const low = f.geometry.coordinates[0].reduce((a, p) => (p[1] < a[1] ? p : a));
      return [low[0], low[1] - 2];
    });
    const [bIn, aIn, bOut, aOut] = [pixels(file('before'), inside), pixels(file('after'), inside), pixels(file('before'), south), pixels(file('after'), south)];
    lone.forEach((f, i) => {
      const id = f.properties!['图斑编号'];
      expect(nearestNewRoof(aIn[i]), `${id} after ${aIn[i]}`).toBeLessThanOrEqual(3);
      expect(dist(tint(bIn[i]), aIn[i]), `${id} before ${bIn[i]} vs after ${aIn[i]}`).toBeGreaterThan(20);
      expect(dist(tint(bOut[i]), aOut[i]), `${id} south of it: before ${bOut[i]} vs after ${aOut[i]}`).toBeLessThanOrEqual(1);
    });
  });

  it('has new roofs that no survey polygon covers (what the survey missed)', () => {
    expect(info.unsurveyed.length).toBeGreaterThanOrEqual(4);
    for (const u of info.unsurveyed)
      for (const f of survey) for (const p of f.geometry.coordinates[0]) expect(Math.hypot(p[0] - u.x, p[1] - u.y)).toBeGreaterThan(20);
    const pts = info.unsurveyed.map((u) => [u.x, u.y]);
    const [b, a] = [pixels(file('before'), pts), pixels(file('after'), pts)];
    pts.forEach((_, i) => {
      expect(nearestNewRoof(a[i]), `after ${a[i]}`).toBeLessThanOrEqual(3);
      expect(dist(tint(b[i]), a[i])).toBeGreaterThan(20);
    });
  });

  it('reads the same in geotiff.js (the importer’s reader): EPSG, bounds and pixels', async () => {
    const tif = await fromFile(file('after'));
    const img = await tif.getImage();
    expect(img.getGeoKeys()?.ProjectedCSTypeGeoKey).toBe(4523);
    expect(img.getBoundingBox()).toEqual(info.bbox);
    expect([img.getWidth(), img.getHeight(), img.getSamplesPerPixel()]).toEqual([info.width, info.height, 3]);
    const u = info.unsurveyed[0];
    const col = Math.floor((u.x - info.bbox[0]) / info.resolution);
    const row = Math.floor((info.bbox[3] - u.y) / info.resolution);
    const px = (await img.readRasters({ window: [col, row, col + 1, row + 1], interleave: true })) as unknown as Uint8Array;
    expect([...px]).toEqual(pixels(file('after'), [[u.x, u.y]])[0]);
    await tif.close?.();
  });
});
