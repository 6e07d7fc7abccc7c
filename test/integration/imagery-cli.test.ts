/**
 * `npm run ingest -- IMAGE.tif --layer imagery --epoch …` as a person runs it (issue 15 item 1): a real
 * process on each database — the embedded one in a fresh data directory, or a PostgreSQL clone — printing
 * the report, and refusing bad input with both languages and exit status 1 (a usage error: 2).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDb } from '../helpers/db';
import { pgliteSnapshotPath, templateDbName } from '../helpers/snapshot';
import { openPglite } from '../../server/db/pglite';
import { runIngest } from '../helpers/server-process';

const FIX = path.resolve('test/fixtures/imagery');


describeEachDb('npm run ingest -- --layer imagery', (backend) => {
  let dataDir: string;
  let dbName: string | undefined;
  const env: NodeJS.ProcessEnv = {};

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'tuban-imagery-cli-'));
    Object.assign(env, process.env, { TUBAN_DATA_DIR: dataDir });
    delete env.DATABASE_URL;
    if (backend === 'pglite') {
      // the embedded database already created and migrated (the test snapshot), as after a first start:
      // creating one from nothing takes minutes on a loaded machine and is not what this tests
      const db = await openPglite({ dataDir: path.join(dataDir, 'pglite'), loadDataDir: new Blob([readFileSync(pgliteSnapshotPath())]), role: 'test' });
      await db.close();
    } else {
      dbName = `tuban_t_${randomBytes(6).toString('hex')}`;
      const admin = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${dbName} TEMPLATE ${templateDbName()}`);
      await admin.end();
      const u = new URL(process.env.TEST_DATABASE_URL!);
      u.pathname = `/${dbName}`;
      env.DATABASE_URL = u.toString();
    }
  });
  afterAll(async () => {
    if (dbName) {
      const admin = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      await admin.end();
    }
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('imports a GeoTIFF with its .tfw/.prj beside it and prints the report', async () => {
    const r = await runIngest(env, [path.join(FIX, 'rgb8-worldfile.tif'), '--layer', 'imagery', '--epoch', 'after', '--date', '2020-10-01']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('已导入后时相影像');
    expect(r.stdout).toMatch(/200 × 160 px/);
    expect(r.stdout).toMatch(/EPSG:4523 \(prj\) · georeference 地理参考: worldfile · resolution 分辨率: 1(\.\d+)? m/);
    expect(r.stdout).toMatch(/zooms 级别: 11–17/);
    expect(r.stdout).toContain('2020-10-01 (option)');
    const ids = readdirSync(path.join(dataDir, 'imagery'));
    expect(ids).toHaveLength(1);
    expect(existsSync(path.join(dataDir, 'imagery', ids[0], '17'))).toBe(true);
  });

  it('refuses a rotated image (exit 1, both languages) and a missing --epoch (usage, exit 2)', async () => {
    const r = await runIngest(env, [path.join(FIX, 'bad-rotated.tif'), '--layer', 'imagery', '--epoch', 'before']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('[imagery_rotated]');
    expect(r.stderr).toContain('rotated');
    expect(r.stderr).toContain('旋转');
    const u = await runIngest(env, [path.join(FIX, 'rgb8-striped.tif'), '--layer', 'imagery']);
    expect(u.status).toBe(2);
    expect(u.stderr).toContain('--epoch');
  });
});
