/**
 * A light map for a phone: the polygon, the phone's position with its accuracy circle and a line to the
 * nearest point of the polygon, drawn in SVG over an optional raster basemap (the configured XYZ/WMTS
 * tiles; none by default — the page needs no internet) and the survey imagery when there is some (issue 16
 * item 12: the after date, else the before). Web Mercator, north up, integer zooms; drag to pan,
 * pinch/wheel/buttons to zoom. A few kilobytes instead of a WebGL map library.
 */
import { h, s } from './dom';
import { t } from './i18n';
import { bboxOf, polygonsOf, type Area, type LonLat } from './geo';
import type { Fix } from './locate';
import type { Epoch, Imagery, MapSource } from './types';
import { authHeaders } from './api';

const TILE = 256;
const MIN_Z = 3;
const MAX_Z = 21;
const MAX_TILE_Z = 19;

const worldSize = (z: number) => TILE * 2 ** z;
function project([lon, lat]: LonLat, z: number): [number, number] {
  const w = worldSize(z);
  const sin = Math.min(Math.max(Math.sin((lat * Math.PI) / 180), -0.9999), 0.9999);
  return [((lon + 180) / 360) * w, (0.5 - Math.log((1 + sin) / (1 - sin)) / (4 * Math.PI)) * w];
}
function unproject([x, y]: [number, number], z: number): LonLat {
  const w = worldSize(z);
  const lon = (x / w) * 360 - 180;
  const lat = (Math.atan(Math.sinh(Math.PI * (1 - (2 * y) / w))) * 180) / Math.PI;
  return [lon, lat];
}
/** metres per pixel at a latitude */
const mpp = (lat: number, z: number) => (40_075_016.686 * Math.cos((lat * Math.PI) / 180)) / worldSize(z);

function quadkey(x: number, y: number, z: number) {
  let q = '';
  for (let i = z; i > 0; i--) {
    let d = 0;
    const m = 1 << (i - 1);
    if (x & m) d += 1;
    if (y & m) d += 2;
    q += d;
  }
  return q;
}

export interface Layer {
  geometry: Area;
  kind: 'main' | 'other' | 'parcel';
  label?: string;
}

/** One raster layer of tiles: the basemap, or the imagery above it. */
interface Raster {
  source: MapSource;
  el: HTMLDivElement;
  imgs: Map<string, HTMLImageElement>;
  /** our own tiles (/tiles/imagery/…) are fetched with the page's credentials: a link's token is a header */
  auth: boolean;
  minZ: number;
  maxZ: number;
  bounds?: [number, number, number, number];
}

const usable = (m: MapSource | null | undefined): m is MapSource => m?.kind === 'xyz' && !!m.tiles?.length;
const sameOrigin = (u: string) => u.startsWith('/') || u.startsWith(`${location.origin}/`);

/** The imagery the field map draws: the after date (what is there now), else the before. */
export function fieldImagery(im: Imagery | undefined): { epoch: Epoch; source: MapSource } | null {
  if (usable(im?.after)) return { epoch: 'after', source: im!.after! };
  if (usable(im?.before)) return { epoch: 'before', source: im!.before! };
  return null;
}

export class FieldMap {
  readonly el: HTMLDivElement;
  private svg: SVGSVGElement;
  private scaleEl: HTMLDivElement;
  private rasters: Raster[] = [];
  private z = 17;
  private center: LonLat = [105.93, 29.4];
  private layers: Layer[] = [];
  private me: Fix | null = null;
  private nearest: LonLat | null = null;
  private target: LonLat | null = null;
  /** the user moved the map: stop fitting it on every fix */
  private touched = false;
  private pointers = new Map<number, { x: number; y: number }>();
  private pinchStart: { d: number; z: number } | null = null;

