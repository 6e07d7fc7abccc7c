import { mkdirSync, mkdtempSync, existsSync, utimesSync, writeFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { sweepScratch, SCRATCH_MAX_AGE_MS } from '../../server/ingest/scratch';

const dirs: string[] = [];
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });

function aged(p: string, ageMs: number) {
  const t = (Date.now() - ageMs) / 1000;
  utimesSync(p, t, t);
}

it('removes a crashed import’s scratch folder and upload once older than a day, and nothing fresh or unrelated', async () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'tuban-scratch-'));
  dirs.push(tmp);
  mkdirSync(path.join(tmp, 'uploads'));
  const oldScratch = path.join(tmp, 'import-old');
  const freshScratch = path.join(tmp, 'import-fresh');
  const oldUpload = path.join(tmp, 'uploads', 'abc123');
  const freshUpload = path.join(tmp, 'uploads', 'def456');
  const other = path.join(tmp, 'keep-me');
  mkdirSync(oldScratch);
  writeFileSync(path.join(oldScratch, 'layer.shp'), 'x');
  mkdirSync(freshScratch);
  writeFileSync(oldUpload, 'x');
  writeFileSync(freshUpload, 'x');
  writeFileSync(other, 'x');
  for (const p of [oldScratch, oldUpload, other]) aged(p, SCRATCH_MAX_AGE_MS + 60_000);

  const removed = await sweepScratch(tmp);

  expect(removed.sort()).toEqual([oldScratch, oldUpload].sort());
  expect(existsSync(oldScratch)).toBe(false);
  expect(existsSync(oldUpload)).toBe(false);
  expect(existsSync(freshScratch)).toBe(true);
  expect(existsSync(freshUpload)).toBe(true);
  expect(existsSync(other)).toBe(true);
});

it('is a no-op when the data dir has no tmp folder yet', async () => {
  expect(await sweepScratch(path.join(os.tmpdir(), 'tuban-no-such-dir-' + process.pid))).toEqual([]);
});
