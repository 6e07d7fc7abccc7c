import type { ExpressionSpecification, LayerSpecification, SourceSpecification, StyleSpecification } from 'maplibre-gl';
import type { MapConfig, MapSource, Status } from '../types';

/**
 * The map's style: our vector tile layers over an optional basemap and imagery. No glyphs URL (labels are
 * drawn by the browser's own fonts), no sprite (fill patterns are drawn on a canvas, patterns.ts): the
 * default style needs nothing from the internet.
 *
 * Status is shown by colour AND by pattern/outline, so it reads without colour vision (Okabe–Ito palette):
 *   pending      orange, dashed outline
 *   field_check  sky blue, dotted outline + dot fill
 *   verified     vermillion, solid thick outline
 *   linked       reddish purple, solid outline + cross-hatch
 *   dismissed    grey, thin outline + diagonal hatch
 *   selected     black over a white casing, thick; checked (bulk) blue, dashed
 */
export const STATUS_COLOR: Record<Status, string> = {
  pending: '#E69F00',
  field_check: '#56B4E9',
  verified: '#D55E00',
  linked: '#CC79A7',
  dismissed: '#8a8a8a',
};
export const STATUS_PATTERN: Partial<Record<Status, string>> = {
  field_check: 'pat-dots',
  linked: 'pat-cross',
  dismissed: 'pat-hatch',
};

/** the status of a feature: what we decided locally (feature-state) wins over the tile until it reloads */
const STATUS: ExpressionSpecification = ['coalesce', ['feature-state', 'status'], ['get', 'status']];
const isStatus = (s: Status): ExpressionSpecification => ['==', STATUS, s];
const stateOn = (key: string): ExpressionSpecification => ['case', ['boolean', ['feature-state', key], false], 1, 0];

/** Reference layers the switcher turns on and off, in drawing order. */
export const GROUPS = ['imagery', 'basemap', 'villages', 'green', 'compounds', 'frontage', 'parcels', 'schools', 'survey', 'labels'] as const;
export type Group = (typeof GROUPS)[number];
/**
 * Off until switched on (the choice is remembered): polygon codes and parcel holders are hundreds of labels
 * in a view, and laying them out costs the first render more than every reference layer together.
 */
export const HIDDEN_BY_DEFAULT: Group[] = ['labels'];

export const SURVEY_LAYERS = ['survey-fill'];
export const SURVEY_FILL_OPACITY: ExpressionSpecification = ['case', isStatus('dismissed'), 0.12, isStatus('verified'), 0.45, 0.32];

export interface StyleInput {
  origin: string;
  config: MapConfig;
}

const tiles = (origin: string, name: string) => [`${origin}/tiles/${name}/{z}/{x}/{y}.mvt`];

