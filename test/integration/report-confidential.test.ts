/**
 * Confidentiality first (issue 16 item 3): a whistle-blower may be reporting a cadre. A report is submitted
 * with a phone number and from an address no other data holds; then EVERY GET route of the route table is
 * called as every role and anonymously (exports in every format, OGC API, tiles, pages, JSON APIs), zipped
 * answers unpacked, and no answer may hold either — except the admins' one contact route, which must.
 */
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDb } from '../helpers/db';
import type { Client } from '../helpers/api';
import { listRoutes, type RouteSpec } from '../../server/http/openapi';
import { lonLatToTile } from '../../server/tiles/tile-math';
import { GPS_PHOTO, leadTown, reportForm, toLonLat, type LeadTown } from './leads-fixture';

const PHONE = '13712345678';
const IP = '203.0.113.77';
const CONTACT_ROUTE = '/api/admin/reports/:code/contact';

describeEachDb('public reports: phone and address never leave the admins\' contact route', (backend) => {
  let t: LeadTown;
  let receipt: { code: string; secret: string };
  let lead: { id: number; code: string };
  let callers: Record<string, Client>;
  let tile: { z: number; x: number; y: number };

  beforeAll(async () => {
    t = await leadTown(backend);
    const [lon, lat] = toLonLat(210, 310);
    const r = await t.app.client({}).request('POST', '/api/public/reports', {
      form: reportForm({ lon, lat, phone: PHONE, description: '村干部在自家院子加建两层', photos: [GPS_PHOTO] }),
      headers: { 'x-forwarded-for': IP },
    });
    expect(r.status, r.text).toBe(201);
    receipt = r.body;
    lead = (await t.analyst.get('/api/polygons', { query: { source: 'report' } })).body.items[0];
    tile = lonLatToTile(lon, lat, 16);
    callers = {
      admin: await t.app.as('admin'), analyst: t.analyst, reviewer: await t.app.as('reviewer'), field: await t.app.as('field'),
      anonymous: t.app.client({}),
    };
  });
  afterAll(async () => t?.close());

  function pathOf(spec: RouteSpec): string {
    const values: Record<string, string> = {
      id: spec.path.startsWith('/open311') ? receipt.code : String(lead.id), featureId: String(lead.id), collectionId: 'survey', layer: 'survey', village: '东村',
      z: String(tile.z), x: String(tile.x), y: String(tile.y),
      code: spec.path.includes('report') ? receipt.code : lead.code,
    };
    return spec.path.replace(/:([A-Za-z_][A-Za-z0-9_]*)(\.[a-z]+)?/g, (_m, name: string, ext?: string) =>
      encodeURIComponent(values[name] ?? spec.example?.params?.[name] ?? '1') + (ext ?? ''));
  }

  /** the answer's bytes, with every entry of a zip (XLSX, shapefile) unpacked */
  async function fetchAll(c: Client, path: string, query: Record<string, string>) {
    const u = new URL(path, t.app.url);
    for (const [k, v] of Object.entries(query)) u.searchParams.set(k, v);
    const headers: Record<string, string> = {};
    if (c.cookie) headers.cookie = c.cookie;
    if (c.token) headers.authorization = `Bearer ${c.token}`;
    const res = await fetch(u, { headers, redirect: 'manual' });
    const bytes = new Uint8Array(await res.arrayBuffer());
    const parts = [Buffer.from(bytes).toString('latin1')];
    if (bytes[0] === 0x50 && bytes[1] === 0x4b) {
      for (const entry of Object.values(unzipSync(bytes))) parts.push(Buffer.from(entry).toString('latin1'));
    }
    return { status: res.status, text: parts.join('\n'), type: res.headers.get('content-type') ?? '' };
  }

  it('no GET answer holds the phone or the address, for any role; the admins\' contact route does', async () => {
    const routes = listRoutes().filter((s) => s.method === 'get');
    expect(routes.length).toBeGreaterThan(50);
    const leaks: string[] = [];
    const seenLead: string[] = [];
    let ok = 0;
    for (const spec of routes) {
      const path = pathOf(spec);
      const query: Record<string, string> = { ...(spec.example?.query ?? {}) };
      if (spec.path.startsWith('/api/public/reports/:code')) query.secret = receipt.secret;
      if (spec.path.includes('items') || spec.path === '/api/polygons') query.limit = '1000';
      for (const [who, c] of Object.entries(callers)) {
        const r = await fetchAll(c, path, query);
        if (r.status === 200) ok++;
        const holds = [PHONE, IP].filter((m) => r.text.includes(m));
        if (spec.path === CONTACT_ROUTE) {
          if (who === 'admin') expect(holds, 'the admin\'s contact route answers both').toEqual([PHONE, IP]);
          else expect(holds).toEqual([]);
          continue;
        }
        if (holds.length) leaks.push(`${who} GET ${path} → ${r.status}: ${holds.join(', ')}`);
        if (r.status === 200 && (r.text.includes(lead.code) || r.text.includes(receipt.code))) seenLead.push(`${who} ${spec.path}`);
      }
    }
    expect(leaks).toEqual([]);
    // not vacuous: the report is in the lists, the exports in every format, the OGC items and the tiles
    for (const p of ['/api/polygons', '/api/exports/ledger.xlsx', '/api/exports/ledger.csv', '/api/exports/polygons.geojson',
      '/api/exports/polygons.zip', '/ogc/collections/:collectionId/items', '/api/public/reports/:code', '/open311/v2/requests/:id.json']) {
      expect(seenLead.some((s) => s.endsWith(` ${p}`)), `${p} shows the report`).toBe(true);
    }
    expect(ok).toBeGreaterThan(100);
  });
});
