/**
 * GDAL's OAPIF driver (what QGIS's GDAL-based tools use) as the client of /ogc, authenticated the way the
 * README tells a GIS user: a token from POST /api/auth/login with `"token": true`, sent as
 * `GDAL_HTTP_HEADERS="Authorization: Bearer …"` (HTTP Basic credentials are dropped by GDAL on follow-up
 * links over http). Lists the collections, reads a filtered collection, reads in EPSG:4523, pages through
 * next links, and compares counts and coordinates with the database.
 *
 * GDAL must be installed (CI installs gdal-bin): locally the suite is skipped with a message when `ogrinfo`
 * is missing; under CI (process.env.CI) a missing ogrinfo fails.
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEachDb } from '../helpers/db';
import { ogcTown, type OgcTown } from './ogc-fixture';

const run = promisify(execFile);

function has(cmd: string): boolean {
  try {
    execFileSync(cmd, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const GDAL = has('ogrinfo') && has('ogr2ogr');
if (!GDAL && !process.env.CI) {
  console.warn('ogc-gdal: GDAL (ogrinfo/ogr2ogr) not found, the OGC client tests are skipped. Install gdal-bin to run them.');
}

describe('GDAL for the OGC client tests', () => {
  // in CI the client tests must run, never skip
  it.runIf(!!process.env.CI)('is installed in CI (ogrinfo, ogr2ogr)', () => {
    expect(GDAL, 'ogrinfo/ogr2ogr missing: .ci/run installs gdal-bin').toBe(true);
  });
});

/** GDAL ≥ 3.7 has a CRS open option for OAPIF; older ones take `crs=` in the URL (forwarded to every request). */
const hasCrsOpenOption = () => /name=.CRS./.test(execFileSync('ogrinfo', ['--format', 'OAPIF'], { encoding: 'utf8' }));

