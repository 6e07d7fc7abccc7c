/**
 * Issue 11 item 6, bounded memory for imports: POST /api/imports writes the upload to disk (never to
 * memory) and removes it in every path; a zip is inflated into a scratch folder that is removed too; a
 * zip bomb is refused as zip_bomb with nothing stored; an oversized upload sent as a stream is answered
 * 413 while it is still being sent (it was never buffered whole).
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDb, freshDb, type TestDb } from '../helpers/db';
import { startApp, type TestApp, type UserClient } from '../helpers/api';
import { TEST_REGION, TEST_WORK_SRID } from '../helpers/snapshot';
import { makeShapefile, PRJ, square, zip } from '../helpers/shp-bytes';
import { importFile } from '../../server/ingest/import';

const parcelsZip = () => {
  const s = makeShapefile({ geometries: [[square(35500000, 3250000, 10)], [square(35500100, 3250000, 10)]] });
  return zip({ 'dk.shp': s.shp, 'dk.shx': s.shx, 'dk.dbf': s.dbf, 'dk.prj': PRJ.cgcs2000Zone35 });
};

/** 64 MB of zeros behind a valid .shp: ~64 kB zipped, a ratio no delivery has */
const bombZip = () => {
  const s = makeShapefile({ geometries: [[square(35500000, 3250000, 10)]] });
  return zip({ 'dk.shp': s.shp, 'dk.dbf': s.dbf, 'dk.prj': PRJ.cgcs2000Zone35, 'dk.shx': new Uint8Array(64 << 20) });
};

const form = (bytes: Uint8Array, name: string, layer: string) => {
  const f = new FormData();
  f.set('layer', layer);
  f.set('file', new Blob([bytes as Uint8Array<ArrayBuffer>]), name);
  return f;
};

/** What the data dir's tmp folder holds: uploads/ and any import-* scratch folder (both must end empty). */
const leftovers = (tmp: string) => {
  const out: string[] = [];
  for (const e of readdirSync(tmp)) {
    if (e === 'uploads') out.push(...readdirSync(path.join(tmp, e)).map((f) => `uploads/${f}`));
    else out.push(e);
  }
  return out;
};

/** Polls until the tmp folder is empty (multer removes a refused file asynchronously) or gives up. */
async function settled(tmp: string): Promise<string[]> {
  for (let i = 0; i < 40; i++) {
    if (!leftovers(tmp).length) return [];
    await new Promise((r) => setTimeout(r, 50));
  }
  return leftovers(tmp);
}

/**
 * A multipart upload streamed in 64 kB chunks, up to `totalBytes`, stopping as soon as the response
 * arrives. Resolves with the status, the parsed body and how many bytes had been sent by then. The
 * request is destroyed and the response consumed in every path, so nothing is left hanging.
 */
function streamUpload(app: TestApp, client: UserClient, o: { totalBytes: number; declareLength?: number }): Promise<{ status: number; body: any; sent: number }> {
  const boundary = '----tubanmemorytest';
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="layer"\r\n\r\ncadastral\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.zip"\r\nContent-Type: application/zip\r\n\r\n`,
  );
  const u = new URL('/api/imports', app.url);
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const headers: Record<string, string | number> = {
      'content-type': `multipart/form-data; boundary=${boundary}`,
      cookie: client.cookie!,
      origin: app.url,
    };
    if (o.declareLength) headers['content-length'] = o.declareLength;
    const req = httpRequest(u, { method: 'POST', headers }, (res) => {
      answered = true;
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        req.destroy();
        resolve({ status: res.statusCode!, body: text ? JSON.parse(text) : undefined, sent });
      });
      res.on('error', reject);
    });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`no response after ${sent} bytes`));
    }, 20_000);
    req.on('close', () => clearTimeout(timer));
    // the server may close the socket once it has answered: that is the point, not a failure
    req.on('error', (e) => (answered ? undefined : reject(e)));
    const chunk = Buffer.alloc(64 << 10, 0x41);
    const pump = () => {
      if (sent === 0) {
        req.write(head);
        sent += head.length;
      }
      while (!answered && !req.destroyed && sent < o.totalBytes) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      if (!answered && !req.destroyed) req.end(`\r\n--${boundary}--\r\n`);
    };
    pump();
  });
}

