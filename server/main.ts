import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import pino from 'pino';
import { loadConfig, redactUrl } from './config';
import { openDb } from './db/open';
import { migrate } from './db/migrate';
import { refreshEstimatedDeadlines } from './review/calendar-refresh';
import { createApp } from './app';
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
    onWait: (s) =>
      process.stdout.write(`\r  starting PostGIS… ${s}s (the first start takes ~15–20 s) / 正在初始化 PostGIS… ${s} 秒`),
  });
  if (!config.databaseUrl) process.stdout.write('\n');
  const applied = await migrate(db, { workSrid: config.workSrid });
  if (applied.length) log.info({ applied }, 'migrations applied');
  // a newer holiday calendar installed: estimated case deadlines are computed again (issue 13 rule 8)
  const cal = await refreshEstimatedDeadlines(db);
  if (cal.recomputed) log.info(cal, 'estimated case deadlines recomputed with the newer holiday calendar');
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

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    log.info({ signal }, 'shutting down');
    server.close();
    server.closeIdleConnections?.();
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    await db.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((e) => {
  process.stderr.write(`\ntuban failed to start / 启动失败: ${e instanceof Error ? e.message : String(e)}\n`);
  if (process.env.LOG_LEVEL === 'debug') console.error(e);
  process.exit(1);
});