  constructor(basemap: MapSource | null, imagery?: { epoch: Epoch; source: MapSource; label: string } | null) {
    const raster = (source: MapSource, cls: string): Raster => ({
      source, el: h('div', { class: `tiles ${cls}`, 'aria-hidden': 'true' }), imgs: new Map(), auth: sameOrigin(source.tiles![0]),
      minZ: source.minzoom ?? 0, maxZ: Math.min(source.maxzoom ?? MAX_TILE_Z, MAX_TILE_Z), bounds: source.bounds,
    });
    if (usable(basemap)) this.rasters.push(raster(basemap, 'basemap'));
    if (imagery && usable(imagery.source)) this.rasters.push(raster(imagery.source, 'imagery'));
    this.svg = s('svg', { class: 'overlay', role: 'img', 'aria-label': t('map.polygon') });
    this.scaleEl = h('div', { class: 'scale' });
    const btn = (label: string, text: string, fn: () => void, cls = '') =>
      h('button', { type: 'button', class: `map-btn ${cls}`, title: label, 'aria-label': label, onclick: (e: Event) => { e.stopPropagation(); fn(); } }, text);
    const hasImagery = this.rasters.some((r) => r.el.classList.contains('imagery'));
    this.el = h('div', { class: `map${this.rasters.length ? '' : ' no-basemap'}${hasImagery ? ' over-imagery' : ''}` },
      this.rasters.map((r) => r.el), this.svg, this.scaleEl,
      hasImagery && imagery ? h('div', { class: 'imagery-date', 'data-epoch': imagery.epoch }, imagery.label) : null,
      h('div', { class: 'map-btns' },
        btn(t('map.zoomIn'), '+', () => this.zoomBy(1)),
        btn(t('map.zoomOut'), '−', () => this.zoomBy(-1)),
        btn(t('map.fit'), '⤢', () => { this.touched = false; this.fit(); }, 'fit')));
    this.el.addEventListener('pointerdown', (e) => this.down(e));
    this.el.addEventListener('pointermove', (e) => this.move(e));
    for (const ev of ['pointerup', 'pointercancel', 'pointerleave'] as const) this.el.addEventListener(ev, (e) => this.up(e));
    this.el.addEventListener('wheel', (e) => {
      e.preventDefault();
      this.zoomBy(e.deltaY < 0 ? 1 : -1);
    }, { passive: false });
    this.el.addEventListener('dblclick', () => this.zoomBy(1));
    new ResizeObserver(() => this.render()).observe(this.el);
  }

  /** refit: false when only the background (parcel lines) arrived, so a map the user moved stays put */
  setLayers(layers: Layer[], target: LonLat | null, refit = true) {
    this.layers = layers;
    this.target = target;
    if (refit) this.fit();
    else this.render();
  }

  setMe(fix: Fix | null, nearest: LonLat | null) {
    const first = !this.me && fix;
    this.me = fix;
    this.nearest = nearest;
    if (first && !this.touched) this.fit();
    else this.render();
  }

  /** The polygon and the phone when they are within a few km of each other, else the polygon. */
  fit() {
    const main = this.layers.filter((l) => l.kind === 'main').map((l) => l.geometry);
    const gs = main.length ? main : this.layers.map((l) => l.geometry);
    if (!gs.length) return this.render();
    const pts: LonLat[] = [];
    if (this.me && this.nearest) {
      const [a, b, c, d] = bboxOf(gs);
      const far = Math.max(Math.abs(this.me.lon - (a + c) / 2), Math.abs(this.me.lat - (b + d) / 2)) > 0.03;
      if (!far) pts.push([this.me.lon, this.me.lat]);
    }
    const [a, b, c, d] = bboxOf(gs, pts);
    const w = this.el.clientWidth || 360;
    const hh = this.el.clientHeight || 300;
    let z = MAX_Z - 2;
    for (; z > MIN_Z; z--) {
      const p0 = project([a, d], z);
      const p1 = project([c, b], z);
      if (p1[0] - p0[0] <= w - 80 && p1[1] - p0[1] <= hh - 80) break;
    }
    this.z = z;
    const m0 = project([a, d], z);
    const m1 = project([c, b], z);
    this.center = unproject([(m0[0] + m1[0]) / 2, (m0[1] + m1[1]) / 2], z);
    this.render();
  }

  private zoomBy(dz: number) {
    const z = Math.max(MIN_Z, Math.min(MAX_Z, this.z + dz));
    if (z === this.z) return;
    this.touched = true;
    this.z = z;
    this.render();
  }

