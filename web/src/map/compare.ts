/**
 * The swipe compare (issue 15 item 3, Shift+T): the before imagery on the left of a draggable divider, the after
 * imagery on the right, the survey polygons over both, the two maps moving as one.
 *
 * Written here rather than with @maplibre/maplibre-gl-compare (0.5.0): its module entry requires Node's `events`
 * package, which is not installed and which Vite does not polyfill for the browser, and its prebuilt bundle
 * registers itself only on a global `window.maplibregl`, which the ES-module build of maplibre-gl 6 never
 * creates. What it does is small (two synced maps, a clip, a drag handle); doing it here also gives the divider a
 * keyboard (arrow keys, role=slider) and a clip-path instead of the deprecated CSS `clip`.
 */
import { Map as MapLibre, type StyleSpecification } from 'maplibre-gl';
import { h } from '../dom';
import { t } from '../i18n';
import type { MapConfig } from '../types';
import { epochLabel } from './epoch';
import { patternImages } from './patterns';
import { MAP_INTERACTION } from './options';

export interface CompareOptions {
  /** the workspace's map: it shows the after imagery and is the right-hand side */
  main: MapLibre;
  /** the element that holds the main map's container: the compare lays itself over it */
  host: HTMLElement;
  config: MapConfig;
  selectedId: number | null;
  onClose(): void;
}

const KEY_STEP = 0.05;

export class SwipeCompare {
  readonly el: HTMLElement;
  readonly map: MapLibre;
  private mapEl: HTMLElement;
  private divider: HTMLElement;
  private beforeLabel: HTMLElement;
  private afterLabel: HTMLElement;
  /** the divider's place, as a share of the width (kept on resize) */
  private share = 0.5;
  private selected: number | null;
  private readonly off: (() => void)[] = [];
  private loaded = false;

  constructor(private readonly o: CompareOptions) {
    const main = o.main;
    this.selected = o.selectedId;
    this.mapEl = h('div', { class: 'compare-map', 'aria-label': epochLabel('before', o.config.imagery.before) });
    this.beforeLabel = h('div', { class: 'compare-label before', 'data-epoch': 'before' }, epochLabel('before', o.config.imagery.before));
    this.afterLabel = h('div', { class: 'compare-label after', 'data-epoch': 'after' }, epochLabel('after', o.config.imagery.after));
    this.divider = h('div', {
      class: 'compare-divider', role: 'slider', tabindex: 0, 'aria-label': t('imagery.divider'),
      'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-orientation': 'horizontal',
    },
    h('span', { class: 'compare-handle', 'aria-hidden': 'true' }, '◀▶'),
    h('button', {
      type: 'button', class: 'compare-close', title: `${t('imagery.compareClose')} (Esc)`, 'aria-label': t('imagery.compareClose'),
      onclick: () => o.onClose(),
    }, '×'));
    this.el = h('div', { class: 'compare', 'data-compare': 'open' },
      this.mapEl, this.divider, this.beforeLabel, this.afterLabel,
      h('p', { class: 'compare-hint' }, t('imagery.compareHint')));
    // inside the main map's container, under its controls and panels (they stay usable)
    main.getContainer().appendChild(this.el);

    this.map = new MapLibre({
      container: this.mapEl,
      style: beforeStyle(main.getStyle()),
      center: main.getCenter(),
      zoom: main.getZoom(),
      bearing: main.getBearing(),
      maxZoom: main.getMaxZoom(),
      ...MAP_INTERACTION,
    });
    for (const [name, img] of Object.entries(patternImages())) this.map.addImage(name, img, { pixelRatio: 1 });
    this.map.getCanvas().setAttribute('aria-label', epochLabel('before', o.config.imagery.before));
    this.map.once('load', () => {
      this.loaded = true;
      this.setSelected(this.selected);
    });
    this.sync(main, this.map);
    this.bindDivider();
    const ro = new ResizeObserver(() => {
      this.map.resize();
      this.place();
    });
    ro.observe(this.el);
    this.off.push(() => ro.disconnect());
    this.place();
    (window.__tuban ??= {}).compare = this.map;
  }

