/**
 * Decision API benchmark (issues 3 and 17), against the real limit measured in the same run: the same
 * decision transaction as plain SQL through pgbench (PERFORMANCE.md: compare ratios, never absolute times
 * on these noisy machines).
 *
 *   npm run bench:decisions -- [--url postgres://root@127.0.0.1:5432/test] [--polygons 4000] \
 *       [--requests 6000] [--connections 50] [--rounds 3] [--workers 1] [--db-name tuban_bench_decisions] [--append-docs] [--keep]
 *
 * The server named by --url (default DATABASE_URL, then TEST_DATABASE_URL) gets a scratch database
 * `tuban_bench_decisions` (dropped at the end unless --keep): migrated, N pending survey polygons seeded
 * by SQL, one analyst account with a bearer session (the real session middleware, so every request pays
 * the same session lookup).
 * The app runs in a child process (the production pool: openDb), autocannon in this one, so the load
 * generator does not share the server's event loop.
 *   floor     = GET /api/health with the bearer token (authentication + one query + JSON)
 *   decisions = POST /api/polygons/:id/decisions, each request a distinct (polygon, version): pass 1
 *               verifies every polygon (version 1), pass 2 reopens them (version 2), pass 3 verifies… so
 *               no request conflicts and each one is a real decision (lock, version check, event, claim).
 *   pgbench   = the same transaction as plain SQL (pgbench -M prepared, --connections clients, 2 threads, the
 *               same number of transactions): BEGIN; claim a new request id; lock the polygon and read its
 *               version; update its status where the version is still that one; insert the event (seq = max + 1);
 *               COMMIT — on a second set of N polygons of the same tables, so the two never wait on each other.
 * Rounds alternate pgbench and tuban; the ratios reported are the medians over the rounds.
 * Each run is a fixed number of requests (all answered before it ends, so the checks are exact): afterwards
 * every 200 must be exactly one event, and every polygon's status the replay of its events.
 * Targets (issue 17 item 5): tuban's throughput ≥ 0.5× pgbench's, its p99 ≤ 2× pgbench's.
 */
import { execFile, fork, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { once } from 'node:events';
import os from 'node:os';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import pg from 'pg';
import { loadConfig } from '../../server/config';

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: process.env.DATABASE_URL ?? process.env.TEST_DATABASE_URL },
    polygons: { type: 'string', default: '4000' },
    requests: { type: 'string', default: '6000' },
    connections: { type: 'string', default: '50' },
    rounds: { type: 'string', default: '3' },
    workers: { type: 'string', default: '1' },
    'db-name': { type: 'string', default: 'tuban_bench_decisions' },
    pgbench: { type: 'string', default: '/usr/lib/postgresql/15/bin/pgbench' },
    'append-docs': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    serve: { type: 'string' }, // internal: run the app on this database URL (child process)
  },
});

const DB_NAME = values['db-name'] ?? 'tuban_bench_decisions';
if (!/^[a-z_][a-z0-9_]*$/.test(DB_NAME)) throw new Error('--db-name: lower-case letters, digits, _');
const log = (s: string) => process.stderr.write(`${s}\n`);

