import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { featureCollection, intersect } from '@turf/turf';
import type { Feature, MultiPolygon, Polygon, Position } from 'geojson';
// shpjs: an independent reader of what the generator writes
import { parseDbf, parseShp } from 'shpjs';
import { generateSample, type SampleManifest } from '../../scripts/generate-sample';
import { esriWktForEpsg } from '../../server/shapefile/prj';
import { traceCells } from '../../scripts/sample/geometry';

type Geom = Polygon | MultiPolygon | { type: 'LineString' | 'Point'; coordinates: unknown } | null;
interface Layer {
  names: string[];
  files: Record<string, Uint8Array>;
  geoms: Geom[];
  rows: Record<string, unknown>[];
  ldid: number;
  cpg: string | null;
}

const dv = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

function readLayer(dir: string, file: string): Layer {
  const files = unzipSync(new Uint8Array(readFileSync(join(dir, file))));
  const names = Object.keys(files);
  const shpName = names.find((n) => n.endsWith('.shp'))!;
  const base = shpName.slice(0, -4);
  const dbf = files[`${base}.dbf`];
  return {
    names,
    files,
    geoms: parseShp(dv(files[shpName])) as Geom[],
    rows: parseDbf(dv(dbf), 'gbk') as Record<string, unknown>[],
    ldid: dbf[29],
    cpg: files[`${base}.cpg`] ? new TextDecoder().decode(files[`${base}.cpg`]) : null,
  };
}

function ringArea(r: Position[]): number {
  let s = 0;
  const [x0, y0] = r[0];
  for (let i = 1; i < r.length - 1; i++) s += (r[i][0] - x0) * (r[i + 1][1] - y0) - (r[i + 1][0] - x0) * (r[i][1] - y0);
  return Math.abs(s / 2);
}
function area(g: Polygon | MultiPolygon): number {
  const polys = g.type === 'Polygon' ? [g.coordinates] : g.coordinates;
  return polys.reduce((a, p) => a + p.reduce((b, r, i) => b + (i === 0 ? 1 : -1) * ringArea(r), 0), 0);
}
function bbox(g: Polygon | MultiPolygon): [number, number, number, number] {
  const b: [number, number, number, number] = [Infinity, Infinity, -Infinity, -Infinity];
  const polys = g.type === 'Polygon' ? [g.coordinates] : g.coordinates;
  for (const p of polys)
    for (const [x, y] of p[0]) {
      b[0] = Math.min(b[0], x);
      b[1] = Math.min(b[1], y);
      b[2] = Math.max(b[2], x);
      b[3] = Math.max(b[3], y);
    }
  return b;
}
const overlaps = (a: number[], b: number[]) => a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3];

/** turf works in the plane here: shift to local metres so floating point stays exact enough */
function local(g: Polygon | MultiPolygon, ox: number, oy: number): Feature<Polygon | MultiPolygon> {
  const shift = (r: Position[]) => r.map(([x, y]) => [x - ox, y - oy]);
  return {
    type: 'Feature',
    properties: {},
    geometry: g.type === 'Polygon' ? { type: 'Polygon', coordinates: g.coordinates.map(shift) } : { type: 'MultiPolygon', coordinates: g.coordinates.map((p) => p.map(shift)) },
  };
}
function overlapArea(a: Polygon | MultiPolygon, b: Polygon | MultiPolygon, ox: number, oy: number): number {
  const i = intersect(featureCollection([local(a, ox, oy), local(b, ox, oy)]));
  return i ? area(i.geometry) : 0;
}

const hashDir = (dir: string) =>
  Object.fromEntries(
    readdirSync(dir)
      .filter((f) => f.endsWith('.zip'))
      .sort()
      .map((f) => [f, createHash('sha256').update(readFileSync(join(dir, f))).digest('hex')]),
  );

