import { describe, expect, it } from 'vitest';
import iconv from 'iconv-lite';
import type { Point, Polygon } from 'geojson';
import { readSource } from '../../server/ingest/read';
import { zip } from '../helpers/shp-bytes';
import { all, codes, opts, refused } from '../helpers/ingest';

const enc = (v: unknown) => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));
const gj = (v: unknown, o = {}) => readSource(enc(v), opts({ fileName: 'layer.geojson', workSrid: 4490, ...o }));
const ring = [
  [105.9, 29.4],
  [105.91, 29.4],
  [105.91, 29.41],
  [105.9, 29.4],
];

describe('GeoJSON input', () => {
  it('reads a FeatureCollection with default CRS84, properties as delivered', async () => {
    const r = await gj({
      type: 'FeatureCollection',
      features: [
        { type: 'Feature', geometry: { type: 'Polygon', coordinates: [ring] }, properties: { 图斑编号: 'TB1', 面积: 12.5, ok: true, tags: ['a'], meta: { k: 1 } } },
        { type: 'Feature', geometry: null, properties: { 图斑编号: 'TB2', 面积: '12' } },
      ],
    });
    expect(r.crs).toEqual({ source: 'OGC:CRS84', how: 'geojson-default', target: 'EPSG:4490' });
    expect(r.encoding).toEqual({ used: 'utf-8', how: 'geojson' });
    expect(r.sourceLayer).toBe('layer.geojson');
    expect(r.count).toBe(2);
    expect(r.geometryTypes).toEqual({ Polygon: 1, null: 1 });
    expect(r.fields).toEqual([
      { name: '图斑编号', type: 'string' },
      { name: '面积', type: 'mixed' },
      { name: 'ok', type: 'boolean' },
      { name: 'tags', type: 'string' },
      { name: 'meta', type: 'string' },
    ]);
    const f = all(r);
    expect(f[0].properties).toEqual({ 图斑编号: 'TB1', 面积: 12.5, ok: true, tags: '["a"]', meta: '{"k":1}' });
    // each feature keeps exactly the properties it was delivered with
    expect(f[1].properties).toEqual({ 图斑编号: 'TB2', 面积: '12' });
    expect(f[1].properties).not.toHaveProperty('ok');
    expect((f[0].geometry as Polygon).coordinates[0][1][0]).toBeCloseTo(105.91, 12);
  });

  it('reprojects using the crs member', async () => {
    const r = await gj(
      {
        type: 'FeatureCollection',
        crs: { type: 'name', properties: { name: 'urn:ogc:def:crs:EPSG::4490' } },
        features: [{ type: 'Feature', geometry: { type: 'Point', coordinates: [105, 29.3674766835107] }, properties: {} }],
      },
      { workSrid: 4523 },
    );
    expect(r.crs).toEqual({ source: 'EPSG:4490', how: 'geojson-crs', target: 'EPSG:4523' });
    const [x, y] = (all(r)[0].geometry as Point).coordinates;
    expect(x).toBeCloseTo(35500000, 3);
    expect(y).toBeCloseTo(3250000, 3);
  });

  it('understands the common crs spellings', async () => {
    const pt = { type: 'Point', coordinates: [105.9, 29.4] };
    for (const [name, source] of [
      ['EPSG:4326', 'EPSG:4326'],
      ['urn:ogc:def:crs:OGC:1.3:CRS84', 'OGC:CRS84'],
      ['http://www.opengis.net/def/crs/EPSG/0/4490', 'EPSG:4490'],
    ])
      expect((await gj({ ...pt, crs: { type: 'name', properties: { name } } })).crs.source).toBe(source);
    expect((await gj({ ...pt, crs: { type: 'EPSG', properties: { code: 4490 } } })).crs.source).toBe('EPSG:4490');
    await refused(gj({ ...pt, crs: { type: 'name', properties: { name: 'urn:ogc:def:crs:EPSG::9999' } } }), 'crs_unknown');
  });

  it('infers GK zone from projected coordinates without a crs member', async () => {
    const r = await gj({ type: 'Feature', geometry: { type: 'Point', coordinates: [35500000, 3250000] }, properties: null });
    expect(r.crs.how).toBe('inferred-zone');
    expect(codes(r)).toContain('crs_inferred_zone');
    expect((all(r)[0].geometry as Point).coordinates[0]).toBeCloseTo(105, 9);
  });

  it('accepts a single Feature and a bare geometry; drops Z; BOM and whitespace tolerated', async () => {
    const f = await readSource(enc('\uFEFF\n  ' + JSON.stringify({ type: 'Feature', geometry: { type: 'Point', coordinates: [105.9, 29.4, 88] }, properties: { a: 1 } })), opts({ fileName: 'x.json', workSrid: 4490 }));
    expect(f.count).toBe(1);
    expect((all(f)[0].geometry as Point).coordinates).toEqual([105.9, 29.4]);
    const g = await gj({ type: 'MultiPolygon', coordinates: [[ring.map((p) => [...p, 1, 2])]] });
    expect(g.geometryTypes).toEqual({ MultiPolygon: 1 });
    expect(all(g)[0].properties).toEqual({});
    expect(JSON.stringify(all(g)[0].geometry)).not.toContain(',1,2]');
  });

  it('counts empty geometries as null', async () => {
    const r = await gj({
      type: 'FeatureCollection',
      features: [
        { type: 'Feature', geometry: { type: 'Polygon', coordinates: [] }, properties: {} },
        { type: 'Feature', geometry: { type: 'LineString', coordinates: [[105.9, 29.4], [105.91, 29.41]] }, properties: {} },
      ],
    });
    expect(r.geometryTypes).toEqual({ null: 1, LineString: 1 });
    expect(all(r)[0].geometry).toBeNull();
  });

  it('refuses what is not GeoJSON', async () => {
    await refused(gj('{"type": "FeatureCollection", "features": [}'), 'geojson_invalid');
    await refused(gj({ type: 'Topology', objects: {} }), 'geojson_invalid');
    await refused(gj({ hello: 'world' }), 'geojson_invalid');
    await refused(gj({ type: 'FeatureCollection', features: {} }), 'geojson_invalid');
    await refused(gj({ type: 'Point', coordinates: ['105', '29'] }), 'geojson_invalid');
    await refused(gj({ type: 'Polygon', coordinates: [[1, 2]] }), 'geojson_invalid');
    await refused(gj({ type: 'Feature', geometry: { type: 'Circle', coordinates: [1, 2] }, properties: {} }), 'geojson_invalid');
    await refused(readSource(enc('[1,2]'), opts({ fileName: 'x.geojson' })), 'geojson_invalid');
  });

  it('refuses coordinates outside China', async () => {
    await refused(gj({ type: 'Point', coordinates: [-73.9, 40.7] }), 'coords_out_of_range');
  });

  it('decodes GBK GeoJSON with a warning rather than failing', async () => {
    const bytes = iconv.encode(JSON.stringify({ type: 'Feature', geometry: null, properties: { 村名: '河东村' } }), 'gbk');
    const r = await readSource(bytes, opts({ fileName: 'x.geojson' }));
    expect(all(r)[0].properties).toEqual({ 村名: '河东村' });
    expect(codes(r)).toContain('encoding_geojson_not_utf8');
  });

  it('reads a GeoJSON layer inside a zip', async () => {
    const r = await readSource(zip({ 'out/绿地.geojson': JSON.stringify({ type: 'FeatureCollection', features: [{ type: 'Feature', geometry: { type: 'Polygon', coordinates: [ring] }, properties: { n: 1 } }] }) }), opts());
    expect(r.sourceLayer).toBe('绿地.geojson');
    expect(r.availableLayers).toEqual(['绿地.geojson']);
    expect(r.count).toBe(1);
  });
});
