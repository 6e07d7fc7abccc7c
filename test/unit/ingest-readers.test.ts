/**
 * Issue 11 items 2, 3, 5 at the reader level (pure, no database): every file of test/fixtures/readers
 * (scripts/fixtures/make-reader-inputs.ts) read with the options an import into its layer would use,
 * plus the checks behind them (vertex sample, work region, TOWGS84, .shp length, control characters), and
 * an audit of every message the readers produce for those files and for test/fixtures/bad.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import proj4 from 'proj4';
import { describe, expect, it } from 'vitest';
import type { Polygon } from 'geojson';
import { readSource } from '../../server/ingest/read';
import { IngestError } from '../../server/errors';
import { BBox, SAMPLE_MAX } from '../../server/ingest/geometry';
import { crsFromOption, crsFromPrj } from '../../server/ingest/crs';
import { checkPlacement, workRegion } from '../../server/ingest/placement';
import type { GeometryAccept } from '../../server/ingest/accept';
import type { ReadOptions, ReadResult } from '../../server/ingest/types';
import { ALBERS, EXPECTATIONS, PRJ_ALBERS, PRJ_TOWGS84_CUSTOM, PRJ_TOWGS84_NAMED, SQUARES, X0, Y0 } from '../../scripts/fixtures/make-reader-inputs';
import type { ExpectationsFile } from '../../scripts/fixtures/make-bad-inputs';
import { makeShapefile, square, zip, PRJ } from '../helpers/shp-bytes';
import { all, codes, LIMITS, opts, refused } from '../helpers/ingest';

const DIR = path.resolve('test/fixtures/readers');
const BAD = path.resolve('test/fixtures/bad');
const modeOf = (layer: string): GeometryAccept => (layer === 'frontage' ? 'band' : layer === 'school' ? 'any' : 'polygon');
const optsFor = (file: string, layer: string, o: { srs?: string; sourceLayer?: string } = {}): ReadOptions =>
  opts({ fileName: file, accept: { geometry: modeOf(layer), layer }, ...o });

async function readFixture(file: string): Promise<ReadResult> {
  const e = EXPECTATIONS[file];
  return readSource(new Uint8Array(readFileSync(path.join(DIR, file))), optsFor(file, e.layer, e.options));
}

/** message_zh is Chinese throughout: no English phrase (three Latin words in a row) once names are set aside. */
function assertChinese(zh: string, context: string) {
  const stripped = zh
    .replace(/“[^”]*”|"[^"]*"/g, '') // quoted names (files, fields, layers, CRS names)
    .replace(/--[\w-]+(\s+[\w:./-]+)?/g, '') // options and their values
    .replace(/npm run \w+|(GET|POST) \/api\/\S+/g, '') // commands and routes
    .replace(/\b[A-Z][A-Za-z]*(\[[^\]]*\])?/g, '') // type and format names: GeoJSON, FeatureCollection, TOWGS84[…]
    .replace(/[\w.-]+\.(shp|dbf|prj|cpg|shx|zip|json|geojson)\b/gi, '');
  expect(stripped, `${context}: ${zh}`).toMatch(/[\u4e00-\u9fff]/);
  expect(stripped, `${context}: ${zh}`).not.toMatch(/[a-z]{2,}\s+[a-z]{2,}\s+[a-z]{2,}/i);
  expect(zh, context).not.toMatch(/Infinity/);
}

