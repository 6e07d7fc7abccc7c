/**
 * The patrol's outbox (IndexedDB, issue 16 items 8–10): the open patrol, its track and its findings live on
 * the phone first and are sent from here — findings as they are made (when there is a network), the patrol
 * when it ends. Every record carries an id made on the phone, and the server stores each id once
 * (PUT /api/patrols/:id, PUT /api/patrols/:id/findings/:findingId), so a retry after a lost answer sends
 * nothing twice. Retries: the `online` event, a timer with back-off, the next page load.
 */
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import { api, ApiError } from './api';
import { backoff, failureText, serialSender } from './outbox';

export type SendState = 'open' | 'waiting' | 'sending' | 'sent' | 'failed';

/** [lon, lat, ms since epoch] */
export type TrackPoint = [number, number, number];

export interface LocalPatrol {
  client_id: string;
  village: string;
  members: string[];
  started_at: string;
  ended_at: string | null;
  track: TrackPoint[];
  state: SendState;
  error: { zh: string; en: string } | null;
  tries: number;
  next_at: number;
  /** what the server stored (distance, findings with their leads) */
  result: { distance_m: number; findings: { code: string; client_id: string }[] } | null;
}

export interface LocalFinding {
  client_id: string;
  patrol_client_id: string;
  lon: number;
  lat: number;
  accuracy: number | null;
  found_at: string;
  category: string;
  note: string;
  under_construction: boolean;
  open_case: boolean;
  party: string;
  /** dropped once sent */
  photo: Blob | null;
  exif: Record<string, unknown>;
  state: SendState;
  error: { zh: string; en: string } | null;
  tries: number;
  next_at: number;
  result: { code: string; village: string | null; case_number: string | null; report_deadline: string | null; case_refused: string | null } | null;
}

interface Schema extends DBSchema {
  patrols: { key: string; value: LocalPatrol };
  findings: { key: string; value: LocalFinding; indexes: { patrol: string } };
}

let dbp: Promise<IDBPDatabase<Schema>> | null = null;
function db() {
  dbp ??= openDB<Schema>('tuban-patrol', 1, {
    upgrade(d) {
      d.createObjectStore('patrols', { keyPath: 'client_id' });
      d.createObjectStore('findings', { keyPath: 'client_id' }).createIndex('patrol', 'patrol_client_id');
    },
  });
  return dbp;
}

const listeners = new Set<() => void>();
export function onPatrolChange(fn: () => void) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}
const changed = () => listeners.forEach((fn) => fn());

export async function openPatrol(): Promise<LocalPatrol | undefined> {
  return (await (await db()).getAll('patrols')).find((p) => p.state === 'open');
}
export async function allPatrols(): Promise<LocalPatrol[]> {
  return (await (await db()).getAll('patrols')).sort((a, b) => b.started_at.localeCompare(a.started_at));
}
export async function findingsOf(patrolId: string): Promise<LocalFinding[]> {
  return (await (await db()).getAllFromIndex('findings', 'patrol', patrolId)).sort((a, b) => a.found_at.localeCompare(b.found_at));
}

export async function putPatrol(p: LocalPatrol) {
  await (await db()).put('patrols', p);
  changed();
}

/** A new track point, written at once: a closed or crashed page loses at most the point being taken. */
export async function addPoint(id: string, pt: TrackPoint) {
  const d = await db();
  const tx = d.transaction('patrols', 'readwrite');
  const p = await tx.store.get(id);
  if (p && p.state === 'open') await tx.store.put({ ...p, track: [...p.track, pt] });
  await tx.done;
}

export async function addFinding(f: Omit<LocalFinding, 'state' | 'error' | 'tries' | 'next_at' | 'result'>) {
  await (await db()).put('findings', { ...f, state: 'waiting', error: null, tries: 0, next_at: 0, result: null });
  changed();
  void sync();
}

export async function endPatrol(id: string) {
  const d = await db();
  const p = await d.get('patrols', id);
  if (!p || p.state !== 'open') return;
  await d.put('patrols', { ...p, ended_at: new Date().toISOString(), state: 'waiting', next_at: 0 });
  changed();
  void sync();
}

/** Waiting to be sent: findings and ended patrols. */
export async function pendingCount(): Promise<number> {
  const d = await db();
  const [ps, fs] = await Promise.all([d.getAll('patrols'), d.getAll('findings')]);
  return ps.filter((p) => p.state === 'waiting' || p.state === 'sending').length + fs.filter((f) => f.state === 'waiting' || f.state === 'sending').length;
}

/**
 * Worth trying again: the network, a busy server — and a lost session, which the user fixes by logging in
 * again (the page asks): a patrol recorded offline must never be dropped for that.
 */
const retryable = (e: unknown) => !(e instanceof ApiError) || e.retryable || e.status === 401 || e.code === 'password_change_required';

