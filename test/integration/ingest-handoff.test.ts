/**
 * Issue 11, item 7: `npm start` and `npm run ingest` at the same time on one embedded database. The CLI sends
 * its import to the running server (server/ingest/handoff.ts), which runs it as POST /api/imports does; the
 * counts afterwards are the report's, nothing twice. A server started while a CLI import holds the data
 * directory waits for it. Real processes, as the two npm scripts run them, on the tiny sample town.
 *
 * Embedded database only: on PostgreSQL both processes simply connect to the server.
 */

import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPglite } from '../../server/db/pglite';
import { runIngest, START_TIMEOUT, startServer } from '../helpers/server-process';
import { generateSample } from '../../scripts/generate-sample';

const FIXTURE = path.resolve('test/fixtures/deliveries/no-code-v1.geojson');



describe('the CLI beside a running server [pglite]', () => {
  let dir: string;
  let dataDir: string;
  let pgDir: string;
  const env: NodeJS.ProcessEnv = {};

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'tuban-handoff-'));
    const web = path.join(dir, 'web');
    mkdirSync(web);
    writeFileSync(path.join(web, 'index.html'), '<!doctype html><title>tuban</title>');
    dataDir = path.join(dir, 'data');
    pgDir = path.join(dataDir, 'pglite');
    // the server's first start imports what it finds in data/sample: the tiny town, not the full one
    generateSample({ out: path.join(dataDir, 'sample'), scale: 'tiny', seed: 42 });
    Object.assign(env, process.env, { TUBAN_DATA_DIR: dataDir, TUBAN_WEB_DIR: web, TUBAN_SAMPLE: 'auto', TUBAN_SAMPLE_IMAGERY: 'off', PORT: '0', HOST: '127.0.0.1' });
    delete env.DATABASE_URL;
    delete env.LOG_LEVEL;
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a server started during a CLI import waits for it; a second CLI import is refused, naming the first', async () => {
    const held = await openPglite({ dataDir: pgDir, role: 'ingest' }); // this process, as `npm run ingest` would
    let server: ReturnType<typeof startServer> | undefined;
    try {
      const refused = await runIngest(env, [FIXTURE, '--layer', 'survey', '--survey', '2021']);
      expect(refused.status).toBe(1);
      expect(refused.stderr).toContain('data_dir_locked');
      expect(refused.stderr).toContain(`process ${process.pid}`);
      expect(refused.stderr).not.toMatch(/\n\s+at /);

      server = startServer(env);
      const deadline = Date.now() + 60_000;
      while (!server.output().includes('waiting for it to finish') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      expect(server.output()).toContain(`in use by an import (npm run ingest), process ${process.pid}`);
      expect(server.output()).toContain(`导入程序（进程号 ${process.pid}）`);
    } finally {
      await held.close();
    }
    const url = await server!.running; // it started once the import let go
    expect((await fetch(`${url}api/health`)).status).toBeLessThan(500);
    server!.child.kill('SIGTERM');
    expect(await server!.exited, server!.output()).toBe(0);
  });

  it('sends the import to a server started at the same time: same report, counts stored once', async () => {
    const server = startServer(env);
    // at the same time: the CLI starts while the server is still opening the database
    const cli = runIngest(env, [FIXTURE, '--layer', 'survey', '--survey', '2021', '--json']);
    await server.running;
    const done = await cli;
    expect(done.status, done.stderr).toBe(0);
    const report = JSON.parse(done.stdout) as { read: number; stored: number; repaired: number; layer: string; survey: string; duplicate: boolean };
    expect(report).toMatchObject({ read: 5, layer: 'survey', duplicate: false });
    expect(report.stored + report.repaired).toBe(5);

    const handoffFile = `${pgDir}.handoff.json`;
    expect(statSync(handoffFile).mode & 0o777).toBe(0o600);
    const info = JSON.parse(readFileSync(handoffFile, 'utf8')) as { port: number; token: string };
    const post = (headers: Record<string, string>, body: unknown) =>
      fetch(`http://127.0.0.1:${info.port}/import`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    // without the token, or with a wrong one: 401, nothing run
    const body = { path: FIXTURE, layer: 'survey', survey: '2022' };
    const none = await post({}, body);
    expect(none.status).toBe(401);
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    expect((await post({ authorization: `Bearer ${info.token.slice(1)}x` }, body)).status).toBe(401);
    // with it, options are checked like an upload's: a relative path, a bad CRS, a missing file
    const auth = { authorization: `Bearer ${info.token}` };
    expect((await post(auth, { ...body, path: 'test/fixtures/deliveries/no-code-v1.geojson' })).status).toBe(400);
    expect((await post(auth, { ...body, srs: '4326' })).status).toBe(400);
    expect((await post(auth, { ...body, path: `${FIXTURE}.missing` })).status).toBe(400);

    // the wire itself: NDJSON, progress lines as the import runs, the report last (what the CLI prints from)
    const wire = await post(auth, body);
    expect(wire.status).toBe(200);
    expect(wire.headers.get('content-type')).toContain('application/x-ndjson');
    const lines = (await wire.text()).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.filter((l) => 'progress' in l).length).toBeGreaterThan(0);
    expect(lines.at(-1)).toMatchObject({ report: { layer: 'survey', survey: '2022', read: 5, duplicate: false } });

    // the same file again through the CLI: recognised as already imported, nothing stored twice
    const again = await runIngest(env, [FIXTURE, '--layer', 'survey', '--survey', '2021', '--json']);
    expect(again.status, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ duplicate: true });
    // a refusal comes back as the CLI's own: exit 1, the code, no stack
    const refusal = await runIngest(env, [FIXTURE, '--layer', 'survey', '--survey', '2021', '--srs', 'EPSG:99999999']);
    expect(refusal.status).toBe(1);
    expect(refusal.stderr).toContain('Import refused / 导入被拒绝 [invalid_input]');
    expect(refusal.stderr).not.toMatch(/\n\s+at /);

    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    expect(existsSync(handoffFile)).toBe(false);

    const db = await openPglite({ dataDir: pgDir });
    try {
      const rows = (await db.query<{ n: number; codes: number }>(
        `SELECT count(*)::int AS n, count(DISTINCT code)::int AS codes FROM survey_polygon WHERE survey IN ('2021', '2022') GROUP BY survey ORDER BY survey`)).rows;
      expect(rows).toEqual([{ n: 5, codes: 5 }, { n: 5, codes: 5 }]);
      const batches = (await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM import_batch WHERE file_name = 'no-code-v1.geojson'`)).rows[0].n;
      expect(batches).toBe(2); // 2021 by the CLI, 2022 on the wire; the CLI's second try stored nothing
    } finally {
      await db.close();
    }
  });
});