describe('reader fixtures (test/fixtures/readers)', () => {
  const files = readdirSync(DIR).filter((f) => f !== 'README.md');
  it('has a README line and an expectation for every file', () => {
    const readme = readFileSync(path.join(DIR, 'README.md'), 'utf8');
    expect(files.sort()).toEqual(Object.keys(EXPECTATIONS).sort());
    for (const f of files) expect(readme).toContain(`\`${f}\``);
  });

  for (const file of Object.keys(EXPECTATIONS)) {
    const e = EXPECTATIONS[file];
    it(`${file}: ${e.refused ? `refused ${e.refused}` : 'read'}`, async () => {
      if (e.refused) {
        const err = await refused(readFixture(file), e.refused);
        for (const s of e.says?.en ?? []) expect(err.message).toContain(s);
        for (const s of e.says?.zh ?? []) expect(err.message_zh).toContain(s);
        assertChinese(err.message_zh, file);
        expect(err.message).not.toMatch(/Infinity/);
        if (e.options?.srs) expect(err.message_zh).not.toContain('--srs');
        return;
      }
      const r = await readFixture(file);
      const feats = all(r); // warnings about values come once the records were read
      expect(feats.filter((f) => f.geometry).length).toBe(e.stored);
      for (const w of e.warnings ?? []) expect(codes(r)).toContain(w);
      for (const w of r.warnings) {
        assertChinese(w.message_zh, `${file} ${w.code}`);
        expect(w.message).not.toMatch(/Infinity/);
        // a flag the user already gave is never advised again
        if (e.options?.srs) expect(`${w.message} ${w.message_zh}`).not.toMatch(/(Pass|用) --srs/);
      }
    });
  }
});

describe('the geometry type comes first', () => {
  const pts = SQUARES.map((r) => [[r[0]]]);
  it('a point layer is refused as points even with a broken .prj, an unknown encoding and a record cut short', async () => {
    const s = makeShapefile({ shapeType: 1, geometries: pts });
    const cut = s.shp.slice(0, s.shp.length - 5);
    const e = await refused(
      readSource(zip({ 'p.shp': cut, 'p.dbf': s.dbf, 'p.prj': 'nonsense', 'p.cpg': 'klingon' }), optsFor('p.zip', 'survey', {})),
      'wrong_geometry_type',
    );
    expect(e.message).toContain("'survey'");
    expect(e.message_zh).toContain('点');
    expect(e.details).toEqual({ shapeType: 'Point' });
  });

  it('a line layer is accepted where centrelines are (frontage) and by a reader asked for nothing', async () => {
    const s = makeShapefile({ shapeType: 3, geometries: SQUARES.map((r) => [r]) });
    const z = zip({ 'l.shp': s.shp, 'l.dbf': s.dbf, 'l.prj': PRJ.cgcs2000Zone35 });
    expect((await readSource(z, optsFor('l.zip', 'frontage'))).count).toBe(3);
    expect((await readSource(z, opts())).count).toBe(3);
    await refused(readSource(z, optsFor('l.zip', 'village')), 'wrong_geometry_type');
  });

  it('GeoJSON: a Point among polygons is named with its count', async () => {
    const fc = {
      type: 'FeatureCollection',
      features: [
        { type: 'Feature', geometry: { type: 'Point', coordinates: [105.9, 29.4] }, properties: {} },
        { type: 'Feature', geometry: { type: 'Polygon', coordinates: [[[105.9, 29.4], [105.91, 29.4], [105.91, 29.41], [105.9, 29.4]]] }, properties: {} },
      ],
    };
    const e = await refused(readSource(new TextEncoder().encode(JSON.stringify(fc)), optsFor('x.geojson', 'survey')), 'wrong_geometry_type');
    expect(e.message).toContain('Point × 1');
    expect(e.message_zh).toContain('点（Point，1 个）');
  });

  it('a layer of null shapes only says it has no features with a geometry', async () => {
    const s = makeShapefile({ geometries: [null, null] });
    const e = await refused(readSource(zip({ 'n.shp': s.shp, 'n.dbf': s.dbf }), optsFor('n.zip', 'survey')), 'empty_layer');
    expect(e.message_zh).toContain('没有带图形的要素');
  });
});

