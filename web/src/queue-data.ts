import { get, qs } from './api';
import type { ListItem, MapConfig } from './types';
import { filterQuery, type ViewState } from './url';

export const PAGE = 100;
export type BBox = [number, number, number, number];

interface FeaturePage {
  numberMatched: number;
  features: { id: number; geometry: { type: string; coordinates: unknown } | null; properties: ListItem }[];
}

/** One page of the queue, with each polygon's bbox from its geometry (the map can fly before the detail comes). */
export async function fetchPage(view: ViewState, offset: number, o: { signal?: AbortSignal; quiet?: boolean } = {}) {
  const r = await get<FeaturePage>(
    `/api/polygons${qs({ ...filterQuery(view), sort: view.sort, limit: PAGE, offset, format: 'geojson' })}`, o);
  const bboxes = new Map<number, BBox>();
  const items = r.features.map((f) => {
    const b = f.geometry ? bboxOf(f.geometry.coordinates) : undefined;
    if (b) bboxes.set(f.properties.id, b);
    return f.properties;
  });
  return { total: r.numberMatched, items, bboxes };
}
export type Page = Awaited<ReturnType<typeof fetchPage>>;

function bboxOf(coords: unknown): BBox | undefined {
  const b: BBox = [Infinity, Infinity, -Infinity, -Infinity];
  const walk = (c: unknown) => {
    if (!Array.isArray(c)) return;
    if (typeof c[0] === 'number') {
      const [x, y] = c as number[];
      if (x < b[0]) b[0] = x;
      if (y < b[1]) b[1] = y;
      if (x > b[2]) b[2] = x;
      if (y > b[3]) b[3] = y;
    } else for (const x of c) walk(x);
  };
  walk(coords);
  return Number.isFinite(b[0]) ? b : undefined;
}

/** Started before we even know who is logged in: the first screen needs them all, and in parallel. */
export interface Prefetch {
  config: Promise<MapConfig>;
  page: Promise<Page>;
}

export function prefetch(view: ViewState): Prefetch {
  const config = get<MapConfig>('/api/config/map', { quiet: true });
  const page = fetchPage(view, 0, { quiet: true });
  // a 401 here only means the login screen comes first
  config.catch(() => undefined);
  page.catch(() => undefined);
  return { config, page };
}
