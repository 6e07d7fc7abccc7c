/**
 * The case's polygons on a small MapLibre map (issue 13 item 2): no basemap, nothing fetched, the outlines
 * fitted to the frame with their codes as HTML labels. A click on a polygon opens it in the workspace.
 */
import { Map as MapLibreMap, Marker, NavigationControl, setWorkerUrl, type LngLatBoundsLike } from 'maplibre-gl';
import 'maplibre-gl/dist/maplibre-gl.css';
import workerUrl from 'maplibre-gl/dist/maplibre-gl-worker.mjs?url';
import { h } from '../dom';
import type { CasePolygon } from './types';

setWorkerUrl(workerUrl);

/** the workspace on one polygon, whatever its status */
export const workspaceHref = (p: { id: number }) => `#/?p=${p.id}&status=all`;

function bounds(polys: CasePolygon[]): LngLatBoundsLike | undefined {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  const walk = (c: unknown): void => {
    if (Array.isArray(c) && typeof c[0] === 'number') {
      x0 = Math.min(x0, c[0] as number); x1 = Math.max(x1, c[0] as number);
      y0 = Math.min(y0, c[1] as number); y1 = Math.max(y1, c[1] as number);
    } else if (Array.isArray(c)) c.forEach(walk);
  };
  polys.forEach((p) => walk(p.geometry?.coordinates));
  return Number.isFinite(x0) ? [[x0, y0], [x1, y1]] : undefined;
}

/** the label point: the middle of the polygon's bounding box (enough for a code beside a small outline) */
function middle(p: CasePolygon): [number, number] | undefined {
  const b = bounds([p]) as [[number, number], [number, number]] | undefined;
  return b ? [(b[0][0] + b[1][0]) / 2, (b[0][1] + b[1][1]) / 2] : undefined;
}

export function caseMap(container: HTMLElement, polys: CasePolygon[]): { resize(): void } {
  const fc = {
    type: 'FeatureCollection' as const,
    features: polys.filter((p) => p.geometry).map((p) => ({ type: 'Feature' as const, id: p.id, geometry: p.geometry as any, properties: { id: p.id, code: p.code } })),
  };
  const map = new MapLibreMap({
    container,
    style: {
      version: 8,
      sources: { polys: { type: 'geojson', data: fc } },
      layers: [
        { id: 'bg', type: 'background', paint: { 'background-color': '#f3f5f8' } },
        { id: 'fill', type: 'fill', source: 'polys', paint: { 'fill-color': '#CC79A7', 'fill-opacity': 0.45 } },
        { id: 'line', type: 'line', source: 'polys', paint: { 'line-color': '#7a2f63', 'line-width': 2 } },
      ],
    },
    bounds: bounds(polys),
    fitBoundsOptions: { padding: 40, maxZoom: 18 },
    attributionControl: false,
    dragRotate: false,
    pitchWithRotate: false,
    fadeDuration: 0,
  });
  map.addControl(new NavigationControl({ showCompass: false }), 'top-right');
  map.on('click', 'fill', (e) => {
    const id = Number(e.features?.[0]?.properties?.id);
    if (id) location.href = workspaceHref({ id });
  });
  map.on('mouseenter', 'fill', () => (map.getCanvas().style.cursor = 'pointer'));
  map.on('mouseleave', 'fill', () => (map.getCanvas().style.cursor = ''));
  for (const p of polys) {
    const at = middle(p);
    if (!at) continue;
    new Marker({ element: h('a', { class: 'case-map-label', href: workspaceHref(p) }, p.code), anchor: 'center' }).setLngLat(at).addTo(map);
  }
  map.once('load', () => container.setAttribute('data-ready', '1'));
  return { resize: () => map.resize() };
}