describe('.shp length and cut records', () => {
  const base = () => makeShapefile({ geometries: SQUARES.map((r) => [r]) });
  const setLen = (shp: Uint8Array, bytes: number) => {
    const out = shp.slice();
    new DataView(out.buffer).setInt32(24, bytes / 2, false);
    return out;
  };
  const read = (shp: Uint8Array, dbf: Uint8Array, shx?: Uint8Array) =>
    readSource(zip({ 's.shp': shp, 's.dbf': dbf, ...(shx ? { 's.shx': shx } : {}), 's.prj': PRJ.cgcs2000Zone35 }), opts());

  it('reads a header that overstates the length by less than a record, with a warning', async () => {
    const s = base();
    for (const extra of [2, 4, 10]) {
      const r = await read(setLen(s.shp, s.shp.length + extra), s.dbf);
      expect(all(r).length).toBe(3);
      expect(codes(r)).toContain('shp_length_overstated');
    }
  });

  it('accepts a larger overstatement only when the .dbf and .shx count the same records', async () => {
    const s = base();
    const r = await read(setLen(s.shp, s.shp.length + 200), s.dbf, s.shx);
    expect(codes(r)).toContain('shp_length_overstated');
    // the .dbf holds a 4th record the .shp lost: records are missing
    const four = makeShapefile({ geometries: [...SQUARES.map((q) => [q]), [square(X0, Y0 + 500, 40)]] });
    const lostLast = four.shp.slice(0, s.shp.length); // three whole records, header still says four
    const e = await refused(read(lostLast, four.dbf), 'shp_corrupt');
    expect(e.message_zh).toContain('有记录缺失');
  });

  it('refuses a record cut short, with its number', async () => {
    const s = base();
    const cut = s.shp.slice(0, s.shp.length - 30);
    for (const shp of [cut, setLen(cut, cut.length)]) {
      const e = await refused(read(shp, s.dbf), 'shp_corrupt');
      expect(e.details).toMatchObject({ record: 3 });
      expect(e.message).toContain('record 3');
      expect(e.message_zh).toContain('第 3 条记录');
    }
  });
});

