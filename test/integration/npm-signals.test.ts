/**
 * Issue 12, item 2: a service manager signals the process it started — `npm start` — and that signal must
 * stop the server gracefully: every process of the tree gone, a clean exit (0), the database closed.
 * (Before: npm → sh → tsx → node; sh died of the SIGTERM and tsx and node ran on as orphans.)
 *
 * `npm start --ignore-scripts`: npm still runs `start` but skips `prestart`, which would build the web app
 * into dist/web when it is missing or stale (scripts/build-web-if-needed.ts) — not what is tested here,
 * and minutes of vite on a cold worktree. TUBAN_WEB_DIR points at a one-file stand-in instead.
 *
 * Both databases: the embedded one is the default, and its files are what a clean close protects. Each
 * backend starts twice on the same data: SIGTERM, then SIGINT (the second start also proves the first
 * stop left the data usable).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDb } from '../helpers/db';
import { templateDbName } from '../helpers/snapshot';

/** a first start of the embedded database initialises PostGIS (~20 s, far more on a busy machine) */
const START_TIMEOUT = 240_000;

/** Every process whose parent chain leads to `root` (Linux /proc), root excluded. */
function descendants(root: number): number[] {
  const parent = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      // pid (comm) state ppid …: comm may hold spaces and parentheses, so parse after the last ')'
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      /* exited meanwhile */
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [c, pp] of parent) if (pp === p) (out.push(c), walk(c));
  };
  walk(root);
  return out;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

interface Started {
  npm: ChildProcess;
  url: string;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function npmStart(env: NodeJS.ProcessEnv): Promise<Started> {
  const npm = spawn('npm', ['start', '--ignore-scripts'], { cwd: process.cwd(), env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    npm.once('exit', (code, signal) => resolve({ code, signal })));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      npm.kill('SIGKILL');
      reject(new Error(`npm start did not listen in time:\n${out}`));
    }, START_TIMEOUT);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /tuban is running: (http:\/\/[^\s]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ npm, url: m[1], output: () => out, exited });
      }
    };
    npm.stdout!.on('data', onData);
    npm.stderr!.on('data', onData);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited early (${code ?? signal}):\n${out}`));
    });
  });
}

describeEachDb('npm start stops on a signal', (backend) => {
  let dir: string;
  let dbName: string | undefined;
  const env: NodeJS.ProcessEnv = {};

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'tuban-signals-'));
    const web = path.join(dir, 'web');
    mkdirSync(web);
    writeFileSync(path.join(web, 'index.html'), '<!doctype html><title>tuban</title>');
    Object.assign(env, process.env, {
      TUBAN_DATA_DIR: path.join(dir, 'data'),
      TUBAN_WEB_DIR: web,
      TUBAN_SAMPLE: 'off',
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
    });
    delete env.DATABASE_URL;
    if (backend === 'postgres') {
      const url = process.env.TEST_DATABASE_URL!;
      dbName = `tuban_t_${randomBytes(6).toString('hex')}`;
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${dbName} TEMPLATE ${templateDbName()}`);
      await admin.end();
      const u = new URL(url);
      u.pathname = `/${dbName}`;
      env.DATABASE_URL = u.toString();
      env.TUBAN_ALLOW_OWNER_ROLE = "1"; // the test role is a superuser; the role check has its own test (history-roles)
    }
  });

  afterAll(async () => {
    if (dbName) {
      const a = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      await a.end();
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal} to the npm process stops the whole tree, gracefully`, async () => {
      const s = await npmStart(env);
      const tree = descendants(s.npm.pid!);
      try {
        // the server is a node process under npm: one, not a chain of wrappers
        const servers = tree.filter((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('server/main.ts'));
        expect(servers).toHaveLength(1);
        const health = await fetch(`${s.url}api/health`);
        expect(health.status).toBe(200);

        s.npm.kill(signal);
        const exit = await s.exited;
        expect(exit).toEqual({ code: 0, signal: null });
        // nothing of the tree survives (given a moment to be reaped)
        for (let i = 0; i < 50 && tree.some(alive); i++) await new Promise((r) => setTimeout(r, 100));
        expect(tree.filter(alive)).toEqual([]);
        // graceful: the server logged its stop, after closing the database
        expect(s.output()).toMatch(new RegExp(`"signal":"${signal}".*shutting down`));
        expect(s.output()).toMatch(/"msg":"stopped"/);
        await expect(fetch(`${s.url}api/health`)).rejects.toThrow();
      } finally {
        for (const p of [s.npm.pid!, ...tree]) if (alive(p)) process.kill(p, 'SIGKILL');
      }
      if (backend === 'pglite') expect(existsSync(path.join(dir, 'data', 'pglite'))).toBe(true);
    }, START_TIMEOUT + 60_000);
  }
});
