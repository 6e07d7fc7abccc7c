import {
  addProtocol, LngLatBounds, Map as MapLibre, NavigationControl, prewarm, ScaleControl, setWorkerUrl,
  type LayerSpecification, type MapGeoJSONFeature,
} from 'maplibre-gl';
import 'maplibre-gl/dist/maplibre-gl.css';
import workerUrl from 'maplibre-gl/dist/maplibre-gl-worker.mjs?url';
import { h } from '../dom';
import { lang, t, type MessageKey } from '../i18n';
import { STATUSES, type Epoch, type MapConfig, type Status, type TileLayerInfo } from '../types';
import { buildStyle, customLayers, GROUPS, HIDDEN_BY_DEFAULT, imageryMaxZoom, STATUS_COLOR, SURVEY_FILL_OPACITY, SURVEY_LAYERS } from './style';
import { epochLabel } from './epoch';
import type { SwipeCompare } from './compare';
import { patternImages } from './patterns';
import { MAP_INTERACTION } from './options';

// the bundle is not next to maplibre's own worker file: tell it where the build put it
setWorkerUrl(workerUrl);
// Start the tile worker now: this module loads at boot, in parallel with the login check and the queue's
// first page, so the worker script (~500 KB) is fetched and compiled while those are on the wire instead of
// after the map is created.
prewarm();

export interface MapViewOptions {
  container: HTMLElement;
  config: MapConfig;
  onSelect(id: number, modifiers: { toggle: boolean }): void;
  onBoxSelect(ids: number[], bbox: [number, number, number, number]): void;
  onMove(center: [number, number], zoom: number): void;
}

const HIDDEN_KEY = 'tuban.hiddenGroups';

/** Timing of the first complete render, for scripts/bench/web.ts and the browser tests. */
export interface MapMetrics {
  createdAt: number;
  /** style, worker and GL ready */
  loadedAt?: number;
  /** the first camera set (setInitialView) */
  cameraAt?: number;
  firstIdleAt?: number;
  surveyFeaturesAtFirstIdle?: number;
  /** when each source's last tile before the first idle arrived (ms since navigation start) */
  tilesAt?: Record<string, number>;
}

declare global {
  interface Window {
    __tuban?: { map?: MapLibre; metrics?: MapMetrics; firstIdle?: Promise<MapMetrics>; /** the swipe's before map, while open */ compare?: MapLibre };
  }
}

/** The MapLibre map of the workspace: our layers, selection, box selection, layer switcher, legend, imagery. */
export class MapView {
  readonly map: MapLibre;
  private checked = new Set<number>();
  private hidden: Set<string>;
  private customGroups: { name: string; title: string }[] = [];
  private refreshTimer?: ReturnType<typeof setTimeout>;
  private panel!: HTMLElement;
  private strip?: HTMLElement;
  readonly metrics: MapMetrics;
  /** the imagery date on top (T switches it), shown in a badge on the map */
  private epoch: Epoch | null;
  private badge?: HTMLElement;
  private compare?: SwipeCompare;
  private compareLoading?: Promise<void>;
  private styleReady = false;

  /** Use createMapView(): a PMTiles source needs its protocol before the first request. */
  constructor(private readonly o: MapViewOptions) {
    this.hidden = new Set(readHidden());
    this.epoch = o.config.imagery.after ? 'after' : o.config.imagery.before ? 'before' : null;
    const style = buildStyle({ origin: location.origin, config: o.config });
    for (const l of style.layers) {
      const g = (l.metadata as { group?: string } | undefined)?.group;
      if (g && this.hidden.has(g)) l.layout = { ...(l.layout ?? {}), visibility: 'none' } as never;
    }
    this.metrics = { createdAt: performance.now() };
    this.map = new MapLibre({
      container: o.container,
      style,
      // no tiles at zoom 0 (every source starts at 8 or more) until setInitialView()
      center: [105.93, 29.4],
      zoom: 0,
      maxZoom: 20,
      ...MAP_INTERACTION,
      locale: {
        'NavigationControl.ZoomIn': t('map.zoomIn'),
        'NavigationControl.ZoomOut': t('map.zoomOut'),
        'NavigationControl.ResetBearing': t('map.resetBearing'),
        'ScaleControl.Meters': t('map.unitM'),
        'ScaleControl.Kilometers': t('map.unitKm'),
      },
    });
    this.map.getCanvas().setAttribute('aria-label', t('map.label'));
    this.map.addControl(new NavigationControl({ showCompass: false }), 'top-right');
    this.map.addControl(new ScaleControl({ maxWidth: 120, unit: 'metric' }), 'bottom-right');
    for (const [name, img] of Object.entries(patternImages())) this.map.addImage(name, img, { pixelRatio: 1 });

    window.__tuban = { ...(window.__tuban ?? {}), map: this.map, metrics: this.metrics };
    window.__tuban.firstIdle = new Promise((resolve) => (this.resolveFirstIdle = resolve));
    this.map.once('load', () => {
      this.styleReady = true;
      this.metrics.loadedAt = performance.now();
    });
    const tilesAt: Record<string, number> = (this.metrics.tilesAt = {});
    const onData = (e: { dataType?: string; sourceId?: string; tile?: unknown }) => {
      if (e.dataType === 'source' && e.tile && e.sourceId) tilesAt[e.sourceId] = performance.now();
    };
    this.map.on('data', onData);
    void window.__tuban.firstIdle.then(() => this.map.off('data', onData));
    this.bindPointer();
    this.buildPanel();
    this.renderBadge();
    this.whenReady(() => this.applyImageryMode());
  }

