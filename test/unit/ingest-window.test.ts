/**
 * The .shp and .dbf are read through a sliding window (server/ingest/bytes.ts, issue 11 item 6): records
 * straddling a window's edge, windows smaller than one record, and the in-memory path must all give the
 * same features, warnings and counts. A zip read from its file into a scratch folder gives the same too.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fileSource } from '../../server/ingest/bytes';
import { readShapefile } from '../../server/ingest/shapefile';
import { readSource } from '../../server/ingest/read';
import type { ReadResult } from '../../server/ingest/types';
import { makeShapefile, PRJ, square, zip } from '../helpers/shp-bytes';
import { opts } from '../helpers/ingest';

const dir = mkdtempSync(path.join(os.tmpdir(), 'tuban-window-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// single rings (the fast path), a polygon with a hole and a null shape (the shpjs path), GBK text
const geometries = Array.from({ length: 60 }, (_, i) =>
  i % 17 === 5 ? null : i % 11 === 3 ? [square(35500000 + i * 50, 3250000, 40), square(35500010 + i * 50, 3250010, 5).reverse()] : [square(35500000 + i * 50, 3250000, 10 + (i % 7))],
);
const s = makeShapefile({
  geometries,
  fields: [{ name: 'BH', type: 'C', length: 20 }, { name: 'MJ', type: 'N', length: 12, decimals: 2 }],
  records: geometries.map((_, i) => [`地块${i}`, i * 1.5]),
  encoding: 'gbk',
});

const dump = (r: Omit<ReadResult, 'availableLayers'>) => ({
  count: r.count,
  types: r.geometryTypes,
  fields: r.fields,
  encoding: r.encoding,
  features: [...r.features()].map((f) => ({ g: f.hexEwkb ? f.hexEwkb(4523, true) : f.geometry, p: f.properties })),
  warnings: r.warnings.map((w) => w.code).sort(),
});

describe('reading through a window', () => {
  const expected = dump(readShapefile({ name: 'dk', shp: s.shp, dbf: s.dbf, shx: s.shx, prj: new TextEncoder().encode(PRJ.cgcs2000Zone35) }, opts()));

  it.each([7, 100, 333, 4096])('gives the same layer through a %i-byte window as from memory', (window) => {
    writeFileSync(path.join(dir, 'dk.shp'), s.shp);
    writeFileSync(path.join(dir, 'dk.dbf'), s.dbf);
    writeFileSync(path.join(dir, 'dk.shx'), s.shx);
    const shp = fileSource(path.join(dir, 'dk.shp'), window);
    const dbf = fileSource(path.join(dir, 'dk.dbf'), window);
    const shx = fileSource(path.join(dir, 'dk.shx'), window);
    try {
      const got = dump(readShapefile({ name: 'dk', shp, dbf, shx, prj: new TextEncoder().encode(PRJ.cgcs2000Zone35) }, opts()));
      expect(got).toEqual(expected);
      expect(got.count).toBe(60);
      expect(got.types.null).toBe(4);
    } finally {
      [shp, dbf, shx].forEach((x) => x.close());
    }
  });

  it('reads a zip from its file through the scratch folder, like from bytes, and close() releases it', async () => {
    const z = zip({ 'dk.shp': s.shp, 'dk.dbf': s.dbf, 'dk.shx': s.shx, 'dk.prj': PRJ.cgcs2000Zone35 });
    const file = path.join(dir, 'dk.zip');
    writeFileSync(file, z);
    const scratch = mkdtempSync(path.join(dir, 'scratch-'));
    const fromFile = await readSource({ path: file }, opts({ scratchDir: scratch }));
    expect(readdirSync(scratch).sort()).toEqual(['layer.dbf', 'layer.shp', 'layer.shx']);
    const a = dump(fromFile);
    fromFile.close!();
    const b = dump(await readSource(z, opts()));
    expect(a).toEqual(b);
  });
});