  setSelected(id: number | null) {
    const prev = this.selected;
    this.selected = id;
    // before the first load the 'load' handler applies it (isStyleLoaded() is false while any tile loads)
    if (!this.loaded) return;
    const state = (fid: number, selected: boolean) => this.map.setFeatureState({ source: 'survey', sourceLayer: 'survey', id: fid }, { selected });
    if (prev !== null && prev !== id) state(prev, false);
    if (id !== null) state(id, true);
  }

  remove() {
    for (const f of this.off) f();
    this.map.remove();
    this.el.remove();
    if (window.__tuban?.compare) delete window.__tuban.compare;
  }

  /** One camera for both: whichever the analyst moves, the other follows within the same frame. */
  private sync(a: MapLibre, b: MapLibre) {
    let busy = false;
    const follow = (from: MapLibre, to: MapLibre) => () => {
      if (busy) return;
      busy = true;
      to.jumpTo({ center: from.getCenter(), zoom: from.getZoom(), bearing: from.getBearing(), pitch: from.getPitch() });
      busy = false;
    };
    const ab = follow(a, b);
    const ba = follow(b, a);
    a.on('move', ab);
    b.on('move', ba);
    this.off.push(() => a.off('move', ab), () => b.off('move', ba));
  }

  private bindDivider() {
    const d = this.divider;
    const toShare = (clientX: number) => {
      const r = this.el.getBoundingClientRect();
      return (clientX - r.left) / Math.max(1, r.width);
    };
    d.addEventListener('pointerdown', (e) => {
      if ((e.target as Element).closest('.compare-close')) return;
      e.preventDefault();
      d.setPointerCapture(e.pointerId);
      d.classList.add('dragging');
    });
    d.addEventListener('pointermove', (e) => {
      if (!d.hasPointerCapture(e.pointerId)) return;
      this.setShare(toShare(e.clientX));
    });
    const end = (e: PointerEvent) => {
      if (d.hasPointerCapture(e.pointerId)) d.releasePointerCapture(e.pointerId);
      d.classList.remove('dragging');
    };
    d.addEventListener('pointerup', end);
    d.addEventListener('pointercancel', end);
    d.addEventListener('keydown', (e) => {
      const step = e.key === 'ArrowLeft' ? -KEY_STEP : e.key === 'ArrowRight' ? KEY_STEP : e.key === 'Home' ? -1 : e.key === 'End' ? 1 : 0;
      if (!step) return;
      e.preventDefault();
      e.stopPropagation();
      this.setShare(this.share + step);
    });
  }

  /** Moves the divider (0 = all after, 1 = all before). */
  setShare(share: number) {
    this.share = Math.min(1, Math.max(0, share));
    this.place();
  }

  private place() {
    const w = this.el.clientWidth;
    const x = Math.round(this.share * w);
    // what lies right of the divider is cut away: the main map (after) shows through
    this.mapEl.style.clipPath = `inset(0 ${Math.max(0, w - x)}px 0 0)`;
    this.divider.style.transform = `translateX(${x}px)`;
    this.divider.setAttribute('aria-valuenow', String(Math.round(this.share * 100)));
    this.divider.setAttribute('aria-valuetext', `${epochLabel('before', this.o.config.imagery.before)} ${Math.round(this.share * 100)}%`);
    // each date beside the divider, on its own side, kept inside the map
    const gap = 14;
    const bw = this.beforeLabel.offsetWidth;
    const aw = this.afterLabel.offsetWidth;
    this.beforeLabel.style.transform = `translateX(${Math.max(4, x - gap - bw)}px)`;
    this.afterLabel.style.transform = `translateX(${Math.min(w - aw - 4, x + gap)}px)`;
    this.beforeLabel.hidden = x < 40;
    this.afterLabel.hidden = x > w - 40;
  }
}

/** The main map's style as it is now (layers switched on or off, custom layers, paint), with the before imagery only. */
function beforeStyle(style: StyleSpecification): StyleSpecification {
  const s = structuredClone(style);
  s.layers = s.layers.filter((l) => l.id !== 'imagery-after').map((l) =>
    l.id === 'imagery-before' ? { ...l, layout: { ...(l.layout ?? {}), visibility: 'visible' } } : l) as StyleSpecification['layers'];
  delete s.sources['imagery-after'];
  return s;
}
