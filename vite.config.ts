import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

/**
 * The analyst web app (web/): `npm run dev:web` serves it with a proxy to the API server
 * (TUBAN_API, default http://127.0.0.1:3000, start it with `npm start`); `npm run build:web` builds it to
 * dist/web, which the server serves. maplibre-gl gets a chunk of its own (scripts/bench/web.ts weighs the rest).
 */
const api = process.env.TUBAN_API ?? 'http://127.0.0.1:3000';
const root = fileURLToPath(new URL('./web', import.meta.url));

/**
 * The map code and maplibre-gl are imported dynamically (the login screen does not wait for them), but nearly
 * every visit needs them at once: hint the browser to fetch them with the page instead of after main.ts runs.
 */
function preloadMapChunks(): Plugin {
  return {
    name: 'tuban-preload-map',
    apply: 'build',
    transformIndexHtml: {
      order: 'post',
      handler(_html, ctx) {
        const chunks = Object.values(ctx.bundle ?? {}).filter(
          (c) => c.type === 'chunk' && /^assets\/(maplibre|view)-[^/]+\.js$/.test(c.fileName),
        );
        return chunks.map((c) => ({ tag: 'link', attrs: { rel: 'modulepreload', crossorigin: '', href: `/${c.fileName}` }, injectTo: 'head' as const }));
      },
    },
  };
}

export default defineConfig({
  root,
  plugins: [preloadMapChunks()],
  base: '/',
  publicDir: 'public',
  build: {
    outDir: fileURLToPath(new URL('./dist/web', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    chunkSizeWarningLimit: 1500,
    rollupOptions: {
      output: {
        manualChunks(id) {
          if (/[\\/]node_modules[\\/]maplibre-gl[\\/]/.test(id)) return 'maplibre';
          if (/[\\/]node_modules[\\/](pmtiles|fflate)[\\/]/.test(id)) return 'pmtiles';
          return undefined;
        },
      },
    },
  },
  server: {
    port: 5173,
    strictPort: false,
    fs: { allow: [fileURLToPath(new URL('.', import.meta.url))] },
    proxy: {
      '/api': { target: api, changeOrigin: false },
      '/tiles': { target: api, changeOrigin: false },
      '/map-files': { target: api, changeOrigin: false },
    },
  },
});
