import { describe, expect, it } from 'vitest';
import iconv from 'iconv-lite';
import { readSource } from '../../server/ingest/read';
import { codeFromName, crsFromPrj, knownCrs } from '../../server/ingest/crs';
import { makeShapefile, square, zip, PRJ, type RecordParts } from '../helpers/shp-bytes';
import { all, codes, opts, refused } from '../helpers/ingest';
import type { Point, Polygon } from 'geojson';

/**
 * Independent Gauss-Krüger forward projection (Krüger n-series to 4th order, as in Karney 2011 /
 * the UTM formulas), GRS80 — used to check proj4's output without trusting proj4.
 */
function gkForward(lon: number, lat: number, lon0: number, x0: number): [number, number] {
  const a = 6378137;
  const f = 1 / 298.257222101;
  const n = f / (2 - f);
  const A = (a / (1 + n)) * (1 + n ** 2 / 4 + n ** 4 / 64);
  const al = [
    n / 2 - (2 * n ** 2) / 3 + (5 * n ** 3) / 16 + (41 * n ** 4) / 180,
    (13 * n ** 2) / 48 - (3 * n ** 3) / 5 + (557 * n ** 4) / 1440,
    (61 * n ** 3) / 240 - (103 * n ** 4) / 140,
    (49561 * n ** 4) / 161280,
  ];
  const phi = (lat * Math.PI) / 180;
  const dl = ((lon - lon0) * Math.PI) / 180;
  const c = (2 * Math.sqrt(n)) / (1 + n);
  const t = Math.sinh(Math.atanh(Math.sin(phi)) - c * Math.atanh(c * Math.sin(phi)));
  const xi = Math.atan(t / Math.cos(dl));
  const eta = Math.atanh(Math.sin(dl) / Math.sqrt(1 + t * t));
  let E = eta;
  let N = xi;
  al.forEach((aj, j) => {
    const k = 2 * (j + 1);
    E += aj * Math.cos(k * xi) * Math.sinh(k * eta);
    N += aj * Math.sin(k * xi) * Math.cosh(k * eta);
  });
  return [x0 + A * E, A * N];
}

function shapefileZip(geoms: RecordParts[], prj?: string, shapeType = 5) {
  const s = makeShapefile({ geometries: geoms, shapeType });
  return zip({ 'l.shp': s.shp, 'l.shx': s.shx, 'l.dbf': s.dbf, ...(prj !== undefined ? { 'l.prj': prj } : {}) });
}
const pointLayer = (pts: [number, number][], prj?: string) => shapefileZip(pts.map((p) => [[p]]), prj, 1);

