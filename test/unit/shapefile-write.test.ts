import { describe, expect, it } from 'vitest';
import iconv from 'iconv-lite';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MultiPolygon, Polygon, Position } from 'geojson';
import proj4 from 'proj4';
// shpjs ships no type declarations
import { parseShp } from 'shpjs';
import {
  ShapefileBuilder,
  ShapefileFileWriter,
  encodeTruncated,
  formatDbfNumber,
  ringSignedArea,
  writeShapefile,
  type DbfField,
} from '../../server/shapefile/write';
import {
  PRJ_4490,
  cgcs2000GkCmWkt,
  cgcs2000GkEpsg,
  cgcs2000GkZoneWkt,
  esriWktForEpsg,
  proj4ForEpsg,
} from '../../server/shapefile/prj';

type Parsed = { type: string; coordinates: unknown; bbox?: number[] } | null;
const parse = (shp: Uint8Array): Parsed[] =>
  parseShp(new DataView(shp.buffer, shp.byteOffset, shp.byteLength)) as Parsed[];

/** Minimal dBASE III reader, enough to check what the writer wrote. */
function readDbf(buf: Uint8Array, encoding: string) {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const count = dv.getUint32(4, true);
  const headerLength = dv.getUint16(8, true);
  const recordLength = dv.getUint16(10, true);
  const fields: { name: string; type: string; length: number; decimals: number; nameBytes: Uint8Array }[] = [];
  for (let o = 32; buf[o] !== 0x0d; o += 32) {
    let end = o;
    while (end < o + 11 && buf[end] !== 0) end++;
    const nameBytes = buf.subarray(o, end);
    fields.push({
      name: iconv.decode(Buffer.from(nameBytes), encoding),
      nameBytes,
      type: String.fromCharCode(buf[o + 11]),
      length: buf[o + 16],
      decimals: buf[o + 17],
    });
  }
  const rows: Record<string, string>[] = [];
  const raw: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const start = headerLength + i * recordLength;
    const rec = buf.subarray(start, start + recordLength);
    raw.push(rec);
    let o = 1;
    const row: Record<string, string> = {};
    for (const f of fields) {
      row[f.name] = iconv.decode(Buffer.from(rec.subarray(o, o + f.length)), encoding);
      o += f.length;
    }
    rows.push(row);
  }
  return {
    version: buf[0],
    date: [buf[1] + 1900, buf[2], buf[3]],
    ldid: buf[29],
    count,
    headerLength,
    recordLength,
    fields,
    rows,
    raw,
    eof: buf[headerLength + count * recordLength],
    totalLength: buf.length,
  };
}

function readShx(shx: Uint8Array) {
  const dv = new DataView(shx.buffer, shx.byteOffset, shx.byteLength);
  const out: { offset: number; length: number }[] = [];
  for (let o = 100; o < shx.length; o += 8) {
    out.push({ offset: dv.getInt32(o, false) * 2, length: dv.getInt32(o + 4, false) * 2 });
  }
  return out;
}

function header(b: Uint8Array) {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return {
    code: dv.getInt32(0, false),
    lengthBytes: dv.getInt32(24, false) * 2,
    version: dv.getInt32(28, true),
    type: dv.getInt32(32, true),
    bbox: [dv.getFloat64(36, true), dv.getFloat64(44, true), dv.getFloat64(52, true), dv.getFloat64(60, true)],
    z: [dv.getFloat64(68, true), dv.getFloat64(76, true)],
  };
}

/** Rings of record `i` as written (no reader interpretation). */
function rawRings(shp: Uint8Array, offset: number): Position[][] {
  const dv = new DataView(shp.buffer, shp.byteOffset, shp.byteLength);
  const c = offset + 8;
  const type = dv.getInt32(c, true);
  if (type === 0) return [];
  const np = dv.getInt32(c + 36, true);
  const n = dv.getInt32(c + 40, true);
  const starts: number[] = [];
  for (let i = 0; i < np; i++) starts.push(dv.getInt32(c + 44 + 4 * i, true));
  starts.push(n);
  const p0 = c + 44 + 4 * np;
  const rings: Position[][] = [];
  for (let i = 0; i < np; i++) {
    const r: Position[] = [];
    for (let k = starts[i]; k < starts[i + 1]; k++) r.push([dv.getFloat64(p0 + 16 * k, true), dv.getFloat64(p0 + 16 * k + 8, true)]);
    rings.push(r);
  }
  return rings;
}

