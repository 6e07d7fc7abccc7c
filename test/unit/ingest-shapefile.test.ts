import { describe, expect, it } from 'vitest';
import type { MultiPolygon, Point, Polygon, LineString } from 'geojson';
import { readSource } from '../../server/ingest/read';
import { hole, makeShapefile, makeShp, square, zip, PRJ, type RecordParts } from '../helpers/shp-bytes';
import { all, codes, opts, refused } from '../helpers/ingest';

const X = 35500000;
const Y = 3250000;

function files(name: string, geoms: RecordParts[], extra: Partial<Parameters<typeof makeShapefile>[0]> = {}) {
  const s = makeShapefile({ geometries: geoms, ...extra });
  return { [`${name}.shp`]: s.shp, [`${name}.shx`]: s.shx, [`${name}.dbf`]: s.dbf, [`${name}.prj`]: PRJ.cgcs2000Zone35 };
}

describe('shapefile layers', () => {
  it('reads polygons with attributes in file order', async () => {
    const r = await readSource(
      zip(
        files('tb', [[square(X, Y, 10)], [square(X + 20, Y, 10)]], {
          fields: [
            { name: 'TBBH', type: 'C', length: 10 },
            { name: 'MJ', type: 'N', length: 12, decimals: 2 },
          ],
          records: [
            ['A1', 100.5],
            ['A2', 99],
          ],
        }),
      ),
      opts(),
    );
    expect(r.sourceLayer).toBe('tb');
    expect(r.availableLayers).toEqual(['tb']);
    expect(r.count).toBe(2);
    expect(r.geometryTypes).toEqual({ Polygon: 2 });
    expect(r.fields).toEqual([
      { name: 'TBBH', type: 'string' },
      { name: 'MJ', type: 'number' },
    ]);
    const f = all(r);
    expect(f.map((x) => x.properties)).toEqual([
      { TBBH: 'A1', MJ: 100.5 },
      { TBBH: 'A2', MJ: 99 },
    ]);
    expect((f[0].geometry as Polygon).coordinates).toEqual([square(X, Y, 10)]);
    // features() can be iterated again (the loader may count first)
    expect(all(r)).toHaveLength(2);
  });

  it('reads multipart polygons and holes', async () => {
    const r = await readSource(
      zip(files('mp', [[square(X, Y, 10), square(X + 50, Y, 10)], [square(X, Y, 100), hole(X + 10, Y + 10, 20)]])),
      opts(),
    );
    expect(r.geometryTypes).toEqual({ MultiPolygon: 1, Polygon: 1 });
    const [a, b] = all(r).map((f) => f.geometry);
    expect((a as MultiPolygon).coordinates).toHaveLength(2);
    expect((b as Polygon).coordinates).toHaveLength(2); // shell + hole
  });

  for (const [shapeType, label] of [
    [15, 'PolygonZ'],
    [25, 'PolygonM'],
  ] as const)
    it(`drops Z/M of ${label} and keeps X/Y exact`, async () => {
      const r = await readSource(zip(files('z', [[square(X, Y, 10), square(X + 50, Y, 10)], [square(X, Y + 50, 5)]], { shapeType, z: 123.4, m: 9 })), opts());
      expect(r.geometryTypes).toEqual({ MultiPolygon: 1, Polygon: 1 });
      const g = all(r).map((f) => f.geometry);
      expect((g[0] as MultiPolygon).coordinates[1]).toEqual([square(X + 50, Y, 10)]);
      expect((g[1] as Polygon).coordinates).toEqual([square(X, Y + 50, 5)]);
    });

  it('drops Z of points and lines, and reports their types truthfully', async () => {
    const pts = await readSource(zip(files('p', [[[[X, Y]]], null], { shapeType: 11, z: 5 })), opts());
    expect(pts.geometryTypes).toEqual({ Point: 1, null: 1 });
    expect((all(pts)[0].geometry as Point).coordinates).toEqual([X, Y]);
    const lines = await readSource(zip(files('l', [[[[X, Y], [X + 5, Y + 5]]]], { shapeType: 13, z: 5 })), opts());
    expect(lines.geometryTypes).toEqual({ LineString: 1 });
    expect((all(lines)[0].geometry as LineString).coordinates).toEqual([
      [X, Y],
      [X + 5, Y + 5],
    ]);
  });

  it('returns null geometry for null shapes and empty parts, keeping records aligned', async () => {
    const r = await readSource(
      zip(files('n', [null, [square(X, Y, 10)], [], null], { fields: [{ name: 'I', type: 'N', length: 4 }], records: [[1], [2], [3], [4]] })),
      opts(),
    );
    expect(r.count).toBe(4);
    expect(r.geometryTypes).toEqual({ null: 3, Polygon: 1 });
    expect(all(r).map((f) => [f.properties.I, f.geometry?.type ?? null])).toEqual([
      [1, null],
      [2, 'Polygon'],
      [3, null],
      [4, null],
    ]);
  });

  it('returns an empty layer (0 records) without error', async () => {
    const s = makeShapefile({ geometries: [], fields: [{ name: 'TBBH', type: 'C', length: 10 }], records: [] });
    const r = await readSource(zip({ 'e.shp': s.shp, 'e.dbf': s.dbf }), opts());
    expect(r.count).toBe(0);
    expect(all(r)).toEqual([]);
    expect(r.geometryTypes).toEqual({});
    expect(r.fields).toEqual([{ name: 'TBBH', type: 'string' }]);
  });

  it('finds layers in nested folders with upper-case extensions, ignoring __MACOSX', async () => {
    const s = makeShapefile({ geometries: [[square(X, Y, 10)]], fields: [{ name: '村名', type: 'C', length: 10 }], records: [['河东']], encoding: 'gbk' });
    const r = await readSource(
      zip({
        '2024/交付/DLTB.SHP': s.shp,
        '2024/交付/DLTB.SHX': s.shx,
        '2024/交付/dltb.DBF': s.dbf,
        '2024/交付/Dltb.PRJ': PRJ.cgcs2000Zone35,
        '2024/交付/DLTB.CPG': 'GBK',
        '__MACOSX/2024/交付/._DLTB.SHP': new Uint8Array([0, 5, 22, 7]),
        '2024/交付/._DLTB.SHP': new Uint8Array([0, 5, 22, 7]),
        '2024/readme.txt': 'hello',
      }),
      opts(),
    );
    expect(r.availableLayers).toEqual(['DLTB']);
    expect(r.crs.source).toBe('EPSG:4523');
    expect(r.encoding.how).toBe('cpg');
    expect(all(r)[0].properties).toEqual({ 村名: '河东' });
  });

  it('lists several layers and lets the caller choose by name or path', async () => {
    const z = zip({
      ...files('a/TB', [[square(X, Y, 10)]]),
      ...files('b/TB', [[square(X, Y, 10)], [square(X, Y, 20)]]),
      ...files('cun', [[square(X, Y, 30)]]),
      'extra/green.geojson': JSON.stringify({ type: 'FeatureCollection', features: [] }),
    });
    const e = await refused(readSource(z, opts()), 'multiple_layers');
    expect(e.details).toEqual({ option: '--name', field: 'source_layer', layers: ['a/TB', 'b/TB', 'cun', 'green.geojson'] });
    // the message names what really chooses a zip's layer (--layer chooses tuban's layer), in both languages
    expect(e.message).toContain('--name');
    expect(e.message).toContain('source_layer');
    expect(e.message).not.toContain('--layer');
    expect(e.message_zh).toContain('--name');
    expect(e.message_zh).not.toContain('--layer');

    expect((await readSource(z, opts({ sourceLayer: 'CUN' }))).count).toBe(1);
    const b = await readSource(z, opts({ sourceLayer: 'b/tb.shp' }));
    expect([b.sourceLayer, b.count]).toEqual(['TB', 2]);
    expect(b.availableLayers).toEqual(['a/TB', 'b/TB', 'cun', 'green.geojson']);
    expect((await readSource(z, opts({ sourceLayer: 'green' }))).count).toBe(0);
    // a base name shared by two folders is ambiguous: list only the candidates
    const amb = await refused(readSource(z, opts({ sourceLayer: 'TB' })), 'multiple_layers');
    expect(amb.details).toEqual({ layers: ['a/TB', 'b/TB'], option: '--name', field: 'source_layer' });
    const nf = await refused(readSource(z, opts({ sourceLayer: 'nope' })), 'layer_not_found');
    expect((nf.details as { layers: string[] }).layers).toHaveLength(4);
  });

  it('only inflates the chosen layer', async () => {
    // the other layer's .shp is garbage: reading it would fail, so success proves it was not read
    const z = zip({ ...files('good', [[square(X, Y, 10)]]), 'bad.shp': new Uint8Array(500).fill(7), 'bad.dbf': new Uint8Array(10) });
    expect((await readSource(z, opts({ sourceLayer: 'good' }))).count).toBe(1);
  });

  it('refuses a layer without .dbf', async () => {
    const s = makeShapefile({ geometries: [[square(X, Y, 10)]] });
    const e = await refused(readSource(zip({ 'x.shp': s.shp, 'x.shx': s.shx, 'x.prj': PRJ.cgcs2000Zone35 }), opts()), 'dbf_missing');
    expect(e.message_zh).toContain('.dbf');
  });

  it('reads without .shx, and warns when .shx disagrees with .shp', async () => {
    const s = makeShapefile({ geometries: [[square(X, Y, 10)], [square(X, Y, 20)]] });
    const noShx = await readSource(zip({ 'x.shp': s.shp, 'x.dbf': s.dbf, 'x.prj': PRJ.cgcs2000Zone35 }), opts());
    expect(noShx.count).toBe(2);
    expect(noShx.warnings).toEqual([]);
    const other = makeShp(5, [[square(X, Y, 10)]]).shx;
    const bad = await readSource(zip({ 'x.shp': s.shp, 'x.shx': other, 'x.dbf': s.dbf, 'x.prj': PRJ.cgcs2000Zone35 }), opts());
    expect(codes(bad)).toContain('shx_mismatch');
  });

  it('refuses when .dbf and .shp record counts differ', async () => {
    const a = makeShapefile({ geometries: [[square(X, Y, 10)], [square(X, Y, 20)]] });
    const b = makeShapefile({ geometries: [[square(X, Y, 10)]] });
    const e = await refused(readSource(zip({ 'x.shp': a.shp, 'x.dbf': b.dbf, 'x.prj': PRJ.cgcs2000Zone35 }), opts()), 'shp_dbf_mismatch');
    expect(e.details).toEqual({ shpRecords: 2, dbfRecords: 1 });
  });

  it('refuses a truncated .shp instead of silently dropping its tail', async () => {
    const s = makeShapefile({ geometries: [[square(X, Y, 10)], [square(X, Y, 20)], [square(X, Y, 30)]] });
    await refused(readSource(zip({ 'x.shp': s.shp.subarray(0, s.shp.length - 20), 'x.dbf': s.dbf }), opts()), 'shp_corrupt');
    // also when the header length was "fixed" to match the cut file
    const cut = s.shp.slice(0, s.shp.length - 20);
    new DataView(cut.buffer).setInt32(24, cut.length / 2, false);
    await refused(readSource(zip({ 'x.shp': cut, 'x.dbf': s.dbf }), opts()), 'shp_corrupt');
    await refused(readSource(zip({ 'x.shp': s.shp.subarray(0, 60), 'x.dbf': s.dbf }), opts()), 'shp_corrupt');
  });

  it('refuses a record whose point count exceeds its length', async () => {
    const s = makeShapefile({ geometries: [[square(X, Y, 10)]] });
    new DataView(s.shp.buffer).setInt32(100 + 8 + 40, 1000, true); // numPoints
    const e = await refused(readSource(zip({ 'x.shp': s.shp, 'x.dbf': s.dbf }), opts()), 'shp_corrupt');
    expect(e.details).toMatchObject({ record: 1 });
  });

  it('refuses MultiPatch', async () => {
    const s = makeShapefile({ geometries: [] });
    new DataView(s.shp.buffer).setInt32(32, 31, true);
    await refused(readSource(zip({ 'x.shp': s.shp, 'x.dbf': s.dbf }), opts()), 'shp_unsupported_type');
  });

  it('keeps deleted .dbf records aligned with their shapes, with a warning', async () => {
    const r = await readSource(
      zip(files('d', [[square(X, Y, 10)], [square(X, Y, 20)], [square(X, Y, 30)]], { fields: [{ name: 'I', type: 'N', length: 3 }], records: [[1], [2], [3]], deleted: [1] })),
      opts(),
    );
    expect(all(r).map((f) => [f.properties.I, (f.geometry as Polygon).coordinates[0][2][0] - X])).toEqual([
      [1, 10],
      [2, 20],
      [3, 30],
    ]);
    expect(codes(r)).toContain('dbf_deleted_records');
  });

  it('refuses a bare .shp and says to zip it', async () => {
    const s = makeShapefile({ geometries: [[square(X, Y, 10)]] });
    const e = await refused(readSource(s.shp, opts({ fileName: 'tb.shp' })), 'shp_not_zipped');
    expect(e.message).toMatch(/zip/i);
    expect(e.message_zh).toContain('.dbf');
  });

  it('reports value anomalies after iteration', async () => {
    const r = await readSource(zip(files('v', [[square(X, Y, 10)]], { fields: [{ name: 'N', type: 'N', length: 5 }], records: [['1.2.3']] })), opts());
    expect(all(r)[0].properties.N).toBeNull();
    expect(codes(r)).toContain('dbf_bad_numbers');
    all(r);
    expect(codes(r).filter((c) => c === 'dbf_bad_numbers')).toHaveLength(1);
  });
});
