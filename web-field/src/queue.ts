/**
 * The phone's outbox (IndexedDB): every finding and photo is stored here first and sent from here — at
 * once when there is a network, later when it returns (the `online` event, a timer with back-off, the next
 * page load). Each carries an id made on the phone, so sending twice records once (the server is
 * idempotent on a finding's client_id, and on a photo's client_id / SHA-256). States: waiting → sending →
 * sent, or failed (refused by the server: shown, with "send again").
 */
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import { api, ApiError } from './api';
import { backoff, failureText, serialSender } from './outbox';

export type QState = 'waiting' | 'sending' | 'sent' | 'failed';

export interface QPosition {
  lat: number;
  lon: number;
  accuracy: number | null;
  at: string | null;
}

interface QBase {
  client_id: string;
  polygon_id: number;
  polygon_code: string;
  /** the signed link it was made with (null: the session cookie) */
  token: string | null;
  state: QState;
  error: { zh: string; en: string } | null;
  tries: number;
  next_at: number;
  created_at: number;
  sent_at: number | null;
}

export interface QPhoto extends QBase {
  kind: 'photo';
  /** dropped once sent, to give the phone its storage back */
  blob: Blob | null;
  width: number;
  height: number;
  captured_at: string;
  position: QPosition | null;
  exif: Record<string, unknown>;
  evidence_id: number | null;
}

export interface QFinding extends QBase {
  kind: 'finding';
  finding: string;
  note: string | null;
  position: QPosition | null;
  captured_at: string;
  photos: string[];
  finding_id: number | null;
}

export type QItem = QPhoto | QFinding;

interface Schema extends DBSchema {
  photos: { key: string; value: QPhoto; indexes: { polygon: number } };
  findings: { key: string; value: QFinding; indexes: { polygon: number } };
}

let dbp: Promise<IDBPDatabase<Schema>> | null = null;
function db() {
  dbp ??= openDB<Schema>('tuban-field', 1, {
    upgrade(d) {
      d.createObjectStore('photos', { keyPath: 'client_id' }).createIndex('polygon', 'polygon_id');
      d.createObjectStore('findings', { keyPath: 'client_id' }).createIndex('polygon', 'polygon_id');
    },
  });
  return dbp;
}

const listeners = new Set<() => void>();
export function onQueueChange(fn: () => void) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}
const changed = () => {
  for (const fn of listeners) fn();
};

/** Stores a finding and its photos in one transaction, then tries to send. */
export async function enqueue(finding: Omit<QFinding, keyof QBase | 'kind' | 'finding_id'> & Pick<QBase, 'client_id' | 'polygon_id' | 'polygon_code' | 'token'>, photos: (Omit<QPhoto, keyof QBase | 'kind' | 'evidence_id'> & Pick<QBase, 'client_id'>)[]) {
  const now = Date.now();
  const base = { state: 'waiting' as const, error: null, tries: 0, next_at: 0, created_at: now, sent_at: null };
  const d = await db();
  const tx = d.transaction(['photos', 'findings'], 'readwrite');
  for (const p of photos) {
    await tx.objectStore('photos').put({
      ...p, ...base, kind: 'photo', evidence_id: null,
      polygon_id: finding.polygon_id, polygon_code: finding.polygon_code, token: finding.token,
    });
  }
  await tx.objectStore('findings').put({ ...finding, ...base, kind: 'finding', finding_id: null });
  await tx.done;
  changed();
  void sync();
}

export async function items(polygonId?: number): Promise<QItem[]> {
  const d = await db();
  const [ps, fs] = polygonId === undefined
    ? await Promise.all([d.getAll('photos'), d.getAll('findings')])
    : await Promise.all([d.getAllFromIndex('photos', 'polygon', polygonId), d.getAllFromIndex('findings', 'polygon', polygonId)]);
  return [...fs, ...ps].sort((a, b) => b.created_at - a.created_at);
}

/** Findings not yet sent (their photos go with them). */
export async function pendingCount(): Promise<number> {
  return (await items()).filter((i) => i.kind === 'finding' && i.state !== 'sent').length;
}

/** "send again" on a failed finding: it and its photos go back to waiting. */
export async function retry(clientId: string) {
  const d = await db();
  const f = await d.get('findings', clientId);
  if (!f) return;
  for (const pid of f.photos) {
    const p = await d.get('photos', pid);
    if (p && p.state === 'failed') await d.put('photos', { ...p, state: 'waiting', error: null, tries: 0, next_at: 0 });
  }
  await d.put('findings', { ...f, state: 'waiting', error: null, tries: 0, next_at: 0 });
  changed();
  void sync();
}