  private down(e: PointerEvent) {
    if ((e.target as Element).closest('.map-btn')) return;
    this.el.setPointerCapture(e.pointerId);
    this.pointers.set(e.pointerId, { x: e.clientX, y: e.clientY });
    if (this.pointers.size === 2) {
      const [p, q] = [...this.pointers.values()];
      this.pinchStart = { d: Math.hypot(p.x - q.x, p.y - q.y), z: this.z };
    }
  }

  private move(e: PointerEvent) {
    const prev = this.pointers.get(e.pointerId);
    if (!prev) return;
    const cur = { x: e.clientX, y: e.clientY };
    this.pointers.set(e.pointerId, cur);
    if (this.pointers.size === 2 && this.pinchStart) {
      const [p, q] = [...this.pointers.values()];
      const ratio = Math.hypot(p.x - q.x, p.y - q.y) / Math.max(1, this.pinchStart.d);
      const z = Math.max(MIN_Z, Math.min(MAX_Z, this.pinchStart.z + Math.round(Math.log2(ratio))));
      if (z !== this.z) {
        this.touched = true;
        this.z = z;
        this.render();
      }
      return;
    }
    const dx = cur.x - prev.x;
    const dy = cur.y - prev.y;
    if (!dx && !dy) return;
    this.touched = true;
    const c = project(this.center, this.z);
    this.center = unproject([c[0] - dx, c[1] - dy], this.z);
    this.render();
  }

  private up(e: PointerEvent) {
    this.pointers.delete(e.pointerId);
    if (this.pointers.size < 2) this.pinchStart = null;
  }

  render() {
    const w = this.el.clientWidth;
    const hh = this.el.clientHeight;
    if (!w || !hh) return;
    const z = this.z;
    const c = project(this.center, z);
    const ox = c[0] - w / 2;
    const oy = c[1] - hh / 2;
    const px = (p: LonLat | number[]): [number, number] => {
      const q = project([p[0], p[1]], z);
      return [q[0] - ox, q[1] - oy];
    };
    for (const r of this.rasters) this.renderTiles(r, z, ox, oy, w, hh);

    const k = 1 / mpp(this.center[1], z);
    const parts: SVGElement[] = [];
    const labels: SVGElement[] = [];
    // parcel lines under the polygons; their codes once there is room to read them
    const ordered = [...this.layers.filter((l) => l.kind === 'parcel'), ...this.layers.filter((l) => l.kind !== 'parcel')];
    for (const l of ordered) {
      if (l.kind === 'parcel' && l.label && z >= 19) {
        const [a, b, c2, d2] = bboxOf([l.geometry]);
        const [x, y] = px([(a + c2) / 2, (b + d2) / 2]);
        if (x > 0 && y > 0 && x < w && y < hh) labels.push(s('text', { x: x.toFixed(1), y: y.toFixed(1), class: 'parcel-label', 'text-anchor': 'middle' }, l.label));
      }
      const d = polygonsOf(l.geometry)
        .map((poly) => poly.map((ring) => ring.map((p, i) => `${i ? 'L' : 'M'}${px(p).map((v) => v.toFixed(1)).join(',')}`).join('') + 'Z').join(''))
        .join('');
      parts.push(s('path', { d, class: `poly ${l.kind}`, 'fill-rule': 'evenodd' }));
    }
    parts.push(...labels);
    if (this.target) {
      const [x, y] = px(this.target);
      parts.push(s('g', { class: 'target', transform: `translate(${x.toFixed(1)},${y.toFixed(1)})` },
        s('path', { d: 'M0,0 C-2,-8 -9,-12 -9,-19 A9,9 0 1 1 9,-19 C9,-12 2,-8 0,0 Z' }),
        s('circle', { cx: 0, cy: -19, r: 3.5, class: 'dot' })));
    }
    if (this.me) {
      const m = px([this.me.lon, this.me.lat]);
      if (this.nearest) {
        const n = px(this.nearest);
        parts.push(s('line', { x1: m[0].toFixed(1), y1: m[1].toFixed(1), x2: n[0].toFixed(1), y2: n[1].toFixed(1), class: 'to-polygon' }));
      }
      const r = Math.max(this.me.accuracy * k, 0);
      if (r > 6) parts.push(s('circle', { cx: m[0].toFixed(1), cy: m[1].toFixed(1), r: Math.min(r, 5000).toFixed(1), class: 'accuracy' }));
      parts.push(s('circle', { cx: m[0].toFixed(1), cy: m[1].toFixed(1), r: 8, class: 'me' }));
    }
    this.svg.setAttribute('viewBox', `0 0 ${w} ${hh}`);
    this.svg.setAttribute('width', String(w));
    this.svg.setAttribute('height', String(hh));
    this.svg.replaceChildren(...parts);
    this.renderScale(k);
  }

