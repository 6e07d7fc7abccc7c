import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

/**
 * The field page (web-field/, issue 5): a phone page of its own, separate from the analyst app (web/ and
 * vite.config.ts). `npm run build:field` builds it to dist/field, served by the API server under /field/
 * (assets) and as the page of /p, /p/<图斑编号> and /f/<token>. Its service worker is built as
 * dist/field/sw.js; the list of files it precaches (and its cache version) is written into it here.
 * `npm run dev:field` serves it with a proxy to the API server (TUBAN_API, default http://127.0.0.1:3000).
 */
const api = process.env.TUBAN_API ?? 'http://127.0.0.1:3000';
const root = fileURLToPath(new URL('./web-field', import.meta.url));
const BASE = '/field/';
const PLACEHOLDER = '__PRECACHE_MANIFEST__';

/** Fills the worker's precache list: every file of the build except the worker itself and source maps. */
function precacheManifest(): Plugin {
  return {
    name: 'tuban-field-precache',
    apply: 'build',
    generateBundle(_o, bundle) {
      const files = Object.keys(bundle).filter((f) => f !== 'sw.js' && !f.endsWith('.map') && !f.endsWith('.gz')).sort();
      const urls = files.map((f) => BASE + f);
      const version = createHash('sha256').update(urls.join('\n')).digest('hex').slice(0, 12);
      const sw = bundle['sw.js'];
      if (!sw || sw.type !== 'chunk') throw new Error('sw.js missing from the field build');
      const value = JSON.stringify(JSON.stringify({ version, urls }));
      const before = sw.code;
      sw.code = sw.code.replace(`"${PLACEHOLDER}"`, value).replace(`'${PLACEHOLDER}'`, value).replace(`\`${PLACEHOLDER}\``, value);
      if (sw.code === before) throw new Error('precache placeholder not found in sw.js');
    },
  };
}

/**
 * Writes a gzip twin (file.js.gz) of every script and stylesheet: the server sends it to browsers that accept
 * gzip (server/routes/field.ts), a third of the bytes on a slow mobile network.
 */
function gzipTwins(): Plugin {
  return {
    name: 'tuban-field-gzip',
    apply: 'build',
    // after the files are written: the code in generateBundle is not final yet (vite still rewrites it)
    writeBundle(o, bundle) {
      for (const name of Object.keys(bundle)) {
        if (!/\.(js|css)$/.test(name) || name === 'sw.js') continue;
        const file = path.join(o.dir!, name);
        writeFileSync(`${file}.gz`, gzipSync(readFileSync(file), { level: 9 }));
      }
    },
  };
}

export default defineConfig({
  root,
  base: BASE,
  publicDir: false,
  plugins: [precacheManifest(), gzipTwins()],
  build: {
    outDir: fileURLToPath(new URL('./dist/field', import.meta.url)),
    emptyOutDir: true,
    target: 'es2020',
    sourcemap: true,
    modulePreload: { polyfill: false },
    rollupOptions: {
      input: { index: fileURLToPath(new URL('./web-field/index.html', import.meta.url)), sw: fileURLToPath(new URL('./web-field/sw.ts', import.meta.url)) },
      output: {
        entryFileNames: (chunk) => (chunk.name === 'sw' ? 'sw.js' : 'assets/[name]-[hash].js'),
      },
    },
  },
  server: {
    port: 5174,
    strictPort: false,
    fs: { allow: [fileURLToPath(new URL('.', import.meta.url))] },
    proxy: {
      '/api': { target: api, changeOrigin: false },
      '/p/sheet': { target: api, changeOrigin: false },
    },
  },
});
