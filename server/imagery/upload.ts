/**
 * An imagery file as the API and the CLI's hand-off receive it: a GeoTIFF alone, or a zip holding one
 * GeoTIFF with its .tfw / .prj (the world file and projection a delivery often puts beside it).
 */
import { mkdtemp, open, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Config } from '../config';
import type { Db } from '../db/types';
import { IngestError } from '../errors';
import { openZip } from '../ingest/zip';
import { importImagery, type ImageryImportRequest, type ImageryReport } from './import';
import type { Sidecars } from './source';

async function magic(file: string): Promise<Buffer> {
  const h = await open(file, 'r');
  try {
    const b = Buffer.alloc(4);
    await h.read(b, 0, 4, 0);
    return b;
  } finally {
    await h.close();
  }
}

const isTiff = (b: Buffer) => (b[0] === 0x49 && b[1] === 0x49 && (b[2] === 42 || b[2] === 43)) || (b[0] === 0x4d && b[1] === 0x4d && (b[3] === 42 || b[3] === 43));
const isZip = (b: Buffer) => b[0] === 0x50 && b[1] === 0x4b;

/**
 * `beside`: look for .tfw/.prj next to the file (the CLI, a path the user named); an upload's temporary
 * file has nothing beside it.
 */
export async function importImageryFile(
  db: Db,
  config: Pick<Config, 'dataDir' | 'regionCode' | 'workSrid' | 'tmpDir' | 'limits'>,
  req: ImageryImportRequest & { beside?: boolean },
): Promise<ImageryReport> {
  const head = await magic(req.path);
  const settings = { dataDir: config.dataDir, regionCode: config.regionCode, workSrid: config.workSrid };
  if (isTiff(head)) return importImagery(db, settings, { ...req, sidecars: req.beside ? undefined : (req.sidecars ?? {}) });
  if (!isZip(head)) {
    throw new IngestError('imagery_not_tiff', 'Imagery must be a GeoTIFF (.tif), or a zip holding one with its .tfw/.prj',
      '影像须为 GeoTIFF（.tif），或包含 GeoTIFF 及其 .tfw/.prj 的 zip 压缩包', { file: req.fileName });
  }
  const zip = await openZip({ path: req.path }, config.limits);
  const scratch = await mkdtemp(path.join(config.tmpDir ?? os.tmpdir(), 'imagery-'));
  try {
    const tifs = zip.entries.filter((e) => /\.tiff?$/i.test(e.path));
    if (tifs.length !== 1) {
      throw new IngestError('imagery_zip_contents', `The zip must hold exactly one .tif, not ${tifs.length}`, `压缩包中须恰好有一个 .tif 文件，实际有 ${tifs.length} 个`,
        { tifs: tifs.map((e) => e.path) });
    }
    const tif = tifs[0].path;
    const base = tif.replace(/\.tiff?$/i, '').toLowerCase();
    const beside = (exts: string[]) => zip.entries.find((e) => exts.some((x) => e.path.toLowerCase() === base + x));
    const tfw = beside(['.tfw', '.tifw', '.wld']);
    const prj = beside(['.prj']);
    const sidecars: Sidecars = {
      tfw: tfw ? Buffer.from(await zip.read(tfw.path)).toString('utf8') : undefined,
      prj: prj ? await zip.read(prj.path) : undefined,
    };
    const dest = path.join(scratch, 'image.tif');
    await zip.extract(tif, dest);
    return await importImagery(db, settings, { ...req, path: dest, fileName: `${req.fileName}:${path.posix.basename(tif)}`, sidecars });
  } finally {
    zip.close();
    await rm(scratch, { recursive: true, force: true });
  }
}