const E = 35_590_000;
const N = 3_254_000;
/** GeoJSON-style (counter-clockwise) rectangle */
const rect = (x: number, y: number, w: number, h: number): Position[] => [
  [E + x, N + y],
  [E + x + w, N + y],
  [E + x + w, N + y + h],
  [E + x, N + y + h],
  [E + x, N + y],
];
const rev = (r: Position[]) => r.slice().reverse();

describe('writeShapefile: .shp/.shx', () => {
  const square: Polygon = { type: 'Polygon', coordinates: [rect(0, 0, 10, 10)] };
  const withHole: Polygon = { type: 'Polygon', coordinates: [rect(100, 0, 40, 40), rev(rect(110, 10, 10, 10))] };
  const multi: MultiPolygon = {
    type: 'MultiPolygon',
    coordinates: [[rect(200, 0, 10, 20)], [rect(220, 0, 15, 15), rev(rect(224, 4, 5, 5))]],
  };
  // clockwise outer (already shapefile order) without the closing point
  const openCw: Polygon = { type: 'Polygon', coordinates: [rev(rect(300, 0, 10, 5)).slice(0, 4)] };
  const geometries = [square, null, withHole, multi, { type: 'Polygon', coordinates: [] } as Polygon, openCw];
  const out = writeShapefile({ geometries, fields: [{ name: 'ID', type: 'N', length: 4 }], records: geometries.map((_, i) => ({ ID: i })) });

  it('round-trips through shpjs parseShp, null shapes included', () => {
    const parsed = parse(out.shp);
    expect(parsed).toHaveLength(6);
    expect(parsed[1]).toBeNull();
    expect(parsed[4]).toBeNull();
    expect(parsed[0]!.type).toBe('Polygon');
    expect(parsed[2]!.type).toBe('Polygon');
    expect((parsed[2]!.coordinates as Position[][]).length).toBe(2);
    expect(parsed[3]!.type).toBe('MultiPolygon');
    const mp = parsed[3]!.coordinates as Position[][][];
    expect(mp.length).toBe(2);
    expect(mp[1].length).toBe(2); // second part keeps its hole
    expect(parsed[5]!.type).toBe('Polygon');
    const areaOf = (rings: Position[][]) => rings.reduce((a, r, i) => a + (i === 0 ? 1 : -1) * Math.abs(ringSignedArea(r)), 0);
    expect(areaOf(parsed[0]!.coordinates as Position[][])).toBeCloseTo(100, 6);
    expect(areaOf(parsed[2]!.coordinates as Position[][])).toBeCloseTo(1600 - 100, 6);
    expect(areaOf(mp[0]) + areaOf(mp[1])).toBeCloseTo(200 + 225 - 25, 6);
    expect(areaOf(parsed[5]!.coordinates as Position[][])).toBeCloseTo(50, 6);
  });

  it('writes outer rings clockwise and holes counter-clockwise, closed', () => {
    const idx = readShx(out.shx);
    const check = (i: number, expected: ('cw' | 'ccw')[]) => {
      const rings = rawRings(out.shp, idx[i].offset);
      expect(rings.map((r) => (ringSignedArea(r) < 0 ? 'cw' : 'ccw'))).toEqual(expected);
      for (const r of rings) expect(r[0]).toEqual(r[r.length - 1]);
    };
    check(0, ['cw']);
    check(2, ['cw', 'ccw']);
    check(3, ['cw', 'cw', 'ccw']);
    check(5, ['cw']);
    expect(rawRings(out.shp, idx[5].offset)[0]).toHaveLength(5); // closing point added
  });

  it('has consistent headers: lengths in words, bbox, .shx offsets pointing at records', () => {
    const hs = header(out.shp);
    const hx = header(out.shx);
    expect(hs.code).toBe(9994);
    expect(hs.version).toBe(1000);
    expect(hs.type).toBe(5);
    expect(hs.lengthBytes).toBe(out.shp.length);
    expect(hx.lengthBytes).toBe(out.shx.length);
    expect(out.shx.length).toBe(100 + 8 * 6);
    expect(hx.type).toBe(5);
    expect(hx.bbox).toEqual(hs.bbox);
    expect(hs.bbox).toEqual([E, N, E + 310, N + 40]);
    const dv = new DataView(out.shp.buffer);
    const idx = readShx(out.shx);
    let expectedOffset = 100;
    idx.forEach((e, i) => {
      expect(e.offset).toBe(expectedOffset);
      expect(dv.getInt32(e.offset, false)).toBe(i + 1); // record number, big-endian
      expect(dv.getInt32(e.offset + 4, false) * 2).toBe(e.length); // content length matches
      expectedOffset += 8 + e.length;
    });
    expect(expectedOffset).toBe(out.shp.length);
    // null shapes: content = shape type 0 only
    expect(idx[1].length).toBe(4);
    expect(dv.getInt32(idx[1].offset + 8, true)).toBe(0);
    // record bbox
    const c = idx[3].offset + 8;
    expect([dv.getFloat64(c + 4, true), dv.getFloat64(c + 12, true), dv.getFloat64(c + 20, true), dv.getFloat64(c + 28, true)]).toEqual([
      E + 200,
      N,
      E + 235,
      N + 20,
    ]);
  });

  it('writes points, lines and Z', () => {
    const pts = writeShapefile({
      geometries: [{ type: 'Point', coordinates: [E, N] }, null, { type: 'Point', coordinates: [E + 5, N + 7] }],
      fields: [],
      records: [],
    });
    expect(header(pts.shp).type).toBe(1);
    expect(parse(pts.shp)).toEqual([{ type: 'Point', coordinates: [E, N] }, null, { type: 'Point', coordinates: [E + 5, N + 7] }]);
    expect(header(pts.shp).bbox).toEqual([E, N, E + 5, N + 7]);

    const lines = writeShapefile({
      geometries: [
        { type: 'LineString', coordinates: [[E, N], [E + 10, N + 10], [E + 20, N]] },
        { type: 'MultiLineString', coordinates: [[[E, N], [E + 1, N + 1]], [[E + 2, N + 2], [E + 3, N + 3]]] },
      ],
      fields: [{ name: 'name', type: 'C' }],
      records: [{ name: 'a' }, { name: 'b' }],
    });
    expect(header(lines.shp).type).toBe(3);
    const pl = parse(lines.shp);
    expect(pl[0]).toMatchObject({ type: 'LineString', coordinates: [[E, N], [E + 10, N + 10], [E + 20, N]] });
    expect(pl[1]).toMatchObject({ type: 'MultiLineString', coordinates: [[[E, N], [E + 1, N + 1]], [[E + 2, N + 2], [E + 3, N + 3]]] });

    const z = writeShapefile({
      geometries: [{ type: 'Polygon', coordinates: [rect(0, 0, 10, 10).map(([x, y]) => [x, y, 301.5])] }, null],
      fields: [],
      records: [],
    });
    expect(header(z.shp).type).toBe(15);
    expect(header(z.shp).z).toEqual([301.5, 301.5]);
    const pz = parse(z.shp);
    expect((pz[0]!.coordinates as Position[][])[0][0]).toHaveLength(3);
    expect((pz[0]!.coordinates as Position[][])[0][0][2]).toBe(301.5);
    expect(pz[1]).toBeNull();
  });

  it('refuses mixed geometry families and all-null layers without a shape type', () => {
    expect(() =>
      writeShapefile({ geometries: [{ type: 'Point', coordinates: [0, 0] }, { type: 'LineString', coordinates: [[0, 0], [1, 1]] }], fields: [], records: [] }),
    ).toThrow(/mix/);
    expect(() => writeShapefile({ geometries: [null], fields: [], records: [] })).toThrow(/shapeType/);
    const empty = writeShapefile({ geometries: [null, null], fields: [], records: [], shapeType: 'polygon' });
    expect(header(empty.shp).type).toBe(5);
    expect(header(empty.shp).bbox).toEqual([0, 0, 0, 0]);
    expect(parse(empty.shp)).toEqual([null, null]);
  });
});

