/**
 * The integrity check (issue 12 items 4 and 5) on both databases: a status changed behind the app's back is
 * found by the replay of its history; a failed photo upload leaves no file behind; the photo store sweep
 * lists files without a row and rows without a file, and finishes a write interrupted between the row's
 * commit and the file's rename. GET /api/admin/integrity is for admins only.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import sharp from 'sharp';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDb } from '../helpers/db';
import type { UserClient } from '../helpers/api';
import { fieldEnv, filesUnder, photoForm, type FieldEnv } from './field-helpers';
import { REGION, uuid } from './review-helpers';
import { checkIntegrity, logIntegrity } from '../../server/integrity/check';
import { checkEvidenceFiles } from '../../server/integrity/evidence-files';
import { originalPath, thumbPath } from '../../server/field/evidence';

const PHOTO = new Uint8Array(readFileSync(new URL('../fixtures/photos/gps.jpg', import.meta.url)));
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
/** a small JPEG made here, different from the fixture */
const solid = (background: string) =>
  sharp({ create: { width: 48, height: 32, channels: 3, background } }).jpeg().toBuffer().then((b) => new Uint8Array(b));

describeEachDb('integrity check', (backend) => {
  let env: FieldEnv;
  let field: UserClient;
  let admin: UserClient;

  beforeAll(async () => {
    env = await fieldEnv(backend);
    [field, admin] = await Promise.all([env.app.as('field'), env.app.as('admin')]);
  });
  afterAll(async () => {
    await env?.close();
  });

  const upload = (bytes: Uint8Array, fields: Record<string, string | number | undefined>) =>
    field.request('POST', '/api/evidence', { form: photoForm(bytes, fields) });
  const evidenceFiles = () => filesUnder(path.join(env.dataDir, 'evidence'));

  it('leaves no file behind when an upload fails after the photo was read (a refused client_id, a failing row)', async () => {
    const clientId = uuid();
    const first = await upload(PHOTO, { polygon_id: env.jian[0], client_id: clientId });
    expect(first.status, first.text).toBe(201);
    const before = evidenceFiles();
    expect(before).toHaveLength(2); // the original and its thumbnail

    // the same client_id for another photo: refused inside the transaction, after the photo was checked
    const other = await solid('#c33');
    const reused = await upload(other, { polygon_id: env.jian[0], client_id: clientId });
    expect(reused.status).toBe(422);
    expect(reused.body.error.code).toBe('client_id_reused');
    expect(existsSync(originalPath(env.dataDir, sha(other), 'image/jpeg'))).toBe(false);
    expect(existsSync(thumbPath(env.dataDir, sha(other)))).toBe(false);
    expect(evidenceFiles()).toEqual(before);

    // a NUL in the phone's EXIF cannot be stored in jsonb: the row fails (a 4xx once bad input is refused
    // up front, issue 12 item 10); either way a photo is stored with its row, or not at all
    const third = await solid('#3c3');
    const nul = await upload(third, { polygon_id: env.jian[1], exif: JSON.stringify({ Make: 'Canon\u0000', Model: 'x\u0000y' }) });
    const rows = (await env.db.query<{ n: number }>('SELECT count(*)::int AS n FROM evidence WHERE sha256 = $1', [sha(third)])).rows[0].n;
    expect(existsSync(originalPath(env.dataDir, sha(third), 'image/jpeg'))).toBe(rows === 1);
    if (nul.status >= 400) expect(rows).toBe(0);

    const report = await checkEvidenceFiles(env.db, env.dataDir);
    expect(report.orphan_files.count).toBe(0);
    expect(report.missing_files.count).toBe(0);
  });

  it('lists files without a row and rows without a file, and finishes an interrupted write', async () => {
    const stray = 'ab'.repeat(32);
    const strayFile = originalPath(env.dataDir, stray, 'image/jpeg');
    mkdirSync(path.dirname(strayFile), { recursive: true });
    writeFileSync(strayFile, Buffer.from('not a row of ours'));

    const photo = await solid('#33c');
    const up = await upload(photo, { polygon_id: env.jian[2] });
    expect(up.status, up.text).toBe(201);
    const file = originalPath(env.dataDir, sha(photo), 'image/jpeg');
    const saved = readFileSync(file);
    rmSync(file);

    const report = await checkEvidenceFiles(env.db, env.dataDir);
    expect(report.orphan_files.items).toEqual([
      expect.objectContaining({ path: path.relative(env.dataDir, strayFile), kind: 'original', bytes: 17 }),
    ]);
    expect(report.missing_files.items).toEqual([
      { sha256: sha(photo), mime: 'image/jpeg', evidence_ids: [up.body.evidence.id], path: path.relative(env.dataDir, file) },
    ]);

    // the server stopped between the row's commit and the rename: the bytes wait under a temporary name
    writeFileSync(`${file}.0a1b2c3d4e5f.tmp`, saved);
    const swept = await checkEvidenceFiles(env.db, env.dataDir);
    expect(swept.completed_writes).toEqual([path.relative(env.dataDir, file)]);
    expect(swept.missing_files.count).toBe(0);
    expect(existsSync(file)).toBe(true);
    // a temporary file whose bytes are not the row's photo is not taken for it
    copyFileSync(file, `${file}.keep`);
    rmSync(file);
    writeFileSync(`${file}.ffffffffffff.tmp`, Buffer.from('garbage'));
    const wrong = await checkEvidenceFiles(env.db, env.dataDir);
    expect(wrong.completed_writes).toEqual([]);
    expect(wrong.missing_files.count).toBe(1);
    expect(wrong.orphan_files.items.map((o) => o.kind).sort()).toEqual(['original', 'temporary', 'unknown']);
    // put things back for the next test
    rmSync(`${file}.ffffffffffff.tmp`);
    copyFileSync(`${file}.keep`, file);
    rmSync(`${file}.keep`);
    rmSync(strayFile);
    expect((await checkEvidenceFiles(env.db, env.dataDir)).orphan_files.count).toBe(0);
  });

  it('finds a status changed behind the app\'s back, logs it, and answers admins only', async () => {
    const ok = await admin.get('/api/admin/integrity');
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body.ok).toBe(true);
    expect(ok.body.history.polygons).toBe(env.jian.length + env.hongqi.length);
    expect(ok.body.history.events).toBeGreaterThan(0);

    // as the database owner (the embedded database's only role): no event, so the replay still says pending
    const id = env.hongqi[0];
    await env.db.query(`UPDATE survey_polygon SET status = 'dismissed' WHERE region_code = $1 AND id = $2`, [REGION, id]);
    const r = await admin.get('/api/admin/integrity');
    expect(r.body.ok).toBe(false);
    expect(r.body.history.mismatches).toEqual([
      expect.objectContaining({ polygon_id: id, status: 'dismissed', replayed: 'pending', events: 0, problem: null, village: '红旗村' }),
    ]);

    // what start-up logs: one error line per mismatch
    const lines: { level: number; msg: string; polygon_id?: number }[] = [];
    const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
    logIntegrity(log, await checkIntegrity(env.db, REGION, env.dataDir));
    expect(lines.filter((l) => l.level === 50)).toEqual([expect.objectContaining({ polygon_id: id, msg: expect.stringMatching(/status dismissed but its history leads to pending/) })]);
    expect(lines.at(-1)!.msg).toMatch(/integrity check found problems/);

    expect((await env.app.get('/api/admin/integrity')).status).toBe(401);
    expect((await field.get('/api/admin/integrity')).status).toBe(403);
    await env.db.query(`UPDATE survey_polygon SET status = 'pending' WHERE region_code = $1 AND id = $2`, [REGION, id]);
  });
});
