/**
 * GeoJSON from a file is read one feature at a time (server/ingest/geojson-stream.ts, issue 11 item 6).
 * Every GeoJSON fixture of the project (test/fixtures: bad, deliveries, readers) read from its path must
 * give exactly what the whole-file reader gives from its bytes: the same features, fields, CRS, warnings —
 * or the same refusal. Plus the streamed path really is taken, and a file cut short is refused.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readSource } from '../../server/ingest/read';
import { readGeoJsonStream } from '../../server/ingest/geojson-stream';
import { fileSource, memorySource } from '../../server/ingest/bytes';
import type { ReadResult } from '../../server/ingest/types';
import { opts } from '../helpers/ingest';
import { zipSync } from 'fflate';

const FIXTURES = ['bad', 'deliveries', 'readers'].flatMap((d) =>
  readdirSync(path.resolve('test/fixtures', d))
    .filter((f) => /\.(geo)?json$/i.test(f) && f !== 'expectations.json')
    .map((f) => path.resolve('test/fixtures', d, f)),
);

async function outcome(p: Promise<ReadResult>) {
  try {
    const r = await p;
    const features = [...r.features()];
    r.close?.();
    return {
      count: r.count, fields: r.fields, crs: r.crs, encoding: r.encoding.used, geometryTypes: r.geometryTypes,
      features, warnings: r.warnings.map((w) => w.code).sort(),
    };
  } catch (e) {
    return { refused: (e as { code?: string }).code, message: (e as Error).message };
  }
}

describe('GeoJSON read from its file, a feature at a time', () => {
  it('covers the fixtures (the check is not vacuous)', () => {
    expect(FIXTURES.length).toBeGreaterThanOrEqual(15);
  });

  for (const file of FIXTURES) {
    it(`${path.basename(path.dirname(file))}/${path.basename(file)}: the same as the whole-file reader`, async () => {
      const o = () => opts({ fileName: path.basename(file), accept: { geometry: 'any', layer: 'test' } });
      const whole = await outcome(readSource(new Uint8Array(readFileSync(file)), o()));
      const streamed = await outcome(readSource({ path: file }, o()));
      if ('refused' in whole) expect(streamed).toMatchObject({ refused: whole.refused });
      else expect(streamed).toEqual(whole);
    });
  }

  it('takes the streamed path for a UTF-8 FeatureCollection, and leaves GBK, UTF-16 and single features to the whole reader', () => {
    const read = (s: string | Buffer) => readGeoJsonStream(memorySource(typeof s === 'string' ? Buffer.from(s) : s), 'x', opts({ fileName: 'x.geojson' }));
    const fc = JSON.stringify({ type: 'FeatureCollection', features: [{ type: 'Feature', geometry: { type: 'Point', coordinates: [105.9, 29.3] }, properties: { 名称: '吉安' } }] });
    const r = read(fc);
    expect(r?.count).toBe(1);
    expect([...r!.features()][0].properties).toEqual({ 名称: '吉安' });
    expect(read(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(fc, 'utf16le')]))).toBeUndefined();
    expect(read(Buffer.from(fc.replace('吉安', '\u00ff'), 'latin1'))).toBeUndefined(); // not UTF-8: read whole
    expect(read(JSON.stringify({ type: 'Feature', geometry: null, properties: {} }))).toBeUndefined();
  });

  it('refuses a collection cut short, and names the feature that is not JSON', () => {
    const read = (s: string) => () => readGeoJsonStream(memorySource(Buffer.from(s)), 'x', opts({ fileName: 'x.geojson' }));
    expect(read('{"type":"FeatureCollection","features":[{"type":"Feature","geometry":null,"properties":{}}')).toThrow(/not valid/);
    try {
      read('{"type":"FeatureCollection","features":[{"type":"Feature","geometry":null,"properties":{}},{"type":"Feature",,}]}')();
      expect.unreachable();
    } catch (e) {
      expect((e as { details?: { feature?: number } }).details?.feature).toBe(1);
    }
  });

  const dir = mkdtempSync(path.join(os.tmpdir(), 'tuban-gj-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a GeoJSON inside a zip from the scratch folder a feature at a time, the same as from its bytes', async () => {
    let n = 0;
    for (const file of FIXTURES) {
      const name = path.basename(file);
      const zipPath = path.join(dir, `${name}.zip`);
      writeFileSync(zipPath, zipSync({ [name]: new Uint8Array(readFileSync(file)) }));
      const scratchDir = mkdtempSync(path.join(dir, 'scratch-'));
      const o = (withScratch: boolean) =>
        opts({ fileName: `${name}.zip`, accept: { geometry: 'any', layer: 'test' }, ...(withScratch ? { scratchDir } : {}) });
      const whole = await outcome(readSource(new Uint8Array(readFileSync(zipPath)), o(false)));
      const fromDisk = await outcome(readSource({ path: zipPath }, o(true)));
      if ('refused' in whole) expect(fromDisk, name).toMatchObject({ refused: whole.refused });
      else expect(fromDisk, name).toEqual(whole);
      // the streamed path was taken: the entry was inflated to the scratch folder and the result holds it open
      if (!('refused' in whole) && whole.encoding === 'utf-8') {
        const second = mkdtempSync(path.join(dir, 'scratch-'));
        const r = await readSource({ path: zipPath }, { ...o(true), scratchDir: second });
        expect(readdirSync(second), name).toContain('layer.geojson');
        expect(r.close, name).toBeTypeOf('function');
        r.close?.();
        n++;
      }
    }
    expect(n).toBeGreaterThanOrEqual(10);
  });
  it('reads a collection larger than the window, with features straddling window edges', () => {
    const features = Array.from({ length: 30_000 }, (_, i) => ({
      type: 'Feature', properties: { code: `T${i}`, note: '吉安镇 "quoted" \\ back', n: i },
      geometry: { type: 'Polygon', coordinates: [[[105.9, 29.3], [105.9001, 29.3], [105.9001, 29.3001], [105.9, 29.3]]] },
    }));
    const file = path.join(dir, 'big.geojson');
    writeFileSync(file, JSON.stringify({ type: 'FeatureCollection', name: 'big', features, crs: { type: 'name', properties: { name: 'urn:ogc:def:crs:OGC:1.3:CRS84' } } }));
    const src = fileSource(file, 64 * 1024); // a small window: many features straddle its edges
    const r = readGeoJsonStream(src, 'big', opts({ fileName: 'big.geojson' }))!;
    const got = [...r.features()];
    src.close();
    expect(r.count).toBe(30_000);
    expect(got.map((f) => f.properties.code)).toEqual(features.map((f) => f.properties.code));
    expect(got[29_999].properties.note).toBe('吉安镇 "quoted" \\ back');
  });
});
