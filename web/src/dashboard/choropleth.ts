/**
 * The village choropleth: village outlines coloured by the share of their polygons with an outcome
 * (GET /api/coverage/villages.geojson: the same figures as the table beside it). Labels are HTML markers
 * (name + share), so the map needs no glyph server. A click opens the village's figures with links.
 */
import { Map as MapLibreMap, Marker, NavigationControl, Popup, setWorkerUrl, type ExpressionSpecification, type GeoJSONSource, type Map as MapLibre } from 'maplibre-gl';
import 'maplibre-gl/dist/maplibre-gl.css';
import workerUrl from 'maplibre-gl/dist/maplibre-gl-worker.mjs?url';
import { h } from '../dom';
import { int, pct, t } from '../i18n';
import { figureHash } from '../url';
import type { Figure, Filter } from './types';

/** Share classes, light to dark (ColorBrewer YlGnBu, readable with every common colour-vision deficiency). */
export const SHARE_CLASSES: { min: number; color: string }[] = [
  { min: 0, color: '#ffffcc' },
  { min: 0.2, color: '#a1dab4' },
  { min: 0.4, color: '#41b6c4' },
  { min: 0.6, color: '#2c7fb8' },
  { min: 0.8, color: '#253494' },
];
const NO_POLYGONS = '#e3e5e8';

interface VillageProps {
  id: number;
  name: string | null;
  label: [number, number] | null;
  total: number;
  decided: number;
  share: number | null;
  pending: number;
  field_check: number;
  filter: Filter | string;
}

interface VillageFeature {
  type: 'Feature';
  id: number;
  geometry: { type: string; coordinates: unknown } | null;
  properties: VillageProps;
}

export interface VillageCollection {
  type: 'FeatureCollection';
  features: VillageFeature[];
}

/** GET /api/coverage/villages.geojson?figures=0: the outlines and label points, without figures. */
export interface OutlineCollection {
  type: 'FeatureCollection';
  features: (Omit<VillageFeature, 'properties'> & { properties: Pick<VillageProps, 'id' | 'name' | 'label'> })[];
}

/**
 * The outlines with the by_village figures of GET /api/coverage (what villages.geojson with figures would
 * answer, joined here so the figures are computed once for the screen). A village without polygons under
 * the filter: zeros, and the filter that lists its (none) polygons.
 */
export function withFigures(o: OutlineCollection, byVillage: (Figure & { village: string })[], base: Filter): VillageCollection {
  const byName = new Map(byVillage.map((v) => [v.village, v]));
  return {
    type: 'FeatureCollection',
    features: o.features.map((f) => {
      const v = f.properties.name !== null ? byName.get(f.properties.name) : undefined;
      return {
        ...f,
        properties: {
          ...f.properties,
          total: v?.total ?? 0, decided: v?.decided ?? 0, share: v?.share ?? null, pending: v?.pending ?? 0, field_check: v?.field_check ?? 0,
          filter: v?.filter ?? { ...base, village: f.properties.name ?? '-' },
        },
      };
    }),
  };
}

export interface Choropleth {
  update(data: VillageCollection): Promise<void>;
  resize(): void;
}

setWorkerUrl(workerUrl);

const parse = (f: Filter | string): Filter => (typeof f === 'string' ? JSON.parse(f) : f);

