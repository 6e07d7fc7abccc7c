import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import express, { type Request, type Response } from 'express';
import { router } from '../http/canonical-path';
import { z } from 'zod';
import type { AppContext } from '../context';
import type { Config } from '../config';
import { route } from '../http/openapi';
import { imageryStoreOf } from './imagery';
import type { ImageryLayer } from '../imagery/store';

const READERS = ['admin', 'analyst', 'reviewer', 'field'] as const;

/** A raster source of the map as the browser uses it. */
export const MapSource = z.object({
  kind: z.enum(['xyz', 'pmtiles']),
  /** xyz: tile URL templates ({z}/{x}/{y}); pmtiles: `pmtiles://` + the archive URL */
  tiles: z.array(z.string()).optional(),
  url: z.string().optional(),
  scheme: z.enum(['xyz', 'tms']).optional(),
  /** imported imagery (issue 15): which import, its zooms and extent ([w, s, e, n] lon/lat), date and resolution */
  import_id: z.number().int().optional(),
  minzoom: z.number().int().optional(),
  maxzoom: z.number().int().optional(),
  bounds: z.array(z.number()).length(4).optional(),
  tileSize: z.number().int().optional(),
  date: z.string().nullable().optional(),
  resolution_m: z.number().optional(),
});
export type MapSource = z.infer<typeof MapSource>;

export const MapConfigOut = z.object({
  basemap: MapSource.nullable(),
  imagery: z.object({ before: MapSource.nullable(), after: MapSource.nullable() }),
});
export type MapConfig = z.infer<typeof MapConfigOut>;

/** local .pmtiles files are served under this prefix (logged-in users only, Range requests) */
const FILES = '/map-files';

interface Parsed {
  source: MapSource | null;
  /** origin the browser fetches from (for the Content-Security-Policy) */
  origin?: string;
  /** a local file to serve */
  file?: { name: string; abs: string };
  problem?: string;
}

/**
 * A configured source: an XYZ template (`https://…/{z}/{x}/{y}.png`, `{-y}` for TMS, `{quadkey}`), a WMTS
 * KVP/REST template (`{TileMatrix}`, `{TileRow}`, `{TileCol}`), a remote `https://….pmtiles`, or a raster
 * `.pmtiles` file in the data directory (`pmtiles://imagery-2020.pmtiles` or `imagery-2020.pmtiles`).
 */