  /** "后时相 2020-10-01": which imagery the analyst is looking at, always in sight while imagery is on */
  private renderBadge() {
    if (!this.epoch) return;
    this.badge ??= this.o.container.appendChild(h('div', { class: 'imagery-badge', role: 'status', title: t('imagery.badgeTitle') }));
    this.badge.dataset.epoch = this.epoch;
    this.badge.textContent = epochLabel(this.epoch, this.o.config.imagery[this.epoch]);
    this.badge.hidden = this.hidden.has('imagery') || !!this.compare;
  }

  /**
   * Over imagery the analyst looks at the picture: reference fills fade to a tint, survey fills get lighter,
   * outlines carry the information (and parcel lines turn white to read on dark ground).
   */
  private applyImageryMode() {
    const c = this.o.config.imagery;
    const on = !!(c.before || c.after) && !this.hidden.has('imagery');
    const set = (layer: string, prop: string, normal: unknown, over: unknown) => {
      if (this.map.getLayer(layer)) this.map.setPaintProperty(layer, prop as 'fill-opacity', (on ? over : normal) as never);
    };
    set('frontage-fill', 'fill-opacity', 0.3, 0.08);
    set('green-fill', 'fill-opacity', 0.35, 0.08);
    set('compounds-fill', 'fill-opacity', 0.15, 0);
    set('schools-fill', 'fill-opacity', 0.18, 0.05);
    set('survey-fill', 'fill-opacity', SURVEY_FILL_OPACITY, ['*', 0.35, SURVEY_FILL_OPACITY]);
    set('parcels-line', 'line-color', '#6f6f6f', '#ffffff');
  }

  private resolveFirstIdle?: (m: MapMetrics) => void;

  /** The first camera: a polygon's bbox, a centre/zoom from the link, or the survey's extent. */
  setInitialView(view: { bbox?: [number, number, number, number]; center?: [number, number]; zoom?: number }) {
    this.metrics.cameraAt = performance.now();
    if (view.bbox) this.fitTo(view.bbox, false);
    else this.map.jumpTo({ center: view.center ?? [105.93, 29.4], zoom: view.zoom ?? 13 });
    this.map.once('idle', () => {
      this.metrics.firstIdleAt ??= performance.now();
      this.metrics.surveyFeaturesAtFirstIdle ??= this.map.querySourceFeatures('survey', { sourceLayer: 'survey' }).length;
      this.resolveFirstIdle?.(this.metrics);
    });
    this.map.on('moveend', () => {
      const c = this.map.getCenter();
      this.o.onMove([c.lng, c.lat], this.map.getZoom());
    });
  }

  /** Custom layers from GET /tiles (any layer not built in), added when the list arrives. */
  addCustomLayers(layers: TileLayerInfo[]) {
    const builtin = new Set(['survey', 'parcels', 'frontage', 'villages', 'schools', 'compounds', 'green']);
    const custom = layers.filter((l) => !builtin.has(l.name));
    const add = () => {
      custom.forEach((l, i) => {
        const src = `custom-${l.name}`;
        if (this.map.getSource(src)) return;
        this.map.addSource(src, { type: 'vector', tiles: [`${location.origin}/tiles/${l.name}/{z}/{x}/{y}.mvt`], minzoom: l.minzoom, maxzoom: Math.max(l.minzoom, 14) });
        for (const layer of customLayers(l.name, i)) {
          if (this.hidden.has(`custom:${l.name}`)) (layer as LayerSpecification).layout = { visibility: 'none' };
          this.map.addLayer(layer, 'survey-fill');
        }
        this.customGroups.push({ name: l.name, title: lang() === 'zh' ? l.title_zh || l.name : l.title_en || l.name });
      });
      if (custom.length) this.buildPanel();
    };
    this.whenReady(add);
  }

