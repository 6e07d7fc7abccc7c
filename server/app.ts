import express, { type Express, type RequestHandler } from 'express';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { pinoHttp } from 'pino-http';
import pino from 'pino';
import type { AppContext } from './context';
import { errorHandler, notFound } from './http/errors';
import { canonicalPath } from './http/canonical-path';
import { logSafeParams, logSafeUrl } from './http/log-url';
import { refuseNul } from './http/schemas';
import { polygonRoutes } from './routes/polygons';
import { reviewRoutes } from './routes/review';
import { caseDocumentRoutes } from './routes/case-documents';
import { importRoutes } from './routes/imports';
import { healthRoutes } from './routes/health';
import { tileFastPath, tileRoutes, tileServiceFor } from './routes/tiles';
import { imageryRoutes } from './routes/imagery';
import type { TileService } from './tiles/service';
import { epochsOf } from './tiles/epochs';
import { authRoutes } from './routes/auth';
import { queueCountRoutes } from './routes/queue-counts';
import { webRoutes } from './routes/web';
import { dashboardRoutes } from './routes/dashboard';
import { villageRoutes } from './routes/villages';
import { exportRoutes } from './routes/exports';
import { ogcRoutes } from './routes/ogc';
import { fieldRoutes } from './routes/field';
import { adminRoutes } from './routes/admin';
import { proofRoutes } from './routes/proof';
import { leadRoutes } from './routes/leads';
import { patrolRoutes } from './routes/patrols';
import { open311Routes } from './routes/open311';
import { reportPageRoutes } from './routes/report-page';

export interface AppOptions extends AppContext {
  /** sets req.principal from the session; tests may inject their own */
  authenticate: RequestHandler;
  /** the tile service (and its cache); tests and the benchmark pass their own to look at the cache */
  tiles?: TileService;
  /** answer a logged-in browser's tiles before express dispatches, through requestListener (default: on) */
  tileFastPath?: boolean;
}

type FastPath = (req: IncomingMessage, res: ServerResponse) => boolean;
/** each app's tile fast path (createApp), tried by requestListener */
const fastPaths = new WeakMap<Express, FastPath>();

/**
 * The app as node's request listener, with the tile fast path tried before express dispatches at all: the
 * tiles of a logged-in map view skip the request logger, the body parser and the routers (routes/tiles.ts
 * tileFastPath: what it serves, and that it hands everything else on untouched). An express app is itself a
 * request listener, so this is its public API — no patch of its private `handle`, as there once was. Measured
 * (bench:tiles, docs/BENCHMARKS.md "Session 7"): survey z16 cached 0.23x the raw ST_AsMVT, against 0.37 as
 * express's first middleware and more through the full chain ("cached, no fast path").
 */
export function requestListener(app: Express): (req: IncomingMessage, res: ServerResponse) => void {
  const fast = fastPaths.get(app);
  if (!fast) return app;
  return (req, res) => {
    let served = false;
    try {
      served = fast(req, res);
    } catch {
      served = false; // the routers answer it, errors and all
    }
    if (!served) app(req, res);
  };
}

/** `app.listen`, through requestListener. */
export function listen(app: Express, port: number, host?: string): Server {
  return createServer(requestListener(app)).listen(port, host);
}

/** Builds the HTTP app. Never listens: main.ts does (through `listen`), tests listen on port 0. */
export function createApp(o: AppOptions) {
  const ctx: AppContext = { config: o.config, db: o.db, log: o.log, importDb: o.importDb };
  const app = express();
  app.disable('x-powered-by');
  // one spelling per route: the routers and every path-based check agree (http/canonical-path.ts)
  app.set('case sensitive routing', true);
  app.set('trust proxy', 'loopback');
  const tiles = o.tiles ?? tileServiceFor(ctx);
  // served through requestListener / listen (above), before express dispatches
  if (o.tileFastPath !== false) fastPaths.set(app, tileFastPath(ctx, tiles));
  // read your writes on the map: while a write request is in flight, data versions (tiles, OGC catalog) come
  // from the database (tiles/epochs.ts); 'close' follows 'finish' and also comes when the client gave up
  app.use((req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD' && req.method !== 'OPTIONS') res.once('close', epochsOf(ctx.db).localWrite());
    next();
  });
  app.use(
    pinoHttp({
      logger: o.log,
      // never log credentials or session cookies
      redact: ['req.headers.cookie', 'req.headers.authorization', 'req.headers["x-field-token"]', 'res.headers["set-cookie"]'],
      // a signed field link carries its token in the path: never write it to the log, however spelled
      serializers: {
        req: pino.stdSerializers.wrapRequestSerializer((r) => {
          r.url = logSafeUrl(r.url) as string;
          r.query = logSafeParams(r.query);
          r.params = logSafeParams(r.params);
          if (typeof r.headers?.referer === 'string') r.headers.referer = logSafeUrl(r.headers.referer) as string;
          return r;
        }),
      },
      autoLogging: { ignore: (req) => req.url === '/api/health' },
      // one map view fetches dozens of tiles: successful tile requests only at debug level
      customLogLevel: (req, res, err) =>
        err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : req.url?.startsWith('/tiles/') ? 'debug' : 'info',
      // who made the request (evaluated again when the response is logged, after authentication)
      customProps: (req) => (req.principal ? { user: req.principal.username } : {}),
    }),
  );
  app.use(canonicalPath);
  app.use(express.json({ limit: '1mb' }));
  app.use(refuseNul);
  app.use(o.authenticate);
  app.use(fieldRoutes(ctx)); // first: its signed-link middleware fences every data route; its pages precede the web app's fallback
  app.use(tileRoutes(ctx, tiles)); // early: a map view asks for dozens of tiles, each pays every router in front of it
  app.use(imageryRoutes(ctx)); // imagery tiles, as early, and the per-polygon chips
  // early too: a GIS client pages through a layer in thousands of requests (issue 17 item 6); /ogc has its own
  // authentication (basic or bearer) and 404s, and no router in front of it serves /ogc
  app.use(ogcRoutes(ctx));
  app.use(healthRoutes(ctx));
  app.use(authRoutes(ctx));
  app.use(queueCountRoutes(ctx)); // before polygonRoutes: /api/polygons/counts is not /api/polygons/:id
  app.use(polygonRoutes(ctx));
  app.use(reviewRoutes(ctx));
  app.use(caseDocumentRoutes(ctx));
  app.use(importRoutes(ctx));
  app.use(dashboardRoutes(ctx));
  app.use(villageRoutes(ctx));
  app.use(exportRoutes(ctx));
  app.use(adminRoutes(ctx));
  app.use(proofRoutes(ctx));
  app.use(leadRoutes(ctx));
  app.use(patrolRoutes(ctx));
  app.use(open311Routes(ctx));
  app.use(reportPageRoutes(ctx));
  app.use(webRoutes(ctx));
  app.use('/api', notFound);
  app.use(errorHandler);
  return app;
}
