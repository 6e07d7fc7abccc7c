import { describe, expect, it } from 'vitest';
import iconv from 'iconv-lite';
import { crc32, deflateRawSync } from 'node:zlib';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readSource, sniffKind } from '../../server/ingest/read';
import { decodeEntryName, isJunkPath, isUnsafePath } from '../../server/ingest/zip';
import { makeShapefile, square, zip, PRJ } from '../helpers/shp-bytes';
import { LIMITS, opts, refused } from '../helpers/ingest';

const shapefile = () => {
  const s = makeShapefile({ geometries: [[square(35500000, 3250000, 10)]] });
  return { 'tb.shp': s.shp, 'tb.shx': s.shx, 'tb.dbf': s.dbf, 'tb.prj': new TextEncoder().encode(PRJ.cgcs2000Zone35) };
};

/**
 * Minimal zip writer on native zlib (fflate takes ~15 s to deflate 200 MB; zlib well under 1 s).
 * Stored names are ASCII; sizes are honest unless the test edits them.
 */
function nativeZip(files: Record<string, Uint8Array>): Uint8Array {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of Object.entries(files)) {
    const n = Buffer.from(name);
    const comp = deflateRawSync(data, { level: 1 });
    const l = Buffer.alloc(30);
    l.writeUInt32LE(0x04034b50, 0);
    l.writeUInt16LE(20, 4);
    l.writeUInt16LE(8, 8);
    l.writeUInt32LE(crc32(data), 14);
    l.writeUInt32LE(comp.length, 18);
    l.writeUInt32LE(data.length, 22);
    l.writeUInt16LE(n.length, 26);
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(20, 4);
    c.writeUInt16LE(20, 6);
    c.writeUInt16LE(8, 10);
    c.writeUInt32LE(crc32(data), 16);
    c.writeUInt32LE(comp.length, 20);
    c.writeUInt32LE(data.length, 24);
    c.writeUInt16LE(n.length, 28);
    c.writeUInt32LE(offset, 42);
    locals.push(l, n, comp);
    centrals.push(c, n);
    offset += 30 + n.length + comp.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(centrals.length / 2, 8);
  end.writeUInt16LE(centrals.length / 2, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return new Uint8Array(Buffer.concat([...locals, cd, end]));
}

/** Overwrite the declared uncompressed size of one entry (local header and central directory). */
function lieAboutSize(z: Uint8Array, name: string, size: number): Uint8Array {
  const out = z.slice();
  const dv = new DataView(out.buffer);
  const nameAt = (at: number) => new TextDecoder().decode(out.subarray(at, at + name.length));
  for (let i = 0; i + 46 <= out.length; i++) {
    const sig = dv.getUint32(i, true);
    if (sig === 0x04034b50 && nameAt(i + 30) === name) dv.setUint32(i + 22, size, true);
    else if (sig === 0x02014b50 && nameAt(i + 46) === name) dv.setUint32(i + 24, size, true);
  }
  return out;
}

describe('zip safety', () => {
  it('refuses entry paths that climb out or are absolute (zip slip)', async () => {
    for (const bad of ['../evil.shp', 'a/../../evil.dbf', '/etc/passwd', 'C:/Windows/x.prj']) {
      const e = await refused(readSource(zip({ ...shapefile(), [bad]: 'x' }), opts()), 'zip_unsafe_path');
      expect(e.details).toEqual({ path: bad });
    }
    expect(isUnsafePath('a/b..c/d.shp')).toBe(false);
  });

  it('refuses too many entries before reading them', async () => {
    const many: Record<string, string> = {};
    for (let i = 0; i < 12; i++) many[`f${i}.txt`] = 'x';
    const e = await refused(readSource(zip({ ...shapefile(), ...many }), opts({ limits: { ...LIMITS, maxZipEntries: 10 } })), 'zip_too_many_entries');
    expect(e.details).toEqual({ entries: 16, limit: 10 });
  });

  it('refuses a zip bomb (200 MB of zeros, 10 MB limit)', async () => {
    const s = shapefile();
    const bomb = nativeZip({ ...s, 'tb.dbf': new Uint8Array(200 * 1024 * 1024) });
    expect(bomb.length).toBeLessThan(2 * 1024 * 1024);
    const limits = { ...LIMITS, maxUncompressedBytes: 10 * 1024 * 1024 };
    await refused(readSource(bomb, opts({ limits })), 'zip_bomb');
  });

  it('refuses a bomb that lies about its sizes, while inflating', async () => {
    const s = shapefile();
    const bomb = lieAboutSize(nativeZip({ ...s, 'tb.dbf': new Uint8Array(50 * 1024 * 1024) }), 'tb.dbf', 4096);
    const limits = { ...LIMITS, maxUncompressedBytes: 10 * 1024 * 1024 };
    await refused(readSource(bomb, opts({ limits })), 'zip_bomb');
  });

  it('inflating to disk from the zip file, stops a lying entry at the cap and at TUBAN_MAX_ENTRY_MB', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tuban-zip-'));
    try {
      const s = shapefile();
      const file = path.join(dir, 'bomb.zip');
      writeFileSync(file, lieAboutSize(nativeZip({ ...s, 'tb.dbf': new Uint8Array(50 * 1024 * 1024) }), 'tb.dbf', 4096));
      const scratch = path.join(dir, 'scratch');
      mkdirSync(scratch);
      const limits = { ...LIMITS, maxUncompressedBytes: 10 * 1024 * 1024 };
      await refused(readSource({ path: file }, opts({ limits, scratchDir: scratch })), 'zip_bomb');
      // what reached the disk is at most the cap, never the 50 MB the entry really holds
      for (const f of readdirSync(scratch)) expect(statSync(path.join(scratch, f)).size).toBeLessThanOrEqual(10 * 1024 * 1024);
      rmSync(scratch, { recursive: true });
      mkdirSync(scratch);
      const honest = path.join(dir, 'big.zip');
      writeFileSync(honest, nativeZip({ ...s, 'tb.dbf': new Uint8Array(3 * 1024 * 1024).map((_, i) => (i * 2654435761) >>> 24) }));
      const e = await refused(readSource({ path: honest }, opts({ limits: { ...LIMITS, maxEntryBytes: 1 << 20 }, scratchDir: scratch })), 'zip_bomb');
      expect(e.message_zh).toMatch(/单个文件/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stops at the archive total however two lying entries share it, with no more than the total on disk', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tuban-zip-'));
    try {
      const s = shapefile();
      // each lies (4 KB declared), each alone is under the 10 MB total, the two together are not
      const z = lieAboutSize(lieAboutSize(nativeZip({ ...s, 'tb.shp': new Uint8Array(7 * 1024 * 1024), 'tb.dbf': new Uint8Array(7 * 1024 * 1024) }),
        'tb.dbf', 4096), 'tb.shp', 4096);
      const file = path.join(dir, 'two.zip');
      writeFileSync(file, z);
      const scratch = path.join(dir, 'scratch');
      mkdirSync(scratch);
      const limits = { ...LIMITS, maxUncompressedBytes: 10 * 1024 * 1024, maxCompressionRatio: 100_000 };
      await refused(readSource({ path: file }, opts({ limits, scratchDir: scratch })), 'zip_bomb');
      const onDisk = readdirSync(scratch).reduce((n, f) => n + statSync(path.join(scratch, f)).size, 0);
      expect(onDisk).toBeLessThanOrEqual(10 * 1024 * 1024);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses an entry whose compression ratio is above the limit once it is large', async () => {
    const s = shapefile();
    const z = nativeZip({ ...s, 'tb.dbf': new Uint8Array(8 * 1024 * 1024) });
    await refused(readSource(z, opts({ limits: { ...LIMITS, maxCompressionRatio: 50 } })), 'zip_bomb');
  });

  it('accepts small, very compressible files (a blank-padded .dbf) under a strict ratio', async () => {
    const s = makeShapefile({
      geometries: [[square(35500000, 3250000, 10)]],
      fields: [{ name: 'NOTE', type: 'C', length: 254 }],
      records: [['']],
    });
    const r = await readSource(zip({ 'tb.shp': s.shp, 'tb.dbf': s.dbf, 'tb.prj': PRJ.cgcs2000Zone35 }), opts({ limits: { ...LIMITS, maxCompressionRatio: 2 } }));
    expect(r.count).toBe(1);
  });

  it('refuses a corrupt zip', async () => {
    const good = zip(shapefile());
    await refused(readSource(good.subarray(0, good.length - 30), opts()), 'zip_corrupt');
    const junk = new Uint8Array(1000).fill(0x41);
    junk.set([0x50, 0x4b, 0x03, 0x04]);
    await refused(readSource(junk, opts()), 'zip_corrupt');
    await refused(readSource(new TextEncoder().encode('not a zip at all'), opts({ fileName: 'x.zip' })), 'zip_corrupt');
  });

  it('refuses a damaged entry (bad deflate data)', async () => {
    const z = zip({ ...shapefile(), 'tb.dbf': new Uint8Array(5000).map((_, i) => (i * 7919) % 251) });
    // flip bytes in the middle of the compressed data of the .dbf entry
    const dv = new DataView(z.buffer);
    let at = -1;
    for (let i = 0; i + 4 < z.length; i++)
      if (dv.getUint32(i, true) === 0x04034b50 && new TextDecoder().decode(z.subarray(i + 30, i + 36)) === 'tb.dbf') at = i + 36 + 100;
    expect(at).toBeGreaterThan(0);
    for (let i = 0; i < 50; i++) z[at + i] ^= 0xff;
    await refused(readSource(z, opts()), 'zip_corrupt');
  });

  it('refuses other archive formats and oversize uploads', async () => {
    await refused(readSource(new TextEncoder().encode('Rar!\x1a\x07\x00xxxx'), opts({ fileName: 'tb.rar' })), 'unsupported_archive');
    await refused(readSource(new Uint8Array(100), opts({ fileName: 'tb.bin' })), 'unsupported_format');
    await refused(readSource(zip(shapefile()), opts({ limits: { ...LIMITS, maxUploadBytes: 100 } })), 'file_too_large');
    await refused(readSource(new Uint8Array(0), opts()), 'empty_file');
  });

  it('says so when the zip has no layer', async () => {
    await refused(readSource(zip({ 'readme.txt': 'hi', 'a.dbf': new Uint8Array(40) }), opts()), 'no_layer');
    await refused(readSource(zip({ 'inner.zip': zip(shapefile()) }), opts()), 'no_layer');
  });

  it('sniffs the kind by content, not extension', () => {
    expect(sniffKind(zip(shapefile()), 'upload.bin')).toBe('zip');
    expect(sniffKind(new TextEncoder().encode('\uFEFF \n {"type":1}'), 'x.txt')).toBe('json');
    expect(sniffKind(makeShapefile({ geometries: [] }).shp, 'x.dat')).toBe('shp');
  });

  it('decodes GBK entry names written without the UTF-8 flag', () => {
    const raw = iconv.encode('图斑/变化图斑.shp', 'gbk');
    expect(decodeEntryName(raw, 0, [])).toBe('图斑/变化图斑.shp');
    expect(decodeEntryName(Buffer.from('图斑.shp', 'utf8'), 0, [])).toBe('图斑.shp');
    expect(decodeEntryName(Buffer.from('图斑.shp', 'utf8'), 0x800, [])).toBe('图斑.shp');
  });

  it('ignores macOS resource forks', () => {
    expect(isJunkPath('__MACOSX/a/._b.shp')).toBe(true);
    expect(isJunkPath('a/._b.shp')).toBe(true);
    expect(isJunkPath('a/b.shp')).toBe(false);
  });
});
