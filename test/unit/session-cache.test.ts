import { beforeEach, describe, expect, it } from 'vitest';
import {
  cachedSession, CACHEABLE_PATH, dropSession, forgetAllSessions, forgetSession, forgetUserSessions, rememberSession,
  SESSION_CACHE_MS, sessionGeneration, type SessionRow,
} from '../../server/auth/session-cache';

const db = {};
const row = (id: number, expiresInMs = 3600_000): SessionRow => ({
  id, username: `u${id}`, display_name: '', role: 'analyst', villages: null, must_change_password: false, stale: true,
  expires_at: new Date(Date.now() + expiresInMs),
});

describe('session cache', () => {
  beforeEach(() => forgetAllSessions());

  it('remembers a lookup for SESSION_CACHE_MS, for the same database only', () => {
    const now = Date.now();
    rememberSession(db, 'h1', row(1), sessionGeneration(), now);
    expect(cachedSession(db, 'h1', now)?.id).toBe(1);
    expect(cachedSession(db, 'h1', now)?.stale).toBe(false); // never touched again from memory
    expect(cachedSession({}, 'h1', now)).toBeUndefined();
    expect(cachedSession(db, 'h1', now + SESSION_CACHE_MS - 1)?.id).toBe(1);
    expect(cachedSession(db, 'h1', now + SESSION_CACHE_MS)).toBeUndefined();
  });

  it('never outlives the session itself', () => {
    const now = Date.now();
    rememberSession(db, 'h1', row(1, 500), sessionGeneration(), now);
    expect(cachedSession(db, 'h1', now + 400)?.id).toBe(1);
    expect(cachedSession(db, 'h1', now + 600)).toBeUndefined();
    rememberSession(db, 'h2', row(2, -1), sessionGeneration(), now);
    expect(cachedSession(db, 'h2', now)).toBeUndefined();
  });

  it('forgets a token, or every session of a user', () => {
    const g = sessionGeneration();
    rememberSession(db, 'a', row(1), g);
    rememberSession(db, 'b', row(1), g);
    rememberSession(db, 'c', row(2), g);
    forgetSession('a');
    expect(cachedSession(db, 'a')).toBeUndefined();
    expect(cachedSession(db, 'b')?.id).toBe(1);
    forgetUserSessions(1);
    expect(cachedSession(db, 'b')).toBeUndefined();
    expect(cachedSession(db, 'c')?.id).toBe(2);
    dropSession('c');
    expect(cachedSession(db, 'c')).toBeUndefined();
  });

  it('does not remember a lookup that was in flight when something was revoked', () => {
    const started = sessionGeneration();
    forgetUserSessions(7); // e.g. the account was disabled while the session query ran
    rememberSession(db, 'h', row(7), started);
    expect(cachedSession(db, 'h')).toBeUndefined();
    const again = sessionGeneration();
    rememberSession(db, 'h', row(7), again);
    expect(cachedSession(db, 'h')?.id).toBe(7);
  });

  it('applies to map data only', () => {
    for (const p of ['/tiles', '/tiles/survey/1/2/3.mvt', '/tiles/survey.json', '/map-files/a.pmtiles', '/ogc/collections', '/ogc/collections/parcels/items']) {
      expect(CACHEABLE_PATH.test(p)).toBe(true);
    }
    for (const p of ['/api/auth/me', '/api/polygons', '/tilesx', '/ogcx', '/api/ogc', '/']) expect(CACHEABLE_PATH.test(p)).toBe(false);
  });
});
