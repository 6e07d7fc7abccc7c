/**
 * The tiny sample town's synthetic imagery (scripts/sample/imagery.ts, seed 42: 合成影像, before and after
 * GeoTIFFs in EPSG:4523) rendered into `dir` and imported through the real importer — what the browser tests
 * of imagery look at. Call it after importTinySample (the importer checks the image against the work region).
 */
import path from 'node:path';
import type { Db } from '../../server/db/types';
import { importImagery, type ImageryReport, type ImagerySettings } from '../../server/imagery/import';
import { generateSampleImagery, IMAGERY_FILES } from '../../scripts/generate-sample';

export async function importTinyImagery(db: Db, settings: ImagerySettings, dir: string): Promise<Record<'before' | 'after', ImageryReport>> {
  await generateSampleImagery({ out: dir, scale: 'tiny', seed: 42 });
  const out = {} as Record<'before' | 'after', ImageryReport>;
  for (const epoch of ['before', 'after'] as const) {
    const file = IMAGERY_FILES[epoch];
    out[epoch] = await importImagery(db, settings, { path: path.join(dir, file), fileName: file, epoch, user: 'e2e' });
  }
  return out;
}