describeEachDb('GDAL OAPIF client', (backend) => {
  let t: OgcTown;
  let token: string;

  beforeAll(async () => {
    t = await ogcTown(backend);
    await t.app.as('reviewer', { username: 'qgis', password: 'Hx7-desk-Lq2m9' });
    const login = await t.app.post('/api/auth/login', { username: 'qgis', password: 'Hx7-desk-Lq2m9', token: true });
    expect(login.status, login.text).toBe(200);
    token = login.body.token;
  });
  afterAll(async () => {
    await t?.close();
  });

  const env = (bearer = token) => ({
    ...process.env, LC_ALL: 'C.UTF-8', CPL_DEBUG: 'OFF', GDAL_HTTP_TIMEOUT: '20',
    ...(bearer ? { GDAL_HTTP_HEADERS: `Authorization: Bearer ${bearer}` } : {}),
  });
  const ogrinfo = async (args: string[], bearer?: string) =>
    (await run('ogrinfo', ['-ro', ...args], { env: env(bearer), maxBuffer: 1 << 26 })).stdout;
  /** GDAL's reading of a collection, written back as GeoJSON on stdout. */
  const read = async (source: string, extra: string[] = []) =>
    JSON.parse((await run('ogr2ogr', ['-f', 'GeoJSON', '/vsistdout/', source, ...extra], { env: env(), maxBuffer: 1 << 26 })).stdout) as {
      features: { properties: Record<string, any>; geometry: { coordinates: number[][][][] } }[];
    };
  /** The first vertex of each survey polygon in the work CRS (x = easting, y = northing) and CRS84. */
  const dbVertices = async () => Object.fromEntries((await t.db.query<{ code: string; x: number; y: number; lon: number; lat: number }>(
    `SELECT code, ST_X(pt) AS x, ST_Y(pt) AS y, ST_X(ST_Transform(pt, 4326)) AS lon, ST_Y(ST_Transform(pt, 4326)) AS lat
     FROM (SELECT code, ST_PointN(ST_ExteriorRing(ST_GeometryN(geom, 1)), 1) AS pt FROM survey_polygon) s`,
  )).rows.map((r) => [r.code, r]));

  describe.runIf(GDAL)('GDAL', () => {
    it('lists the collections with a bearer token; without one it is refused', async () => {
      const out = await ogrinfo(['-q', `OAPIF:${t.app.url}/ogc`]);
      for (const name of ['survey', 'parcels', 'villages', 'schools', 'frontage', 'compounds', 'green']) expect(out).toMatch(new RegExp(`: ${name}\\b`));
      await expect(ogrinfo(['-q', `OAPIF:${t.app.url}/ogc`], '')).rejects.toThrow();
    });

    it('reads the survey polygons: count and coordinates (CRS84) as in the database', async () => {
      const summary = await ogrinfo(['-so', `OAPIF:${t.app.url}/ogc`, 'survey']);
      expect(summary).toMatch(/Feature Count: 6/);
      const n = (await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM survey_polygon')).rows[0].n;
      const fc = await read(`OAPIF:${t.app.url}/ogc`, ['survey']);
      expect(fc.features).toHaveLength(n);
      const db = await dbVertices();
      for (const f of fc.features) {
        const [lon, lat] = f.geometry.coordinates[0][0][0];
        expect(lon).toBeCloseTo(db[f.properties.code].lon, 6);
        expect(lat).toBeCloseTo(db[f.properties.code].lat, 6);
      }
    });

    it('pages through next links (keyset cursor) with a small page size, each feature once', async () => {
      const fc = await read(`OAPIF:${t.app.url}/ogc`, ['survey', '-oo', 'PAGE_SIZE=2']);
      const codes = fc.features.map((f) => f.properties.code).sort();
      expect(codes).toEqual(['TB1', 'TB2', 'TB3', 'TB4', 'TB5', 'TB6']);
    });

    it('fetches with a filter: as a query parameter of the URL and as an OGR -where, the database\'s answer', async () => {
      const want = (await t.db.query<{ code: string }>(`SELECT code FROM survey_polygon WHERE village_name = '东村' AND status = 'pending' ORDER BY code`)).rows.map((r) => r.code);
      expect(want).toEqual(['TB2', 'TB5']);
      const viaUrl = await read(`OAPIF:${t.app.url}/ogc/collections/survey?village=${encodeURIComponent('东村')}&status=pending`);
      expect(viaUrl.features.map((f) => f.properties.code).sort()).toEqual(want);
      const summary = await ogrinfo(['-so', '-al', `OAPIF:${t.app.url}/ogc/collections/survey?village=${encodeURIComponent('东村')}`]);
      expect(summary).toMatch(/Feature Count: 3/); // numberMatched of the filtered first page
      const viaWhere = await read(`OAPIF:${t.app.url}/ogc`, ['survey', '-where', "village = '东村' AND status = 'pending'"]);
      expect(viaWhere.features.map((f) => f.properties.code).sort()).toEqual(want);
      const parcels = await read(`OAPIF:${t.app.url}/ogc/collections/parcels?land_use=${encodeURIComponent('工业用地')}`);
      expect(parcels.features.map((f) => f.properties.parcel_code)).toEqual(['P2']);
    });

    it('fetches in EPSG:4523: the coordinates are the stored ones', async () => {
      const db = await dbVertices();
      if (hasCrsOpenOption()) {
        // GDAL ≥ 3.7 reads the EPSG axis order and gives x = easting, y = northing
        const fc = await read(`OAPIF:${t.app.url}/ogc`, ['survey', '-oo', 'CRS=EPSG:4523']);
        expect(fc.features).toHaveLength(6);
        for (const f of fc.features) {
          const [x, y] = f.geometry.coordinates[0][0][0];
          expect(x).toBeCloseTo(db[f.properties.code].x, 2);
          expect(y).toBeCloseTo(db[f.properties.code].y, 2);
        }
      } else {
        // GDAL 3.6 has no CRS option: `crs=` in the URL is forwarded to every request, and the numbers come
        // in EPSG:4523's axis order, northing first (OGC API – Features Part 2), which GDAL 3.6 does not swap
        const fc = await read(`OAPIF:${t.app.url}/ogc/collections/survey?crs=http://www.opengis.net/def/crs/EPSG/0/4523`);
        expect(fc.features).toHaveLength(6);
        for (const f of fc.features) {
          const [first, second] = f.geometry.coordinates[0][0][0];
          expect(first).toBeCloseTo(db[f.properties.code].y, 2);
          expect(second).toBeCloseTo(db[f.properties.code].x, 2);
        }
      }
    });
  });
});
