/**
 * Decision API benchmark (issue 3), with its floor measured in the same run (PERFORMANCE.md: compare
 * ratios, never absolute times on these noisy machines).
 *
 *   npm run bench:decisions -- [--url postgres://root@127.0.0.1:5432/test] [--polygons 4000] \
 *       [--requests 6000] [--connections 50] [--append-docs] [--keep]
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
 * Each run is a fixed number of requests (all answered before it ends, so the checks are exact): afterwards
 * every 200 must be exactly one event, and every polygon's status the replay of its events.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
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
    'append-docs': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    serve: { type: 'string' }, // internal: run the app on this database URL (child process)
  },
});

const DB_NAME = 'tuban_bench_decisions';
const log = (s: string) => process.stderr.write(`${s}\n`);

// ---------------------------------------------------------------------------------------------------
// child: the app
// ---------------------------------------------------------------------------------------------------
async function serve(url: string) {
  const pino = (await import('pino')).default;
  const { openDb } = await import('../../server/db/open');
  const { createApp } = await import('../../server/app');
  const { authenticate } = await import('../../server/auth/session');
  const config = loadConfig({ ...process.env, DATABASE_URL: url, TUBAN_SAMPLE: 'off', LOG_LEVEL: 'silent' });
  const log = pino({ level: 'silent' });
  const db = await openDb({ databaseUrl: url, statementTimeoutMs: config.statementTimeoutMs });
  const app = createApp({ config, db, log, authenticate: await authenticate({ config, db, log }) });
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
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
  const r = await autocannon(opts);
  return {
    p50: r.latency.p50,
    p99: r.latency.p99,
    mean: r.latency.average,
    rps: r.requests.average,
    requests: r.requests.total,
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
  };
}

async function main() {
  if (!values.url) {
    log('Set DATABASE_URL or TEST_DATABASE_URL (or --url) to a PostgreSQL/PostGIS server.');
    process.exit(2);
  }
  const n = Number(values.polygons);
  const connections = Number(values.connections);
  const amount = Number(values.requests);
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
    log(`seeding ${n} survey polygons…`);
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
      [REGION, batch, n],
    );
    await db.query('ANALYZE survey_polygon');
    const ids = (await db.query<{ id: number }>('SELECT id FROM survey_polygon WHERE region_code = $1 ORDER BY id', [REGION])).rows.map((r) => r.id);
    const { user } = await createUser(db, { username: 'bench_analyst', role: 'analyst', displayName: '压测', mustChangePassword: false });
    const { token } = await createSession(db, user.id, 'bench');
    const headers = { authorization: `Bearer ${token}` };

    child = fork(process.argv[1], ['--serve', url], { execArgv: process.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const [msg] = (await once(child, 'message')) as [{ port: number }];
    const origin = `http://127.0.0.1:${msg.port}`;
    log(`app on ${origin} (child ${child.pid}); ${connections} connections, ${amount} requests per run`);

    const floorOpts = { url: `${origin}/api/health`, connections, amount, headers };
    await load({ ...floorOpts, amount: Math.min(amount, 2000) }); // warm-up: JIT, pool connections
    const floor = await load(floorOpts);

    // each request takes the next (polygon, version): pass k verifies (k even) or reopens (k odd) at version k+1
    let counter = 0;
    const decisions = await load({
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
    });
    const floor2 = await load(floorOpts); // the floor again: drift during the run shows here

    // checks: every accepted decision is one event; statuses equal the replay
    const events = (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM polygon_event WHERE region_code = $1', [REGION])).rows[0].n;
    const accepted = decisions.requests - decisions.non2xx - decisions.errors;
    const replayed = await replayAll(db, REGION);
    const states = (await db.query<{ id: number; status: string }>('SELECT id, status FROM survey_polygon WHERE region_code = $1', [REGION])).rows;
    const mismatches = states.filter((s) => (replayed.get(s.id) ?? 'pending') !== s.status).length;

    const f = (x: number) => x.toFixed(2);
    const floorP50 = Math.max(floor.p50, 0.01);
    const floorP99 = Math.max(floor.p99, 0.01);
    const lines = [
      `| run | requests | req/s | p50 ms | p99 ms | non-2xx |`,
      `|---|---:|---:|---:|---:|---:|`,
      `| floor: GET /api/health (bearer session) | ${floor.requests} | ${floor.rps.toFixed(0)} | ${f(floor.p50)} | ${f(floor.p99)} | ${floor.non2xx} |`,
      `| POST /api/polygons/:id/decisions | ${decisions.requests} | ${decisions.rps.toFixed(0)} | ${f(decisions.p50)} | ${f(decisions.p99)} | ${decisions.non2xx} |`,
      `| floor again (after) | ${floor2.requests} | ${floor2.rps.toFixed(0)} | ${f(floor2.p50)} | ${f(floor2.p99)} | ${floor2.non2xx} |`,
      '',
      `ratio decisions / floor: p50 ${f(decisions.p50 / floorP50)}, p99 ${f(decisions.p99 / floorP99)} ` +
        `(throughput ${f(decisions.rps / Math.max(floor.rps, 1))} of the floor)`,
      `checks: ${accepted} accepted decisions, ${events} events${events === accepted ? ' (equal)' : ' (MISMATCH)'}; ` +
        `${states.length} polygons, ${mismatches} differ from the replay of their events`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    if (values['append-docs']) {
      const file = 'docs/BENCHMARKS.md';
      if (!existsSync(file)) writeFileSync(file, '# Benchmarks\n\nFigures are ratios against a reference measured in the same run.\n');
      const cmd = `npm run bench:decisions -- --polygons ${n} --requests ${amount} --connections ${connections}`;
      const cpu = os.cpus()[0]?.model ?? 'cpu';
      const section = [
        '',
        `## Decisions API (issue 3) — ${new Date().toISOString().slice(0, 10)}`,
        '',
        `Command: \`${cmd}\` (PostgreSQL from DATABASE_URL / TEST_DATABASE_URL; scratch database \`${DB_NAME}\`).`,
        `Machine: ${os.cpus().length} × ${cpu}, Node ${process.version}; app in a child process with the production pool,`,
        `autocannon (${connections} connections) in the parent. Each decision request is a distinct (polygon, version).`,
        '',
        ...lines,
        '',
      ].join('\n');
      const before = readFileSync(file, 'utf8');
      appendFileSync(file, (before.endsWith('\n') ? '' : '\n') + section);
      log(`appended to ${file}`);
    }
    if (events !== accepted || mismatches || decisions.errors) process.exitCode = 1;
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
