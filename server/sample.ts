import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { Db } from './db/types';
import { sqlSet } from './db/sql-file';
import { importImagery, type ImagerySettings } from './imagery/import';
import { EPOCHS, SQL as IMAGERY_SQL } from './imagery/store';
import { importFile, type ImportSettings } from './ingest/import';

const SQL = sqlSet(new URL('./sample.sql', import.meta.url), ['only_sample_town']);

/** The synthetic town's files, in load order: reference layers first, so the survey is reconciled once. */
export const SAMPLE_FILES: readonly { file: string; layer: string; widthField?: string }[] = [
  { file: 'villages.zip', layer: 'village' },
  { file: 'cadastral.zip', layer: 'cadastral' },
  // the avenue's centreline; its 宽度 is the band's total width (scripts/sample/generate.ts), named
  // explicitly because a road's width field is never taken as the band's on its own (issue 11)
  { file: 'frontage.zip', layer: 'frontage', widthField: '宽度' },
  { file: 'schools.zip', layer: 'school' },
  { file: 'compounds.zip', layer: 'compound' },
  { file: 'green.zip', layer: 'green' },
  { file: 'survey-2020.zip', layer: 'survey' },
];

export async function isEmpty(db: Db): Promise<boolean> {
  const r = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM import_batch');
  return r.rows[0].n === 0;
}

/**
 * First start on an empty database: generate the seeded synthetic town (合成数据, not real Ji'an data)
 * under data/sample and import it like a user would.
 */
export async function loadSampleTown(db: Db, settings: ImportSettings, sampleDir: string, log: Logger) {
  if (!existsSync(path.join(sampleDir, 'survey-2020.zip'))) {
    log.info({ sampleDir }, 'generating the synthetic sample town / 正在生成合成示例数据');
    const { generateSample } = await import('../scripts/generate-sample');
    await generateSample({ out: sampleDir, scale: 'town', seed: 42 });
  }
  for (const s of SAMPLE_FILES) {
    const bytes = new Uint8Array(await readFile(path.join(sampleDir, s.file)));
    const r = await importFile(db, settings, { bytes, fileName: s.file, layer: s.layer, widthField: s.widthField, user: 'sample', sample: true });
    log.info({ layer: s.layer, stored: r.stored, repaired: r.repaired, skipped: r.skipped.total, seconds: r.seconds },
      `sample ${s.layer}: ${r.stored} stored / 示例图层已导入`);
  }
}

/**
 * The sample town's synthetic imagery (合成影像, issue 15 item 5): rendered into the sample directory when
 * missing (scripts/sample/imagery.ts, same seed and scale as the town), then imported through the same path
 * as a user's GeoTIFF (importImagery) for each epoch that has no current layer — so an interrupted first
 * start finishes it at the next one. Only while the database holds the sample town and nothing else.
 *
 * main.ts runs it after the server listens, not inside loadSampleTown: rendering and importing the two
 * 55-Mpixel epochs takes 1.5–3.5 minutes on this machine (README, first start), which would double or triple the
 * "about a minute" of a first start (issue 15 item 5); the map shows the imagery once it is in (the
 * imagery store re-reads its layers every 2 s).
 */
export async function loadSampleImagery(db: Db, settings: ImagerySettings, sampleDir: string, log: Logger): Promise<void> {
  const town = (await db.query<{ sample: number; other: number }>(SQL.only_sample_town)).rows[0];
  if (!town.sample || town.other) return;
  const current = await db.query<{ epoch: string }>(IMAGERY_SQL.current_layers, [settings.regionCode]);
  const missing = EPOCHS.filter((e) => !current.rows.some((r) => r.epoch === e));
  if (!missing.length) return;
  const { readSampleManifest, readSampleImagery, IMAGERY_FILES } = await import('../scripts/generate-sample');
  const manifest = readSampleManifest(sampleDir);
  const scale = manifest?.scale ?? 'town';
  if (scale !== 'tiny' && scale !== 'town') {
    log.info({ scale }, 'no synthetic imagery at this sample scale / 该规模的示例数据无合成影像');
    return;
  }
  const t0 = Date.now();
  let info = readSampleImagery(sampleDir);
  if (!info || info.seed !== (manifest?.seed ?? 42) || info.scale !== scale) {
    log.info({ sampleDir }, 'rendering the synthetic imagery / 正在生成合成影像');
    info = await renderSampleImagery({ out: sampleDir, scale, seed: manifest?.seed ?? 42 });
    log.info({ width: info.width, height: info.height, resolution: info.resolution, seconds: info.millis.total / 1000, mb: info.epochs.map((e) => Math.round(e.bytes / 1e5) / 10) },
      'synthetic imagery rendered / 合成影像已生成');
  }
  for (const epoch of missing) {
    const file = IMAGERY_FILES[epoch];
    const r = await importImagery(db, settings, { path: path.join(sampleDir, file), fileName: file, epoch, user: 'sample' });
    log.info({ epoch, date: r.date, pixels: r.pixels.total, tiles: r.tiles, zooms: r.zooms, seconds: r.seconds },
      `sample imagery ${epoch}: ${r.tiles} tiles / 示例影像已导入`);
  }
  log.info({ seconds: (Date.now() - t0) / 1000 }, 'the sample town\'s synthetic imagery is in / 示例合成影像已就绪');
}

type SampleImageryOptions = import('../scripts/sample/imagery').SampleImageryOptions;
type SampleImageryInfo = import('../scripts/sample/imagery').SampleImageryInfo;

/**
 * The synthetic imagery rendered on a worker thread: seconds of pixel loops that, on the main thread, kept a
 * server that had just printed "tuban is running" from answering (the first request of a first start waited
 * ~5 s for them). The worker loads the TypeScript module through tsx's public API, as `npm start` does.
 */
function renderSampleImagery(opts: SampleImageryOptions): Promise<SampleImageryInfo> {
  // tsx's ESM API by its package's own exports map (require.resolve would give the CommonJS build)
  const tsxPkg = createRequire(import.meta.url).resolve('tsx/package.json');
  const api = (JSON.parse(readFileSync(tsxPkg, 'utf8')) as { exports: Record<string, { import: { default: string } }> }).exports['./esm/api'].import.default;
  const tsx = pathToFileURL(path.join(path.dirname(tsxPkg), api)).href;
  const worker = new URL('../scripts/sample/imagery-worker.ts', import.meta.url).href;
  const code = `(async () => { const { register } = await import(${JSON.stringify(tsx)}); register(); await import(${JSON.stringify(worker)}); })()`;
  return new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData: opts });
    let result: SampleImageryInfo | undefined;
    w.once('message', (m: SampleImageryInfo) => (result = m));
    w.once('error', reject);
    w.once('exit', (code) => (result ? resolve(result) : reject(new Error(`the imagery worker exited with ${code} and no result`))));
  });
}
