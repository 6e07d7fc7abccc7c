/**
 * Photo evidence: type by magic bytes, bounded size, content-addressed storage (one file per photo),
 * thumbnails, EXIF read from the file (fixture with GPS) or sent by the phone, captions, scope.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDb } from '../helpers/db';
import type { UserClient } from '../helpers/api';
import { fieldEnv, filesUnder, photoForm, targetOf, type FieldEnv } from './field-helpers';
import { uuid } from './review-helpers';

const PHOTO = new Uint8Array(readFileSync(new URL('../fixtures/photos/gps.jpg', import.meta.url)));
const SHA = createHash('sha256').update(PHOTO).digest('hex');

describeEachDb('field evidence', (backend) => {
  let env: FieldEnv;
  let field: UserClient;
  let firstId: number;

  beforeAll(async () => {
    env = await fieldEnv(backend);
    field = await env.app.as('field', { villages: ['吉安村'] });
  });
  afterAll(async () => {
    await env?.close();
  });

  const upload = (bytes: Uint8Array, fields: Record<string, string | number | undefined>, name?: string, type?: string) =>
    field.request('POST', '/api/evidence', { form: photoForm(bytes, fields, name, type) });
  const eventsOf = async (id: number) =>
    (await env.db.query<{ n: number }>("SELECT count(*)::int AS n FROM polygon_event WHERE polygon_id = $1 AND action = 'evidence_added'", [id])).rows[0].n;

  it('stores a photo by content, makes its thumbnail and reads its EXIF (time, GPS, heading, camera)', async () => {
    const r = await upload(PHOTO, { polygon_id: env.jian[0] });
    expect(r.status, r.text).toBe(201);
    const e = r.body.evidence;
    firstId = e.id;
    expect(r.body.duplicate).toBe(false);
    expect(e).toMatchObject({
      polygon_id: env.jian[0], sha256: SHA, mime: 'image/jpeg', bytes: PHOTO.length, width: 640, height: 480,
      taken_at: '2021-07-21T02:30:00.000Z', camera: 'tuban fixture', uploaded_by: field.user.username, position: null,
      distance_from: 'exif',
    });
    expect(e.exif_position.lat).toBeCloseTo(29.403428, 5);
    expect(e.exif_position.lon).toBeCloseTo(105.93, 5);
    expect(e.exif_position.heading).toBe(135);
    // the seeded polygons lie near 105.0°E: the EXIF position is ~90 km away
    expect(e.distance_m).toBeGreaterThan(50_000);
    const file = path.join(env.dataDir, 'evidence', SHA.slice(0, 2), SHA.slice(2, 4), `${SHA}.jpg`);
    expect(existsSync(file)).toBe(true);
    expect(createHash('sha256').update(readFileSync(file)).digest('hex')).toBe(SHA);
    const thumb = path.join(env.dataDir, 'evidence', 'thumb', SHA.slice(0, 2), SHA.slice(2, 4), `${SHA}.jpg`);
    const meta = await sharp(readFileSync(thumb)).metadata();
    expect(meta.format).toBe('jpeg');
    expect(Math.max(meta.width!, meta.height!)).toBe(400);
    const row = (await env.db.query<Record<string, unknown>>('SELECT * FROM evidence WHERE id = $1', [firstId])).rows[0];
    expect(row.user_id).toBe(field.user.id);
    expect((row.exif as Record<string, unknown>).GPSLatitude).toEqual([29, 24, 12.34]);
    expect(await eventsOf(env.jian[0])).toBe(1);
  });

  it('the same photo again is one file, one row, one event; for another polygon one more row, still one file', async () => {
    const again = await upload(PHOTO, { polygon_id: env.jian[0] });
    expect(again.status).toBe(200);
    expect(again.body.duplicate).toBe(true);
    expect(again.body.evidence.id).toBe(firstId);
    expect(await eventsOf(env.jian[0])).toBe(1);
    const other = await upload(PHOTO, { polygon_id: env.jian[1] });
    expect(other.status).toBe(201);
    expect(other.body.evidence.id).not.toBe(firstId);
    const originals = filesUnder(path.join(env.dataDir, 'evidence')).filter((f) => !f.startsWith('thumb') && !f.startsWith('captioned'));
    expect(originals).toEqual([path.join(SHA.slice(0, 2), SHA.slice(2, 4), `${SHA}.jpg`)]);
  });

  it('a retried upload with the same client_id answers the first; that id for another photo is refused', async () => {
    const cid = uuid();
    const png = await sharp({ create: { width: 50, height: 40, channels: 3, background: '#2a6' } }).png().toBuffer();
    const a = await upload(new Uint8Array(png), { polygon_id: env.jian[2], client_id: cid }, 'x.png', 'image/png');
    expect(a.status, a.text).toBe(201);
    expect(a.body.evidence.mime).toBe('image/png');
    expect(a.body.evidence.client_id).toBe(cid);
    const b = await upload(new Uint8Array(png), { polygon_id: env.jian[2], client_id: cid }, 'x.png', 'image/png');
    expect(b.status).toBe(200);
    expect(b.body.evidence.id).toBe(a.body.evidence.id);
    const c = await upload(PHOTO, { polygon_id: env.jian[2], client_id: cid });
    expect(c.status).toBe(422);
    expect(c.body.error.code).toBe('client_id_reused');
    const sha = a.body.evidence.sha256 as string;
    expect(existsSync(path.join(env.dataDir, 'evidence', sha.slice(0, 2), sha.slice(2, 4), `${sha}.png`))).toBe(true);
  });

  it('records the phone\'s position at capture and the EXIF it read before resizing', async () => {
    const id = env.jian[3];
    const at = await targetOf(field, id);
    // what the phone sends: a resized JPEG (no EXIF left) and the original's EXIF as JSON
    const resized = await sharp(PHOTO).resize(320).jpeg({ quality: 80 }).toBuffer();
    const exif = { DateTimeOriginal: '2021:07:22 09:15:00', GPSLatitude: [29, 24, 0], GPSLatitudeRef: 'N', GPSLongitude: [105, 55, 0], GPSLongitudeRef: 'E', GPSImgDirection: 90, Make: 'Huawei', Model: 'P40', Evil: '<script>' };
    const r = await upload(new Uint8Array(resized), {
      polygon_id: id, client_id: uuid(), captured_at: '2021-07-22T09:15:03+08:00',
      lat: at.lat + 0.0002, lon: at.lon, accuracy: 12, position_at: '2021-07-22T09:14:58+08:00', exif: JSON.stringify(exif),
    });
    expect(r.status, r.text).toBe(201);
    const e = r.body.evidence;
    expect(e.taken_at).toBe('2021-07-22T01:15:00.000Z');
    expect(e.captured_at).toBe('2021-07-22T01:15:03.000Z');
    expect(e.camera).toBe('Huawei P40');
    expect(e.exif_position.heading).toBe(90);
    expect(e.position).toMatchObject({ accuracy_m: 12, at: '2021-07-22T01:14:58.000Z' });
    expect(e.distance_from).toBe('device');
    // 0.0002° of latitude ≈ 22 m from the centre of a 10 m square: ≈ 17 m from its edge
    expect(e.distance_m).toBeGreaterThan(14);
    expect(e.distance_m).toBeLessThan(20);
    const row = (await env.db.query<{ client_exif: Record<string, unknown> }>('SELECT client_exif FROM evidence WHERE id = $1', [e.id])).rows[0];
    expect(row.client_exif.Evil).toBeUndefined();
    expect(row.client_exif.Model).toBe('P40');
  });

  it('accepts JPEG, PNG and WebP by their bytes, and refuses anything else whatever its name', async () => {
    const webp = await sharp({ create: { width: 30, height: 30, channels: 3, background: '#936' } }).webp().toBuffer();
    const w = await upload(new Uint8Array(webp), { polygon_id: env.jian[1] }, 'photo.jpg', 'image/jpeg');
    expect(w.status, w.text).toBe(201);
    expect(w.body.evidence.mime).toBe('image/webp');

    const gif = await sharp({ create: { width: 10, height: 10, channels: 3, background: '#000' } }).gif().toBuffer();
    const cases: [string, Uint8Array][] = [
      ['text named .jpg', new TextEncoder().encode('this is not a photo, just text pretending')],
      ['GIF', new Uint8Array(gif)],
      ['HTML', new TextEncoder().encode('<!doctype html><script>alert(1)</script>')],
      ['PDF', new TextEncoder().encode('%PDF-1.4\n%âãÏÓ\n')],
    ];
    for (const [what, bytes] of cases) {
      const r = await upload(bytes, { polygon_id: env.jian[1] }, 'photo.jpg', 'image/jpeg');
      expect(r.status, what).toBe(415);
      expect(r.body.error.code).toBe('unsupported_type');
      expect(r.body.error.message_zh).toContain('JPEG');
    }
    // JPEG magic bytes, then garbage
    const fake = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, ...new TextEncoder().encode('garbage garbage garbage')]);
    const f = await upload(fake, { polygon_id: env.jian[1] });
    expect(f.status).toBe(422);
    expect(f.body.error.code).toBe('image_unreadable');
  });

  it('refuses a photo over 10 MB, a missing file and odd fields, writing nothing', async () => {
    const before = filesUnder(path.join(env.dataDir, 'evidence'));
    const big = new Uint8Array(10 * 1024 * 1024 + 1);
    big.set(PHOTO.subarray(0, 4));
    const r = await upload(big, { polygon_id: env.jian[1] });
    expect(r.status).toBe(413);
    expect(r.body.error.code).toBe('payload_too_large');
    expect(r.body.error.message_zh).toContain('10 MB');
    const none = await field.request('POST', '/api/evidence', { form: (() => { const f = new FormData(); f.set('polygon_id', String(env.jian[1])); return f; })() });
    expect(none.status).toBe(400);
    expect(none.body.error.code).toBe('file_missing');
    expect((await upload(PHOTO, { polygon_id: env.jian[1], lat: 29.4 })).status).toBe(400);
    expect((await upload(PHOTO, { polygon_id: 'abc' })).status).toBe(400);
    expect((await upload(PHOTO, { polygon_id: env.jian[1], exif: '{not json' })).status).toBe(400);
    expect((await upload(PHOTO, { polygon_id: env.hongqi[0] })).status).toBe(404);
    expect(filesUnder(path.join(env.dataDir, 'evidence'))).toEqual(before);
  });

  it('serves the thumbnail, the original and a captioned copy, to those who may see the polygon', async () => {
    const reviewer = await env.app.as('reviewer');
    const full = await fetch(`${env.app.url}/api/evidence/${firstId}/full`, { headers: { cookie: reviewer.cookie! } });
    expect(full.status).toBe(200);
    expect(full.headers.get('content-type')).toBe('image/jpeg');
    expect(createHash('sha256').update(new Uint8Array(await full.arrayBuffer())).digest('hex')).toBe(SHA);
    const etag = full.headers.get('etag')!;
    const again = await fetch(`${env.app.url}/api/evidence/${firstId}/full`, { headers: { cookie: reviewer.cookie!, 'if-none-match': etag } });
    expect(again.status).toBe(304);

    const thumb = await fetch(`${env.app.url}/api/evidence/${firstId}/thumb`, { headers: { cookie: reviewer.cookie! } });
    expect((await sharp(new Uint8Array(await thumb.arrayBuffer())).metadata()).width).toBe(400);

    const cap = await fetch(`${env.app.url}/api/evidence/${firstId}/captioned.jpg`, { headers: { cookie: reviewer.cookie! } });
    expect(cap.status).toBe(200);
    const capBytes = new Uint8Array(await cap.arrayBuffer());
    const capMeta = await sharp(capBytes).metadata();
    expect([capMeta.format, capMeta.width, capMeta.height]).toEqual(['jpeg', 640, 480]);
    // the caption band darkens the bottom of the picture (its left margin, where no text is); the top is as it was
    const stats = async (b: Uint8Array, top: number) =>
      (await sharp(await sharp(b).extract({ left: 0, top, width: 6, height: 30 }).toBuffer()).stats()).channels[0].mean;
    expect(await stats(capBytes, 445)).toBeLessThan((await stats(PHOTO, 445)) * 0.6);
    expect(Math.abs((await stats(capBytes, 0)) - (await stats(PHOTO, 0)))).toBeLessThan(5);
    await sharp(capBytes).png().toFile(path.resolve('test-artifacts', `field-captioned-${backend}.png`)).catch(() => undefined);

    const stranger = await env.app.as('field', { villages: ['红旗村'] });
    expect((await stranger.get(`/api/evidence/${firstId}/thumb`)).status).toBe(404);
    expect((await env.app.get(`/api/evidence/${firstId}/thumb`)).status).toBe(401);
    expect((await reviewer.request('POST', '/api/evidence', { form: photoForm(PHOTO, { polygon_id: env.jian[0] }) })).status).toBe(403);
  });

  it('keeps evidence append-only', async () => {
    await expect(env.db.query('UPDATE evidence SET bytes = 1')).rejects.toThrow(/append-only/);
    await expect(env.db.query('DELETE FROM evidence')).rejects.toThrow(/append-only/);
  });
});
