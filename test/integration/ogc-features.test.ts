/**
 * OGC API – Features, Part 1 core + GeoJSON requirements, checked on a small imported town: landing page
 * links, conformance, collections, items (FeatureCollection, links, numberMatched/numberReturned, limit and
 * offset paging through `next`, bbox in CRS84), one item, 404s; authentication as QGIS sends it (bearer,
 * HTTP Basic with a token or the password, cookies); village scope.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDb, type TestDb } from '../helpers/db';
import type { Client, TestApp } from '../helpers/api';
import { createSession } from '../../server/auth/session';
import { ogcTown, toLonLat, type OgcTown } from './ogc-fixture';

describeEachDb('OGC API – Features', (backend) => {
  let town: OgcTown;
  let db: TestDb;
  let app: TestApp;
  let analyst: Client;
  let east: Client;
  let ids: Record<string, number>;

  beforeAll(async () => {
    town = await ogcTown(backend);
    ({ db, app, analyst, ids } = town);
    east = await app.as('field', { villages: ['东村'] });
  });
  afterAll(async () => town?.close());

  const rels = (links: { rel: string }[]) => links.map((l) => l.rel);

  it('has a landing page with links to the API definition, the conformance classes and the collections', async () => {
    const r = await app.get('/ogc');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/application\/json/);
    expect(typeof r.body.title).toBe('string');
    expect(rels(r.body.links)).toEqual(expect.arrayContaining(['self', 'service-desc', 'conformance', 'data']));
    for (const l of r.body.links) expect(l.href).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);
    const desc = r.body.links.find((l: any) => l.rel === 'service-desc');
    expect((await app.get(new URL(desc.href).pathname)).status).toBe(200);
  });

  it('declares the conformance classes it implements', async () => {
    const r = await app.get('/ogc/conformance');
    expect(r.body.conformsTo).toEqual(expect.arrayContaining([
      'http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core',
      'http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson',
    ]));
    expect((await app.get('/ogc/conformance', { query: { f: 'html' } })).status).toBe(400);
  });

  it('lists the collections: survey, parcels and each reference layer, with links and a CRS84 extent', async () => {
    const r = await analyst.get('/ogc/collections');
    expect(r.status, r.text).toBe(200);
    expect(rels(r.body.links)).toContain('self');
    const byId = Object.fromEntries(r.body.collections.map((c: any) => [c.id, c]));
    expect(Object.keys(byId)).toEqual(expect.arrayContaining(['survey', 'parcels', 'villages', 'schools', 'frontage', 'compounds', 'green']));
    for (const c of r.body.collections) {
      expect(rels(c.links)).toEqual(expect.arrayContaining(['self', 'items']));
      expect(c.links.find((l: any) => l.rel === 'items').type).toBe('application/geo+json');
      expect(c.itemType).toBe('feature');
      expect(c.crs).toContain('http://www.opengis.net/def/crs/OGC/1.3/CRS84');
    }
    // the lon/lat box of the data's corners (TB1 at 100,100 … TB6 ending at 2050,2050)
    const corners = [[100, 100], [2050, 100], [100, 2050], [2050, 2050]].map(([x, y]) => toLonLat(x, y));
    const [w, s, e, n] = byId.survey.extent.spatial.bbox[0];
    expect(w).toBeCloseTo(Math.min(...corners.map((c) => c[0])), 6);
    expect(s).toBeCloseTo(Math.min(...corners.map((c) => c[1])), 6);
    expect(e).toBeCloseTo(Math.max(...corners.map((c) => c[0])), 6);
    expect(n).toBeCloseTo(Math.max(...corners.map((c) => c[1])), 6);
    expect(byId.frontage.extent).toBeUndefined(); // no features
    const one = await analyst.get('/ogc/collections/survey');
    expect(one.body.id).toBe('survey');
    expect((await analyst.get('/ogc/collections/nope')).status).toBe(404);
  });

  it('serves items as a GeoJSON FeatureCollection with links, numberMatched and numberReturned', async () => {
    const r = await analyst.get('/ogc/collections/survey/items');
    expect(r.status, r.text).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/application\/geo\+json/);
    expect(r.body.type).toBe('FeatureCollection');
    expect(r.body.numberMatched).toBe(6);
    expect(r.body.numberReturned).toBe(6);
    expect(r.body.features).toHaveLength(6);
    expect(typeof r.body.timeStamp).toBe('string');
    expect(rels(r.body.links)).toContain('self');
    expect(rels(r.body.links)).not.toContain('next');
    const tb1 = r.body.features.find((f: any) => f.properties.code === 'TB1');
    expect(tb1).toMatchObject({ type: 'Feature', id: ids.TB1, properties: { status: 'verified', village: '东村' } });
    const [lon, lat] = tb1.geometry.coordinates[0][0][0];
    const [elon, elat] = toLonLat(100, 100);
    expect(lon).toBeCloseTo(elon, 6);
    expect(lat).toBeCloseTo(elat, 6);
  });

  it('pages with limit through next links carrying a keyset cursor, each feature once', async () => {
    let href: string | undefined = `${app.url}/ogc/collections/survey/items?limit=2`;
    const seen: number[] = [];
    let pages = 0;
    while (href) {
      const r: { body: any } = await analyst.get(new URL(href).pathname + new URL(href).search);
      // numberMatched on the first page; a cursor page skips the count (a full scan at every depth)
      if (pages === 0) expect(r.body.numberMatched).toBe(6);
      else {
        expect(r.body.numberMatched).toBeUndefined();
        expect(new URL(href).searchParams.get('cursor')).toMatch(/^\d+$/);
        expect(new URL(href).searchParams.has('offset')).toBe(false);
      }
      expect(r.body.numberReturned).toBe(r.body.features.length);
      expect(r.body.features.length).toBeLessThanOrEqual(2);
      seen.push(...r.body.features.map((f: any) => f.id));
      href = r.body.links.find((l: any) => l.rel === 'next')?.href;
      pages++;
    }
    expect(pages).toBe(3);
    expect(seen.sort((a, b) => a - b)).toEqual(Object.values(ids).sort((a, b) => a - b));
    const past = await analyst.get('/ogc/collections/survey/items', { query: { cursor: String(Math.max(...seen)) } });
    expect(past.body).toMatchObject({ numberReturned: 0, features: [] });
    expect(rels(past.body.links)).not.toContain('next');
    // offset paging is gone: an unknown parameter is refused, not ignored
    expect((await analyst.get('/ogc/collections/survey/items', { query: { offset: 100 } })).status).toBe(400);
    // limit above the maximum is served as the maximum; below 1 is refused
    expect((await analyst.get('/ogc/collections/survey/items', { query: { limit: 50000 } })).body.numberReturned).toBe(6);
    expect((await analyst.get('/ogc/collections/survey/items', { query: { limit: 0 } })).status).toBe(400);
    expect((await analyst.get('/ogc/collections/survey/items', { query: { limit: 'x' } })).status).toBe(400);
  });

  it('filters by bbox (CRS84) and by status', async () => {
    const [w, s] = toLonLat(90, 90);
    const [e, n] = toLonLat(160, 160);
    const r = await analyst.get('/ogc/collections/survey/items', { query: { bbox: [w, s, e, n].join(',') } });
    expect(r.body.features.map((f: any) => f.properties.code)).toEqual(['TB1']);
    expect(r.body.numberMatched).toBe(1);
    const next = r.body.links.find((l: any) => l.rel === 'self').href;
    expect(decodeURIComponent(next)).toContain(`bbox=${[w, s, e, n].join(',')}`);
    // the whole world: clipped to where the work CRS is meaningful, everything found
    expect((await analyst.get('/ogc/collections/survey/items', { query: { bbox: '-180,-90,180,90' } })).body.numberMatched).toBe(6);
    // far away: nothing (and no nonsense from a transverse Mercator 100° off its meridian)
    expect((await analyst.get('/ogc/collections/survey/items', { query: { bbox: '-10,40,0,50' } })).body.numberMatched).toBe(0);
    const parcels = await analyst.get('/ogc/collections/parcels/items', { query: { bbox: [w, s, e, n].join(',') } });
    expect(parcels.body.features.map((f: any) => f.properties.parcel_code)).toEqual(['P1']);
    expect((await analyst.get('/ogc/collections/survey/items', { query: { status: 'verified' } })).body.features.map((f: any) => f.properties.code)).toEqual(['TB1']);
    expect((await analyst.get('/ogc/collections/survey/items', { query: { status: 'pending,verified' } })).body.numberMatched).toBe(6);
    expect((await analyst.get('/ogc/collections/survey/items', { query: { status: 'bogus' } })).status).toBe(400);
    expect((await analyst.get('/ogc/collections/survey/items', { query: { bbox: '1,2,3' } })).status).toBe(400);
  });

  it('serves one feature, and 404 for an unknown one', async () => {
    const r = await analyst.get(`/ogc/collections/survey/items/${ids.TB3}`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/application\/geo\+json/);
    expect(r.body).toMatchObject({ type: 'Feature', id: ids.TB3, properties: { code: 'TB3', village: '西村' } });
    expect(rels(r.body.links)).toEqual(expect.arrayContaining(['self', 'collection']));
    expect((await analyst.get('/ogc/collections/survey/items/999999')).status).toBe(404);
    expect((await analyst.get('/ogc/collections/survey/items/abc')).status).toBe(404);
    expect((await analyst.get('/ogc/collections/nope/items/1')).status).toBe(404);
    const school = await analyst.get('/ogc/collections/schools/items');
    expect(school.body.features[0]).toMatchObject({ geometry: { type: 'Point' }, properties: { name: '吉安小学' } });
  });

  it('keeps a village-limited user to their villages', async () => {
    const r = await east.get('/ogc/collections/survey/items');
    expect(r.body.features.map((f: any) => f.properties.code).sort()).toEqual(['TB1', 'TB2', 'TB5']);
    expect(r.body.numberMatched).toBe(3);
    expect((await east.get(`/ogc/collections/survey/items/${ids.TB3}`)).status).toBe(404);
    expect((await east.get('/ogc/collections/villages/items')).body.features.map((f: any) => f.properties.name)).toEqual(['东村']);
    const all = JSON.stringify((await east.get('/ogc/collections/survey/items', { query: { bbox: '-180,-90,180,90', limit: 10000 } })).body);
    expect(all).not.toContain('西村');
    const cols = (await east.get('/ogc/collections')).body.collections;
    const [, , e] = cols.find((c: any) => c.id === 'survey').extent.spatial.bbox[0];
    expect(e).toBeLessThan(toLonLat(500, 0)[0]);
  });

  it('authenticates as QGIS does: bearer token, HTTP Basic with a token or the password; anonymous gets 401 and a Basic challenge', async () => {
    const anon = await app.get('/ogc/collections');
    expect(anon.status).toBe(401);
    expect(anon.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
    const u = await app.as('reviewer', { username: 'qgis-user', password: 'Qgis-secret-2021' });
    const { token } = await createSession(db, u.user.id);
    const bearer = app.client({ token });
    expect((await bearer.get('/ogc/collections/survey/items')).body.numberMatched).toBe(6);
    const basic = (user: string, pass: string) => app.get('/ogc/collections/survey/items', {
      headers: { authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` },
    });
    expect((await basic('qgis-user', token)).status).toBe(200);
    expect((await basic('qgis-user', 'Qgis-secret-2021')).status).toBe(200);
    expect((await basic('qgis-user', 'Qgis-secret-2021')).status).toBe(200); // remembered
    const wrong = await basic('qgis-user', 'wrong-password');
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('invalid_credentials');
    expect((await basic('qgis-user', 'A'.repeat(43))).status).toBe(401); // not a session
    // a cookie works too (the browser)
    expect((await u.get('/ogc/collections')).status).toBe(200);
  });
});