describeEachDb('import memory: uploads on disk, zip bombs, 413 without buffering', (backend) => {
  let db: TestDb;
  let app: TestApp;
  let admin: UserClient;
  let dataDir: string;
  let tmp: string;
  const count = async (sql: string) => Number((await db.query<{ n: string }>(sql)).rows[0].n);

  beforeAll(async () => {
    db = await freshDb(backend);
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'tuban-mem-'));
    app = await startApp(db, {
      env: { TUBAN_REGION_CODE: TEST_REGION, TUBAN_WORK_SRID: String(TEST_WORK_SRID), TUBAN_DATA_DIR: dataDir, TUBAN_MAX_UPLOAD_MB: '2' },
    });
    admin = await app.as('admin');
    tmp = app.config.tmpDir;
  });
  afterAll(async () => {
    await app?.close();
    await db?.dispose();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('takes an upload through a file in <data>/tmp/uploads and leaves the folder empty', async () => {
    expect(tmp).toBe(path.join(dataDir, 'tmp'));
    const r = await admin.request('POST', '/api/imports', { form: form(parcelsZip(), '地块.zip', 'cadastral') });
    expect(r.status, r.text).toBe(201);
    expect(r.body.stored).toBe(2);
    expect(r.body.file.bytes).toBe(parcelsZip().length);
    expect(await settled(tmp)).toEqual([]);
    // a refused upload (wrong geometry for the layer) leaves nothing behind either
    const pts = makeShapefile({ shapeType: 1, geometries: [[[[35500000, 3250000]]]] });
    const refused = await admin.request('POST', '/api/imports', {
      form: form(zip({ 'pt.shp': pts.shp, 'pt.dbf': pts.dbf, 'pt.prj': PRJ.cgcs2000Zone35 }), 'pt.zip', 'survey'),
    });
    expect(refused.status).toBe(422);
    expect(await settled(tmp)).toEqual([]);
  });

  it('refuses a zip bomb as zip_bomb (422, both languages), stores nothing and leaves no file', async () => {
    const before = await count('SELECT count(*) AS n FROM import_batch');
    const bomb = bombZip();
    expect(bomb.length).toBeLessThan(1 << 20);
    const r = await admin.request('POST', '/api/imports', { form: form(bomb, 'bomb.zip', 'green') });
    expect(r.status, r.text).toBe(422);
    expect(r.body.error.code).toBe('zip_bomb');
    expect(r.body.error.message_zh).toMatch(/压缩炸弹/);
    expect(await count('SELECT count(*) AS n FROM import_batch')).toBe(before);
    expect(await settled(tmp)).toEqual([]);
  });

  it('refuses an entry larger than TUBAN_MAX_ENTRY_MB while inflating it to disk, and removes the scratch folder', async () => {
    // importFile directly: the scratch folder is the import's own, under the same tmp dir
    const noise = new Uint8Array(3 << 20);
    for (let i = 0; i < noise.length; i++) noise[i] = (i * 2654435761) >>> 24; // incompressible enough: no ratio refusal
    const s = makeShapefile({ geometries: [[square(35500000, 3250000, 10)]] });
    const z = zip({ 'dk.shp': s.shp, 'dk.dbf': s.dbf, 'dk.prj': PRJ.cgcs2000Zone35, 'dk.shx': noise });
    const settings = { ...app.config, limits: { ...app.config.limits, maxUploadBytes: 64 << 20, maxEntryBytes: 1 << 20 } };
    const err = await importFile(db, settings, { bytes: z, fileName: 'dk.zip', layer: 'green' }).then(() => undefined, (e: unknown) => e);
    expect(err).toMatchObject({ code: 'zip_bomb', status: 422 });
    expect((err as { message_zh: string }).message_zh).toMatch(/单个文件/);
    expect(await settled(tmp)).toEqual([]);
  });

  it('answers 413 to an oversized upload sent as a stream, never holding more than the limit, and keeps no part of it', async () => {
    const before = await count('SELECT count(*) AS n FROM import_batch');
    // chunked, no declared length: multer stops writing at the limit (2 MB) and drains the rest of the
    // body unread (so the client is not cut off mid-send), then answers 413. Memory and disk stay flat.
    const base = process.memoryUsage().rss;
    let peak = base;
    let biggestFile = 0;
    const probe = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
      const up = path.join(tmp, 'uploads');
      for (const f of readdirSync(up)) {
        try {
          biggestFile = Math.max(biggestFile, statSync(path.join(up, f)).size);
        } catch {
          // removed between the listing and the stat
        }
      }
    }, 10);
    let r: Awaited<ReturnType<typeof streamUpload>>;
    try {
      r = await streamUpload(app, admin, { totalBytes: 128 << 20 });
    } finally {
      clearInterval(probe);
    }
    expect(r.status).toBe(413);
    expect(r.body.error.code).toBe('payload_too_large');
    expect(biggestFile).toBeLessThanOrEqual((2 << 20) + 1);
    // 128 MB went through; buffering it would show as at least that much more resident memory
    expect(peak - base).toBeLessThan(64 << 20);
    // a declared length over the limit (what a browser sends): refused before the body is read
    const d = await streamUpload(app, admin, { totalBytes: 64 << 20, declareLength: 600 << 20 });
    expect(d.status).toBe(413);
    expect(d.body.error.code).toBe('payload_too_large');
    expect(d.sent).toBeLessThan(64 << 20);
    expect(await count('SELECT count(*) AS n FROM import_batch')).toBe(before);
    expect(await settled(tmp)).toEqual([]);
  });
});
