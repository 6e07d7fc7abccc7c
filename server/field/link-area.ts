/**
 * The imagery a signed field link may see: the tiles around its polygons, not the whole town's. A link travels
 * in chats; whoever holds it sees what the field visit needs (the polygon, its neighbours, the way there) and no
 * more — the same fence as its polygons.
 */
import type { Queryable } from '../db/types';
import { sqlSet } from '../db/sql-file';
import { mercToLonLat, tileBounds } from '../imagery/mercator';
import type { FieldLinkGrant } from './access';

const SQL = sqlSet(new URL('./field.sql', import.meta.url), ['link_area'] as const);

/** about a kilometre around the polygons: enough to find the way in from the road */
export const LINK_IMAGERY_MARGIN_DEG = 0.01;
const TTL_MS = 60_000;
const MAX_CACHED = 1000;

type Box = [number, number, number, number];
const cache = new Map<number, { box: Box | null; at: number }>();

async function linkBox(q: Queryable, regionCode: string, g: FieldLinkGrant): Promise<Box | null> {
  const hit = cache.get(g.id);
  if (hit && Date.now() - hit.at < TTL_MS) return hit.box;
  const r = (await q.query<{ w: number; s: number; e: number; n: number }>(SQL.link_area, [regionCode, g.polygonIds])).rows[0];
  const m = LINK_IMAGERY_MARGIN_DEG;
  const box: Box | null = r ? [Number(r.w) - m, Number(r.s) - m, Number(r.e) + m, Number(r.n) + m] : null;
  if (cache.size >= MAX_CACHED) cache.clear();
  cache.set(g.id, { box, at: Date.now() });
  return box;
}

/** Whether the imagery tile z/x/y touches the area around the link's polygons. */
export async function tileNearLink(q: Queryable, regionCode: string, g: FieldLinkGrant, z: number, x: number, y: number): Promise<boolean> {
  const box = await linkBox(q, regionCode, g);
  if (!box) return false;
  const [x0, y0, x1, y1] = tileBounds(z, x, y);
  const [w, s] = mercToLonLat(x0, y0);
  const [e, n] = mercToLonLat(x1, y1);
  return w <= box[2] && e >= box[0] && s <= box[3] && n >= box[1];
}