describe('CRS tables', () => {
  it('maps ESRI and EPSG names to codes', () => {
    const t: Record<string, number | undefined> = {
      CGCS2000_3_Degree_GK_Zone_35: 4523,
      CGCS2000_3_Degree_GK_Zone_25: 4513,
      CGCS2000_3_Degree_GK_Zone_45: 4533,
      CGCS2000_3_Degree_GK_CM_105E: 4544,
      CGCS2000_3_Degree_GK_CM_75E: 4534,
      CGCS2000_3_Degree_GK_CM_135E: 4554,
      'CGCS2000 / 3-degree Gauss-Kruger zone 35': 4523,
      'CGCS2000 / 3-degree Gauss-Kruger CM 105E': 4544,
      CGCS2000_GK_Zone_18: 4496,
      CGCS2000_GK_CM_105E: 4507,
      'CGCS2000 / Gauss-Kruger CM 75E': 4502,
      Xian_1980_3_Degree_GK_Zone_25: 2349,
      Xian_1980_3_Degree_GK_Zone_35: 2359,
      'Xian 1980 / 3-degree Gauss-Kruger CM 102E': 2379,
      Xian_1980_GK_Zone_20: 2334,
      Xian_1980_GK_CM_93E: 2341,
      Beijing_1954_3_Degree_GK_Zone_25: 2401,
      Beijing_1954_3_Degree_GK_CM_75E: 2422,
      GCS_China_Geodetic_Coordinate_System_2000: 4490,
      'China Geodetic Coordinate System 2000': 4490,
      GCS_WGS_1984: 4326,
      WGS_1984_UTM_Zone_48N: 32648,
      WGS_1984_Web_Mercator_Auxiliary_Sphere: 3857,
      CGCS2000_3_Degree_GK_Zone_24: undefined,
      CGCS2000_3_Degree_GK_CM_104E: undefined,
      Some_Local_Grid: undefined,
    };
    for (const [name, code] of Object.entries(t)) expect(codeFromName(name), name).toBe(code);
  });

  it('builds GK definitions with the right central meridian and false easting', () => {
    const params = (code: number) => {
      const d = knownCrs(code)!.def;
      return [Number(/lon_0=([\d.]+)/.exec(d)![1]), Number(/x_0=([\d.]+)/.exec(d)![1])];
    };
    expect(params(4513)).toEqual([75, 25500000]);
    expect(params(4523)).toEqual([105, 35500000]);
    expect(params(4533)).toEqual([135, 45500000]);
    expect(params(4534)).toEqual([75, 500000]);
    expect(params(4544)).toEqual([105, 500000]);
    expect(params(4554)).toEqual([135, 500000]);
    expect(params(4491)).toEqual([75, 13500000]);
    expect(params(4501)).toEqual([135, 23500000]);
    expect(params(4512)).toEqual([135, 500000]);
    expect(params(2349)).toEqual([75, 25500000]);
    expect(params(2390)).toEqual([135, 500000]);
    expect(params(2401)).toEqual([75, 25500000]);
    expect(params(2442)).toEqual([135, 500000]);
    expect(knownCrs(4490)!.def).toContain('+proj=longlat +ellps=GRS80');
    expect(knownCrs(4555)).toBeUndefined();
  });
});

describe('.prj resolution', () => {
  const prj = (s: string) => crsFromPrj(new TextEncoder().encode(s));

  it('recognises ESRI names', () => {
    expect(prj(PRJ.cgcs2000Zone35)).toMatchObject({ source: 'EPSG:4523', how: 'prj' });
    expect(prj(PRJ.cgcs2000Cm105)).toMatchObject({ source: 'EPSG:4544' });
    expect(prj(PRJ.cgcs2000Geographic)).toMatchObject({ source: 'EPSG:4490' });
  });

  it('uses the root AUTHORITY of OGC WKT (not the GEOGCS one)', () => {
    expect(prj(PRJ.epsg4523Ogc).source).toBe('EPSG:4523');
    const renamed = PRJ.epsg4523Ogc.replace('CGCS2000 / 3-degree Gauss-Kruger zone 35', 'whatever');
    expect(prj(renamed).source).toBe('EPSG:4523');
  });

  it('takes the horizontal part of a compound CRS', () => {
    expect(prj(`COMPD_CS["x + Yellow Sea 1985 height",${PRJ.cgcs2000Zone35},VERT_CS["Yellow Sea 1985 height",VERT_DATUM["Yellow Sea 1985",2005]]]`).source).toBe(
      'EPSG:4523',
    );
  });

  it('flags legacy datums', () => {
    const r = prj(PRJ.xian80Zone35);
    expect(r.source).toBe('EPSG:2359');
    expect(r.warnings.map((w) => w.code)).toContain('crs_legacy_datum');
  });

  it('does not trust a name whose parameters disagree, and uses the WKT instead', () => {
    const r = prj(PRJ.cgcs2000Zone35.replace('PARAMETER["False_Easting",35500000.0]', 'PARAMETER["False_Easting",500000.0]'));
    expect(r.source).toBe('WKT:CGCS2000_3_Degree_GK_Zone_35');
    expect(r.warnings.map((w) => w.code)).toContain('prj_name_params_mismatch');
  });

  it('accepts an unknown but valid WKT as a custom CRS', () => {
    const r = prj(PRJ.cgcs2000Cm105.replace('CGCS2000_3_Degree_GK_CM_105E', 'Jian_Local').replace('"Central_Meridian",105.0', '"Central_Meridian",105.5'));
    expect(r).toMatchObject({ source: 'WKT:Jian_Local', how: 'prj' });
  });

  it('reads a .prj whose custom name is in GBK', () => {
    const wkt = PRJ.cgcs2000Cm105.replace('CGCS2000_3_Degree_GK_CM_105E', '吉安地方坐标系').replace('"Central_Meridian",105.0', '"Central_Meridian",105.5');
    const r = crsFromPrj(iconv.encode(wkt, 'gbk'));
    expect(r.source).toBe('WKT:吉安地方坐标系');
  });

  it('refuses a .prj that is not WKT', async () => {
    await refused(() => prj('<html><body>404 Not Found</body></html>'), 'prj_invalid');
    await refused(() => prj(''), 'prj_invalid');
    await refused(() => prj('hello world'), 'prj_invalid');
    await refused(() => prj('PROJCS["broken",GEOGCS["x"'), 'prj_invalid');
  });

  it('refuses a WKT proj4 cannot interpret', async () => {
    await refused(() => prj('LOCAL_CS["site grid",LOCAL_DATUM["x",0],UNIT["metre",1]]'), 'prj_unsupported');
  });
});

