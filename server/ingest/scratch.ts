/**
 * Leftovers of a crashed import. Every import removes its scratch folder (`<data>/tmp/import-*`) and every
 * upload its file (`<data>/tmp/uploads/*`) in all paths, but a process killed mid-import cannot: at start
 * the server removes what is older than a day. Age, not ownership, decides, because with DATABASE_URL a
 * CLI import may be running beside the server right now with a fresh scratch folder of its own.
 */
import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';

export const SCRATCH_MAX_AGE_MS = 24 * 3600 * 1000;

export async function sweepScratch(tmpDir: string, now = Date.now(), maxAgeMs = SCRATCH_MAX_AGE_MS): Promise<string[]> {
  const removed: string[] = [];
  const candidates = [
    ...(await list(tmpDir)).filter((n) => n.startsWith('import-')).map((n) => path.join(tmpDir, n)),
    ...(await list(path.join(tmpDir, 'uploads'))).map((n) => path.join(tmpDir, 'uploads', n)),
  ];
  for (const p of candidates) {
    const st = await stat(p).catch(() => undefined);
    if (!st || now - st.mtimeMs < maxAgeMs) continue;
    await rm(p, { recursive: true, force: true });
    removed.push(p);
  }
  return removed;
}

async function list(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => []);
}