// ---------------------------------------------------------------------------------------------------
// child: the app
// ---------------------------------------------------------------------------------------------------
async function serve(url: string) {
  const cluster = (await import('node:cluster')).default;
  const workers = Number(values.workers);
  // --workers N: N app processes on one port (node:cluster), to measure what taking the work off one event
  // loop is worth
  if (workers > 1 && cluster.isPrimary) {
    const net = await import('node:net');
    const probe = net.createServer().listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const port = (probe.address() as { port: number }).port;
    probe.close();
    const ws = Array.from({ length: workers }, () => cluster.fork({ BENCH_PORT: String(port) }));
    await Promise.all(ws.map((w) => once(w, 'listening')));
    process.send!({ port });
    process.on('disconnect', () => {
      for (const w of ws) w.kill();
      process.exit(0);
    });
    return;
  }
  const pino = (await import('pino')).default;
  const { openDb } = await import('../../server/db/open');
  const { createApp, listen } = await import('../../server/app');
  const { authenticate } = await import('../../server/auth/session');
  const config = loadConfig({ ...process.env, DATABASE_URL: url, TUBAN_SAMPLE: 'off', LOG_LEVEL: 'silent' });
  const log = pino({ level: 'silent' });
  const db = await openDb({ databaseUrl: url, statementTimeoutMs: config.statementTimeoutMs });
  const app = createApp({ config, db, log, authenticate: await authenticate({ config, db, log }) });
  const server = listen(app, Number(process.env.BENCH_PORT ?? 0), '127.0.0.1');
  await once(server, 'listening');
  if (cluster.isWorker) return;
  const addr = server.address();
  process.send!({ port: typeof addr === 'object' && addr ? addr.port : 0 });
  process.on('disconnect', () => {
    server.close();
    void db.close().finally(() => process.exit(0));
  });
}

// ---------------------------------------------------------------------------------------------------
// parent: database, load, figures
// ---------------------------------------------------------------------------------------------------
async function scratchDatabase(base: string): Promise<string> {
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${DB_NAME} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${DB_NAME}`);
  await admin.end();
  const u = new URL(base);
  u.pathname = `/${DB_NAME}`;
  return u.toString();
}

async function dropDatabase(base: string) {
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${DB_NAME} WITH (FORCE)`);
  await admin.end();
}

interface Run {
  p50: number;
  p99: number;
  mean: number;
  rps: number;
  requests: number;
  non2xx: number;
  errors: number;
}

async function load(opts: autocannon.Options): Promise<Run> {
  // throughput = answers over the time from the start to the last answer, timed here: autocannon's own
  // duration ends on its one-second tick, which on a 4–5 s run is a 20 % error
  const started = performance.now();
  let last = started;
  // with a callback autocannon returns its instance (an emitter of each answer)
  const r = await new Promise<autocannon.Result>((resolve, reject) => {
    const inst = autocannon(opts, (err, result) => (err ? reject(err) : resolve(result)));
    inst.on('response', () => {
      last = performance.now();
    });
  });
  return {
    p50: r.latency.p50,
    p99: r.latency.p99,
    mean: r.latency.average,
    rps: r.requests.total / Math.max((last - started) / 1000, 0.001),
    requests: r.requests.total,
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
  };
}

/**
 * The decision as plain SQL (pgbench script): what tuban's POST /api/polygons/:id/decisions does for a
 * verify/reopen, minus HTTP, JSON, the session and the stored answer's text. Toggles pending ⇄ verified so every
 * transaction is a real decision and the events still replay.
 */
const pgbenchScript = (region: string, userId: number, lo: number, hi: number) => `
\\set id random(${lo}, ${hi})
BEGIN;
INSERT INTO decision_request (region_code, user_id, request_id, fingerprint)
  VALUES ('${region}', ${userId}, gen_random_uuid(), '${'f'.repeat(64)}')
  ON CONFLICT (region_code, user_id, request_id) DO NOTHING RETURNING request_id;
SELECT status AS s, version AS v FROM survey_polygon WHERE region_code = '${region}' AND id = :id FOR UPDATE \\gset
UPDATE survey_polygon SET status = CASE WHEN status = 'pending' THEN 'verified' ELSE 'pending' END, version = version + 1
  WHERE region_code = '${region}' AND id = :id AND version = :v AND removed_batch_id IS NULL RETURNING status, version;
INSERT INTO polygon_event (region_code, polygon_id, seq, user_id, username, action, from_status, to_status, request_id)
  SELECT '${region}', :id, coalesce((SELECT max(seq) FROM polygon_event WHERE region_code = '${region}' AND polygon_id = :id), 0) + 1,
         ${userId}, 'bench_pgbench', CASE WHEN CAST(:s AS text) = 'pending' THEN 'verify' ELSE 'reopen' END, CAST(:s AS text),
         CASE WHEN CAST(:s AS text) = 'pending' THEN 'verified' ELSE 'pending' END, gen_random_uuid()
  RETURNING id, seq;
COMMIT;
`;