describe('CRS plausibility on real vertices, against the work region', () => {
  it('BBox.sample keeps the extreme vertices and at most SAMPLE_MAX more, spread over the file', () => {
    const b = new BBox();
    for (let i = 0; i < 100_000; i++) b.add(i % 1000, Math.floor(i / 1000));
    b.add(-5, 50); // the westernmost vertex comes last
    const s = b.sample();
    expect(s.length).toBeLessThanOrEqual(8 + SAMPLE_MAX);
    expect(s).toContainEqual([-5, 50]);
    expect(s).toContainEqual([999, 99]);
    const ys = new Set(s.slice(8).map((p) => p[1]));
    expect(ys.size).toBeGreaterThan(50); // not just the first rows
  });

  it('a national Albers layer whose box corners leave China passes when every vertex is in China', () => {
    // far corners of China: Mohe, Wuqia, Sanya, Fuyuan, Ngari — the box of their Albers coordinates has its
    // north-west corner at ≈68°E 50°N (Kazakhstan), beyond the old 70–140°E, 0–60°N box
    const places: [number, number][] = [[122.5, 53.3], [73.5, 39.4], [109.5, 18.25], [134.7, 48.4], [105.9, 29.4], [80.3, 30.5]];
    const toAlbers = proj4('+proj=longlat +ellps=GRS80', ALBERS);
    const b = new BBox();
    for (const p of places) b.add(...(toAlbers.forward(p) as [number, number]));
    const crs = crsFromPrj(new TextEncoder().encode(PRJ_ALBERS));
    const back = proj4(ALBERS, '+proj=longlat +ellps=GRS80');
    const [x0, y0, x1, y1] = b.toArray();
    const corners = [[x0, y0], [x0, y1], [x1, y0], [x1, y1]].map((c) => back.forward(c));
    expect(corners.some(([lon, lat]) => lon < 70 || lon > 140 || lat < 0 || lat > 60)).toBe(true); // what the old check saw
    expect(checkPlacement(b, crs, 4490)).toEqual([]); // work region China: every vertex inside
  });

  it('compares with the work SRID zone plus a margin, not with a box around China', () => {
    expect(workRegion(4523)).toMatchObject({ lonMin: 103.5, lonMax: 106.5 });
    expect(workRegion(4544)).toMatchObject({ lonMin: 103.5, lonMax: 106.5 }); // CM 105E, no prefix
    expect(workRegion(4490)).toMatchObject({ lonMin: 73, lonMax: 136 });
    const at = (lon: number, lat: number) => {
      const b = new BBox();
      b.add(lon, lat);
      b.add(lon + 0.01, lat + 0.01);
      return b;
    };
    const geo = crsFromPrj(new TextEncoder().encode(PRJ.cgcs2000Geographic));
    expect(checkPlacement(at(105.9, 29.4), geo, 4523)).toEqual([]);
    expect(checkPlacement(at(107.2, 29.4), geo, 4523)).toEqual([]); // within the 1° margin
    expect(() => checkPlacement(at(126.6, 45.8), geo, 4523)).toThrow(IngestError); // China, not the work zone
    expect(checkPlacement(at(126.6, 45.8), geo, 4490)).toEqual([]);
  });

  it('trusts --srs: outside the region is a warning that advises no flag; only impossible positions are refused', () => {
    const b = new BBox();
    b.add(126.6, 45.8);
    const w = checkPlacement(b, crsFromOption('EPSG:4490'), 4523);
    expect(w.map((x) => x.code)).toEqual(['coords_outside_region']);
    expect(`${w[0].message} ${w[0].message_zh}`).not.toMatch(/Pass --srs|用 --srs/);
    const gk = new BBox();
    gk.add(35_593_000, 3_254_000);
    try {
      checkPlacement(gk, crsFromOption('EPSG:4490'), 4523);
      expect.unreachable();
    } catch (e) {
      expect((e as IngestError).code).toBe('coords_out_of_range');
      expect((e as IngestError).message_zh).not.toContain('--srs EPSG:n');
    }
  });

  it('a layer only partly in the region is imported with a warning', () => {
    const b = new BBox();
    b.add(105.9, 29.4);
    b.add(110, 29.4);
    const w = checkPlacement(b, crsFromPrj(new TextEncoder().encode(PRJ.cgcs2000Geographic)), 4523);
    expect(w.map((x) => x.code)).toEqual(['coords_partly_outside_region']);
  });

  it('honours TOWGS84 the same way whatever the CRS is named', async () => {
    const read = async (prj: string) => {
      const s = makeShapefile({ geometries: [[SQUARES[0]]] });
      const r = await readSource(zip({ 'x.shp': s.shp, 'x.dbf': s.dbf, 'x.prj': prj }), opts());
      return { r, ring: (all(r)[0].geometry as Polygon).coordinates[0] };
    };
    const named = await read(PRJ_TOWGS84_NAMED);
    const custom = await read(PRJ_TOWGS84_CUSTOM);
    const none = await read(PRJ.xian80Zone35);
    expect(custom.ring).toEqual(named.ring);
    for (const r of [named.r, custom.r]) {
      expect(codes(r)).toContain('crs_towgs84_applied');
      expect(codes(r)).not.toContain('crs_legacy_datum');
    }
    expect(codes(none.r)).toContain('crs_legacy_datum');
    // the shift moves the square by tens of metres to ~150 m relative to the ellipsoid-only conversion
    const d = Math.hypot(named.ring[0][0] - none.ring[0][0], named.ring[0][1] - none.ring[0][1]);
    expect(d).toBeGreaterThan(20);
    expect(d).toBeLessThan(300);
  });

  it('the Albers fixture lands on the squares it was made from (checked against GDAL once: ogr2ogr -t_srs EPSG:4523)', async () => {
    const r = await readFixture('albers-yongchuan.zip');
    const rings = all(r).map((f) => (f.geometry as Polygon).coordinates[0]);
    rings.forEach((ring, i) =>
      ring.forEach((p, k) => {
        expect(p[0]).toBeCloseTo(SQUARES[i][k][0], 4);
        expect(p[1]).toBeCloseTo(SQUARES[i][k][1], 4);
      }),
    );
  });

  it('warns when --srs contradicts the .prj, and reads an unreadable .prj as a warning under --srs', async () => {
    const s = makeShapefile({ geometries: [[SQUARES[0]]] });
    const z = (prj: string) => zip({ 'x.shp': s.shp, 'x.dbf': s.dbf, 'x.prj': prj });
    expect(codes(await readSource(z(PRJ.cgcs2000Zone35), opts({ srs: 'EPSG:4523' })))).not.toContain('srs_contradicts_declared');
    expect(codes(await readSource(z(PRJ.epsg4523Ogc), opts({ srs: 'EPSG:4523' })))).not.toContain('srs_contradicts_declared');
    const r = await readSource(z(PRJ.cgcs2000Zone35), opts({ srs: 'EPSG:2363' }));
    const w = r.warnings.find((x) => x.code === 'srs_contradicts_declared')!;
    expect(w.message).toContain('EPSG:2363');
    expect(w.message).toContain('EPSG:4523');
    // a custom WKT (no EPSG code) that places the vertices elsewhere
    const custom = PRJ.cgcs2000Zone35.replace('CGCS2000_3_Degree_GK_Zone_35', 'Local').replace('"False_Northing",0.0', '"False_Northing",100.0');
    expect(codes(await readSource(z(custom), opts({ srs: 'EPSG:4523' })))).toContain('srs_contradicts_declared');
    expect(codes(await readSource(z('<html></html>'), opts({ srs: 'EPSG:4523' })))).toContain('prj_ignored');
  });
});

