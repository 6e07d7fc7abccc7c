/**
 * npm run bench:first-start [-- --runs 1] — a true first start (issue 17 item 7): a fresh `git clone` of this
 * checkout's HEAD into a temp directory, `npm start` there with an empty data directory, timed to the first
 * HTTP answer (build of the web apps, PostGIS initialisation, the sample town, listen).
 *
 * node_modules: a symlink to this checkout's (npm ci would time the network and the registry, not tuban; it
 * is the one thing the clone does not start fresh with).
 *
 * In the same run, the reference: a bare PGlite + PostGIS created in an empty directory (PGlite.create and
 * CREATE EXTENSION postgis, in its own node process), the floor no embedded first start can go under.
 * Printed: both times, the ratio, and the machine's load (uptime) — a loaded machine says so.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, realpathSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCli } from '../cli-args';
import { median } from './common';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const USAGE = 'usage: npm run bench:first-start -- [--runs N] [--keep]';

const freePort = () => new Promise<number>((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => {
    const port = (s.address() as net.AddressInfo).port;
    s.close(() => resolve(port));
  });
});

/** bare PGlite + PostGIS in an empty directory, in a fresh node process (nothing warm) */
function reference(dir: string): number {
  const code = `
    const { PGlite } = await import('@electric-sql/pglite');
    const { postgis } = await import('@electric-sql/pglite-postgis');
    const t = performance.now();
    const db = await PGlite.create({ dataDir: process.argv[1], extensions: { postgis } });
    await db.exec('CREATE EXTENSION IF NOT EXISTS postgis');
    process.stdout.write(String(performance.now() - t));
    await db.close();`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', code, path.join(dir, 'ref-pglite')], { cwd: ROOT, encoding: 'utf8' });
  return Number(out) / 1000;
}

/** `npm start` in the clone until anything answers HTTP; seconds from the spawn */
async function firstStart(clone: string): Promise<{ seconds: number; output: string }> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), HOST: '127.0.0.1', TUBAN_DATA_DIR: path.join(clone, 'data') };
  delete env.DATABASE_URL;
  const t = performance.now();
  const child = spawn('npm', ['start'], { cwd: clone, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  let exited = false;
  child.once('exit', () => (exited = true));
  try {
    for (;;) {
      if (exited) throw new Error(`npm start exited before answering:\n${output}`);
      const ok = await fetch(`http://127.0.0.1:${port}/api/health`).then(() => true, () => false);
      if (ok) return { seconds: (performance.now() - t) / 1000, output };
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    if (!exited) {
      process.kill(-child.pid!, 'SIGTERM'); // its process group: npm and the server it execs
      await new Promise((r) => child.once('exit', r));
    }
  }
}

async function main() {
  const { values } = parseCli({ options: { runs: { type: 'string', default: '1' }, keep: { type: 'boolean' } } }, USAGE);
  const runs = Math.max(1, Number(values.runs) || 1);
  const starts: number[] = [];
  const refs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'tuban-first-start-')));
    const clone = path.join(dir, 'tuban');
    try {
      execFileSync('git', ['clone', '--quiet', '--no-hardlinks', ROOT, clone]);
      symlinkSync(realpathSync(path.join(ROOT, 'node_modules')), path.join(clone, 'node_modules'));
      const ref = reference(dir);
      const start = await firstStart(clone);
      refs.push(ref);
      starts.push(start.seconds);
      process.stdout.write(`run ${i + 1}: first start ${start.seconds.toFixed(1)} s · bare PGlite+PostGIS ${ref.toFixed(1)} s · ratio ${(start.seconds / ref).toFixed(2)}\n`);
    } finally {
      if (!values.keep) rmSync(dir, { recursive: true, force: true });
    }
  }
  const s = median(starts);
  const r = median(refs);
  process.stdout.write(`\nfirst start (fresh clone → first HTTP answer), median of ${runs}: ${s.toFixed(1)} s\n` +
    `reference (bare PGlite + PostGIS init), median: ${r.toFixed(1)} s\nratio: ${(s / r).toFixed(2)}\n` +
    `load: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} (${os.cpus().length} cores)\n`);
}

main().catch((e) => {
  process.stderr.write(`bench:first-start failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
