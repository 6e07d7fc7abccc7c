import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import pino from 'pino';
import { loadConfig, redactUrl } from './config';
import { openDb } from './db/open';
import { migrate } from './db/migrate';
import { refreshEstimatedDeadlines } from './review/calendar-refresh';
import { createApp, listen } from './app';
import { isAppError } from './errors';
import { gracefulShutdown } from './http/shutdown';
import { authenticate } from './auth/session';
import { isEmpty, loadSampleImagery, loadSampleTown } from './sample';
import { disableDemoUsersIfRealData, ensureAdmin, ensureDemoUsers } from './auth/users';
import { openPostgres } from './db/postgres';
import { checkRuntimeRole, currentRole, grantRuntime } from './db/roles';
import type { Db } from './db/types';
import { checkIntegrity, logEvidenceFiles, logIntegrity } from './integrity/check';
import { checkEvidenceFiles } from './integrity/evidence-files';
import { progressLine } from './progress-line';
import { startHandoff } from './ingest/handoff';
import { sweepScratch } from './ingest/scratch';

/** config → database → migrations → sample town (first start) → listen → graceful shutdown */
async function main() {
  const config = loadConfig();
  const log = pino({ level: config.logLevel });
  mkdirSync(config.dataDir, { recursive: true });

  if (config.databaseUrl) log.info({ db: redactUrl(config.databaseUrl) }, 'using PostgreSQL/PostGIS server');
  else process.stdout.write(`Opening the embedded database (PGlite + PostGIS) in ${config.pgliteDir}\n`);
  // no fixed "takes 15–20 s": on a loaded machine it took 78–143 s (issue 17 item 7); the seconds count up
  const starting = progressLine(process.stdout);
  let toldWait = false;
  const db = await openDb({
    databaseUrl: config.databaseUrl,
    pgliteDir: config.pgliteDir,
    statementTimeoutMs: config.statementTimeoutMs,
    poolMax: config.dbPoolMax,
    role: 'server',
    connectTimeoutMs: config.dbConnectTimeoutMs,
    queryTimeoutMs: config.dbQueryTimeoutMs,
    onConnectionError: (e) => log.warn({ err: e }, 'a database connection failed; it is replaced on next use'),
    waitForImportS: config.importWaitS,
    onLockWait: (owner) => {
      if (toldWait) return;
      toldWait = true;
      process.stdout.write(`  The embedded database is in use by an import (npm run ingest), process ${owner.pid}: waiting for it to finish (at most ${config.importWaitS} s).\n` +
        `  嵌入式数据库正被导入程序（进程号 ${owner.pid}）使用：等待其完成（最多 ${config.importWaitS} 秒）。\n`);
    },
    onWait: (s) => starting.update(`  starting PostGIS… ${s}s / 正在初始化 PostGIS… ${s} 秒`, s),
  });
  starting.done();
  const swept = await sweepScratch(config.tmpDir);
  if (swept.length) log.info({ swept }, 'removed scratch files left by an interrupted import');
  // PostgreSQL with two roles (README "Database roles"): the owner migrates, grants the runtime role its
  // privileges and runs imports (they need DDL); every request runs as the runtime role.
  const owner: Db | undefined = config.databaseUrl && config.databaseOwnerUrl
    ? await openPostgres({ url: config.databaseOwnerUrl, max: 3 })
    : undefined;
  let applied: string[];
  try {
    applied = await migrate(owner ?? db, { workSrid: config.workSrid });
  } catch (e) {
    if (db.kind === 'postgres' && !owner && (e as { code?: string }).code === '42501') {
      throw new Error(`migrations need the owner role: set DATABASE_OWNER_URL (README "Database roles") / 数据库迁移需要所有者角色：请设置 DATABASE_OWNER_URL (${(e as Error).message})`);
    }
    throw e;
  }
  if (applied.length) log.info({ applied }, 'migrations applied');
  if (owner) await grantRuntime(owner, await currentRole(db));
  await checkRuntimeRole(db, { allowOwnerRole: config.allowOwnerRole }, log);
  // a newer holiday calendar installed: estimated case deadlines are computed again (issue 13 rule 8)
  const cal = await refreshEstimatedDeadlines(db);
  if (cal.recomputed) log.info(cal, 'estimated case deadlines recomputed with the newer holiday calendar');
  await ensureAdmin(db, log);
  await disableDemoUsersIfRealData(db, log);

  if (config.sample === 'auto' && (await isEmpty(db))) {
    await loadSampleTown(owner ?? db, config, config.sampleDir, log);
    await ensureDemoUsers(db);
  }
  const auth = await authenticate({ config, db, log });
  const app = createApp({ config, db, log, importDb: owner, authenticate: auth });
  const server = listen(app, config.port, config.host);
  await once(server, 'listening');
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.port;
  // the embedded database is this process's alone: `npm run ingest` hands its import to this listener
  // (ingest/handoff.ts; issue 11 item 7)
  const handoff = db.kind === 'pglite' ? await startHandoff({ config, db, log, importDb: owner }, config.pgliteDir) : undefined;
  process.stdout.write(`\ntuban is running: http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${port}/\n`);

  // the sample town's synthetic imagery: in the background, a minute or two (sample.ts says why)
  if (config.sample === 'auto' && config.sampleImagery === 'auto') {
    void loadSampleImagery(owner ?? db, config, config.sampleDir, log)
      .catch((e) => log.warn({ err: e }, 'the sample imagery was not imported (again at the next start) / 示例影像未导入（下次启动时重试）'));
  }

  // the integrity check (README "Integrity check"): once at start, in the background (the server answers
  // meanwhile), every finding logged; the photo store swept again every TUBAN_EVIDENCE_SWEEP_MINUTES
  void checkIntegrity(db, config.regionCode, config.dataDir)
    .then((r) => logIntegrity(log, r))
    .catch((e) => log.error({ err: e }, 'integrity check failed to run'));
  const sweep = config.evidenceSweepMinutes > 0
    ? setInterval(() => {
        checkEvidenceFiles(db, config.dataDir).then((r) => logEvidenceFiles(log, r)).catch((e) => log.error({ err: e }, 'photo store sweep failed'));
      }, config.evidenceSweepMinutes * 60_000)
    : undefined;
  sweep?.unref();

  // `npm start` execs node, so the signal a service manager sends to the process it started reaches this one
  // (package.json; issue 12, item 2)
  const stop = gracefulShutdown({
    server, db, log,
    before: () => {
      if (sweep) clearInterval(sweep);
      handoff?.close(); // the file goes first: a CLI started now opens the database itself once we are gone
    },
    alsoServers: handoff ? [handoff.server] : [],
    alsoClose: owner ? [owner] : [],
  });
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((e) => {
  const text = isAppError(e) ? `${e.message}\n${e.message_zh}` : e instanceof Error ? e.message : String(e);
  process.stderr.write(`\ntuban failed to start / 启动失败: ${text}\n`);
  if (process.env.LOG_LEVEL === 'debug') console.error(e);
  process.exit(1);
});