describe('control characters in attributes', () => {
  it('strips NUL and control bytes from .dbf values, names the fields and counts', async () => {
    const r = await readFixture('control-chars.zip');
    const props = all(r).map((f) => f.properties);
    expect(props.map((p) => p['备注'])).toEqual(['新建厂房', '推填土', '硬化地面']);
    expect(props[2]['村名']).toBe('黄瓜山村');
    const w = r.warnings.find((x) => x.code === 'control_chars_removed')!;
    expect(w.message).toContain('备注: 3');
    expect(w.message).toContain('村名: 1');
    expect(w.message_zh).toContain('备注：3 个');
  });

  it('keeps tab and line breaks, strips them from GeoJSON keys and values, and lone surrogates too', async () => {
    const r = await readFixture('control-chars.geojson');
    const props = all(r).map((f) => f.properties);
    expect(props[0]['村名']).toBe('吉安村');
    expect(props[1]['beizhu']).toBe('xy');
    expect(r.fields.map((f) => f.name)).toContain('beizhu');
    expect(JSON.stringify(props)).not.toMatch(/\\u0000|\\ud800/);
    const w = r.warnings.find((x) => x.code === 'control_chars_removed')!;
    expect(w.message).toContain('beizhu (field name): 3'); // the key, in each of the 3 features
    expect(w.message_zh).toContain('beizhu（字段名）：3 个');
    expect(w.message_zh).toContain('村名：1 个');
    const tabs = await readSource(
      new TextEncoder().encode(JSON.stringify({ type: 'Feature', geometry: { type: 'Point', coordinates: [105.9, 29.4] }, properties: { a: 'x\ty\r\nz' } })),
      opts({ fileName: 'x.geojson' }),
    );
    expect(all(tabs)[0].properties.a).toBe('x\ty\r\nz');
    expect(codes(tabs)).not.toContain('control_chars_removed');
  });
});

describe('message audit: every refusal and warning of the bad-input suite is Chinese in message_zh', () => {
  const spec = JSON.parse(readFileSync(path.join(BAD, 'expectations.json'), 'utf8')) as ExpectationsFile;
  const limits = { ...LIMITS, ...spec.limits };
  for (const [file, e] of Object.entries(spec.files)) {
    it(file, async () => {
      const bytes = new Uint8Array(readFileSync(path.join(BAD, file)));
      try {
        const r = await readSource(bytes, { ...optsFor(file, e.layer, e.options), limits });
        all(r);
        for (const w of r.warnings) assertChinese(w.message_zh, `${file} ${w.code}`);
      } catch (err) {
        expect(err, file).toBeInstanceOf(IngestError);
        assertChinese((err as IngestError).message_zh, file);
        expect((err as IngestError).message).not.toMatch(/Infinity/);
      }
    });
  }
});
