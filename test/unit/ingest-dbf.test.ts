import { describe, expect, it } from 'vitest';
import iconv from 'iconv-lite';
import { decodeFieldNames, fieldKind, makeRecordReader, parseDbfHeader, scanTextUtf8, visibleFields } from '../../server/ingest/dbf';
import { makeDbf, type DbfFieldSpec, type DbfValue } from '../helpers/shp-bytes';
import { refused } from '../helpers/ingest';

function decode(fields: DbfFieldSpec[], records: DbfValue[][], encoding = 'utf-8', codec = encoding === 'gbk' ? 'gb18030' : encoding) {
  const b = makeDbf(fields, records, { encoding });
  const h = parseDbfHeader(b);
  const vf = visibleFields(h);
  const { names } = decodeFieldNames(vf, codec);
  const r = makeRecordReader(b, h, vf, names, codec);
  return { h, names, rows: records.map((_, i) => r.read(i)), anomalies: r.anomalies, kinds: vf.map(fieldKind) };
}

describe('dbf decoder', () => {
  it('decodes each field type', () => {
    const { rows, kinds } = decode(
      [
        { name: 'NAME', type: 'C', length: 12 },
        { name: 'AREA', type: 'N', length: 12, decimals: 2 },
        { name: 'RATIO', type: 'F', length: 10, decimals: 4 },
        { name: 'OK', type: 'L' },
        { name: 'DAY', type: 'D' },
        { name: 'NOTE', type: 'M', length: 10 },
      ],
      [
        ['  lead sp', 1234.5, 0.25, true, '20230501', '12'],
        ['', null, null, false, null, null],
        [null, '*****', ' ', 'Y', '00000000', ''],
        ['x', -3, 1e-4, 'N', '2023051', 'memo'],
        ['y', 0, 0, '?', '19991231', null],
      ],
    );
    expect(kinds).toEqual(['string', 'number', 'number', 'boolean', 'date', 'string']);
    // C: trailing padding trimmed, leading kept; blank → null
    expect(rows[0]).toEqual({ NAME: '  lead sp', AREA: 1234.5, RATIO: 0.25, OK: true, DAY: '2023-05-01', NOTE: '12' });
    expect(rows[1]).toEqual({ NAME: null, AREA: null, RATIO: null, OK: false, DAY: null, NOTE: null });
    // '*****' is dBase's overflow marker; '00000000' is "no date"
    expect(rows[2]).toEqual({ NAME: null, AREA: null, RATIO: null, OK: true, DAY: null, NOTE: null });
    // a malformed date is kept as text (and counted), never guessed
    expect(rows[3]).toEqual({ NAME: 'x', AREA: -3, RATIO: 0.0001, OK: false, DAY: '2023051', NOTE: 'memo' });
    expect(rows[4]).toMatchObject({ OK: null, DAY: '1999-12-31', AREA: 0 });
  });

  it('returns dates as YYYY-MM-DD strings, not shifted by the time zone', () => {
    const tz = process.env.TZ;
    process.env.TZ = 'Asia/Shanghai';
    try {
      const { rows } = decode([{ name: 'QSX', type: 'D' }], [['20240101'], ['20231231']]);
      expect(rows.map((r) => r.QSX)).toEqual(['2024-01-01', '2023-12-31']);
    } finally {
      process.env.TZ = tz;
    }
  });

  it('keeps integers beyond 2^53 as text, and counts non-numbers', () => {
    const { rows, anomalies } = decode(
      [{ name: 'CODE', type: 'N', length: 20 }],
      [['36080200100100012345'], ['12,5'], ['abc'], ['  42']],
    );
    expect(rows.map((r) => r.CODE)).toEqual(['36080200100100012345', 12.5, null, 42]);
    expect(anomalies).toMatchObject({ bigIntegers: 1, badNumbers: 1 });
  });

  it('parses numbers exactly like Number() (byte fast path included)', () => {
    const vals: string[] = ['0', '-0.5', '+12', '.5', '5.', '123456789012345', '1234567890.12345', '1e3', '-', '0.1', '3.14159265358979'];
    let seed = 7;
    const rnd = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);
    for (let i = 0; i < 500; i++) vals.push(((rnd() - 0.5) * 10 ** Math.floor(rnd() * 12)).toFixed(Math.floor(rnd() * 8)));
    const fields = [{ name: 'V', type: 'N', length: 20, decimals: 0 }];
    const { rows } = decode(fields, vals.map((v) => [v]));
    rows.forEach((r, i) => {
      const want = Number(vals[i]);
      expect(r.V, vals[i]).toBe(Number.isFinite(want) && /\d/.test(vals[i]) ? want : null);
    });
  });

  it('decodes Chinese field names exactly (GBK and UTF-8), stopping at NUL', () => {
    const fields = [
      { name: '图斑编号', type: 'C', length: 10 },
      { name: '行政区代码', type: 'C', length: 12 },
      { name: '面积', type: 'N', length: 12, decimals: 2 },
    ];
    const gbk = decode(fields, [['TB001', '360802', 12.5]], 'gbk');
    expect(gbk.names).toEqual(['图斑编号', '行政区代码', '面积']);
    expect(gbk.rows[0]).toEqual({ 图斑编号: 'TB001', 行政区代码: '360802', 面积: 12.5 });
    // UTF-8 names longer than 10 bytes are cut by writers mid-character: keep the whole characters
    const utf8 = decode(fields, [['TB001', '360802', 12.5]], 'utf-8');
    expect(utf8.names).toEqual(['图斑编', '行政区', '面积']);
  });

  it('makes duplicate or empty names unique', () => {
    const { names } = decode(
      [
        { name: 'A', type: 'C', length: 2 },
        { name: 'a', type: 'C', length: 2 },
        { name: '', type: 'C', length: 2 },
      ],
      [['1', '2', '3']],
    );
    expect(names).toEqual(['A', 'a_2', 'field_3']);
  });

  it('gives deleted records their values and keeps them in place', () => {
    const b = makeDbf([{ name: 'N', type: 'N', length: 4 }], [[1], [2], [3]], { deleted: [1] });
    const h = parseDbfHeader(b);
    const r = makeRecordReader(b, h, h.fields, ['N'], 'utf-8');
    expect([0, 1, 2].map((i) => r.read(i).N)).toEqual([1, 2, 3]);
  });

  it('refuses a truncated .dbf', async () => {
    const b = makeDbf([{ name: 'N', type: 'C', length: 20 }], [['a'], ['b'], ['c']]);
    await refused(() => parseDbfHeader(b.subarray(0, b.length - 30)), 'dbf_corrupt');
    await refused(() => parseDbfHeader(b.subarray(0, 20)), 'dbf_corrupt');
  });

  it('refuses a header whose record length does not match its fields', async () => {
    const b = makeDbf([{ name: 'N', type: 'C', length: 20 }], [['a']]);
    new DataView(b.buffer).setUint16(10, 25, true);
    await refused(() => parseDbfHeader(b), 'dbf_corrupt');
  });

  it('reads C fields longer than 255 bytes (length + 256 × decimals)', () => {
    const long = 'x'.repeat(300);
    const b = makeDbf([{ name: 'T', type: 'C', length: 300 }], [[long]]);
    // the helper wrote length & 0xff; set the high byte where Clipper/FoxPro put it
    b[32 + 17] = 1;
    const h = parseDbfHeader(b);
    expect(h.fields[0].length).toBe(300);
    expect(makeRecordReader(b, h, h.fields, ['T'], 'utf-8').read(0).T).toBe(long);
  });

  it('UTF-8 verdict covers names and C values, tolerating a cut last character', () => {
    const f = [{ name: 'NAME', type: 'C', length: 7 }];
    // '村名称' is 9 bytes in UTF-8: cut at 7 bytes leaves a partial third character
    const cut = makeDbf(f, [['村名称']], { encoding: 'utf-8' });
    expect(scanTextUtf8(cut, parseDbfHeader(cut))).toBe(2);
    const gbk = makeDbf(f, [['村名称']], { encoding: 'gbk' });
    expect(scanTextUtf8(gbk, parseDbfHeader(gbk))).toBe(0);
    const ascii = makeDbf(f, [['abc']]);
    expect(scanTextUtf8(ascii, parseDbfHeader(ascii))).toBe(1);
    const h = parseDbfHeader(cut);
    const r = makeRecordReader(cut, h, h.fields, ['NAME'], 'utf-8');
    expect(r.read(0).NAME).toBe('村名'); // no U+FFFD
  });

  it('decodes GB18030 four-byte characters when the file says GBK', () => {
    const name = '𠮷家村'; // U+20BB7 is outside GBK, present in GB18030
    const b = makeDbf([{ name: 'CM', type: 'C', length: 20 }], [[name]], { encoding: 'gb18030' });
    expect(iconv.encode(name, 'gb18030').length).toBe(8);
    const h = parseDbfHeader(b);
    expect(makeRecordReader(b, h, h.fields, ['CM'], 'gb18030').read(0).CM).toBe(name);
  });
});