interface PgbenchRun {
  tps: number;
  p50: number;
  p99: number;
  transactions: number;
  failed: number;
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

/** pgbench with a per-transaction log: its own tps, and p50/p99 from the log (ms). */
async function runPgbench(url: string, script: string, clients: number, perClient: number): Promise<PgbenchRun> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tuban-pgbench-'));
  try {
    writeFileSync(path.join(dir, 'decision.sql'), script);
    const { stdout } = await promisify(execFile)(values.pgbench!, [
      '-n', '-M', 'prepared', '-c', String(clients), '-j', '2', '-t', String(perClient), '-f', path.join(dir, 'decision.sql'),
      '-l', `--log-prefix=${path.join(dir, 'tx')}`, url,
    ], { maxBuffer: 16 * 1024 * 1024 });
    const tps = Number(/tps = ([\d.]+)/.exec(stdout)?.[1] ?? NaN);
    const failed = Number(/number of failed transactions: (\d+)/.exec(stdout)?.[1] ?? 0);
    const lat: number[] = [];
    for (const f of readdirSync(dir).filter((x) => x.startsWith('tx'))) {
      for (const line of readFileSync(path.join(dir, f), 'utf8').split('\n')) {
        const cols = line.split(' ');
        if (cols.length >= 3) lat.push(Number(cols[2]) / 1000);
      }
    }
    lat.sort((a, b) => a - b);
    return { tps, p50: pct(lat, 50), p99: pct(lat, 99), transactions: lat.length, failed };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  if (!values.url) {
    log('Set DATABASE_URL or TEST_DATABASE_URL (or --url) to a PostgreSQL/PostGIS server.');
    process.exit(2);
  }
  const n = Number(values.polygons);
  const connections = Number(values.connections);
  const amount = Number(values.requests);
  const rounds = Number(values.rounds);
  const base = values.url;
  const url = await scratchDatabase(base);
  const config = loadConfig({ ...process.env, DATABASE_URL: url, TUBAN_SAMPLE: 'off', LOG_LEVEL: 'silent' });
  const REGION = config.regionCode;
  const { openPostgres } = await import('../../server/db/postgres');
  const { migrate } = await import('../../server/db/migrate');
  const { createUser } = await import('../../server/auth/users');
  const { createSession } = await import('../../server/auth/session');
  const { replayAll } = await import('../../server/review/events');
  const db = await openPostgres({ url, max: 4 });
  let child: ChildProcess | undefined;
  try {
    await migrate(db, { workSrid: config.workSrid });
    log(`seeding 2 × ${n} survey polygons (tuban's, pgbench's)…`);
    const batch = (await db.query<{ id: number }>(
      `INSERT INTO import_batch (region_code, layer_id, survey, file_name, sha256, source_layer, report)
       VALUES ($1, (SELECT id FROM layer WHERE name = 'survey'), '2020', 'bench', md5(random()::text), 'bench', '{}') RETURNING id`,
      [REGION],
    )).rows[0].id;
    await db.query(
      `INSERT INTO survey_polygon (region_code, survey, code, first_batch_id, batch_id, attrs, geom, area_m2, village_name)
       SELECT $1, '2020', 'B' || lpad(g::text, 7, '0'), $2, $2, '{}',
              ST_Multi(ST_MakeEnvelope(35580000 + (g % 500) * 40, 3240000 + (g / 500) * 40,
                                       35580020 + (g % 500) * 40, 3240020 + (g / 500) * 40, ${config.workSrid})),
              400, '村' || (g % 30)
       FROM generate_series(1, $3::int) g`,
      [REGION, batch, 2 * n],
    );
    await db.query('ANALYZE survey_polygon');
    const all = (await db.query<{ id: number }>('SELECT id FROM survey_polygon WHERE region_code = $1 ORDER BY id', [REGION])).rows.map((r) => r.id);
    const ids = all.slice(0, n);
    const benchIds = all.slice(n);
    const { user } = await createUser(db, { username: 'bench_analyst', role: 'analyst', displayName: '压测', mustChangePassword: false });
    const { user: pgbUser } = await createUser(db, { username: 'bench_pgbench', role: 'analyst', displayName: 'pgbench', mustChangePassword: false });
    const { token } = await createSession(db, user.id, 'bench');
    const headers = { authorization: `Bearer ${token}` };
    const script = pgbenchScript(REGION, pgbUser.id, benchIds[0], benchIds[benchIds.length - 1]);
    const perClient = Math.max(1, Math.round(amount / connections));

    // BENCH_CPU_PROF=dir: a V8 CPU profile of the app (where a decision's time goes)
    const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
    child = fork(process.argv[1], ['--serve', url, '--workers', String(values.workers)], { execArgv: [...process.execArgv, ...prof], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const [msg] = (await once(child, 'message')) as [{ port: number }];
    const origin = `http://127.0.0.1:${msg.port}`;
    log(`app on ${origin} (child ${child.pid}); ${connections} connections, ${amount} requests per run, ${rounds} rounds`);

    const floorOpts = { url: `${origin}/api/health`, connections, amount, headers };
    await load({ ...floorOpts, amount: Math.min(amount, 2000) }); // warm-up: JIT, pool connections
    await runPgbench(url, script, connections, 5); // warm-up: its connections, plans
    const floor = await load(floorOpts);

    // each request takes the next (polygon, version): pass k verifies (k even) or reopens (k odd) at version k+1
    let counter = 0;
    const decisionOpts: autocannon.Options = {
      url: origin,
      connections,
      amount,
      requests: [{
        method: 'POST',
        setupRequest: (req) => {
          const i = counter++;
          const pass = Math.floor(i / ids.length);
          const id = ids[i % ids.length];
          const body = pass % 2 === 0
            ? { action: 'verify', version: pass + 1, request_id: crypto.randomUUID() }
            : { action: 'reopen', version: pass + 1, note: '压测', request_id: crypto.randomUUID() };
          return { ...req, path: `/api/polygons/${id}/decisions`, headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body) };
        },
      }],
    };
    // warm-up of the decision route itself (JIT, prepared statement on each pooled connection), as pgbench had
    const warm = await load({ ...decisionOpts, amount: Math.min(500, amount) });
    const tubanRuns: Run[] = [];
    const pgbRuns: PgbenchRun[] = [];
    for (let r = 0; r < rounds; r++) {
      // alternate which goes first: neither always runs on a warmer (or more bloated) table
      if (r % 2 === 0) {
        pgbRuns.push(await runPgbench(url, script, connections, perClient));
        tubanRuns.push(await load(decisionOpts));
      } else {
        tubanRuns.push(await load(decisionOpts));
        pgbRuns.push(await runPgbench(url, script, connections, perClient));
      }
      const t = tubanRuns[r];
      const g = pgbRuns[r];
      log(`round ${r + 1}: pgbench ${g.tps.toFixed(0)} tps, p99 ${g.p99.toFixed(1)} ms; tuban ${t.rps.toFixed(0)}/s, p99 ${t.p99.toFixed(1)} ms ` +
        `→ throughput ×${(t.rps / g.tps).toFixed(2)}, p99 ×${(t.p99 / g.p99).toFixed(2)}`);
    }

    // checks: every accepted decision is one event; statuses equal the replay
    const events = (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM polygon_event WHERE region_code = $1 AND user_id = $2', [REGION, user.id])).rows[0].n;
    const accepted = [warm, ...tubanRuns].reduce((s, d) => s + d.requests - d.non2xx - d.errors, 0);
    const errors = [warm, ...tubanRuns].reduce((s, d) => s + d.errors, 0);
    const non2xx = [warm, ...tubanRuns].reduce((s, d) => s + d.non2xx, 0);
    const replayed = await replayAll(db, REGION);
    const states = (await db.query<{ id: number; status: string }>('SELECT id, status FROM survey_polygon WHERE region_code = $1', [REGION])).rows;
    const mismatches = states.filter((s) => (replayed.get(s.id) ?? 'pending') !== s.status).length;
    const pgbEvents = (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM polygon_event WHERE region_code = $1 AND user_id = $2', [REGION, pgbUser.id])).rows[0].n;

    const f = (x: number) => x.toFixed(2);
    const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
    const tputRatio = med(tubanRuns.map((t, i) => t.rps / pgbRuns[i].tps));
    const p99Ratio = med(tubanRuns.map((t, i) => t.p99 / pgbRuns[i].p99));
    const lines = [
      `| round | pgbench tps | pgbench p50 / p99 ms | tuban req/s | tuban p50 / p99 ms | throughput ratio (target ≥ 0.5) | p99 ratio (target ≤ 2) |`,
      `|---:|---:|---:|---:|---:|---:|---:|`,
      ...tubanRuns.map((t, i) => {
        const g = pgbRuns[i];
        return `| ${i + 1} | ${g.tps.toFixed(0)} | ${f(g.p50)} / ${f(g.p99)} | ${t.rps.toFixed(0)} | ${f(t.p50)} / ${f(t.p99)} | ${f(t.rps / g.tps)} | ${f(t.p99 / g.p99)} |`;
      }),
      '',
      `**median of ${rounds}: throughput ${f(tputRatio)}× pgbench's, p99 ${f(p99Ratio)}× pgbench's** ` +
        `(floor GET /api/health: ${floor.rps.toFixed(0)} req/s, p99 ${f(floor.p99)} ms)`,
      `checks: ${accepted} accepted decisions (with the warm-up; ${non2xx} non-2xx, ${errors} errors), ${events} events${events === accepted ? ' (equal)' : ' (MISMATCH)'}; ` +
        `pgbench: ${pgbRuns.reduce((s, g) => s + g.transactions, 0)} transactions, ${pgbRuns.reduce((s, g) => s + g.failed, 0)} failed, ${pgbEvents} events (with the warm-up); ` +
        `${states.length} polygons, ${mismatches} differ from the replay of their events`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    if (values['append-docs']) {
      const file = 'docs/BENCHMARKS.md';
      if (!existsSync(file)) writeFileSync(file, '# Benchmarks\n\nFigures are ratios against a reference measured in the same run.\n');
      const cmd = `npm run bench:decisions -- --polygons ${n} --requests ${amount} --connections ${connections} --rounds ${rounds} --workers ${values.workers}`;
      const cpu = os.cpus()[0]?.model ?? 'cpu';
      const section = [
        '',
        `## Decisions against pgbench (issue 17 item 5) — ${new Date().toISOString().slice(0, 10)}`,
        '',
        `Command: \`${cmd}\` (PostgreSQL from DATABASE_URL / TEST_DATABASE_URL; scratch database \`${DB_NAME}\`).`,
        `Machine: ${os.cpus().length} × ${cpu}, Node ${process.version}, load average ${os.loadavg().map((x) => x.toFixed(2)).join(', ')} at the end (loaded: shared by other engineers).`,
        `App in a child process with the production pool, autocannon (${connections} connections) in the parent; pgbench`,
        `(\`-M prepared -c ${connections} -j 2\`, the same number of transactions) runs the same decision as plain SQL (claim, lock + version, update, event, commit).`,
        '',
        ...lines,
        '',
      ].join('\n');
      const before = readFileSync(file, 'utf8');
      appendFileSync(file, (before.endsWith('\n') ? '' : '\n') + section);
      log(`appended to ${file}`);
    }
    if (events !== accepted || mismatches || errors) process.exitCode = 1;
  } finally {
    if (child?.connected) {
      child.disconnect();
      await once(child, 'exit').catch(() => undefined);
    }
    await db.close();
    if (!values.keep) await dropDatabase(base);
  }
}

if (values.serve) {
  serve(values.serve).catch((e) => {
    console.error(e);
    process.exit(1);
  });
} else {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