  private bindPointer() {
    const map = this.map;
    for (const layer of ['survey-fill']) {
      map.on('mouseenter', layer, () => (map.getCanvas().style.cursor = 'pointer'));
      map.on('mouseleave', layer, () => (map.getCanvas().style.cursor = ''));
    }
    map.on('click', (e) => {
      const f = this.surveyAt([[e.point.x - 3, e.point.y - 3], [e.point.x + 3, e.point.y + 3]])[0];
      if (f?.id !== undefined) {
        const me = e.originalEvent;
        this.o.onSelect(Number(f.id), { toggle: me.shiftKey || me.ctrlKey || me.metaKey });
      }
    });

    // shift-drag: box selection (MapLibre's own box zoom is off)
    const canvas = map.getCanvasContainer();
    let start: { x: number; y: number } | null = null;
    let box: HTMLElement | null = null;
    const pos = (e: MouseEvent) => {
      const r = canvas.getBoundingClientRect();
      return { x: e.clientX - r.left - canvas.clientLeft, y: e.clientY - r.top - canvas.clientTop };
    };
    const onMove = (e: MouseEvent) => {
      if (!start) return;
      const p = pos(e);
      if (!box) {
        box = h('div', { class: 'boxselect' });
        canvas.appendChild(box);
      }
      const [x0, x1, y0, y1] = [Math.min(start.x, p.x), Math.max(start.x, p.x), Math.min(start.y, p.y), Math.max(start.y, p.y)];
      box.style.transform = `translate(${x0}px, ${y0}px)`;
      box.style.width = `${x1 - x0}px`;
      box.style.height = `${y1 - y0}px`;
    };
    const onUp = (e: MouseEvent) => {
      document.removeEventListener('mousemove', onMove);
      document.removeEventListener('mouseup', onUp);
      map.dragPan.enable();
      const s = start!;
      start = null;
      box?.remove();
      box = null;
      const p = pos(e);
      if (Math.abs(p.x - s.x) < 4 && Math.abs(p.y - s.y) < 4) return;
      const ids = [...new Set(this.surveyAt([[s.x, s.y], [p.x, p.y]]).map((f) => Number(f.id)))];
      const a = map.unproject([s.x, s.y]);
      const b = map.unproject([p.x, p.y]);
      this.o.onBoxSelect(ids, [Math.min(a.lng, b.lng), Math.min(a.lat, b.lat), Math.max(a.lng, b.lng), Math.max(a.lat, b.lat)]);
    };
    canvas.addEventListener('mousedown', (e) => {
      if (!e.shiftKey || e.button !== 0) return;
      e.preventDefault();
      e.stopPropagation();
      map.dragPan.disable();
      start = pos(e);
      document.addEventListener('mousemove', onMove);
      document.addEventListener('mouseup', onUp);
    }, true);
  }

  private surveyAt(box: [[number, number], [number, number]]): MapGeoJSONFeature[] {
    const layers = SURVEY_LAYERS.filter((l) => this.map.getLayer(l) && this.map.getLayoutProperty(l, 'visibility') !== 'none');
    if (!layers.length) return [];
    return this.map.queryRenderedFeatures(box, { layers: ['survey-fill'] }).filter((f) => f.id !== undefined);
  }

  private selectedId: number | null = null;

  setSelected(id: number | null) {
    const prev = this.selectedId;
    this.selectedId = id;
    if (prev !== null && prev !== id) this.state(prev, { selected: false });
    if (id !== null) this.state(id, { selected: true });
    this.compare?.setSelected(id);
  }

  setChecked(ids: number[]) {
    const next = new Set(ids);
    for (const id of this.checked) if (!next.has(id)) this.state(id, { checked: false });
    for (const id of next) if (!this.checked.has(id)) this.state(id, { checked: true });
    this.checked = next;
  }

  private state(id: number, s: Record<string, unknown>) {
    this.whenReady(() => this.map.setFeatureState({ source: 'survey', sourceLayer: 'survey', id }, s));
  }

