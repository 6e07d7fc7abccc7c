import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Db } from './db/types';
import { importFile, type ImportSettings } from './ingest/import';

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
