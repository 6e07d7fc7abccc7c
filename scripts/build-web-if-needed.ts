/**
 * `npm start` runs this first (prestart): builds the web app into dist/web when it is missing or older than
 * its sources (web/, vite.config.ts, package-lock.json). When it is up to date it only stats files (~10 ms)
 * and never loads vite.
 *
 *   tsx scripts/build-web-if-needed.ts [--force]
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildFieldIfNeeded } from './build-field-if-needed';
import { newestMtime } from './newest-mtime';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const WEB_OUT = path.join(ROOT, 'dist', 'web');

/** Newest modification time (ms) of what the build reads. */
export const newestSourceMtime = () => newestMtime(ROOT, ['web'], ['vite.config.ts', 'package-lock.json']);

/** True when `outDir` holds a build at least as new as every source. */
export function isWebBuildFresh(outDir = WEB_OUT): boolean {
  const index = path.join(outDir, 'index.html');
  return existsSync(index) && statSync(index).mtimeMs >= newestSourceMtime();
}

/** vite build into `outDir` (dist/web by default), quietly unless asked. */
export async function buildWeb(outDir = WEB_OUT, o: { quiet?: boolean } = {}): Promise<void> {
  const { build } = await import('vite');
  await build({
    configFile: path.join(ROOT, 'vite.config.ts'),
    logLevel: o.quiet ? 'silent' : 'info',
    build: { outDir, emptyOutDir: true },
  });
}

async function main() {
  const force = process.argv.includes('--force');
  await buildFieldIfNeeded(force); // the field page (web-field/ → dist/field) has a build of its own
  if (!force && isWebBuildFresh()) return;
  process.stdout.write('Building the web app (dist/web)… / 正在构建网页端…\n');
  const t0 = Date.now();
  await buildWeb(WEB_OUT);
  process.stdout.write(`Web app built in ${((Date.now() - t0) / 1000).toFixed(1)} s / 网页端构建完成\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e) => {
    process.stderr.write(`Building the web app failed / 网页端构建失败: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