  /** Shows a decision at once (feature-state), and reloads the survey tiles a moment later. */
  setStatus(id: number, status: Status) {
    this.state(id, { status });
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => this.map.refreshTiles('survey'), 800);
  }

  /**
   * The deepest a polygon is fitted at: with imagery, its last zoom of real pixels (deeper shows blur, shallower
   * wastes detail the analyst needs to judge the change); without, 18 (a small polygon then still has context).
   */
  private get fitMaxZoom() {
    const z = imageryMaxZoom(this.o.config);
    return z === undefined ? 18 : Math.min(z, 20);
  }

  fitTo(bbox: [number, number, number, number], animate = true) {
    const b = new LngLatBounds([bbox[0], bbox[1]], [bbox[2], bbox[3]]);
    // as deep as the polygon allows (all of it in view), never past the imagery's own zoom
    const maxZoom = this.fitMaxZoom;
    if (!animate) {
      const cam = this.map.cameraForBounds(b, { padding: 80, maxZoom });
      if (cam) this.map.jumpTo(cam);
      return;
    }
    const cam = this.map.cameraForBounds(b, { padding: 80, maxZoom });
    if (!cam) return;
    // a polygon already in view at a reasonable zoom: no need to move
    const cur = this.map.getBounds();
    if (cur.contains(b.getNorthEast()) && cur.contains(b.getSouthWest()) && Math.abs(this.map.getZoom() - (cam.zoom ?? 0)) < 1.5) return;
    this.map.easeTo({ ...cam, duration: 450 });
  }

  /**
   * After the style's first load. Not isStyleLoaded(): that is false again whenever a tile is loading (every
   * move, and imagery tiles take a while), and 'load' never comes twice — a selection made then was lost.
   */
  private whenReady(fn: () => void) {
    if (this.styleReady) fn();
    else this.map.once('load', fn);
  }

  // ---- layer switcher, legend, imagery ----

  private setGroupVisible(group: string, visible: boolean) {
    if (visible) this.hidden.delete(group);
    else this.hidden.add(group);
    try {
      localStorage.setItem(HIDDEN_KEY, JSON.stringify([...this.hidden]));
    } catch {
      /* ignore */
    }
    for (const l of this.map.getStyle().layers) {
      if ((l.metadata as { group?: string } | undefined)?.group === group) {
        this.map.setLayoutProperty(l.id, 'visibility', visible ? 'visible' : 'none');
      }
    }
    if (group === 'imagery') {
      this.applyImageryMode();
      this.renderBadge();
    }
  }

  private setImageryMix(v: number) {
    if (this.map.getLayer('imagery-after')) this.map.setPaintProperty('imagery-after', 'raster-opacity', v);
    // the badge names the date that dominates the blend
    if (this.o.config.imagery.before && this.o.config.imagery.after) {
      this.epoch = v >= 0.5 ? 'after' : 'before';
      this.renderBadge();
    }
  }

  /**
   * T: flip between the two imagery dates (the imagery is switched on if the analyst had hidden it). Returns the
   * date now shown, or null when there is only one (the caller says so).
   */
  toggleImagery(): Epoch | null {
    if (this.hidden.has('imagery')) this.showImageryGroup();
    const input = this.panel.querySelector<HTMLInputElement>('#imagery-mix');
    if (!input) return null;
    input.value = Number(input.value) >= 0.5 ? '0' : '1';
    this.setImageryMix(Number(input.value));
    return this.epoch;
  }

  private showImageryGroup() {
    this.setGroupVisible('imagery', true);
    const box = this.panel.querySelector<HTMLInputElement>('input[data-group=imagery]');
    if (box) box.checked = true;
  }

  get comparing() {
    return !!this.compare || !!this.compareLoading;
  }

  /**
   * Shift+T: the swipe (issue 15 item 3). A second map with the before imagery is laid over this one, which
   * shows the after imagery; the second is clipped at a draggable divider and both move together. Loaded on
   * first use: most sessions never open it.
   */
  openCompare(): Promise<void> {
    if (this.compare || this.compareLoading) return this.compareLoading ?? Promise.resolve();
    if (this.hidden.has('imagery')) this.showImageryGroup();
    this.compareLoading = import('./compare').then(({ SwipeCompare }) => {
      this.compare = new SwipeCompare({
        main: this.map,
        host: this.o.container.parentElement!,
        config: this.o.config,
        selectedId: this.selectedId,
        onClose: () => this.closeCompare(),
      });
      // the main map is the right-hand (after) side: the after imagery fully on top
      if (this.map.getLayer('imagery-after')) this.map.setPaintProperty('imagery-after', 'raster-opacity', 1);
      this.renderBadge();
    }).finally(() => (this.compareLoading = undefined));
    return this.compareLoading;
  }

  closeCompare() {
    if (!this.compare) return;
    this.compare.remove();
    this.compare = undefined;
    const input = this.panel.querySelector<HTMLInputElement>('#imagery-mix');
    if (input) this.setImageryMix(Number(input.value));
    this.renderBadge();
  }

  private buildPanel() {
    this.panel?.remove();
    const { config } = this.o;
    const groups: { id: string; label: string }[] = [];
    const has = { imagery: !!(config.imagery.before || config.imagery.after), basemap: !!config.basemap };
    for (const g of GROUPS) {
      if ((g === 'imagery' && !has.imagery) || (g === 'basemap' && !has.basemap)) continue;
      groups.push({ id: g, label: t(`layer.${g}` as MessageKey) });
    }
    for (const c of this.customGroups) groups.push({ id: `custom:${c.name}`, label: c.title });

    const layersBox = h('fieldset', { class: 'layers' },
      h('legend', null, t('map.layers')),
      groups.map((g) =>
        h('label', null,
          h('input', {
            type: 'checkbox', checked: !this.hidden.has(g.id), 'data-group': g.id,
            onchange: (e: Event) => this.setGroupVisible(g.id, (e.target as HTMLInputElement).checked),
          }),
          ' ', g.label, g.id === 'parcels' ? h('small', null, ` ${t('map.fromZoom', { z: 15 })}`) : null),
      ));

    const imagery = config.imagery.before && config.imagery.after
      ? h('div', { class: 'imagery' },
        h('label', { for: 'imagery-mix' }, t('map.imageryCompare')),
        h('div', { class: 'mix' },
          h('span', null, t('map.before')),
          h('input', {
            id: 'imagery-mix', type: 'range', min: 0, max: 1, step: 0.05, value: 1,
            'aria-label': t('map.imageryCompare'),
            oninput: (e: Event) => this.setImageryMix(Number((e.target as HTMLInputElement).value)),
          }),
          h('span', null, t('map.after'))),
        h('small', { class: 'dates' }, `${epochLabel('before', config.imagery.before)} · ${epochLabel('after', config.imagery.after)}`),
        h('small', null, t('map.imageryKey')))
      : null;

    const row = (cls: string, text: string, style?: string) =>
      h('div', { class: 'legend-row', role: 'listitem' }, h('span', { class: `swatch ${cls}`, style }), text);
    const statusRows = () => [
      ...STATUSES.map((s) => row(`st-${s}`, t(`status.${s}` as MessageKey), `--c:${STATUS_COLOR[s]}`)),
      row('sel', t('map.selected')),
      row('chk', t('map.checked')),
    ];
    const legend = h('div', { class: 'legend', role: 'list', 'aria-label': t('map.legend') },
      statusRows(),
      row('ref-frontage', t('layer.frontage')),
      row('ref-school', t('layer.schools')),
      row('ref-green', t('layer.green')),
      row('ref-compound', t('layer.compounds')),
      row('ref-village', t('layer.villages')));
    this.panel = h('details', { class: 'map-panel' },
      h('summary', null, t('map.layersAndLegend')),
      layersBox, imagery, legend,
      h('p', { class: 'hint' }, t('map.boxHint')));
    // the status legend stays in sight; the rest is one click away
    this.strip?.remove();
    this.strip = h('div', { class: 'legend-strip', role: 'list', 'aria-label': t('map.legend') }, statusRows());
    this.o.container.appendChild(this.strip);
    this.o.container.appendChild(this.panel);
  }
}

function readHidden(): string[] {
  try {
    const saved = localStorage.getItem(HIDDEN_KEY);
    if (saved === null) return [...HIDDEN_BY_DEFAULT];
    const v = JSON.parse(saved);
    return Array.isArray(v) ? v.filter((x) => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

let pmtilesRegistered: Promise<void> | undefined;
/** PMTiles archives (local file or URL) through their protocol; loaded only when one is configured. */
function registerPmtiles() {
  pmtilesRegistered ??= import('pmtiles').then(({ Protocol }) => {
    const protocol = new Protocol();
    addProtocol('pmtiles', protocol.tile);
  });
  return pmtilesRegistered;
}

export async function createMapView(o: MapViewOptions): Promise<MapView> {
  const all = [o.config.basemap, o.config.imagery.before, o.config.imagery.after];
  if (all.some((s) => s?.kind === 'pmtiles')) await registerPmtiles();
  return new MapView(o);
}