/** Sends what is due: findings first (a patrol's record lists them), then the ended patrols. */
export const sync = serialSender(async () => {
  const d = await db();
  const now = Date.now();
  for (const f of await d.getAll('findings')) if (f.state === 'waiting' && f.next_at <= now) await sendFinding(d, f);
  for (const p of await d.getAll('patrols')) {
    if (p.state !== 'waiting' || p.next_at > now) continue;
    const fs = await d.getAllFromIndex('findings', 'patrol', p.client_id);
    if (fs.some((f) => f.state === 'waiting' || f.state === 'sending')) continue;
    await sendPatrol(d, p);
  }
}, async () => {
  const d = await db();
  const waiting = [...await d.getAll('patrols'), ...await d.getAll('findings')].filter((x) => x.state === 'waiting');
  return waiting.length ? Math.min(...waiting.map((x) => x.next_at)) : undefined;
});

async function sendFinding(d: IDBPDatabase<Schema>, f: LocalFinding) {
  await d.put('findings', { ...f, state: 'sending' });
  changed();
  const form = new FormData();
  form.set('lon', String(f.lon));
  form.set('lat', String(f.lat));
  if (f.accuracy !== null) form.set('accuracy', String(f.accuracy));
  form.set('found_at', f.found_at);
  form.set('category', f.category);
  if (f.note) form.set('note', f.note);
  form.set('under_construction', String(f.under_construction));
  form.set('open_case', String(f.under_construction && f.open_case));
  if (f.party) form.set('party', f.party);
  if (Object.keys(f.exif).length) form.set('exif', JSON.stringify(f.exif));
  if (f.photo) form.set('photo', f.photo, `${f.client_id}.jpg`);
  try {
    const r = await api<{ finding: { lead: { code: string; village: string | null }; case: { number: string; report_deadline: string | null } | null };
      case_refused: { message_zh: string } | null }>('PUT', `/api/patrols/${f.patrol_client_id}/findings/${f.client_id}`, { form, token: null });
    const b = r.body;
    await d.put('findings', {
      ...f, state: 'sent', photo: null, error: null,
      result: {
        code: b.finding.lead.code, village: b.finding.lead.village, case_number: b.finding.case?.number ?? null,
        report_deadline: b.finding.case?.report_deadline ?? null, case_refused: b.case_refused?.message_zh ?? null,
      },
    });
  } catch (e) {
    const tries = f.tries + 1;
    await d.put('findings', retryable(e)
      ? { ...f, state: 'waiting', tries, next_at: Date.now() + backoff(tries), error: failureText(e) }
      : { ...f, state: 'failed', tries, error: failureText(e) });
  }
  changed();
}

async function sendPatrol(d: IDBPDatabase<Schema>, p: LocalPatrol) {
  await d.put('patrols', { ...p, state: 'sending' });
  changed();
  try {
    const r = await api<{ patrol: { distance_m: number; findings: { code: string; client_id: string }[] } }>('PUT', `/api/patrols/${p.client_id}`, {
      token: null,
      body: { village: p.village, members: p.members, started_at: p.started_at, ended_at: p.ended_at, track: p.track.map(([lon, lat]) => [lon, lat]) },
    });
    await d.put('patrols', { ...p, state: 'sent', error: null, result: { distance_m: r.body.patrol.distance_m, findings: r.body.patrol.findings } });
  } catch (e) {
    const tries = p.tries + 1;
    await d.put('patrols', retryable(e)
      ? { ...p, state: 'waiting', tries, next_at: Date.now() + backoff(tries), error: failureText(e) }
      : { ...p, state: 'failed', tries, error: failureText(e) });
  }
  changed();
}

/** "send again" after a refusal the user has fixed (e.g. logged in again) */
export async function retryAll() {
  const d = await db();
  for (const f of await d.getAll('findings')) if (f.state === 'failed') await d.put('findings', { ...f, state: 'waiting', tries: 0, next_at: 0, error: null });
  for (const p of await d.getAll('patrols')) if (p.state === 'failed') await d.put('patrols', { ...p, state: 'waiting', tries: 0, next_at: 0, error: null });
  changed();
  void sync();
}

/** At start: anything a closed page left "sending" waits again; the network coming back makes all due. */
export async function startPatrolQueue() {
  const d = await db();
  for (const f of await d.getAll('findings')) if (f.state === 'sending') await d.put('findings', { ...f, state: 'waiting', next_at: 0 });
  for (const p of await d.getAll('patrols')) if (p.state === 'sending') await d.put('patrols', { ...p, state: 'waiting', next_at: 0 });
  const nudge = async () => {
    for (const f of await d.getAll('findings')) if (f.state === 'waiting') await d.put('findings', { ...f, next_at: 0 });
    for (const p of await d.getAll('patrols')) if (p.state === 'waiting') await d.put('patrols', { ...p, next_at: 0 });
    void sync();
  };
  window.addEventListener('online', () => void nudge());
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') void nudge();
  });
  void sync();
}
