/**
 * The floor of OGC API – Features paging as GDAL does it (issue 17 item 6): a bare node:http server that
 * answers the items pages of one collection from memory — tuban's own first page (same features, same bytes
 * per feature) with the ids renumbered, and a next link per page until as many features as the real table
 * holds — so `ogr2ogr … OAPIF:` against it pays only the HTTP exchange and GDAL's own work per page. Every
 * other request (landing page, conformance, collection, OpenAPI document: a handful) is passed through to
 * tuban with its links rewritten. No server, however fast, can page GDAL through the collection in less.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

interface Feature {
  type: 'Feature';
  id?: unknown;
  properties?: Record<string, unknown>;
  geometry: unknown;
}

export interface OgcFloor {
  base: string;
  pages: number;
  close(): void;
}

export async function startOgcFloor(o: { tuban: string; token: string; collection: string; total: number }): Promise<OgcFloor> {
  const auth = { authorization: `Bearer ${o.token}` };
  const itemsPath = `/ogc/collections/${o.collection}/items`;
  const first = await fetch(`${o.tuban}${itemsPath}?limit=100`, { headers: auth });
  if (!first.ok) throw new Error(`tuban ${itemsPath}: HTTP ${first.status}`);
  const template = ((await first.json()) as { features: Feature[] }).features;
  if (!template.length) throw new Error(`tuban ${itemsPath}: no features to replay`);
  const floor: OgcFloor = { base: '', pages: 0, close: () => server.close() };

  const page = (from: number, limit: number, query: URLSearchParams) => {
    const n = Math.max(0, Math.min(limit, o.total - from));
    const features = Array.from({ length: n }, (_, i) => {
      const f = template[(from + i) % template.length];
      const id = from + i + 1;
      return { ...f, id, properties: f.properties && 'id' in f.properties ? { ...f.properties, id } : f.properties };
    });
    const self = `${floor.base}${itemsPath}?${query}`;
    const links: { href: string; rel: string; type: string }[] = [{ href: self, rel: 'self', type: 'application/geo+json' }];
    if (from + n < o.total) {
      const next = new URLSearchParams(query);
      next.set('cursor', String(from + n));
      links.push({ href: `${floor.base}${itemsPath}?${next}`, rel: 'next', type: 'application/geo+json' });
    }
    return JSON.stringify({
      type: 'FeatureCollection', features, numberReturned: n, ...(from === 0 ? { numberMatched: o.total } : {}),
      timeStamp: new Date().toISOString(), links,
    });
  };

  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://floor');
    if (u.pathname === itemsPath) {
      floor.pages++;
      const from = Number(u.searchParams.get('cursor') ?? 0);
      const limit = Number(u.searchParams.get('limit') ?? 10);
      const body = page(from, limit, u.searchParams);
      res.writeHead(200, { 'Content-Type': 'application/geo+json', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    // everything else: tuban's own answer, its links pointing here
    void fetch(`${o.tuban}${req.url}`, { headers: { ...auth, accept: req.headers.accept ?? '*/*' } }).then(async (r) => {
      const text = (await r.text()).replaceAll(o.tuban, floor.base);
      res.writeHead(r.status, { 'Content-Type': r.headers.get('content-type') ?? 'application/json', 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
    }, (e: unknown) => {
      res.writeHead(502).end(String(e));
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  floor.base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return floor;
}