describe('writeShapefile: .dbf', () => {
  const fields: DbfField[] = [
    { name: '图斑编号', type: 'C', length: 20 },
    { name: '行政区代码', type: 'C', length: 12 },
    { name: '村名', type: 'C' },
    { name: '后时相', type: 'D' },
    { name: '面积', type: 'N', length: 12, decimals: 2 },
    { name: '数量', type: 'N', length: 5 },
    { name: '比例', type: 'F', length: 10, decimals: 4 },
    { name: '已核实', type: 'L' },
    { name: '变化类型说明文字', type: 'C', length: 6 }, // 16 bytes in GBK → cut to 10 (5 chars)
    { name: '变化类型说明文本', type: 'C', length: 6 }, // same 10-byte prefix → made unique
  ];
  const records = [
    { 图斑编号: '500118-2020-000123', 行政区代码: '500118109201', 村名: '大土村', 后时相: '2020-08-15', 面积: 1234.567, 数量: 3, 比例: 0.5, 已核实: true, 变化类型说明文字: '新增建设用地', 变化类型说明文本: 'ab' },
    { 图斑编号: '500118-2020-000124', 行政区代码: null, 村名: '双竹村', 后时相: new Date(Date.UTC(2020, 6, 1, 20, 0)), 面积: -5, 数量: null, 比例: 123456789, 已核实: false, 变化类型说明文字: '推填土', 变化类型说明文本: null },
    { 图斑编号: '', 村名: undefined, 后时相: 'not a date', 面积: Number.NaN, 数量: 123456, 已核实: null },
  ];
  const g: Polygon = { type: 'Polygon', coordinates: [rect(0, 0, 10, 10)] };
  const out = writeShapefile({
    geometries: [g, g, g],
    fields,
    records,
    date: new Date(Date.UTC(2021, 3, 15)),
  });
  const d = readDbf(out.dbf, 'gbk');

  it('writes a dBASE III header with GBK language driver, counts and lengths', () => {
    expect(out.cpg).toBe('GBK');
    expect(d.version).toBe(3);
    expect(d.date).toEqual([2021, 4, 15]);
    expect(d.ldid).toBe(0x4d);
    expect(d.count).toBe(3);
    expect(d.headerLength).toBe(32 + 32 * fields.length + 1);
    expect(d.recordLength).toBe(1 + d.fields.reduce((a, f) => a + f.length, 0));
    expect(d.eof).toBe(0x1a);
    expect(d.totalLength).toBe(d.headerLength + 3 * d.recordLength + 1);
    for (const r of d.raw) expect(r[0]).toBe(0x20); // not deleted
  });

  it('encodes Chinese field names in GBK, ≤ 10 bytes, cut at character boundaries, unique', () => {
    expect(d.fields.map((f) => f.name)).toEqual([
      '图斑编号',
      '行政区代码',
      '村名',
      '后时相',
      '面积',
      '数量',
      '比例',
      '已核实',
      '变化类型说',
      '变化类型_1',
    ]);
    expect(d.fields[0].nameBytes).toEqual(new Uint8Array(iconv.encode('图斑编号', 'gbk')));
    expect(d.fields[0].nameBytes.length).toBe(8);
    for (const f of d.fields) expect(f.nameBytes.length).toBeLessThanOrEqual(10);
    expect(out.fields.map((f) => f.key)).toEqual(fields.map((f) => f.name));
    expect(d.fields.map((f) => f.type).join('')).toBe('CCCDNNFLCC');
    expect(d.fields[2].length).toBe(6); // longest value: 3 chars × 2 bytes
  });

  it('round-trips values: padded text, right-aligned numbers, YYYYMMDD dates, logicals', () => {
    const [a, b, c] = d.rows;
    expect(a['图斑编号']).toBe('500118-2020-000123  ');
    expect(a['村名']).toBe('大土村');
    expect(a['后时相']).toBe('20200815');
    expect(a['面积']).toBe('     1234.57');
    expect(a['数量']).toBe('    3');
    expect(a['比例']).toBe('    0.5000');
    expect(a['已核实']).toBe('T');
    expect(a['变化类型说']).toBe('新增建'); // 6 bytes = 3 GBK characters
    expect(a['变化类型_1']).toBe('ab    ');
    expect(b['行政区代码']).toBe(' '.repeat(12)); // null → blank
    expect(b['后时相']).toBe('20200702'); // 20:00 UTC is the next day in Beijing
    expect(b['面积']).toBe('       -5.00');
    expect(b['数量']).toBe('     ');
    expect(b['比例']).toBe(' 123456789'); // decimals dropped to fit
    expect(b['已核实']).toBe('F');
    expect(b['变化类型说']).toBe('推填土');
    expect(c['图斑编号'].trim()).toBe('');
    expect(c['村名']).toBe('      ');
    expect(c['后时相']).toBe('        ');
    expect(c['面积'].trim()).toBe('');
    expect(c['数量']).toBe('*****'); // overflow
    expect(c['已核实']).toBe('?');
  });

  it('can write UTF-8 (no language driver) and GBK without the LDID byte', () => {
    const u = writeShapefile({ geometries: [g], fields: [{ name: '村名', type: 'C' }], records: [{ 村名: '龙凤村' }], encoding: 'utf-8' });
    expect(u.cpg).toBe('UTF-8');
    const du = readDbf(u.dbf, 'utf-8');
    expect(du.ldid).toBe(0);
    expect(du.fields[0].name).toBe('村名');
    expect(du.fields[0].length).toBe(9);
    expect(du.rows[0]['村名']).toBe('龙凤村');
    const n = writeShapefile({ geometries: [g], fields: [{ name: '村名', type: 'C' }], records: [{ 村名: '龙凤村' }], ldid: false });
    expect(readDbf(n.dbf, 'gbk').ldid).toBe(0);
    expect(readDbf(n.dbf, 'gbk').rows[0]['村名']).toBe('龙凤村');
  });

  it('truncates text and field names at character boundaries', () => {
    expect(Buffer.from(encodeTruncated('吉安镇A', 5, 'gbk'))).toEqual(iconv.encode('吉安', 'gbk'));
    expect(Buffer.from(encodeTruncated('吉安镇', 7, 'utf-8')).toString('utf8')).toBe('吉安');
    expect(formatDbfNumber(12.5, 4, 2)).toBe('12.5');
    expect(formatDbfNumber(-0.0001, 6, 2)).toBe('0.00');
    expect(formatDbfNumber(1e9, 4, 0)).toBeNull();
  });
});