describe('generateSample (tiny scale)', () => {
  let dirA: string;
  let dirB: string;
  let dirC: string;
  let manifest: SampleManifest;
  beforeAll(() => {
    dirA = mkdtempSync(join(tmpdir(), 'sample-a-'));
    dirB = mkdtempSync(join(tmpdir(), 'sample-b-'));
    dirC = mkdtempSync(join(tmpdir(), 'sample-c-'));
    manifest = generateSample({ out: dirA, scale: 'tiny', seed: 7 });
    generateSample({ out: dirB, scale: 'tiny', seed: 7 });
    generateSample({ out: dirC, scale: 'tiny', seed: 8 });
  });
  afterAll(() => {
    for (const d of [dirA, dirB, dirC]) rmSync(d, { recursive: true, force: true });
  });

  it('is deterministic: same seed → identical zip bytes; another seed differs', () => {
    const a = hashDir(dirA);
    expect(Object.keys(a)).toEqual([
      'cadastral.zip',
      'compounds.zip',
      'frontage-band.zip',
      'frontage.zip',
      'green.zip',
      'schools-point.zip',
      'schools.zip',
      'survey-2020.zip',
      'villages.zip',
    ]);
    expect(hashDir(dirB)).toEqual(a);
    const c = hashDir(dirC);
    expect(c['cadastral.zip']).not.toBe(a['cadastral.zip']);
    expect(c['survey-2020.zip']).not.toBe(a['survey-2020.zip']);
    expect(readdirSync(dirA).filter((f) => f.startsWith('.'))).toEqual([]); // temp files cleaned up
  });

  it('writes counts in range, a manifest and a README that say synthetic', () => {
    const count = (k: string) => manifest.layers.find((l) => l.key === k)!.count;
    expect(count('survey')).toBeGreaterThanOrEqual(45);
    expect(count('survey')).toBeLessThanOrEqual(60);
    expect(count('cadastral')).toBeGreaterThanOrEqual(400);
    expect(count('cadastral')).toBeLessThanOrEqual(900);
    expect(count('villages')).toBe(3);
    expect(count('frontage')).toBe(1);
    expect(count('frontageBand')).toBe(1);
    expect(count('schools')).toBeGreaterThanOrEqual(1);
    expect(count('compounds')).toBeGreaterThanOrEqual(1);
    expect(count('green')).toBeGreaterThanOrEqual(1);
    expect(manifest.synthetic).toBe(true);
    expect(manifest.epsg).toBe(4523);
    const readme = readFileSync(join(dirA, 'README.md'), 'utf8');
    expect(readme).toContain('合成数据');
    expect(readme).toContain('synthetic');
    expect(JSON.parse(readFileSync(join(dirA, 'manifest.json'), 'utf8')).seed).toBe(7);
  });

  it('delivers every zip as a shapefile with ESRI .prj (EPSG:4523), GBK, SYNTHETIC.txt; .cpg and LDID vary as documented', () => {
    for (const l of manifest.layers) {
      const layer = readLayer(dirA, l.file);
      const base = l.layer;
      expect(layer.names).toContain(`${base}.shp`);
      expect(layer.names).toContain(`${base}.shx`);
      expect(layer.names).toContain(`${base}.dbf`);
      expect(new TextDecoder().decode(layer.files[`${base}.prj`])).toBe(esriWktForEpsg(4523));
      expect(new TextDecoder().decode(layer.files['SYNTHETIC.txt'])).toContain('合成数据');
      expect(layer.cpg).toBe(l.cpg ? 'GBK' : null);
      expect(layer.ldid).toBe(l.ldid ? 0x4d : 0);
    }
    const survey = manifest.layers.find((l) => l.key === 'survey')!;
    expect(survey.layer).toBe('2020年遥感监测图斑');
    expect(survey.fields.map((f) => f.name)).toEqual(['图斑编号', '行政区代码', '村名', '前时相', '后时相', '变化类型', '面积', '备注']);
    // at least one zip without .cpg but with LDID, one with neither
    expect(manifest.layers.some((l) => !l.cpg && l.ldid)).toBe(true);
    expect(manifest.layers.some((l) => !l.cpg && !l.ldid)).toBe(true);
  });

  it('places everything in GK zone 35 with the zone prefix near Ji’an', () => {
    for (const l of manifest.layers) {
      const [x0, y0, x1, y1] = l.bbox!;
      expect(x0).toBeGreaterThan(35_580_000);
      expect(x1).toBeLessThan(35_600_000);
      expect(y0).toBeGreaterThan(3_245_000);
      expect(y1).toBeLessThan(3_262_000);
    }
  });

  it('has parcels that do not overlap (sample, turf) and tile each village exactly', () => {
    const cad = readLayer(dirA, 'cadastral.zip');
    const parcels = cad.geoms as Polygon[];
    expect(parcels.every((g) => g && g.type === 'Polygon')).toBe(true);
    const boxes = parcels.map(bbox);
    const [ox, oy] = [boxes[0][0], boxes[0][1]];
    const areas = parcels.map(area);
    // sizes: 200–3,000 m² nominal; jitter may move a few slightly outside
    const inRange = areas.filter((a) => a >= 150 && a <= 3300).length;
    expect(inRange / areas.length).toBeGreaterThan(0.97);
    let pairs = 0;
    for (let i = 0; i < parcels.length; i += 3) {
      for (let j = 0; j < parcels.length; j++) {
        if (i === j || !overlaps(boxes[i], boxes[j])) continue;
        pairs++;
        expect(overlapArea(parcels[i], parcels[j], ox, oy)).toBeLessThan(0.01);
      }
    }
    expect(pairs).toBeGreaterThan(200);
    // each village polygon's area = sum of its parcels' areas (parcels tile the village)
    const villages = readLayer(dirA, 'villages.zip');
    const byCode = new Map<string, number>();
    cad.rows.forEach((r, i) => byCode.set(String(r['行政区代码']), (byCode.get(String(r['行政区代码'])) ?? 0) + areas[i]));
    villages.rows.forEach((r, i) => {
      const a = area(villages.geoms[i] as Polygon | MultiPolygon);
      expect(Math.abs((byCode.get(String(r['行政区代码'])) ?? 0) - a) / a).toBeLessThan(1e-9);
    });
    // parcel codes: 19 characters, unique
    const codes = cad.rows.map((r) => String(r['宗地代码']));
    expect(codes.every((c) => /^500118\d{6}[A-Z]{2}\d{5}$/.test(c))).toBe(true);
    expect(new Set(codes).size).toBe(codes.length);
    expect(new Set(cad.rows.map((r) => r['土地用途'])).size).toBeGreaterThanOrEqual(5);
  });

  it('has survey polygons with unique codes (but for two exact duplicates), nulls and realistic overlaps', () => {
    const s = readLayer(dirA, 'survey-2020.zip');
    const codes = s.rows.map((r) => String(r['图斑编号']));
    expect(codes.every((c) => /^500118-2020-\d{6}$/.test(c))).toBe(true);
    expect(new Set(codes).size).toBe(codes.length - 2);
    // the duplicates are exact: same attributes and same geometry
    const seen = new Map<string, number>();
    let dups = 0;
    codes.forEach((c, i) => {
      if (seen.has(c)) {
        const j = seen.get(c)!;
        expect(JSON.stringify(s.rows[i])).toBe(JSON.stringify(s.rows[j]));
        expect(JSON.stringify(s.geoms[i])).toBe(JSON.stringify(s.geoms[j]));
        dups++;
      } else seen.set(c, i);
    });
    expect(dups).toBe(2);
    expect(s.geoms.filter((g) => g === null).length).toBe(3); // 2 null + 1 empty, written as null shapes
    expect(s.rows.some((r) => String(r['村名']).trim() === '')).toBe(true); // outside every village
    expect(s.rows.every((r) => r['前时相'] instanceof Date && (r['前时相'] as Date).getUTCFullYear() === 2019)).toBe(true);
    expect(s.rows.every((r) => r['后时相'] instanceof Date && (r['后时相'] as Date).getUTCFullYear() === 2020)).toBe(true);

    // overlaps with parcels: most polygons touch 1–3 parcels; delivered area close to the true one
    const cad = readLayer(dirA, 'cadastral.zip');
    const parcels = cad.geoms as Polygon[];
    const boxes = parcels.map(bbox);
    const [ox, oy] = [boxes[0][0], boxes[0][1]];
    const band = readLayer(dirA, 'frontage-band.zip').geoms[0] as Polygon;
    let oneToThree = 0;
    let inBand = 0;
    let polys = 0;
    s.geoms.forEach((g, i) => {
      if (!g || (g.type !== 'Polygon' && g.type !== 'MultiPolygon')) return;
      polys++;
      const a = area(g);
      expect(a).toBeGreaterThan(40);
      expect(a).toBeLessThan(4500);
      const b = bbox(g);
      let n = 0;
      parcels.forEach((p, k) => {
        if (overlaps(b, boxes[k]) && overlapArea(g, p, ox, oy) > 0.01) n++;
      });
      if (n >= 1 && n <= 3) oneToThree++;
      if (overlapArea(g, band, ox, oy) > 0) inBand++;
      expect(Math.abs(Number(s.rows[i]['面积']) - a) / a).toBeLessThan(0.08);
    });
    expect(oneToThree / polys).toBeGreaterThan(0.6);
    expect(inBand).toBeGreaterThanOrEqual(3);
  });
});

describe('traceCells', () => {
  it('outlines cell sets, splitting regions that touch at a corner and keeping holes', () => {
    // 3 × 3 grid: cells 0 (0,0) and 4 (1,1) touch at a corner → two squares
    const pinch = traceCells([0, 4], 3);
    expect(pinch).toHaveLength(2);
    for (const p of pinch) expect(p[0]).toHaveLength(4);
    // ring of 8 cells around the centre of a 3 × 3 grid → one polygon with a hole
    const ring = traceCells([0, 1, 2, 3, 5, 6, 7, 8], 3);
    expect(ring).toHaveLength(1);
    expect(ring[0]).toHaveLength(2);
    expect(ring[0][0]).toHaveLength(12);
    expect(ring[0][1]).toHaveLength(4);
    // L-shape of three cells
    expect(traceCells([0, 1, 3], 3)[0][0]).toHaveLength(8);
  });
});