describe('CRS in readSource', () => {
  const gk35: RecordParts[] = [[square(35500000, 3250000, 100)]];

  it('reprojects GK zone 35 to CGCS2000 lon/lat exactly (E=35500000, N=3250000 ≈ 105°E, 29.3675°N)', async () => {
    const r = await readSource(pointLayer([[35500000, 3250000]], PRJ.cgcs2000Zone35), opts({ workSrid: 4490 }));
    expect(r.crs).toEqual({ source: 'EPSG:4523', how: 'prj', target: 'EPSG:4490' });
    const [lon, lat] = (all(r)[0].geometry as Point).coordinates;
    expect(Math.abs(lon - 105)).toBeLessThan(1e-9);
    expect(Math.abs(lat - 29.3675)).toBeLessThan(1e-4);
    // independent check: projecting the result forward must give back the northing to < 1 mm
    const [, n] = gkForward(lon, lat, 105, 35500000);
    expect(Math.abs(n - 3250000)).toBeLessThan(1e-3);
  });

  it('reprojects off the central meridian correctly too (checked against the Krüger series)', async () => {
    const pts: [number, number][] = [
      [35600000, 3250000],
      [35380000, 3300000],
    ];
    const r = await readSource(pointLayer(pts, PRJ.cgcs2000Zone35), opts({ workSrid: 4490 }));
    all(r).forEach((f, i) => {
      const [lon, lat] = (f.geometry as Point).coordinates;
      const [e, n] = gkForward(lon, lat, 105, 35500000);
      expect(Math.abs(e - pts[i][0])).toBeLessThan(1e-3);
      expect(Math.abs(n - pts[i][1])).toBeLessThan(1e-3);
    });
  });

  it('reprojects between GK with and without zone prefix (4544 → 4523)', async () => {
    const r = await readSource(pointLayer([[512345.6, 3251234.5]], PRJ.cgcs2000Cm105), opts({ workSrid: 4523 }));
    const [x, y] = (all(r)[0].geometry as Point).coordinates;
    expect(x).toBeCloseTo(35512345.6, 4);
    expect(y).toBeCloseTo(3251234.5, 4);
  });

  it('skips reprojection when source is the working CRS', async () => {
    const r = await readSource(shapefileZip(gk35, PRJ.cgcs2000Zone35), opts());
    expect((all(r)[0].geometry as Polygon).coordinates[0][0]).toEqual([35500000, 3250000]);
  });

  it('infers GK zone 35 from prefixed eastings when there is no .prj, with a warning', async () => {
    const r = await readSource(shapefileZip(gk35), opts({ workSrid: 4490 }));
    expect(r.crs).toEqual({ source: 'EPSG:4523', how: 'inferred-zone', target: 'EPSG:4490' });
    expect(codes(r)).toContain('crs_inferred_zone');
    expect((all(r)[0].geometry as Polygon).coordinates[0][0][0]).toBeCloseTo(105, 9);
  });

  it('refuses to guess when eastings carry no zone prefix', async () => {
    const e = await refused(readSource(shapefileZip([[square(500000, 3250000, 100)]]), opts()), 'crs_unknown');
    expect(e.message_zh).toContain('--srs');
  });

  it('refuses to guess when eastings straddle two zones', async () => {
    await refused(readSource(shapefileZip([[square(35700000, 3250000, 100)], [[[36300000, 3250000], [36300001, 3250000], [36300000, 3250001], [36300000, 3250000]]]]), opts()), 'crs_unknown');
  });

  it('assumes CGCS2000 lon/lat for China lon/lat without .prj, with a warning', async () => {
    const r = await readSource(pointLayer([[105.9, 29.4]]), opts());
    expect(r.crs.source).toBe('EPSG:4490');
    expect(codes(r)).toContain('crs_assumed_geographic');
  });

  it('refuses lon/lat outside China without .prj', async () => {
    await refused(readSource(pointLayer([[-73.9, 40.7]]), opts()), 'crs_unknown');
  });

  it('lets --srs override the .prj (even a broken one) and inference', async () => {
    const r = await readSource(shapefileZip([[square(500000, 3250000, 100)]], '<html>oops</html>'), opts({ srs: 'EPSG:4544' }));
    expect(r.crs).toEqual({ source: 'EPSG:4544', how: 'option', target: 'EPSG:4523' });
    expect((all(r)[0].geometry as Polygon).coordinates[0][0][0]).toBeCloseTo(35500000, 4);
  });

  it('refuses an unknown --srs', async () => {
    await refused(readSource(shapefileZip(gk35), opts({ srs: 'EPSG:99999' })), 'bad_srs');
    await refused(readSource(shapefileZip(gk35), opts({ srs: 'gauss' })), 'bad_srs');
  });

  it('refuses a broken .prj without --srs', async () => {
    await refused(readSource(shapefileZip(gk35, '<!DOCTYPE html><html></html>'), opts()), 'prj_invalid');
  });

  it('refuses coordinates that are not in China under the declared CRS', async () => {
    // GK metres declared as geographic degrees
    const e = await refused(readSource(shapefileZip(gk35, PRJ.cgcs2000Geographic), opts()), 'coords_out_of_range');
    expect((e.details as { bbox: number[] }).bbox[0]).toBe(35500000);
    // zone-35 coordinates under a wrong --srs zone: lon lands near 75°E + far off → still caught if outside
    await refused(readSource(shapefileZip(gk35), opts({ srs: 'EPSG:4326' })), 'coords_out_of_range');
  });

  it('refuses NaN and absurd coordinates', async () => {
    await refused(readSource(pointLayer([[NaN, 3250000]], PRJ.cgcs2000Zone35), opts()), 'coords_out_of_range');
    await refused(readSource(pointLayer([[1e12, 3250000]], PRJ.cgcs2000Zone35), opts()), 'coords_out_of_range');
  });

  it('uses a custom WKT for reprojection', async () => {
    const local = PRJ.cgcs2000Cm105.replace('CGCS2000_3_Degree_GK_CM_105E', 'Jian_Local').replace('"Central_Meridian",105.0', '"Central_Meridian",105.5');
    const r = await readSource(pointLayer([[500000, 3250000]], local), opts({ workSrid: 4490 }));
    expect(r.crs.source).toBe('WKT:Jian_Local');
    const [lon, lat] = (all(r)[0].geometry as Point).coordinates;
    expect(lon).toBeCloseTo(105.5, 9);
    expect(Math.abs(gkForward(lon, lat, 105.5, 500000)[1] - 3250000)).toBeLessThan(1e-3);
  });
});
