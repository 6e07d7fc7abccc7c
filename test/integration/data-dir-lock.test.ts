/**
 * Issue 11, item 7: with `npm start` running, `npm run ingest` opened the same embedded data directory and
 * corrupted it (every polygon twice, then "missing chunk number … for toast value"). Two processes must
 * never open one PGlite directory: the second is refused with a message naming the first (pid), and
 * nothing is written (the CLI hands its import to a running server instead: ingest-handoff.test.ts). Real processes: the server as `npm start` runs it, the CLI as `npm run ingest` runs it.
 *
 * Embedded database only: the lock exists for PGlite (a PostgreSQL server serves many processes itself).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPglite } from '../../server/db/pglite';
import { START_TIMEOUT, startServer } from '../helpers/server-process';

const FIXTURE = path.resolve('test/fixtures/deliveries/no-code-v1.geojson');


const ingest = (env: NodeJS.ProcessEnv) =>
  spawnSync('npx', ['tsx', 'scripts/ingest.ts', FIXTURE, '--layer', 'survey', '--survey', '2020', '--json'], {
    cwd: process.cwd(), env, encoding: 'utf8', timeout: START_TIMEOUT,
  });

describe('one process per embedded data directory [pglite]', () => {
  let dir: string;
  let dataDir: string;
  const env: NodeJS.ProcessEnv = {};

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'tuban-lock-'));
    const web = path.join(dir, 'web');
    mkdirSync(web);
    writeFileSync(path.join(web, 'index.html'), '<!doctype html><title>tuban</title>');
    dataDir = path.join(dir, 'data');
    Object.assign(env, process.env, { TUBAN_DATA_DIR: dataDir, TUBAN_WEB_DIR: web, TUBAN_SAMPLE: 'off', PORT: '0', HOST: '127.0.0.1' });
    delete env.DATABASE_URL;
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a second server while a server runs, names its pid; the CLI alone takes the directory and stores nothing twice', async () => {
    const server = startServer(env);
    await server.running;
    const lockFile = `${path.join(dataDir, 'pglite')}.lock`;
    const holder = JSON.parse(readFileSync(lockFile, 'utf8')) as { pid: number; role: string };
    expect(holder.role).toBe('server');

    // a second server on the same directory: refused, naming the first (the CLI is not refused: it hands its
    // import to the server, ingest-handoff.test.ts)
    const second = startServer(env);
    expect(await second.exited).toBe(1);
    expect(second.output()).toContain(`process ${holder.pid}`);

    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    expect(existsSync(lockFile)).toBe(false); // released on a clean stop

    // now the CLI takes the directory itself; the counts are exactly what its report says
    const done = ingest(env);
    expect(done.status, done.stderr).toBe(0);
    const report = JSON.parse(done.stdout) as { read: number; stored: number; repaired: number };
    expect(report.read).toBeGreaterThan(0);
    expect(existsSync(lockFile)).toBe(false);
    const db = await openPglite({ dataDir: path.join(dataDir, 'pglite') });
    try {
      const n = (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM survey_polygon')).rows[0].n;
      const codes = (await db.query<{ n: number }>('SELECT count(DISTINCT code)::int AS n FROM survey_polygon')).rows[0].n;
      expect(n).toBe(report.stored + report.repaired);
      expect(codes).toBe(n); // nothing stored twice
    } finally {
      await db.close();
    }
  });

  it('takes over a lock left by a process that no longer exists', async () => {
    const pgDir = path.join(dataDir, 'pglite');
    const lockFile = `${pgDir}.lock`;
    // a pid far above pid_max's default is no process
    writeFileSync(lockFile, JSON.stringify({ pid: 2 ** 22 + 12345, role: 'server', host: os.hostname(), started: '2026-01-01T00:00:00Z' }));
    const db = await openPglite({ dataDir: pgDir, role: 'test' });
    try {
      expect(JSON.parse(readFileSync(lockFile, 'utf8')).pid).toBe(process.pid);
      // and this process holding it refuses a second open of the same directory
      await expect(openPglite({ dataDir: pgDir })).rejects.toMatchObject({ code: 'data_dir_locked' });
    } finally {
      await db.close();
    }
    expect(existsSync(lockFile)).toBe(false);
  });
});
