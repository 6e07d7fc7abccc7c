import { describe, expect, it } from 'vitest';
import { codeCandidates, CodeTracker, fileNameYear, SurveyYearTracker, yearOfValue } from '../../server/ingest/codes';

describe('survey key', () => {
  it('takes a year from a file name only when it stands alone', () => {
    expect(fileNameYear('survey-2020.zip')).toBe('2020');
    expect(fileNameYear('2020年图斑.geojson')).toBe('2020');
    expect(fileNameYear('tb_2021_v2.zip')).toBe('2021');
    expect(fileNameYear('dltb_cgcs2000.zip')).toBeNull();
    expect(fileNameYear('DLTB20201115.zip')).toBeNull();
    expect(fileNameYear('jian_cgcs2000_2019.zip')).toBe('2019');
  });
  it('reads the year of date-like attribute values', () => {
    expect(yearOfValue('2020-11-15')).toBe('2020');
    expect(yearOfValue('20201115')).toBe('2020');
    expect(yearOfValue(2021)).toBe('2021');
    expect(yearOfValue('2019年11月')).toBe('2019');
    expect(yearOfValue('')).toBeNull();
    expect(yearOfValue('12345')).toBeNull();
  });
  it('prefers --survey, then the commonest year of 监测年度/后时相, then the file name', () => {
    const t = new SurveyYearTracker(['图斑编号', '后时相']);
    for (const v of ['2020-10-01', '2020-11-01', '2021-01-05']) t.observe({ 后时相: v });
    expect(t.key('x', 'tb_2019.zip')).toEqual({ value: 'x', source: 'option' });
    expect(t.key(undefined, 'tb_2019.zip')).toEqual({ value: '2020', source: 'attribute', field: '后时相', years: { 2020: 2, 2021: 1 } });
    expect(new SurveyYearTracker(['图斑编号']).key(undefined, 'tb_2019.zip')).toEqual({ value: '2019', source: 'file_name' });
    expect(new SurveyYearTracker([]).key(undefined, 'tb.zip')).toEqual({ value: 'default', source: 'default' });
  });
});

describe('code field', () => {
  it('lists candidates in synonym order, cut-short designated names last', () => {
    expect(codeCandidates(['Id', 'BH', '图斑编号'])).toEqual(['图斑编号', 'BH', 'Id']);
    expect(codeCandidates(['图斑编', '村名'])).toEqual(['图斑编']);
    expect(codeCandidates(['Id', 'tbbh'], 'TBBH')).toEqual(['tbbh']);
  });
  it('keeps a designated field with duplicates (they are refused later) but passes over a generic one', () => {
    const t = new CodeTracker(['图斑编号', 'ID'], false);
    for (const v of ['A', 'A', 'B']) t.observe({ 图斑编号: v, ID: 0 });
    expect(t.choose()).toMatchObject({ field: '图斑编号', index: 0, source: 'designated' });
    const g = new CodeTracker(['BH', 'ID'], false);
    for (const [bh, id] of [['1', 7], ['', 8], ['3', 9]]) g.observe({ BH: bh, ID: id });
    expect(g.choose()).toEqual({ field: 'ID', index: 1, source: 'synonym', passedOver: [{ field: 'BH', empty: 1, duplicated: 0, examples: [] }] });
  });
});