/** Sends what is due: photos first (their evidence ids go into the findings), then findings. */
export const sync = serialSender(async () => {
  const d = await db();
  const now = Date.now();
  for (const p of await d.getAll('photos')) {
    if (p.state === 'waiting' && p.next_at <= now) await sendPhoto(d, p);
  }
  for (const f of await d.getAll('findings')) {
    if (f.state !== 'waiting' || f.next_at > now) continue;
    const photos = await Promise.all(f.photos.map((id) => d.get('photos', id)));
    if (photos.some((p) => !p || p.state === 'failed')) {
      await d.put('findings', { ...f, state: 'failed', error: { zh: '有照片未能上传', en: 'A photo could not be uploaded' } });
      changed();
      continue;
    }
    if (photos.some((p) => p!.state !== 'sent')) continue;
    await sendFinding(d, f, photos.map((p) => p!.evidence_id!));
  }
}, async () => {
  const waiting = (await items()).filter((i) => i.state === 'waiting');
  return waiting.length ? Math.min(...waiting.map((i) => i.next_at)) : undefined;
});

async function sendPhoto(d: IDBPDatabase<Schema>, p: QPhoto) {
  if (!p.blob) return;
  await d.put('photos', { ...p, state: 'sending' });
  changed();
  const form = new FormData();
  form.set('polygon_id', String(p.polygon_id));
  form.set('client_id', p.client_id);
  form.set('captured_at', p.captured_at);
  if (p.position) {
    form.set('lat', String(p.position.lat));
    form.set('lon', String(p.position.lon));
    if (p.position.accuracy !== null) form.set('accuracy', String(p.position.accuracy));
    if (p.position.at) form.set('position_at', p.position.at);
  }
  if (Object.keys(p.exif).length) form.set('exif', JSON.stringify(p.exif));
  form.set('file', p.blob, `${p.client_id}.jpg`);
  try {
    const r = await api<{ evidence: { id: number } }>('POST', '/api/evidence', { form, token: p.token });
    await d.put('photos', { ...p, state: 'sent', evidence_id: r.body.evidence.id, sent_at: Date.now(), blob: null, error: null });
  } catch (e) {
    const tries = p.tries + 1;
    const retryable = !(e instanceof ApiError) || e.retryable;
    await d.put('photos', retryable
      ? { ...p, state: 'waiting', tries, next_at: Date.now() + backoff(tries), error: failureText(e) }
      : { ...p, state: 'failed', tries, error: failureText(e) });
  }
  changed();
}

async function sendFinding(d: IDBPDatabase<Schema>, f: QFinding, evidenceIds: number[]) {
  await d.put('findings', { ...f, state: 'sending' });
  changed();
  try {
    const r = await api<{ finding: { id: number } }>('POST', `/api/polygons/${f.polygon_id}/findings`, {
      token: f.token,
      body: {
        finding: f.finding,
        note: f.note,
        photos: evidenceIds,
        client_id: f.client_id,
        position: f.position ? { lat: f.position.lat, lon: f.position.lon, accuracy: f.position.accuracy } : null,
        captured_at: f.captured_at,
      },
    });
    await d.put('findings', { ...f, state: 'sent', finding_id: r.body.finding.id, sent_at: Date.now(), error: null });
    sentListeners.forEach((fn) => fn(f));
  } catch (e) {
    const tries = f.tries + 1;
    const retryable = !(e instanceof ApiError) || e.retryable;
    await d.put('findings', retryable
      ? { ...f, state: 'waiting', tries, next_at: Date.now() + backoff(tries), error: failureText(e) }
      : { ...f, state: 'failed', tries, error: failureText(e) });
  }
  changed();
}

const sentListeners = new Set<(f: QFinding) => void>();
/** A finding reached the server (the page reloads the polygon's history). */
export function onFindingSent(fn: (f: QFinding) => void) {
  sentListeners.add(fn);
  return () => sentListeners.delete(fn);
}

/** At start: anything left "sending" by a closed page is waiting again; old sent items are forgotten. */
export async function startQueue() {
  const d = await db();
  const week = Date.now() - 7 * 86400_000;
  for (const store of ['photos', 'findings'] as const) {
    for (const it of await d.getAll(store)) {
      if (it.state === 'sending') await d.put(store, { ...it, state: 'waiting', next_at: 0 } as never);
      else if (it.state === 'sent' && (it.sent_at ?? 0) < week) await d.delete(store, it.client_id);
    }
  }
  window.addEventListener('online', () => void nudge());
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') void nudge();
  });
  void sync();
}

/** The network is back: whatever waits is due now. */
async function nudge() {
  const d = await db();
  for (const store of ['photos', 'findings'] as const) {
    for (const it of await d.getAll(store)) if (it.state === 'waiting' && it.next_at > 0) await d.put(store, { ...it, next_at: 0 } as never);
  }
  void sync();
}
