/**
 * The tiny synthetic sample town (scripts/generate-sample.ts, seed 42) generated into `dir` and imported
 * with the real ingest, in the order the server's first start uses: what the browser tests work on.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Db } from '../../server/db/types';
import type { ImportSettings } from '../../server/ingest/import';
import { importFile } from '../../server/ingest/import';
import { SAMPLE_FILES } from '../../server/sample';
import { generateSample } from '../../scripts/generate-sample';

export async function importTinySample(db: Db, settings: ImportSettings, dir: string): Promise<void> {
  generateSample({ out: dir, scale: 'tiny', seed: 42 });
  for (const s of SAMPLE_FILES) {
    const bytes = new Uint8Array(readFileSync(path.join(dir, s.file)));
    await importFile(db, settings, { bytes, fileName: s.file, layer: s.layer, widthField: s.widthField, user: 'e2e', sample: true });
  }
}
