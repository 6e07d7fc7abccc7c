import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import pino from 'pino';
import { loadConfig, redactUrl } from './config';
import { openDb } from './db/open';
import { migrate } from './db/migrate';
import { createApp } from './app';
import { gracefulShutdown } from './http/shutdown';
import { authenticate } from './auth/session';
import { isEmpty, loadSampleTown } from './sample';
import { ensureAdmin, ensureDemoUsers } from './auth/users';

/** config → database → migrations → sample town (first start) → listen → graceful shutdown */
async function main() {
  const config = loadConfig();
  const log = pino({ level: config.logLevel });
  mkdirSync(config.dataDir, { recursive: true });

  if (config.databaseUrl) log.info({ db: redactUrl(config.databaseUrl) }, 'using PostgreSQL/PostGIS server');
  else process.stdout.write(`Opening the embedded database (PGlite + PostGIS) in ${config.pgliteDir}\n`);
  const db = await openDb({
    databaseUrl: config.databaseUrl,
    pgliteDir: config.pgliteDir,
    statementTimeoutMs: config.statementTimeoutMs,
    poolMax: config.dbPoolMax,
    connectTimeoutMs: config.dbConnectTimeoutMs,
    queryTimeoutMs: config.dbQueryTimeoutMs,
    onConnectionError: (e) => log.warn({ err: e }, 'a database connection failed; it is replaced on next use'),
    onWait: (s) =>
      process.stdout.write(`\r  starting PostGIS… ${s}s (the first start takes ~15–20 s) / 正在初始化 PostGIS… ${s} 秒`),
  });
  if (!config.databaseUrl) process.stdout.write('\n');
  const applied = await migrate(db, { workSrid: config.workSrid });
  if (applied.length) log.info({ applied }, 'migrations applied');
  await ensureAdmin(db, log);

  if (config.sample === 'auto' && (await isEmpty(db))) {
    await loadSampleTown(db, config, config.sampleDir, log);
    await ensureDemoUsers(db);
  }
  const auth = await authenticate({ config, db, log });
  const app = createApp({ config, db, log, authenticate: auth });
  const server = app.listen(config.port, config.host);
  await once(server, 'listening');
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.port;
  process.stdout.write(`\ntuban is running: http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${port}/\n`);

  // `npm start` execs node, so the signal a service manager sends to the process it started reaches this one
  // (package.json; issue 12, item 2)
  const stop = gracefulShutdown({ server, db, log });
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((e) => {
  process.stderr.write(`\ntuban failed to start / 启动失败: ${e instanceof Error ? e.message : String(e)}\n`);
  if (process.env.LOG_LEVEL === 'debug') console.error(e);
  process.exit(1);
});