export function parseMapSource(value: string | undefined, dataDir: string): Parsed {
  if (!value) return { source: null };
  const v = value.trim();
  if (/^https?:\/\//i.test(v)) {
    let origin: string;
    try {
      origin = new URL(v.replace(/[{}]/g, '')).origin;
    } catch {
      return { source: null, problem: 'not a URL' };
    }
    if (/\.pmtiles(\?|$)/i.test(v)) return { source: { kind: 'pmtiles', url: `pmtiles://${v}` }, origin };
    let t = v
      .replace(/\{TileMatrix\}/gi, '{z}')
      .replace(/\{TileRow\}/gi, '{y}')
      .replace(/\{TileCol\}/gi, '{x}');
    let scheme: 'xyz' | 'tms' = 'xyz';
    if (t.includes('{-y}')) {
      t = t.replace('{-y}', '{y}');
      scheme = 'tms';
    }
    if (!(t.includes('{quadkey}') || (t.includes('{z}') && t.includes('{x}') && t.includes('{y}')))) {
      return { source: null, problem: 'needs {z}/{x}/{y}, {quadkey} or WMTS {TileMatrix}/{TileRow}/{TileCol}' };
    }
    return { source: { kind: 'xyz', tiles: [t], scheme }, origin };
  }
  const rel = v.replace(/^pmtiles:\/\//i, '');
  if (!/\.pmtiles$/i.test(rel)) return { source: null, problem: 'a local source must be a .pmtiles file' };
  const abs = path.resolve(dataDir, rel);
  if (path.relative(dataDir, abs).startsWith('..')) return { source: null, problem: 'a local .pmtiles file must lie in the data directory' };
  if (!existsSync(abs)) return { source: null, problem: `no file ${abs}` };
  const name = path.basename(abs);
  return { source: { kind: 'pmtiles', url: `pmtiles://${FILES}/${encodeURIComponent(name)}` }, file: { name, abs } };
}

function mapSources(config: Config) {
  const m = config.map;
  return {
    basemap: parseMapSource(m.basemapUrl, config.dataDir),
    before: parseMapSource(m.imageryBeforeUrl, config.dataDir),
    after: parseMapSource(m.imageryAfterUrl, config.dataDir),
  };
}

/** data routes: never answered with the app's index.html */
const DATA_PATH = /^\/(api|tiles|map-files)(\/|$)/;
const HASHED_ASSET = /[\\/]assets[\\/][^\\/]+-[A-Za-z0-9_-]{8,}\.[a-z0-9]+$/;

/**
 * The web app (issue 4) and what it needs from the server: `GET /api/config/map` (optional basemap and
 * imagery sources), local .pmtiles files, and the built app from dist/web — hashed assets cached for a year,
 * index.html revalidated every time, and index.html for any other GET that is not a data path (the app
 * routes itself with the URL hash).
 */
export function webRoutes(ctx: AppContext) {
  const r = router();
  const sources = mapSources(ctx.config);
  for (const [name, p] of Object.entries(sources)) {
    if (p.problem) ctx.log.warn({ source: name, problem: p.problem }, 'map source ignored / 地图源配置无效，已忽略');
  }
  const config: MapConfig = {
    basemap: sources.basemap.source,
    imagery: { before: sources.before.source, after: sources.after.source },
  };

  const store = imageryStoreOf(ctx);
  route(r, {
    method: 'get', path: '/api/config/map', tags: ['meta'], roles: READERS,
    summary: 'Basemap and imagery sources of the map (all optional; the default needs no internet)',
    summary_zh: '地图底图与影像配置',
    description: 'An epoch configured by URL (TUBAN_IMAGERY_BEFORE_URL / _AFTER_URL) is shown as configured; otherwise its imported imagery, if any.',
    response: MapConfigOut,
  }, async (req, res) => {
    const imported = await store.current();
    const base = `${req.protocol}://${req.get('host')}`;
    const imagery = {
      before: config.imagery.before ?? importedSource(base, imported.get('before')),
      after: config.imagery.after ?? importedSource(base, imported.get('after')),
    };
    res.set('Cache-Control', 'private, no-cache').json({ ...config, imagery });
  });

  // local PMTiles archives named by the configuration, nothing else from the data directory
  const files = new Map(Object.values(sources).flatMap((p) => (p.file ? [[p.file.name, p.file.abs] as const] : [])));
  r.use(FILES, (req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    const abs = files.get(decodeURIComponent(req.path.slice(1)));
    if (!abs) return next();
    if (!req.principal) return res.status(401).type('text/plain').send('Log in first / 请先登录');
    res.sendFile(abs, { acceptRanges: true, cacheControl: false, headers: { 'Cache-Control': 'private, max-age=3600' } });
  });

  const dir = ctx.config.webDir;
  const csp = contentSecurityPolicy(Object.values(sources).flatMap((p) => (p.origin ? [p.origin] : [])));
  r.use(
    express.static(dir, {
      index: false,
      redirect: false,
      setHeaders: (res, file) => {
        res.set('X-Content-Type-Options', 'nosniff');
        res.set('Cache-Control', HASHED_ASSET.test(file) ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
    }),
  );

  const index = path.join(dir, 'index.html');
  r.use((req: Request, res: Response, next) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || DATA_PATH.test(req.path)) return next();
    // a missing hashed asset (an old page after a deploy) is a 404, not the app
    if (req.path.startsWith('/assets/')) return res.status(404).type('text/plain').send('Not found');
    if (!existsSync(index) || !statSync(index).isFile()) {
      return res.status(503).type('text/plain; charset=utf-8')
        .send('The web app is not built: npm run build:web (npm start builds it) / 网页端尚未构建：请运行 npm run build:web\n');
    }
    res.set({
      'Cache-Control': 'no-cache',
      'Content-Security-Policy': csp,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'same-origin',
    });
    res.sendFile(index);
  });
  return r;
}

/** An imported layer as a raster source; its URL names the import, so its tiles are cached for good. */
export function importedSource(base: string, l: ImageryLayer | undefined): MapSource | null {
  if (!l) return null;
  return {
    kind: 'xyz', scheme: 'xyz', tiles: [`${base}/tiles/imagery/${l.epoch}/{z}/{x}/{y}.webp?v=${l.id}`], import_id: l.id,
    minzoom: l.minzoom, maxzoom: l.maxzoom, bounds: [l.west, l.south, l.east, l.north].map(Number), tileSize: 256,
    date: l.acquired_on, resolution_m: Number(l.resolution_m),
  };
}

/** Our own origin, plus the configured tile hosts for map data; no inline scripts. */
function contentSecurityPolicy(origins: string[]) {
  const extra = [...new Set(origins)].join(' ');
  return [
    "default-src 'self'",
    "script-src 'self'",
    // MapLibre positions its controls and markers with style attributes
    "style-src 'self' 'unsafe-inline'",
    `img-src 'self' data: blob: ${extra}`.trim(),
    `connect-src 'self' ${extra}`.trim(),
    "worker-src 'self' blob:",
    "font-src 'self' data:",
    "frame-ancestors 'none'",
    "base-uri 'self'",
    "form-action 'self'",
  ].join('; ');
}