describe('incremental writers', () => {
  const fields: DbfField[] = [
    { name: '宗地代码', type: 'C', length: 19 },
    { name: '权利人', type: 'C', length: 40 },
    { name: '批准面积', type: 'N', length: 12, decimals: 2 },
  ];
  const n = 2500;
  const geom = (i: number): Polygon => ({ type: 'Polygon', coordinates: [rect((i % 50) * 20, Math.floor(i / 50) * 20, 18, 18)] });
  const rec = (i: number) => ({ 宗地代码: `500118109001JC${String(i).padStart(5, '0')}`, 权利人: `张三${i}`, 批准面积: 324 + i / 100 });
  const layout = { fields, shapeType: 'polygon' as const, date: new Date(Date.UTC(2021, 0, 1)) };

  it('ShapefileBuilder gives the same bytes as writeShapefile', () => {
    const b = new ShapefileBuilder(layout);
    for (let i = 0; i < n; i++) b.add(geom(i), rec(i));
    const built = b.finish();
    const batch = writeShapefile({
      ...layout,
      geometries: Array.from({ length: n }, (_, i) => geom(i)),
      records: Array.from({ length: n }, (_, i) => rec(i)),
    });
    // Buffer.equals: vitest's deep equality is slow on large typed arrays
    expect(Buffer.from(built.shp).equals(Buffer.from(batch.shp))).toBe(true);
    expect(Buffer.from(built.shx).equals(Buffer.from(batch.shx))).toBe(true);
    expect(Buffer.from(built.dbf).equals(Buffer.from(batch.dbf))).toBe(true);
  });

  it('ShapefileFileWriter streams to disk with patched headers, .cpg and .prj', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shpw-'));
    try {
      const w = new ShapefileFileWriter(join(dir, '宗地'), { ...layout, prj: esriWktForEpsg(4523) });
      for (let i = 0; i < n; i++) w.add(i === 7 ? null : geom(i), rec(i));
      const res = w.close();
      expect(res.count).toBe(n);
      expect(res.files.map((f) => f.slice(dir.length + 1)).sort()).toEqual(['宗地.cpg', '宗地.dbf', '宗地.prj', '宗地.shp', '宗地.shx']);
      const shp = new Uint8Array(readFileSync(join(dir, '宗地.shp')));
      const shx = new Uint8Array(readFileSync(join(dir, '宗地.shx')));
      const dbf = new Uint8Array(readFileSync(join(dir, '宗地.dbf')));
      expect(header(shp).lengthBytes).toBe(shp.length);
      expect(header(shx).lengthBytes).toBe(shx.length);
      const parsed = parse(shp);
      expect(parsed).toHaveLength(n);
      expect(parsed[7]).toBeNull();
      expect(parsed[8]!.type).toBe('Polygon');
      const d = readDbf(dbf, 'gbk');
      expect(d.count).toBe(n);
      expect(d.eof).toBe(0x1a);
      expect(d.rows[2499]['权利人'].trim()).toBe('张三2499');
      expect(d.rows[2499]['批准面积']).toBe('      348.99');
      expect(readFileSync(join(dir, '宗地.cpg'), 'utf8')).toBe('GBK');
      const idx = readShx(shx);
      expect(idx[n - 1].offset + 8 + idx[n - 1].length).toBe(shp.length);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('prj', () => {
  it('writes ArcGIS ESRI WKT for CGCS2000', () => {
    expect(PRJ_4490).toBe(
      'GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]',
    );
    expect(cgcs2000GkZoneWkt(35)).toBe(
      'PROJCS["CGCS2000_3_Degree_GK_Zone_35",GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",35500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",105.0],PARAMETER["Scale_Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]',
    );
    expect(cgcs2000GkCmWkt(105)).toContain('PROJCS["CGCS2000_3_Degree_GK_CM_105E"');
    expect(cgcs2000GkCmWkt(105)).toContain('PARAMETER["False_Easting",500000.0]');
    expect(esriWktForEpsg(4523)).toBe(cgcs2000GkZoneWkt(35));
    expect(esriWktForEpsg(4513)).toContain('Zone_25",');
    expect(esriWktForEpsg(4533)).toContain('PARAMETER["False_Easting",45500000.0]');
    expect(esriWktForEpsg(4544)).toBe(cgcs2000GkCmWkt(105));
    expect(esriWktForEpsg(4534)).toContain('GK_CM_75E"');
    expect(esriWktForEpsg(4554)).toContain('PARAMETER["Central_Meridian",135.0]');
    expect(esriWktForEpsg(4490)).toBe(PRJ_4490);
    expect(cgcs2000GkEpsg(35)).toBe(4523);
    expect(cgcs2000GkEpsg(35, false)).toBe(4544);
    expect(() => esriWktForEpsg(4326)).toThrow();
    expect(() => cgcs2000GkZoneWkt(46)).toThrow();
  });

  it('is understood by proj4 the same as the proj4 definition', () => {
    for (const epsg of [4523, 4544]) {
      const a = proj4(esriWktForEpsg(epsg)).forward([105.93, 29.4]);
      const b = proj4(proj4ForEpsg(epsg)).forward([105.93, 29.4]);
      expect(a[0]).toBeCloseTo(b[0], 3);
      expect(a[1]).toBeCloseTo(b[1], 3);
    }
    expect(proj4(proj4ForEpsg(4523)).forward([105.93, 29.4])[0]).toBeGreaterThan(35_500_000);
  });
});
