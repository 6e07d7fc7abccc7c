/**
 * The phone reads a photo's EXIF before resizing it (web-field/src/photo.ts, exifr's mini build, tags by id);
 * the server normalises what it is sent the same way as what it reads itself (server/field/exif.ts).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { exifTime as phoneTime, readExif as phoneExif } from '../../web-field/src/photo';
import { exifTime, mergeExif, normalizeExif, readExif, sanitize } from '../../server/field/exif';

const PHOTO = new Uint8Array(readFileSync(new URL('../fixtures/photos/gps.jpg', import.meta.url)));

describe('EXIF of the fixture photo', () => {
  it('reads the same tags on the phone and on the server', async () => {
    const phone = await phoneExif(new Blob([PHOTO]));
    expect(phone).toMatchObject({
      Make: 'tuban', Model: 'fixture', DateTimeOriginal: '2021:07:21 10:30:00', OffsetTimeOriginal: '+08:00',
      GPSLatitudeRef: 'N', GPSLatitude: [29, 24, 12.34], GPSLongitudeRef: 'E', GPSLongitude: [105, 55, 48], GPSImgDirection: 135,
    });
    const server = await readExif(PHOTO);
    for (const k of Object.keys(phone)) expect(server[k as keyof typeof server], k).toEqual(phone[k]);
    expect(normalizeExif(sanitize(phone))).toEqual({
      taken_at: '2021-07-21T02:30:00.000Z', lat: expect.closeTo(29.403428, 5), lon: expect.closeTo(105.93, 5), heading: 135, camera: 'tuban fixture',
    });
  });

  it('finds nothing in a photo without EXIF, or in something that is not a photo', async () => {
    expect(await phoneExif(new Blob([new TextEncoder().encode('not a photo')]))).toEqual({});
    expect(await readExif(new TextEncoder().encode('not a photo'))).toEqual({});
  });
});

describe('EXIF normalisation', () => {
  it('reads camera time as China time unless an offset says otherwise', () => {
    expect(exifTime('2021:07:21 10:30:00', undefined)).toBe('2021-07-21T02:30:00.000Z');
    expect(exifTime('2021:07:21 10:30:00', '+00:00')).toBe('2021-07-21T10:30:00.000Z');
    expect(phoneTime('2021:07:21 10:30:00', undefined)).toBe('2021-07-21T02:30:00.000Z');
    expect(exifTime('0000:00:00 00:00:00', undefined)).toBeNull();
    expect(exifTime('yesterday', undefined)).toBeNull();
  });

  it('keeps only known tags of sane shapes from the phone', () => {
    expect(sanitize({ Make: 'x'.repeat(500), GPSLatitude: [1, 2, 3, 4, 5], Evil: '<script>', Model: { a: 1 }, GPSImgDirection: 90 }))
      .toEqual({ Make: 'x'.repeat(200), GPSImgDirection: 90 });
    expect(sanitize('nope')).toEqual({});
    expect(sanitize([1, 2])).toEqual({});
  });

  it('south and west are negative; 0,0 is no position; the file wins over the phone', () => {
    const s = normalizeExif({ GPSLatitude: [10, 30, 0], GPSLatitudeRef: 'S', GPSLongitude: [20, 0, 0], GPSLongitudeRef: 'W' });
    expect([s.lat, s.lon]).toEqual([-10.5, -20]);
    expect(normalizeExif({ GPSLatitude: [0, 0, 0], GPSLongitude: [0, 0, 0] }).lat).toBeNull();
    const file = normalizeExif({ DateTimeOriginal: '2021:01:01 00:00:00' });
    const phone = normalizeExif({ DateTimeOriginal: '2022:01:01 00:00:00', GPSLatitude: [29, 0, 0], GPSLongitude: [105, 0, 0], Make: 'Huawei' });
    expect(mergeExif(file, phone)).toEqual({ taken_at: '2020-12-31T16:00:00.000Z', lat: 29, lon: 105, heading: null, camera: 'Huawei' });
  });
});
