/**
 * The field page's service worker (built to dist/field/sw.js, served at /field/sw.js with
 * Service-Worker-Allowed: /, registered for the /p and /f/ pages). It makes the page work without a network:
 *
 *   - the page's files are precached at install (the list is written in by vite.field.config.ts);
 *   - pages (/p…, /f/…, /patrol): network first, else the cached page (a printed village sheet: its own copy);
 *   - the field API (/api/field/…, /api/polygons/:id/evidence): network first, else the last answer, marked
 *     with X-Tuban-Cached (when it was stored) so the page can say it shows offline data;
 *   - photos (/api/evidence/:id/thumb|full): cache first (a photo never changes);
 *   - imagery tiles (issue 15): cache first when the URL names the import (?v=<import>: the bytes never
 *     change for it), else network first; a polygon's imagery chips and the map config: network first.
 * Answers are cached per credential: a link's answers are kept apart from a session's (the Authorization
 * header is part of the cache key, hashed). Writes (POST) are never cached: the page's outbox handles them.
 */
interface ExtendableEvent extends Event {
  waitUntil(p: Promise<unknown>): void;
}
interface FetchEvent extends ExtendableEvent {
  readonly request: Request;
  respondWith(r: Response | Promise<Response>): void;
}
interface SwScope {
  addEventListener(type: 'install' | 'activate', fn: (e: ExtendableEvent) => void): void;
  addEventListener(type: 'fetch', fn: (e: FetchEvent) => void): void;
  skipWaiting(): Promise<void>;
  clients: { claim(): Promise<void> };
  location: Location;
}
const sw = globalThis as unknown as SwScope;

const MANIFEST = JSON.parse('__PRECACHE_MANIFEST__' as string) as { version: string; urls: string[] };
const SHELL_CACHE = `tuban-field-shell-${MANIFEST.version}`;
const DATA_CACHE = 'tuban-field-data-v1';
const SHELL = '/field/index.html';

sw.addEventListener('install', (e) => {
  e.waitUntil((async () => {
    const c = await caches.open(SHELL_CACHE);
    await c.addAll([SHELL, ...MANIFEST.urls.filter((u) => u !== SHELL)]);
    await sw.skipWaiting();
  })());
});

sw.addEventListener('activate', (e) => {
  e.waitUntil((async () => {
    for (const k of await caches.keys()) {
      if (k.startsWith('tuban-field-shell-') && k !== SHELL_CACHE) await caches.delete(k);
    }
    await sw.clients.claim();
  })());
});

/** FNV-1a: enough to keep two credentials' answers apart in the cache (not a secret) */
function fnv(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16);
}

function keyOf(req: Request): Request {
  const u = new URL(req.url);
  const auth = req.headers.get('authorization');
  u.searchParams.set('__sw', auth ? fnv(auth) : 'session');
  return new Request(u.toString());
}

function offline(): Response {
  return new Response(JSON.stringify({
    error: { code: 'offline', message: 'No network, and this was never loaded on this phone', message_zh: '无网络，且此内容未在本机缓存', details: null },
  }), { status: 503, headers: { 'content-type': 'application/json; charset=utf-8' } });
}

async function networkFirst(req: Request, key: Request, fallback?: () => Promise<Response | undefined>): Promise<Response> {
  const cache = await caches.open(DATA_CACHE);
  try {
    const res = await fetch(req);
    if (res.ok) {
      const copy = res.clone();
      const headers = new Headers(copy.headers);
      headers.set('X-Tuban-Cached', String(Date.now()));
      await cache.put(key, new Response(await copy.blob(), { status: copy.status, statusText: copy.statusText, headers }));
    }
    return res;
  } catch {
    const hit = await cache.match(key);
    if (hit) return hit;
    return (await fallback?.()) ?? offline();
  }
}

async function cacheFirst(req: Request, key: Request): Promise<Response> {
  const cache = await caches.open(DATA_CACHE);
  const hit = await cache.match(key);
  if (hit) return hit;
  try {
    const res = await fetch(req);
    if (res.ok) await cache.put(key, res.clone());
    return res;
  } catch {
    return offline();
  }
}

const shellResponse = async () => (await caches.match(SHELL)) ?? undefined;

sw.addEventListener('fetch', (e) => {
  const req = e.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (url.origin !== sw.location.origin) return;
  const p = url.pathname;

  if (req.mode === 'navigate') {
    if (p.startsWith('/p/sheet/')) return e.respondWith(networkFirst(req, keyOf(req)));
    if (p === '/p' || p.startsWith('/p/') || p.startsWith('/f/') || p === '/patrol') {
      // the page itself is the same file for every polygon: keep one copy, served when offline
      return e.respondWith(fetch(req).catch(async () => (await shellResponse()) ?? offline()));
    }
    return;
  }
  if (p.startsWith('/field/')) {
    return e.respondWith(caches.match(req).then((hit) => hit ?? fetch(req)));
  }
  if (/^\/api\/evidence\/\d+\/(thumb|full)$/.test(p)) return e.respondWith(cacheFirst(req, keyOf(req)));
  // a chip changes when its polygon's outline does (a new delivery): the network first, the cache offline
  if (/^\/api\/polygons\/\d+\/chips\/(before|after)$/.test(p)) return e.respondWith(networkFirst(req, keyOf(req)));
  if (p.startsWith('/tiles/imagery/')) {
    return e.respondWith(url.searchParams.has('v') ? cacheFirst(req, keyOf(req)) : networkFirst(req, keyOf(req)));
  }
  if (p === '/api/config/map') return e.respondWith(networkFirst(req, keyOf(req)));
  if (p.startsWith('/api/field/') || /^\/api\/polygons\/\d+\/evidence$/.test(p) || p === '/api/patrols/villages') {
    return e.respondWith(networkFirst(req, keyOf(req)));
  }
});