function raster(s: MapSource): SourceSpecification {
  if (s.kind === 'pmtiles') {
    // pmtiles:///map-files/x.pmtiles (a file the server serves) → absolute, the protocol fetches it
    const url = s.url!.replace(/^pmtiles:\/\/\//, `pmtiles://${location.origin}/`);
    return { type: 'raster', url, tileSize: 256 };
  }
  // imported imagery names its pyramid: past maxzoom MapLibre overzooms the last tile, outside bounds it asks for nothing
  return {
    type: 'raster', tiles: s.tiles!, tileSize: s.tileSize ?? 256, scheme: s.scheme ?? 'xyz',
    minzoom: s.minzoom ?? 0, maxzoom: s.maxzoom ?? 20, ...(s.bounds ? { bounds: s.bounds } : {}),
  };
}

/** The deepest zoom at which imagery has its own pixels (the deeper of the two epochs), if any is known. */
export function imageryMaxZoom(config: MapConfig): number | undefined {
  const zs = [config.imagery.before?.maxzoom, config.imagery.after?.maxzoom].filter((z): z is number => typeof z === 'number');
  return zs.length ? Math.max(...zs) : undefined;
}

export function buildStyle({ origin, config }: StyleInput): StyleSpecification {
  // Past a source's maxzoom MapLibre overzooms the last tile: a z16 tile is 530 m wide with 0.13 m precision,
  // a z14 one 0.5 m. A view at z18 then needs one or two tiles per source instead of six to twelve.
  const vector = (name: string, minzoom: number, maxzoom: number): SourceSpecification => ({
    type: 'vector', tiles: tiles(origin, name), minzoom, maxzoom,
  });
  const sources: Record<string, SourceSpecification> = {
    survey: vector('survey', 10, 16),
    parcels: vector('parcels', 15, 16),
    frontage: vector('frontage', 8, 14),
    villages: vector('villages', 8, 14),
    schools: vector('schools', 8, 14),
    compounds: vector('compounds', 8, 14),
    green: vector('green', 8, 14),
  };
  const layers: LayerSpecification[] = [{ id: 'background', type: 'background', paint: { 'background-color': '#f3f1eb' } }];
  if (config.basemap) {
    sources.basemap = raster(config.basemap);
    layers.push({ id: 'basemap', type: 'raster', source: 'basemap', metadata: { group: 'basemap' } });
  }
  if (config.imagery.before) {
    sources['imagery-before'] = raster(config.imagery.before);
    layers.push({ id: 'imagery-before', type: 'raster', source: 'imagery-before', metadata: { group: 'imagery' } });
  }
  if (config.imagery.after) {
    sources['imagery-after'] = raster(config.imagery.after);
    layers.push({ id: 'imagery-after', type: 'raster', source: 'imagery-after', metadata: { group: 'imagery' }, paint: { 'raster-opacity': 1 } });
  }
  const g = (group: Group) => ({ metadata: { group } });
  const polygon: ExpressionSpecification = ['==', ['geometry-type'], 'Polygon'];
  const point: ExpressionSpecification = ['==', ['geometry-type'], 'Point'];
  layers.push(
    { id: 'villages-line', type: 'line', source: 'villages', 'source-layer': 'villages', ...g('villages'),
      paint: { 'line-color': '#5b5b73', 'line-width': ['interpolate', ['linear'], ['zoom'], 10, 1, 16, 2.5], 'line-dasharray': [4, 2] } },
    { id: 'green-fill', type: 'fill', source: 'green', 'source-layer': 'green', ...g('green'), filter: polygon,
      paint: { 'fill-color': '#7bbf6a', 'fill-opacity': 0.35 } },
    { id: 'green-line', type: 'line', source: 'green', 'source-layer': 'green', ...g('green'),
      paint: { 'line-color': '#3f8f3a', 'line-width': 1 } },
    { id: 'compounds-fill', type: 'fill', source: 'compounds', 'source-layer': 'compounds', ...g('compounds'), filter: polygon,
      paint: { 'fill-color': '#b39b6b', 'fill-opacity': 0.15 } },
    { id: 'compounds-line', type: 'line', source: 'compounds', 'source-layer': 'compounds', ...g('compounds'),
      paint: { 'line-color': '#7a5c1e', 'line-width': 2, 'line-dasharray': [1, 1] } },
    { id: 'frontage-fill', type: 'fill', source: 'frontage', 'source-layer': 'frontage', ...g('frontage'), filter: polygon,
      paint: { 'fill-color': '#F0E442', 'fill-opacity': 0.3 } },
    { id: 'frontage-line', type: 'line', source: 'frontage', 'source-layer': 'frontage', ...g('frontage'),
      paint: { 'line-color': '#b5a800', 'line-width': ['match', ['geometry-type'], 'LineString', 3, 1.2] } },
    { id: 'parcels-line', type: 'line', source: 'parcels', 'source-layer': 'parcels', ...g('parcels'), minzoom: 15,
      paint: { 'line-color': '#6f6f6f', 'line-width': ['interpolate', ['linear'], ['zoom'], 15, 0.4, 18, 1.2], 'line-opacity': 0.8 } },
    { id: 'parcels-label', type: 'symbol', source: 'parcels', 'source-layer': 'parcels', ...g('labels'), minzoom: 18.5,
      layout: { 'text-field': ['coalesce', ['get', 'holder'], ''], 'text-size': 10, 'text-font': ['sans-serif'] },
      paint: { 'text-color': '#555', 'text-halo-color': '#fff', 'text-halo-width': 1 } },
    { id: 'schools-fill', type: 'fill', source: 'schools', 'source-layer': 'schools', ...g('schools'), filter: polygon,
      paint: { 'fill-color': '#0072B2', 'fill-opacity': 0.18 } },
    { id: 'schools-line', type: 'line', source: 'schools', 'source-layer': 'schools', ...g('schools'),
      paint: { 'line-color': '#0072B2', 'line-width': 2 } },
    { id: 'schools-point', type: 'circle', source: 'schools', 'source-layer': 'schools', ...g('schools'), filter: point,
      paint: { 'circle-color': '#0072B2', 'circle-radius': 6, 'circle-stroke-color': '#fff', 'circle-stroke-width': 2 } },

    // survey polygons: everything that depends on status is paint (feature-state), so a decision shows at once
    { id: 'survey-fill', type: 'fill', source: 'survey', 'source-layer': 'survey', ...g('survey'),
      paint: {
        'fill-color': ['match', STATUS, ...Object.entries(STATUS_COLOR).flat(), '#E69F00'] as ExpressionSpecification,
        'fill-opacity': SURVEY_FILL_OPACITY,
      } },
    // patterns and dashes come from the tile (data-driven, not feature-state): they follow a decision when the
    // survey tiles reload a moment later; colour and width follow at once
    { id: 'survey-pattern', type: 'fill', source: 'survey', 'source-layer': 'survey', ...g('survey'), minzoom: 13,
      filter: ['in', ['get', 'status'], ['literal', Object.keys(STATUS_PATTERN)]],
      paint: { 'fill-pattern': ['match', ['get', 'status'], ...Object.entries(STATUS_PATTERN).flat(), 'pat-hatch'] as unknown as ExpressionSpecification } },
    { id: 'survey-line', type: 'line', source: 'survey', 'source-layer': 'survey', ...g('survey'),
      paint: {
        'line-color': ['match', STATUS, ...Object.entries(STATUS_COLOR).flatMap(([k, c]) => [k, k === 'dismissed' ? '#666666' : darker(c)]), '#b47c00'] as ExpressionSpecification,
        'line-width': ['interpolate', ['linear'], ['zoom'],
          11, ['case', isStatus('verified'), 1.5, 0.8],
          15, ['case', isStatus('verified'), 3, isStatus('dismissed'), 1, isStatus('pending'), 2, 2.5]],
        'line-dasharray': ['match', ['get', 'status'], 'pending', ['literal', [2.5, 1.5]], 'field_check', ['literal', [0.6, 1.2]], ['literal', [1, 0]]],
      } },
    // selection by feature-state too: moving through the queue never makes the worker lay out tiles again
    { id: 'survey-checked', type: 'line', source: 'survey', 'source-layer': 'survey', ...g('survey'), minzoom: 12,
      paint: { 'line-color': '#0072B2', 'line-width': 4, 'line-dasharray': [1.5, 1], 'line-opacity': stateOn('checked') } },
    { id: 'survey-selected-casing', type: 'line', source: 'survey', 'source-layer': 'survey', ...g('survey'), minzoom: 12,
      paint: { 'line-color': '#ffffff', 'line-width': 8, 'line-opacity': stateOn('selected') } },
    { id: 'survey-selected', type: 'line', source: 'survey', 'source-layer': 'survey', ...g('survey'), minzoom: 12,
      paint: { 'line-color': '#111111', 'line-width': 4, 'line-opacity': stateOn('selected') } },
    { id: 'survey-label', type: 'symbol', source: 'survey', 'source-layer': 'survey', ...g('labels'), minzoom: 16,
      layout: { 'text-field': ['get', 'code'], 'text-size': 11, 'text-font': ['sans-serif'], 'text-optional': true },
      paint: { 'text-color': '#222', 'text-halo-color': '#fff', 'text-halo-width': 1.5 } },
    { id: 'villages-label', type: 'symbol', source: 'villages', 'source-layer': 'village_labels', ...g('villages'),
      layout: { 'text-field': ['get', 'name'], 'text-size': ['interpolate', ['linear'], ['zoom'], 10, 12, 16, 18], 'text-font': ['sans-serif'] },
      paint: { 'text-color': '#3b3b55', 'text-halo-color': '#ffffff', 'text-halo-width': 2 } },
  );
  return { version: 8, sources, layers };
}

/** the outline a little darker than the fill, so it reads on light and dark imagery */
function darker(hex: string): string {
  const n = parseInt(hex.slice(1), 16);
  const f = (v: number) => Math.round(v * 0.78).toString(16).padStart(2, '0');
  return `#${f(n >> 16)}${f((n >> 8) & 255)}${f(n & 255)}`;
}

/** A custom layer added by an import (e.g. basic farmland): outlined in a colour of its own. */
export function customLayers(name: string, index: number): LayerSpecification[] {
  const colors = ['#009E73', '#7b3294', '#a6611a', '#018571', '#c51b7d'];
  const c = colors[index % colors.length];
  return [
    { id: `custom-${name}-fill`, type: 'fill', source: `custom-${name}`, 'source-layer': name, metadata: { group: `custom:${name}` },
      filter: ['==', ['geometry-type'], 'Polygon'], paint: { 'fill-color': c, 'fill-opacity': 0.12 } },
    { id: `custom-${name}-line`, type: 'line', source: `custom-${name}`, 'source-layer': name, metadata: { group: `custom:${name}` },
      paint: { 'line-color': c, 'line-width': 1.5, 'line-dasharray': [3, 1] } },
  ];
}
