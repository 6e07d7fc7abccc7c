/**
 * The sample town's imagery on start (server/sample.ts loadSampleImagery, issue 15 item 5): rendered into
 * the sample directory and imported through importImagery for both epochs, dated like the survey; not again
 * once both epochs have a layer; and never over a database that holds real data.
 * The town is the tiny synthetic one (test/helpers/sample.ts), on both databases.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDb, freshDb, type TestDb } from '../helpers/db';
import { IMPORT_SETTINGS } from '../helpers/ingest';
import { importTinySample } from '../helpers/sample';
import { loadSampleImagery } from '../../server/sample';
import { IMAGERY_FILES, readSampleImagery } from '../../scripts/generate-sample';

const silent = pino({ level: 'silent' });

describeEachDb('sample imagery on start', (backend) => {
  let db: TestDb;
  let dataDir: string;
  const sampleDir = () => path.join(dataDir, 'sample');
  const settings = () => ({ dataDir, regionCode: IMPORT_SETTINGS.regionCode, workSrid: IMPORT_SETTINGS.workSrid });
  const layers = async () =>
    (await db.query<{ id: number; epoch: string; acquired_on: string; source_name: string; width_px: number }>(
      'SELECT id, epoch, acquired_on::text AS acquired_on, source_name, width_px FROM imagery_layer WHERE current ORDER BY epoch')).rows;

  beforeAll(async () => {
    db = await freshDb(backend);
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'tuban-sample-imagery-'));
    await importTinySample(db, IMPORT_SETTINGS, sampleDir());
  }, 120_000);
  afterAll(async () => {
    await db?.dispose();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('renders the tiny town’s imagery and imports both epochs, dated as the survey records', async () => {
    expect(existsSync(path.join(sampleDir(), IMAGERY_FILES.after))).toBe(false);
    await loadSampleImagery(db, settings(), sampleDir(), silent);
    const info = readSampleImagery(sampleDir())!;
    expect(info.scale).toBe('tiny');
    const rows = await layers();
    expect(rows.map((r) => [r.epoch, r.source_name, r.acquired_on, Number(r.width_px)])).toEqual([
      ['after', IMAGERY_FILES.after, info.epochs.find((e) => e.epoch === 'after')!.date, info.width],
      ['before', IMAGERY_FILES.before, info.epochs.find((e) => e.epoch === 'before')!.date, info.width],
    ]);
    // the dates are the ones most survey records carry
    const mode = async (col: string) =>
      (await db.query<{ d: string }>(`SELECT (attrs->>'${col}') AS d FROM survey_polygon GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1`)).rows[0]?.d;
    const before = await mode('前时相');
    expect(rows.find((r) => r.epoch === 'before')!.acquired_on).toBe(before);
  }, 120_000);

  it('does nothing once both epochs have a layer', async () => {
    const ids = (await layers()).map((r) => Number(r.id));
    await loadSampleImagery(db, settings(), sampleDir(), silent);
    expect((await layers()).map((r) => Number(r.id))).toEqual(ids);
  });

  it('imports a missing epoch again (an interrupted first start), and nothing over real data', async () => {
    await db.query("DELETE FROM imagery_layer WHERE epoch = 'before'");
    await loadSampleImagery(db, settings(), sampleDir(), silent);
    expect((await layers()).map((r) => r.epoch)).toEqual(['after', 'before']);

    await db.query("DELETE FROM imagery_layer WHERE epoch = 'before'");
    const batch = (await db.query<{ id: number }>('SELECT id FROM import_batch ORDER BY id LIMIT 1')).rows[0].id;
    await db.query('UPDATE import_batch SET sample = false WHERE id = $1', [batch]); // as if a user had imported real data
    await loadSampleImagery(db, settings(), sampleDir(), silent);
    expect((await layers()).map((r) => r.epoch)).toEqual(['after']);
  }, 120_000);
});