export async function createChoropleth(container: HTMLElement, data: VillageCollection, onVillage?: (name: string) => void): Promise<Choropleth> {
  const map: MapLibre = new MapLibreMap({
    container,
    style: {
      version: 8,
      sources: { villages: { type: 'geojson', data: { type: 'FeatureCollection', features: [] } } },
      layers: [
        { id: 'bg', type: 'background', paint: { 'background-color': '#f6f7f9' } },
        {
          id: 'village-fill', type: 'fill', source: 'villages',
          paint: {
            'fill-color': ['case', ['==', ['get', 'total'], 0], NO_POLYGONS,
              ['step', ['coalesce', ['get', 'share'], 0], SHARE_CLASSES[0].color,
                ...SHARE_CLASSES.slice(1).flatMap((c) => [c.min, c.color])] as ExpressionSpecification],
            'fill-opacity': 0.85,
          },
        },
        { id: 'village-line', type: 'line', source: 'villages', paint: { 'line-color': '#3b3b55', 'line-width': 1.2 } },
      ],
    },
    center: [105.93, 29.4],
    zoom: 11,
    attributionControl: false,
    dragRotate: false,
    pitchWithRotate: false,
    fadeDuration: 0,
  });
  map.addControl(new NavigationControl({ showCompass: false }), 'top-right');
  map.getCanvas().setAttribute('aria-label', t('dash.mapLabel'));
  const loaded = new Promise<void>((r) => (map.loaded() ? r() : map.once('load', () => r())));
  let markers: Marker[] = [];

  map.on('click', 'village-fill', (e) => {
    const f = e.features?.[0];
    if (!f) return;
    const p = f.properties as unknown as VillageProps;
    const filter = parse(p.filter);
    const name = p.name ?? t('detail.noVillage');
    new Popup({ closeButton: true, maxWidth: '260px' })
      .setLngLat(e.lngLat)
      .setDOMContent(h('div', { class: 'village-pop' },
        h('b', null, name),
        h('p', null, t('dash.popShare', { share: pct(p.share), decided: int(p.decided), total: int(p.total) })),
        h('p', null,
          h('a', { href: figureHash(filter) }, t('dash.popAll')), ' · ',
          h('a', { href: figureHash({ ...filter, status: 'pending,field_check' }) }, t('dash.popOpen', { n: int(Number(p.pending) + Number(p.field_check)) })),
          p.name ? [' · ', h('a', { href: `/reports/village/${encodeURIComponent(p.name)}`, target: '_blank', rel: 'noopener' }, t('dash.report'))] : null)))
      .addTo(map);
    if (p.name) onVillage?.(p.name);
  });
  map.on('mouseenter', 'village-fill', () => (map.getCanvas().style.cursor = 'pointer'));
  map.on('mouseleave', 'village-fill', () => (map.getCanvas().style.cursor = ''));

  const update = async (fc: VillageCollection) => {
    await loaded;
    (map.getSource('villages') as GeoJSONSource).setData(fc as never);
    for (const m of markers) m.remove();
    markers = fc.features.filter((f) => f.properties.label && f.properties.name).map((f) =>
      new Marker({
        element: h('div', { class: `village-label${(f.properties.share ?? 0) >= 0.6 ? ' on-dark' : ''}` },
          h('span', null, f.properties.name!), h('b', null, f.properties.total ? pct(f.properties.share) : '—')),
      }).setLngLat(f.properties.label!).addTo(map));
  };
  await update(data);
  // the view fits the villages once; a new filter recolours them and leaves the map where the reviewer put it
  {
    let b: [number, number, number, number] = [Infinity, Infinity, -Infinity, -Infinity];
    const walk = (c: unknown): void => {
      if (Array.isArray(c) && typeof c[0] === 'number') {
        const [x, y] = c as number[];
        b = [Math.min(b[0], x), Math.min(b[1], y), Math.max(b[2], x), Math.max(b[3], y)];
      } else if (Array.isArray(c)) c.forEach(walk);
    };
    for (const f of data.features) if (f.geometry) walk(f.geometry.coordinates);
    if (Number.isFinite(b[0])) map.fitBounds(b, { padding: 24, duration: 0 });
  }
  return { update, resize: () => map.resize() };
}

/** The legend beside the map: the share classes and "no polygons". */
export function choroplethLegend() {
  const rows = SHARE_CLASSES.map((c, i) => {
    const hi = SHARE_CLASSES[i + 1]?.min;
    return h('li', null, h('span', { class: 'swatch', style: `background:${c.color}` }),
      hi === undefined ? `≥ ${pct(c.min)}` : `${pct(c.min)} – ${pct(hi)}`);
  });
  return h('ul', { class: 'choro-legend', 'aria-label': t('dash.legend') },
    h('li', { class: 'legend-title' }, t('dash.legend')),
    rows,
    h('li', null, h('span', { class: 'swatch', style: `background:${NO_POLYGONS}` }), t('dash.noPolygons')));
}