  private renderScale(pxPerM: number) {
    const target = 90 / pxPerM;
    const pow = 10 ** Math.floor(Math.log10(target));
    const nice = [1, 2, 5, 10].map((m) => m * pow).filter((m) => m <= target).pop() ?? pow;
    const width = nice * pxPerM;
    this.scaleEl.style.width = `${Math.round(width)}px`;
    this.scaleEl.textContent = nice >= 1000 ? `${nice / 1000} km` : `${nice} m`;
  }

  private renderTiles(r: Raster, z: number, ox: number, oy: number, w: number, hh: number) {
    // past the pyramid's last zoom its tiles are drawn larger; below its first, none are asked for
    const tz = Math.min(z, r.maxZ);
    const size = TILE * 2 ** (z - tz);
    const n = 2 ** tz;
    let x0 = Math.floor(ox / size);
    let y0 = Math.max(0, Math.floor(oy / size));
    let x1 = Math.floor((ox + w) / size);
    let y1 = Math.min(n - 1, Math.floor((oy + hh) / size));
    if (r.bounds) {
      // the imagery's extent: no request for a tile it does not have
      const [a, b] = project([r.bounds[0], r.bounds[3]], tz).map((v) => Math.floor(v / TILE));
      const [c, d] = project([r.bounds[2], r.bounds[1]], tz).map((v) => Math.floor(v / TILE));
      x0 = Math.max(x0, a);
      y0 = Math.max(y0, b);
      x1 = Math.min(x1, c);
      y1 = Math.min(y1, d);
    }
    const want = new Set<string>();
    const template = r.source.tiles![0];
    if (z >= r.minZ) {
      for (let ty = y0; ty <= y1; ty++) {
        for (let tx = x0; tx <= x1; tx++) {
          const wx = ((tx % n) + n) % n;
          const key = `${tz}/${wx}/${ty}@${tx}`;
          want.add(key);
          let img = r.imgs.get(key);
          if (!img) {
            const y = r.source.scheme === 'tms' ? n - 1 - ty : ty;
            const src = template.replace('{z}', String(tz)).replace('{x}', String(wx)).replace('{y}', String(y)).replace('{quadkey}', quadkey(wx, ty, tz));
            img = h('img', { alt: '', draggable: 'false', decoding: 'async', referrerpolicy: 'no-referrer' });
            const el = img;
            el.onerror = () => el.classList.add('missing');
            if (r.auth) void authedSrc(el, src);
            else el.src = src;
            r.imgs.set(key, img);
            r.el.appendChild(img);
          }
          img.style.transform = `translate(${Math.round(tx * size - ox)}px, ${Math.round(ty * size - oy)}px)`;
          img.style.width = img.style.height = `${size}px`;
        }
      }
    }
    for (const [key, img] of r.imgs) {
      if (!want.has(key)) {
        img.remove();
        if (img.src.startsWith('blob:')) URL.revokeObjectURL(img.src);
        r.imgs.delete(key);
      }
    }
  }
}

/**
 * A tile of our own server through fetch: an <img> cannot send a link's Authorization header. The service
 * worker answers it from its cache when offline (web-field/sw.ts).
 */
async function authedSrc(img: HTMLImageElement, src: string) {
  try {
    const res = await fetch(src, { headers: authHeaders(), credentials: 'same-origin' });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const url = URL.createObjectURL(await res.blob());
    // the tile left the view while it loaded: nothing holds it
    if (!img.isConnected) URL.revokeObjectURL(url);
    else img.src = url;
  } catch {
    img.classList.add('missing');
  }
}
