import { describe, expect, it } from 'vitest';
import { readSource } from '../../server/ingest/read';
import { normalizeEncodingLabel, utf8Check } from '../../server/ingest/encoding';
import { makeShapefile, square, zip, PRJ } from '../helpers/shp-bytes';
import { all, codes, opts, refused } from '../helpers/ingest';

const FIELDS = [
  { name: '图斑编号', type: 'C', length: 10 },
  { name: '村名', type: 'C', length: 24 },
  { name: '变化类型', type: 'C', length: 30 },
];
const ROWS = [
  ['TB001', '青原区河东街道', '耕地变建设用地'],
  ['TB002', '吉州区兴桥镇', '新增建设'],
];

/** A two-polygon layer in GK zone 35 with Chinese attributes in `encoding`; extra files merged in. */
function layer(encoding: string, extra: Record<string, string | Uint8Array> = {}, ldid = 0) {
  const s = makeShapefile({
    polygons: [[square(35500000, 3250000, 50)], [square(35500100, 3250100, 50)]],
    fields: FIELDS,
    records: ROWS,
    encoding,
    ldid,
  });
  return zip({ 'tb.shp': s.shp, 'tb.shx': s.shx, 'tb.dbf': s.dbf, 'tb.prj': PRJ.cgcs2000Zone35, ...extra });
}

const expectChinese = (props: Record<string, unknown>[]) => {
  expect(Object.keys(props[0])).toEqual(['图斑编号', '村名', '变化类型']);
  expect(props.map((p) => p['村名'])).toEqual(['青原区河东街道', '吉州区兴桥镇']);
  expect(props[0]['变化类型']).toBe('耕地变建设用地');
};

describe('attribute encoding', () => {
  it('detects GBK without .cpg or language driver', async () => {
    const r = await readSource(layer('gbk'), opts());
    expect(r.encoding).toEqual({ used: 'gbk', how: 'detected' });
    expect(r.fields.map((f) => f.name)).toEqual(['图斑编号', '村名', '变化类型']);
    expectChinese(all(r).map((f) => f.properties));
  });

  it('detects UTF-8 without .cpg', async () => {
    const r = await readSource(layer('utf-8'), opts());
    expect(r.encoding).toEqual({ used: 'utf-8', how: 'detected' });
    // UTF-8 names longer than 10 bytes are truncated by the format itself (变化类型 = 12 bytes)
    expect(r.fields.map((f) => f.name)).toEqual(['图斑编', '村名', '变化类']);
    expect(all(r).map((f) => f.properties['村名'])).toEqual(['青原区河东街道', '吉州区兴桥镇']);
  });

  for (const cpg of ['GBK', '936', 'CP936', 'ANSI 936', 'GB2312', 'gb18030\r\n']) {
    it(`follows a .cpg saying "${cpg.trim()}"`, async () => {
      const r = await readSource(layer('gbk', { 'tb.cpg': cpg }), opts());
      expect(r.encoding.how).toBe('cpg');
      expect(['gbk', 'gb18030']).toContain(r.encoding.used);
      expectChinese(all(r).map((f) => f.properties));
      expect(r.warnings).toEqual([]);
    });
  }

  it('follows a .cpg saying UTF-8 when the bytes are UTF-8', async () => {
    const r = await readSource(layer('utf-8', { 'tb.cpg': 'UTF-8' }), opts());
    expect(r.encoding).toEqual({ used: 'utf-8', how: 'cpg' });
  });

  it('follows the .dbf language driver byte 0x4D (GBK)', async () => {
    const r = await readSource(layer('gbk', {}, 0x4d), opts());
    expect(r.encoding).toEqual({ used: 'gbk', how: 'ldid' });
    expectChinese(all(r).map((f) => f.properties));
  });

  it('treats LDID 0x57 (ANSI) as unknown and detects', async () => {
    const r = await readSource(layer('gbk', {}, 0x57), opts());
    expect(r.encoding).toEqual({ used: 'gbk', how: 'detected' });
  });

  it('follows a Western language driver but warns when the text may be Chinese', async () => {
    const r = await readSource(layer('gbk', {}, 0x03), opts());
    expect(r.encoding).toEqual({ used: 'windows-1252', how: 'ldid' });
    expect(codes(r)).toContain('encoding_ldid_suspect');
  });

  it('overrides a .cpg that says UTF-8 over GBK bytes, with a warning (no mojibake)', async () => {
    const r = await readSource(layer('gbk', { 'tb.cpg': 'UTF-8' }), opts());
    expect(r.encoding.used).toBe('gbk');
    expect(codes(r)).toContain('encoding_cpg_mismatch');
    expectChinese(all(r).map((f) => f.properties));
  });

  it('overrides a .cpg that says GBK over UTF-8 bytes, with a warning', async () => {
    const r = await readSource(layer('utf-8', { 'tb.cpg': 'GBK' }), opts());
    expect(r.encoding.used).toBe('utf-8');
    expect(codes(r)).toContain('encoding_cpg_mismatch');
    expect(all(r)[0].properties['村名']).toBe('青原区河东街道');
  });

  it('warns about an unknown .cpg and falls through to detection', async () => {
    const r = await readSource(layer('gbk', { 'tb.cpg': 'klingon' }), opts());
    expect(codes(r)).toContain('encoding_cpg_unknown');
    expect(r.encoding).toEqual({ used: 'gbk', how: 'detected' });
  });

  it('lets --encoding win over everything', async () => {
    const r = await readSource(layer('gbk', { 'tb.cpg': 'UTF-8' }), opts({ encoding: 'cp936' }));
    expect(r.encoding).toEqual({ used: 'gbk', how: 'option' });
    expectChinese(all(r).map((f) => f.properties));
    expect(r.warnings).toEqual([]);
  });

  it('refuses an unknown --encoding', async () => {
    const e = await refused(readSource(layer('gbk'), opts({ encoding: 'no-such-enc' })), 'bad_encoding');
    expect(e.details).toEqual({ encoding: 'no-such-enc' });
  });

  it('normalises code page labels', () => {
    const t: Record<string, string | null> = {
      'UTF-8': 'utf-8',
      utf8: 'utf-8',
      '65001': 'utf-8',
      GBK: 'gbk',
      '936': 'gbk',
      CP936: 'gbk',
      'ANSI 936': 'gbk',
      GB2312: 'gbk',
      GB18030: 'gb18030',
      '1252': 'windows-1252',
      'ISO-8859-1': 'iso-8859-1',
      '\uFEFFUTF-8\r\n': 'utf-8',
      nonsense: null,
      '': null,
    };
    for (const [label, want] of Object.entries(t)) expect(normalizeEncodingLabel(label), label).toBe(want);
  });

  it('strict UTF-8 check rejects overlongs and surrogates, which GBK text can resemble', () => {
    const b = (...x: number[]) => Uint8Array.from(x);
    expect(utf8Check(b(0xc1, 0xaa), 0, 2)).toBe(0); // overlong (联 in GBK starts C1 AA)
    expect(utf8Check(b(0xed, 0xa0, 0x80), 0, 3)).toBe(0); // surrogate
    expect(utf8Check(b(0xe4, 0xb8, 0xad), 0, 3)).toBe(2); // 中
    expect(utf8Check(b(0xe4, 0xb8), 0, 2)).toBe(0);
    expect(utf8Check(b(0xe4, 0xb8), 0, 2, true)).toBe(1); // cut tail tolerated on request
    expect(utf8Check(b(0x41), 0, 1)).toBe(1);
  });
});
