/**
 * OGC API – Features conformance, written against the standard's abstract test suites:
 *   Part 1 (OGC 17-069r4, Annex A): /conf/core, /conf/geojson, /conf/oas30;
 *   Part 2 (OGC 18-058, Annex A): /conf/crs.
 * Each test names the abstract tests it covers. Covered: core root, API definition, conformance, HTTP status
 * codes (400/404), unknown and invalid query parameters, CRS84, collections (links, items links, extent),
 * one collection, items (limit, bbox, datetime, response, links, timeStamp, numberMatched, numberReturned),
 * one feature; GeoJSON definition and content; OpenAPI 3.0 definition (validated with
 * @apidevtools/swagger-parser) and implementation (every path of it answers); Part 2 crs lists, storageCrs,
 * crs and bbox-crs parameters, Content-Crs, axis order. Not covered: /conf/core/http (HTTP 1.1 is node's),
 * HTML (not served).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import SwaggerParser from '@apidevtools/swagger-parser';
import { describeEachDb } from '../helpers/db';
import { X0, Y0 } from '../helpers/fixtures';
import { ogcTown, toLonLat, type OgcTown } from './ogc-fixture';

const CORE = 'http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core';
const GEOJSON_CONF = 'http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson';
const OAS30_CONF = 'http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30';
const CRS_CONF = 'http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs';
const CRS84 = 'http://www.opengis.net/def/crs/OGC/1.3/CRS84';
const E4490 = 'http://www.opengis.net/def/crs/EPSG/0/4490';
const E4523 = 'http://www.opengis.net/def/crs/EPSG/0/4523';

describeEachDb('OGC API – Features abstract test suite', (backend) => {
  let t: OgcTown;
  const get = (path: string, query?: Record<string, string>) => t.analyst.get(path, { query });
  const rels = (links: { rel: string }[]) => links.map((l) => l.rel);
  const linkOf = (links: { rel: string; href: string; type?: string }[], rel: string) => links.find((l) => l.rel === rel);
  const codes = (r: { body: any }) => r.body.features.map((f: any) => f.properties.code).sort();

  beforeAll(async () => {
    t = await ogcTown(backend);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('/conf/core/root-op, /conf/core/root-success: the landing page links the API definition, conformance and data', async () => {
    const r = await t.app.get('/ogc');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    expect(rels(r.body.links)).toEqual(expect.arrayContaining(['self', 'service-desc', 'conformance', 'data']));
    for (const l of r.body.links) {
      expect(l.href).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/ogc/);
      expect(typeof l.type).toBe('string');
    }
  });

  it('/conf/core/api-definition-op, /conf/core/api-definition-success, /conf/oas30/oas-definition-1, /conf/oas30/oas-definition-2: the service-desc is a valid OpenAPI 3.0 document', async () => {
    const landing = await t.app.get('/ogc');
    const desc = linkOf(landing.body.links, 'service-desc')!;
    expect(desc.type).toBe('application/vnd.oai.openapi+json;version=3.0');
    const r = await t.app.get(new URL(desc.href).pathname);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^application\/vnd\.oai\.openapi\+json;\s*version=3\.0/);
    const doc = JSON.parse(r.text);
    expect(doc.openapi).toMatch(/^3\.0\.\d$/);
    // validates against the OpenAPI 3.0 schema and resolves every $ref (throws otherwise)
    await SwaggerParser.validate(structuredClone(doc));
    // issue 17 item 6: a limit GDAL and QGIS can page by
    const limit = doc.components.parameters.limit.schema;
    expect(limit).toMatchObject({ type: 'integer', minimum: 1, maximum: 10000, default: 1000 });
    // a broken document is refused by the same validator (the check is real)
    const broken = structuredClone(doc);
    broken.paths['/conformance'].get.responses = { 200: { content: {} } }; // a response needs a description
    await expect(SwaggerParser.validate(broken)).rejects.toThrow();
  });

  it('/conf/oas30/oas-impl: every path of the definition is implemented', async () => {
    const doc = JSON.parse((await t.app.get('/ogc/api')).text);
    const server = new URL(doc.servers[0].url).pathname;
    const paths = Object.keys(doc.paths);
    expect(paths).toEqual(expect.arrayContaining(['/', '/conformance', '/api', '/collections', '/collections/{collectionId}',
      '/collections/survey/items', '/collections/survey/items/{featureId}', '/collections/parcels/items']));
    for (const p of paths) {
      let path = `${server}${p === '/' ? '' : p}`.replace('{collectionId}', 'survey');
      let want = 200;
      const m = /\/collections\/(\w+)\/items\/\{featureId\}$/.exec(path);
      if (m) {
        // a feature of that collection, or (an empty one) a 404 for an id it does not have
        const first = (await get(`${server}/collections/${m[1]}/items`, { limit: '1' })).body.features[0];
        path = path.replace('{featureId}', String(first?.id ?? 1));
        if (!first) want = 404;
      }
      const r = await get(path);
      expect(r.status, `${p} → ${path}`).toBe(want);
    }
  });

  it('/conf/core/conformance-op, /conf/core/conformance-success: the conformance classes', async () => {
    const r = await t.app.get('/ogc/conformance');
    expect(r.status).toBe(200);
    expect(r.body.conformsTo).toEqual(expect.arrayContaining([CORE, GEOJSON_CONF, OAS30_CONF, CRS_CONF]));
  });

  it('/conf/core/query-param-unknown, /conf/core/query-param-invalid: 400 for an unknown or invalid parameter, with the error shape', async () => {
    for (const query of <Record<string, string>[]>[
      { offset: '10' }, { villagee: '东村' }, { land_use: '住宅用地' }, // land_use filters parcels, not survey
      { limit: '0' }, { limit: '-1' }, { limit: 'ten' }, { bbox: '1,2,3' }, { bbox: '120,30,110,31' }, { bbox: 'a,b,c,d' },
      { status: 'bogus' }, { batch_id: 'x' }, { datetime: 'yesterday' }, { datetime: '2021-02-01T00:00:00Z/2021-01-01T00:00:00Z' },
      { crs: 'http://www.opengis.net/def/crs/EPSG/0/3857' }, { 'bbox-crs': E4523 }, { cursor: 'abc' }, { f: 'html' },
    ]) {
      const r = await get('/ogc/collections/survey/items', query);
      expect(r.status, JSON.stringify(query)).toBe(400);
      expect(r.body.error.code).toBe('invalid_input');
      expect(typeof r.body.error.message_zh).toBe('string');
    }
    // a parameter given twice
    expect((await get('/ogc/collections/survey/items?limit=1&limit=2')).status).toBe(400);
    // unknown on the metadata documents too; the items parameters GDAL forwards to every request pass
    expect((await get('/ogc/collections', { nonsense: '1' })).status).toBe(400);
    expect((await get('/ogc/collections', { crs: E4523, status: 'pending' })).status).toBe(200);
  });

  it('/req/core/http (status codes): 404 for an unknown collection or feature, 401 without a login', async () => {
    expect((await get('/ogc/collections/nope')).status).toBe(404);
    expect((await get('/ogc/collections/nope/items')).status).toBe(404);
    expect((await get('/ogc/collections/nope/queryables')).status).toBe(404);
    expect((await get('/ogc/collections/survey/items/999999')).status).toBe(404);
    expect((await get('/ogc/collections/survey/items/x')).status).toBe(404);
    const r = await get('/ogc/collections/survey/items/999999');
    expect(r.body.error.code).toBe('not_found');
    expect((await t.app.get('/ogc/collections/survey/items')).status).toBe(401);
  });

  it('/conf/core/fc-md-op, /conf/core/fc-md-success, /conf/core/fc-md-links, /conf/core/fc-md-items, /conf/core/fc-md-items-links, /conf/core/fc-md-extent, /conf/core/crs84', async () => {
    const r = await get('/ogc/collections');
    expect(r.status).toBe(200);
    expect(linkOf(r.body.links, 'self')).toBeTruthy();
    for (const c of r.body.collections) {
      expect(typeof c.id).toBe('string');
      const items = linkOf(c.links, 'items')!;
      expect(items.type).toBe('application/geo+json');
      expect(items.href).toMatch(new RegExp(`/ogc/collections/${c.id}/items$`));
      expect(linkOf(c.links, 'self')).toBeTruthy();
      if (c.extent) {
        expect(c.extent.spatial.crs).toBe(CRS84);
        const [w, s, e, n] = c.extent.spatial.bbox[0];
        expect(w).toBeLessThanOrEqual(e);
        expect(s).toBeLessThanOrEqual(n);
        expect(w).toBeGreaterThan(100); // lon first: Chongqing is at 105–106°E, 29°N
        expect(s).toBeLessThan(40);
      }
    }
  });

  it('/conf/core/sfc-md-op, /conf/core/sfc-md-success: one collection, as in the list', async () => {
    const all = (await get('/ogc/collections')).body.collections;
    for (const id of ['survey', 'parcels', 'villages']) {
      const r = await get(`/ogc/collections/${id}`);
      expect(r.status).toBe(200);
      expect(r.body).toEqual(all.find((c: any) => c.id === id));
    }
  });

  it('/conf/core/fc-op, /conf/core/fc-response, /conf/core/fc-links, /conf/core/fc-timeStamp, /conf/core/fc-numberMatched, /conf/core/fc-numberReturned, /conf/geojson/definition, /conf/geojson/content', async () => {
    const r = await get('/ogc/collections/survey/items');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^application\/geo\+json/);
    expect(r.body.type).toBe('FeatureCollection');
    expect(r.body.features).toHaveLength(6);
    expect(r.body.numberReturned).toBe(r.body.features.length);
    expect(r.body.numberMatched).toBe(6);
    expect(Date.parse(r.body.timeStamp)).toBeGreaterThan(Date.now() - 60_000);
    const self = linkOf(r.body.links, 'self')!;
    expect(self.type).toBe('application/geo+json');
    for (const f of r.body.features) {
      expect(f.type).toBe('Feature');
      expect(f.geometry.type).toMatch(/Polygon$/);
      expect(typeof f.properties).toBe('object');
      expect(Number.isInteger(f.id)).toBe(true);
    }
    // a filtered count is the filter's
    const v = await get('/ogc/collections/survey/items', { village: '东村' });
    expect(v.body.numberMatched).toBe(3);
    expect(v.body.numberReturned).toBe(3);
  });

  it('/conf/core/fc-limit-definition, /conf/core/fc-limit-response-1, /conf/core/fc-limit-response-2: pages of limit, next links with a keyset cursor', async () => {
    const r = await get('/ogc/collections/survey/items', { limit: '4' });
    expect(r.body.numberReturned).toBe(4);
    expect(r.body.numberMatched).toBe(6);
    const next = new URL(linkOf(r.body.links, 'next')!.href);
    expect(next.searchParams.get('limit')).toBe('4');
    expect(next.searchParams.get('cursor')).toBe(String(Math.max(...r.body.features.map((f: any) => f.id))));
    const r2 = await get(next.pathname + next.search);
    expect(r2.body.numberReturned).toBe(2);
    expect(linkOf(r2.body.links, 'next')).toBeUndefined(); // read one row ahead: no empty last page
    expect(linkOf(r2.body.links, 'self')!.href).toContain('cursor=');
    // above the maximum: served as the maximum (Part 1 /per/core/limit-response-1)
    expect((await get('/ogc/collections/survey/items', { limit: '100000' })).body.numberReturned).toBe(6);
    // a page exactly full has no next link when nothing follows
    expect(linkOf((await get('/ogc/collections/survey/items', { limit: '6' })).body.links, 'next')).toBeUndefined();
  });

  it('/conf/core/fc-bbox-definition, /conf/core/fc-bbox-response: bbox in CRS84 (4 or 6 numbers)', async () => {
    const [w, s] = toLonLat(90, 90);
    const [e, n] = toLonLat(160, 160);
    expect(codes(await get('/ogc/collections/survey/items', { bbox: [w, s, e, n].join(',') }))).toEqual(['TB1']);
    expect(codes(await get('/ogc/collections/survey/items', { bbox: [w, s, 0, e, n, 100].join(',') }))).toEqual(['TB1']);
    expect((await get('/ogc/collections/survey/items', { bbox: '-180,-90,180,90' })).body.numberMatched).toBe(6);
  });

  it('/conf/core/fc-time-definition, /conf/core/fc-time-response: datetime (survey polygons by their first import)', async () => {
    const now = Date.now();
    const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
    expect((await get('/ogc/collections/survey/items', { datetime: `${iso(now - 3_600_000)}/${iso(now + 3_600_000)}` })).body.numberMatched).toBe(6);
    expect((await get('/ogc/collections/survey/items', { datetime: `${iso(now - 3_600_000)}/..` })).body.numberMatched).toBe(6);
    expect((await get('/ogc/collections/survey/items', { datetime: '../2001-01-01T00:00:00Z' })).body.numberMatched).toBe(0);
    expect((await get('/ogc/collections/survey/items', { datetime: '2001-01-01T00:00:00Z' })).body.numberMatched).toBe(0);
  });

  it('property filters: declared in the queryables document and in the API definition, and they filter', async () => {
    const q = await get('/ogc/collections/survey/queryables');
    expect(q.status).toBe(200);
    expect(q.headers.get('content-type')).toMatch(/^application\/schema\+json/);
    expect(q.body.type).toBe('object');
    expect(Object.keys(q.body.properties)).toEqual(['village', 'status', 'flags', 'batch_id', 'survey']);
    const doc = JSON.parse((await t.app.get('/ogc/api')).text);
    const names = doc.paths['/collections/survey/items'].get.parameters.map((p: any) => p.name).filter(Boolean);
    expect(names).toEqual(expect.arrayContaining(['village', 'status', 'flags', 'batch_id', 'survey']));
    expect(codes(await get('/ogc/collections/survey/items', { village: '西村' }))).toEqual(['TB3', 'TB4']);
    expect(codes(await get('/ogc/collections/survey/items', { village: '-' }))).toEqual(['TB6']);
    expect(codes(await get('/ogc/collections/survey/items', { status: 'verified' }))).toEqual(['TB1']);
    expect(codes(await get('/ogc/collections/survey/items', { village: '东村', status: 'pending' }))).toEqual(['TB2', 'TB5']);
    expect(codes(await get('/ogc/collections/survey/items', { flags: 'no_village' }))).toEqual(['TB6']);
    const batch = (await get(`/ogc/collections/survey/items/${t.ids.TB1}`)).body.properties.batch_id;
    expect((await get('/ogc/collections/survey/items', { batch_id: String(batch) })).body.numberMatched).toBe(6);
    expect((await get('/ogc/collections/survey/items', { batch_id: String(batch + 1000) })).body.numberMatched).toBe(0);
    const p = await get('/ogc/collections/parcels/items', { land_use: '工业用地' });
    expect(p.body.features.map((f: any) => f.properties.parcel_code)).toEqual(['P2']);
    expect(Object.keys((await get('/ogc/collections/parcels/queryables')).body.properties)).toEqual(['land_use', 'parcel_code']);
  });

  it('/conf/core/f-op, /conf/core/f-success: one feature, GeoJSON with self and collection links', async () => {
    const r = await get(`/ogc/collections/survey/items/${t.ids.TB3}`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^application\/geo\+json/);
    expect(r.body).toMatchObject({ type: 'Feature', id: t.ids.TB3, properties: { code: 'TB3' } });
    expect(rels(r.body.links)).toEqual(expect.arrayContaining(['self', 'collection']));
    expect(r.headers.get('content-crs')).toBe(`<${CRS84}>`);
  });

  it('/conf/crs/fc-md-crs-list, /conf/crs/fc-md-storageCrs: each collection lists its CRSs (CRS84 first) and its storage CRS', async () => {
    for (const c of (await get('/ogc/collections')).body.collections) {
      expect(c.crs).toEqual([CRS84, E4490, E4523]);
      expect(c.storageCrs).toBe(E4523);
    }
  });

  it('/conf/crs/fc-crs-definition, /conf/crs/fc-crs-valid-value, /conf/crs/ogc-crs-header-content-crs, /conf/crs/crs-axis-order: items in EPSG:4490 (lat, lon) and EPSG:4523 (northing, easting)', async () => {
    const def = await get(`/ogc/collections/survey/items/${t.ids.TB1}`);
    const [lon, lat] = def.body.geometry.coordinates[0][0][0];
    const [elon, elat] = toLonLat(100, 100);
    expect(lon).toBeCloseTo(elon, 6);
    expect(lat).toBeCloseTo(elat, 6);

    const g = await get('/ogc/collections/survey/items', { crs: E4490, village: '东村', limit: '1' });
    expect(g.headers.get('content-crs')).toBe(`<${E4490}>`);
    const [a, b] = g.body.features[0].geometry.coordinates[0][0][0];
    expect(a).toBeCloseTo(elat, 6); // latitude first, as EPSG:4490 defines its axes
    expect(b).toBeCloseTo(elon, 6);
    expect(linkOf(g.body.links, 'next')!.href).toContain(`crs=${encodeURIComponent(E4490)}`);

    const w = await get(`/ogc/collections/survey/items/${t.ids.TB1}`, { crs: E4523 });
    expect(w.headers.get('content-crs')).toBe(`<${E4523}>`);
    const ring = w.body.geometry.coordinates[0][0];
    const corners = ring.map(([n, e]: number[]) => `${e - X0},${n - Y0}`); // northing first in EPSG:4523
    expect(corners).toEqual(expect.arrayContaining(['100,100', '150,100', '150,150', '100,150']));
    // the short forms a GIS user types are accepted too
    expect((await get('/ogc/collections/survey/items', { crs: 'EPSG:4523', limit: '1' })).headers.get('content-crs')).toBe(`<${E4523}>`);
  });

  it('/conf/crs/fc-bbox-crs-definition, /conf/crs/fc-bbox-crs-valid-value, /conf/crs/fc-bbox-crs-action: bbox in EPSG:4490 and EPSG:4523, in their axis order', async () => {
    const [w, s] = toLonLat(90, 90);
    const [e, n] = toLonLat(160, 160);
    expect(codes(await get('/ogc/collections/survey/items', { bbox: [s, w, n, e].join(','), 'bbox-crs': E4490 }))).toEqual(['TB1']);
    // lon/lat order in 4490 is a box somewhere else (and latitude 105° is refused)
    expect((await get('/ogc/collections/survey/items', { bbox: [w, s, e, n].join(','), 'bbox-crs': E4490 })).status).toBe(400);
    const box = [Y0 + 90, X0 + 90, Y0 + 160, X0 + 160].join(','); // minN,minE,maxN,maxE
    expect(codes(await get('/ogc/collections/survey/items', { bbox: box, 'bbox-crs': E4523 }))).toEqual(['TB1']);
    expect(codes(await get('/ogc/collections/parcels/items', { bbox: box, 'bbox-crs': E4523 }).then((r) => ({ body: { features: r.body.features.map((f: any) => ({ properties: { code: f.properties.parcel_code } })) } })))).toEqual(['P1']);
    expect(codes(await get('/ogc/collections/survey/items', { bbox: [Y0 - 10, X0 - 10, Y0 + 3000, X0 + 3000].join(','), 'bbox-crs': E4523 }))).toHaveLength(6);
    // the next link keeps bbox and bbox-crs
    const p = await get('/ogc/collections/survey/items', { bbox: [Y0 - 10, X0 - 10, Y0 + 3000, X0 + 3000].join(','), 'bbox-crs': E4523, limit: '2' });
    const next = new URL(linkOf(p.body.links, 'next')!.href);
    expect(next.searchParams.get('bbox-crs')).toBe(E4523);
    expect(codes(await get(next.pathname + next.search))).toHaveLength(2);
  });
});
