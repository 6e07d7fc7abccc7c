/**
 * The field page (web-field/ → dist/field), built when missing or older than its sources (web-field/,
 * vite.field.config.ts, package-lock.json, and the i18n core it shares with web/). `npm start` runs it through scripts/build-web-if-needed.ts
 * (prestart); on its own:
 *
 *   tsx scripts/build-field-if-needed.ts [--force]
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { newestMtime } from './newest-mtime';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const FIELD_OUT = path.join(ROOT, 'dist', 'field');

export const newestFieldSourceMtime = () => newestMtime(ROOT, ['web-field'], ['vite.field.config.ts', 'package-lock.json', 'web/src/i18n/core.ts']);

/** True when `outDir` holds a field build at least as new as every source. */
export function isFieldBuildFresh(outDir = FIELD_OUT): boolean {
  const index = path.join(outDir, 'index.html');
  const sw = path.join(outDir, 'sw.js');
  return existsSync(index) && existsSync(sw) && Math.min(statSync(index).mtimeMs, statSync(sw).mtimeMs) >= newestFieldSourceMtime();
}

export async function buildField(outDir = FIELD_OUT, o: { quiet?: boolean } = {}): Promise<void> {
  const { build } = await import('vite');
  await build({
    configFile: path.join(ROOT, 'vite.field.config.ts'),
    logLevel: o.quiet ? 'silent' : 'info',
    build: { outDir, emptyOutDir: true },
  });
}

/** Builds dist/field unless it is fresh (or `force`). */
export async function buildFieldIfNeeded(force = false): Promise<boolean> {
  if (!force && isFieldBuildFresh()) return false;
  process.stdout.write('Building the field page (dist/field)… / 正在构建外业页面…\n');
  const t0 = Date.now();
  await buildField(FIELD_OUT, { quiet: true });
  process.stdout.write(`Field page built in ${((Date.now() - t0) / 1000).toFixed(1)} s / 外业页面构建完成\n`);
  return true;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  buildFieldIfNeeded(process.argv.includes('--force')).catch((e) => {
    process.stderr.write(`Building the field page failed / 外业页面构建失败: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
