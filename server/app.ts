import express, { type RequestHandler } from 'express';
import { pinoHttp } from 'pino-http';
import type { AppContext } from './context';
import { errorHandler, notFound } from './http/errors';
import { polygonRoutes } from './routes/polygons';
import { importRoutes } from './routes/imports';
import { healthRoutes } from './routes/health';

export interface AppOptions extends AppContext {
  /** sets req.principal from the session; tests may inject their own */
  authenticate: RequestHandler;
}

/** Builds the HTTP app. Never listens: main.ts does, tests listen on port 0. */
export function createApp(o: AppOptions) {
  const ctx: AppContext = { config: o.config, db: o.db, log: o.log };
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  app.use(
    pinoHttp({
      logger: o.log,
      // never log credentials or session cookies
      redact: ['req.headers.cookie', 'req.headers.authorization', 'res.headers["set-cookie"]'],
      autoLogging: { ignore: (req) => req.url === '/api/health' },
    }),
  );
  app.use(express.json({ limit: '1mb' }));
  app.use(o.authenticate);
  app.use(healthRoutes(ctx));
  app.use(polygonRoutes(ctx));
  app.use(importRoutes(ctx));
  app.use('/api', notFound);
  app.use(errorHandler);
  return app;
}
