/**
 * One polygon on site: where it is from here (map, distance, bearing, navigation), what it is (facts,
 * parcels and holders), the form to record what is there with photos, the outbox, and the history.
 */
import { api, ApiError, get, imageUrl } from './api';
import { h, mount, s, uuid } from './dom';
import { compass, navLinks, relate, type LonLat, type Relation } from './geo';
import { dateTime, label, metres, num, t, tMaybe } from './i18n';
import { freshFix, onPosition, type Fix, type LocProblem } from './locate';
import { cachedBanner, linkToken, loadWorklist, prefetchDetails, showError, showLogin, type Shell } from './app';
import { FieldMap, fieldImagery, type Layer } from './map';
import { chipsCard, epochLabel } from './chips';
import { preparePhoto } from './photo';
import { enqueue, items, onFindingSent, onQueueChange, retry, type QItem, type QPosition } from './queue';
import type { FieldPolygon, HistoryEvent, PhotoSummary, WorkItem, Worklist } from './types';

type MapInfo = Worklist['map'];

const FINDINGS = ['under_construction', 'completed', 'demolished', 'legal_with_permit', 'nothing_found', 'other'] as const;
/** a photo taken farther than this from the polygon is flagged */
const FAR_M = 100;

interface DraftPhoto {
  client_id: string;
  blob: Blob;
  url: string;
  width: number;
  height: number;
  captured_at: string;
  position: QPosition | null;
  exif: Record<string, unknown>;
  takenAt: string | null;
  exifPosition: LonLat | null;
  distance: number | null;
}

interface Draft {
  finding: string | null;
  note: string;
  photos: DraftPhoto[];
}

/** drafts survive a re-render (language switch) and a hash change, per polygon */
const drafts = new Map<number, Draft>();
const draftOf = (id: number) => {
  let d = drafts.get(id);
  if (!d) drafts.set(id, (d = { finding: null, note: '', photos: [] }));
  return d;
};

type Detail = FieldPolygon & { partial?: boolean };

async function load(code: string, worklist?: Worklist): Promise<Detail> {
  try {
    const r = await api<FieldPolygon>('GET', `/api/field/by-code/${encodeURIComponent(code)}`);
    const c = r.headers.get('x-tuban-cached');
    if (c) document.body.dataset.cached = c;
    else delete document.body.dataset.cached;
    return r.body;
  } catch (e) {
    // offline and this polygon's detail was never cached: what the worklist knows is enough to find it
    if (e instanceof ApiError && e.retryable) {
      const wl = worklist ?? (await loadWorklist().catch(() => undefined));
      const it = wl?.items.find((x) => x.code === code);
      if (it) return fromWorkItem(it);
    }
    throw e;
  }
}

function fromWorkItem(it: WorkItem): Detail {
  return {
    partial: true,
    polygon: {
      id: it.id, survey: it.survey, code: it.code, status: it.status, status_label: null, version: 0, village: it.village,
      area_m2: it.area_m2, area_mu: it.area_mu, flags: it.flags, removed: it.removed, geometry: it.geometry, target: it.target,
      bbox: [0, 0, 0, 0], parcels: it.holder ? [{ parcel_code: null, holder: it.holder, land_use: null, overlap_m2: 0, share: 0 }] : [],
    },
    history: [],
    evidence: [],
    findings: [],
  };
}

/**
 * The map sources: a link's worklist carries them; a logged-in user opening /p/<code> reads the map config
 * (basemap and imagery) beside the polygon. Without either, a map with no tiles.
 */
function mapInfo(o: { worklist?: Worklist }): MapInfo | Promise<MapInfo | undefined> {
  if (o.worklist) return o.worklist.map;
  if (linkToken) return { basemap: null };
  return get<MapInfo>('/api/config/map').catch(() => undefined);
}

export async function showPolygon(sh: Shell, o: { code: string; worklist?: Worklist }) {
  const body = sh.body;
  const info = mapInfo(o);
  // a link's worklist already holds the polygon's shape and main facts: show those at once (one round trip
  // less on a slow network), and complete them (parcels, history) when the detail arrives
  const item = o.worklist?.items.find((x) => x.code === o.code);
  const early = item ? render(sh, fromWorkItem(item), { ...o, map: o.worklist!.map }) : null;
  if (!early) mount(body, h('p', { class: 'boot' }, t('loc.waiting')));
  let d: Detail;
  let map: MapInfo | undefined;
  try {
    [d, map] = await Promise.all([load(o.code, o.worklist), info]);
  } catch (e) {
    if (early && e instanceof ApiError && e.retryable) return; // offline: what the worklist knows stays up
    if (e instanceof ApiError && (e.status === 401 || e.code === 'password_change_required') && !linkToken) {
      return showLogin(body, () => void showPolygon(sh, o));
    }
    if (e instanceof ApiError && e.status === 404) {
      return mount(body, h('section', { class: 'card error-card', 'data-error': 'not_found' },
        h('h2', null, t('app.notFound')), h('p', null, t('app.notFoundCode', { code: o.code }))));
    }
    return showError(body, e, () => void showPolygon(sh, o));
  }
  if (early && early.isConnected()) early.update(d);
  else if (!early) render(sh, d, { ...o, map });
  if (o.worklist) prefetchDetails(o.worklist);
  else if (!linkToken) void loadWorklist().then((wl) => prefetchDetails(wl)).catch(() => undefined);
}

function render(sh: Shell, d: Detail, o: { code: string; worklist?: Worklist; map?: MapInfo }) {
  let factsEl = facts(d, o.worklist);
  const p = d.polygon;
  const target: LonLat = p.target.coordinates as LonLat;
  const shown = fieldImagery(o.map?.imagery);
  const map = new FieldMap(o.map?.basemap ?? null, shown && { ...shown, label: epochLabel(shown.epoch, shown.source) });
  // what the satellite saw before and after, so the team knows what to look for (issue 15 item 4)
  const chips = chipsCard(p.id, p.code, o.map?.imagery);
  const dir = h('div', { class: 'direction', 'data-direction': '' }, h('p', { class: 'muted' }, t('loc.waiting')));
  const links = navLinks(target, p.code);
  const nav = h('nav', { class: 'navlinks', 'aria-label': t('nav.title') },
    h('a', { href: links.amap, target: '_blank', rel: 'noopener noreferrer', class: 'btn', 'data-nav': 'amap' }, t('nav.amap')),
    h('a', { href: links.baidu, target: '_blank', rel: 'noopener noreferrer', class: 'btn', 'data-nav': 'baidu' }, t('nav.baidu')),
    h('a', { href: links.geo, class: 'btn', 'data-nav': 'geo' }, t('nav.geo')));

  const outbox = h('ul', { class: 'outbox' });
  const historyEl = h('ol', { class: 'history' });
  const back = linkToken && o.worklist && o.worklist.items.length > 1
    ? h('a', { class: 'back', href: `/f/${linkToken}#` }, `‹ ${t('app.back')}`)
    : !linkToken ? h('a', { class: 'back', href: '/p' }, `‹ ${t('app.back')}`) : null;

  mount(sh.body,
    cachedBanner(),
    back,
    h('section', { class: 'where' }, map.el, dir, nav),
    factsEl,
    chips,
    form(d),
    h('section', { class: 'card' }, h('h2', null, t('queue.title')), outbox),
    h('section', { class: 'card' }, h('h2', null, t('history.title')), historyEl));

  const layersOf = (x: Detail['polygon']): Layer[] => [
    ...(x.nearby_parcels ?? []).map((c) => ({ geometry: c.geometry, kind: 'parcel' as const, label: c.parcel_code ?? undefined })),
    { geometry: x.geometry, kind: 'main' as const },
  ];
  map.setLayers(layersOf(p), target);
  renderHistory(historyEl, d.history, p.code);
  const refreshOutbox = () => void renderOutbox(outbox, p.id);
  refreshOutbox();
  const offQ = onQueueChange(refreshOutbox);
  const offSent = onFindingSent(async (f) => {
    if (f.polygon_id !== p.id) return;
    try {
      const fresh = await load(p.code, o.worklist);
      renderHistory(historyEl, fresh.history, p.code);
    } catch {
      /* offline again: the history catches up next time */
    }
  });

  let rel: Relation | null = null;
  const offPos = onPosition((fix, problem) => {
    rel = fix ? relate([fix.lon, fix.lat], p.geometry) : null;
    renderDirection(dir, fix, problem, rel);
    map.setMe(fix, rel && !rel.inside ? rel.nearest : null);
  });
  // stop listening when this view is replaced
  const obs = new MutationObserver(() => {
    if (!sh.body.isConnected || !sh.body.contains(dir)) {
      offPos();
      offQ();
      offSent();
      obs.disconnect();
    }
  });
  obs.observe(document.getElementById('app')!, { childList: true, subtree: true });
  document.body.dataset.ready = 'polygon';
  document.body.dataset.detail = d.partial ? 'partial' : 'full';
  mark('tuban-field-ready');
  return {
    isConnected: () => dir.isConnected,
    /** the full detail arrived: facts (status, parcels) and history complete */
    update(full: Detail) {
      const next = facts(full, o.worklist);
      factsEl.replaceWith(next);
      factsEl = next;
      renderHistory(historyEl, full.history, p.code);
      if (full.polygon.nearby_parcels?.length) map.setLayers(layersOf(full.polygon), target, false);
      document.body.dataset.detail = 'full';
    },
  };
}

/** for scripts/bench/field.ts: when the polygon was on screen, and when the distance to it first was */
function mark(name: string) {
  if (!performance.getEntriesByName(name).length) performance.mark(name);
}

function renderDirection(el: HTMLElement, fix: Fix | null, problem: LocProblem, rel: Relation | null) {
  if (!fix || !rel) {
    const msg = problem ? t(`loc.${problem}` as 'loc.denied') : t('loc.waiting');
    mount(el, h('p', { class: problem ? 'warn' : 'muted' }, msg));
    el.removeAttribute('data-distance');
    return;
  }
  el.dataset.distance = rel.distance.toFixed(1);
  mark('tuban-field-distance');
  el.dataset.bearing = rel.bearing === null ? '' : rel.bearing.toFixed(0);
  const acc = h('p', { class: 'muted small' }, t('loc.accuracy', { m: Math.round(fix.accuracy) }));
  if (rel.inside) {
    mount(el, h('div', { class: 'inside' }, h('strong', { class: 'big' }, t('loc.inside'))), acc);
    return;
  }
  const deg = rel.bearing!;
  const arrow = s('svg', { class: 'arrow', viewBox: '-20 -20 40 40', width: 44, height: 44, 'aria-hidden': 'true' },
    s('g', { transform: `rotate(${deg.toFixed(0)})` }, s('path', { d: 'M0,-17 L11,12 L0,6 L-11,12 Z' })));
  mount(el,
    h('div', { class: 'dist-row' }, arrow,
      h('div', null,
        h('strong', { class: 'big', 'data-distance-text': '' }, t('loc.distance', { d: metres(rel.distance) })),
        h('p', { class: 'toward' }, t('loc.toward', { dir: t(`dir.${compass(deg)}`), deg: Math.round(deg) })))),
    acc);
}

function facts(d: Detail, wl?: Worklist) {
  const p = d.polygon;
  const flags = p.flags.map((f) => h('span', { class: `chip flag-${f}` }, tMaybe(`flag.${f}`) ?? f));
  const parcels = p.parcels.length
    ? h('ul', { class: 'parcels' }, p.parcels.map((x) => h('li', null,
      h('strong', null, x.holder ?? '—'),
      x.parcel_code ? h('span', { class: 'muted' }, ` · ${x.parcel_code}`) : null,
      x.land_use ? h('span', { class: 'muted' }, ` · ${x.land_use}`) : null,
      x.share ? h('span', { class: 'muted' }, ` · ${t('facts.share', { p: `${Math.round(x.share * 100)}%` })}`) : null)))
    : h('p', { class: 'muted' }, t('facts.noParcel'));
  const who = wl?.who.kind === 'link' ? wl.who : null;
  return h('section', { class: 'card facts' },
    who ? h('p', { class: 'linkinfo' }, t('link.for', { label: who.label ?? `#${who.link_id}` }), ' · ', t('link.expires', { time: dateTime(who.expires_at) })) : null,
    h('h1', { class: 'code', 'data-code': p.code }, p.code),
    h('p', null,
      h('span', { class: `badge st-${p.status}` }, label(p.status_label, tMaybe(`status.${p.status}`) ?? p.status)),
      ' ', h('span', { class: 'muted' }, t('facts.survey', { s: p.survey }))),
    p.removed ? h('p', { class: 'warn' }, t('facts.removed')) : null,
    h('dl', null,
      h('dt', null, t('facts.area')), h('dd', null, `${num(p.area_m2, 0)} m² · ${num(p.area_mu, 2)} ${t('unit.mu')}`),
      h('dt', null, t('facts.village')), h('dd', null, p.village ?? '—'),
      flags.length ? [h('dt', null, t('facts.flags')), h('dd', null, flags)] : null,
      h('dt', null, t('facts.parcels')), h('dd', null, parcels)));
}

function captionText(code: string, at: string | null, pos: { lat: number; lon: number; accuracy?: number | null } | null) {
  const where = pos ? `${pos.lat.toFixed(5)}, ${pos.lon.toFixed(5)}${pos.accuracy ? ` ±${Math.round(pos.accuracy)}m` : ''}` : t('form.photoNoPos');
  return [code, dateTime(at, true), where];
}

function photoCard(img: HTMLImageElement, lines: string[], distance: number | null, extra?: HTMLElement | null) {
  const far = distance !== null && distance > FAR_M;
  return h('figure', { class: `photo${far ? ' far' : ''}`, 'data-distance': distance === null ? '' : distance.toFixed(0) },
    img,
    h('figcaption', { class: 'caption' }, lines.map((l) => h('span', null, l))),
    far ? h('p', { class: 'warn far-warning', role: 'alert' }, `⚠ ${t('form.photoFar', { d: metres(distance!) })}`) : null,
    extra ?? null);
}

const cameraIcon = () => s('svg', { class: 'icon', viewBox: '0 0 24 24', width: 22, height: 22, 'aria-hidden': 'true' },
  s('path', { d: 'M4 7h3l2-2.5h6L17 7h3a1 1 0 0 1 1 1v10a1 1 0 0 1-1 1H4a1 1 0 0 1-1-1V8a1 1 0 0 1 1-1z' }),
  s('circle', { cx: 12, cy: 13, r: 3.6 }));

function form(d: Detail) {
  const p = d.polygon;
  const draft = draftOf(p.id);
  const err = h('p', { class: 'error', role: 'alert' });
  const done = h('p', { class: 'ok', role: 'status' });
  const radios = FINDINGS.map((f) => {
    const input = h('input', { type: 'radio', name: 'finding', value: f, checked: draft.finding === f, onchange: () => { draft.finding = f; err.textContent = ''; } });
    return h('label', { class: `choice f-${f}` }, input, h('span', null, t(`finding.${f}`)));
  });
  const note = h('textarea', { name: 'note', rows: 3, maxlength: 2000, placeholder: t('form.notePlaceholder'), oninput: () => { draft.note = note.value; } });
  note.value = draft.note;
  const photosEl = h('div', { class: 'photos' });
  const file = h('input', { type: 'file', accept: 'image/*', capture: 'environment', multiple: true, class: 'hidden-file', 'data-photo-input': '' });
  const shoot = h('button', { type: 'button', class: 'btn shoot', onclick: () => file.click() });
  const drawPhotos = () => {
    mount(photosEl, draft.photos.map((ph) => photoCard(
      h('img', { src: ph.url, alt: '' }),
      captionText(p.code, ph.takenAt ?? ph.captured_at, ph.position ?? (ph.exifPosition ? { lat: ph.exifPosition[1], lon: ph.exifPosition[0] } : null)),
      ph.distance,
      h('button', { type: 'button', class: 'link remove', onclick: () => { draft.photos = draft.photos.filter((x) => x !== ph); URL.revokeObjectURL(ph.url); drawPhotos(); } }, t('form.removePhoto')),
    )));
    mount(shoot, cameraIcon(), draft.photos.length ? t('form.addPhoto') : t('form.takePhoto'));
  };
  drawPhotos();

  file.addEventListener('change', async () => {
    const files = [...(file.files ?? [])];
    file.value = '';
    for (const f of files) {
      const busy = h('p', { class: 'muted' }, t('form.photoReading'));
      photosEl.appendChild(busy);
      try {
        const capturedAt = new Date().toISOString();
        const fix = freshFix();
        const prep = await preparePhoto(f);
        const position: QPosition | null = fix ? { lat: fix.lat, lon: fix.lon, accuracy: fix.accuracy, at: new Date(fix.at).toISOString() } : null;
        const at = position ? ([position.lon, position.lat] as LonLat) : prep.exifPosition;
        draft.photos.push({
          client_id: uuid(), blob: prep.blob, url: URL.createObjectURL(prep.blob), width: prep.width, height: prep.height,
          captured_at: capturedAt, position, exif: prep.exif, takenAt: prep.takenAt, exifPosition: prep.exifPosition,
          distance: at ? relate(at, p.geometry).distance : null,
        });
      } catch {
        err.textContent = t('form.photoFailed');
      } finally {
        busy.remove();
      }
      drawPhotos();
    }
  });

  const submit = h('button', { type: 'submit', class: 'primary big', 'data-submit': '' }, t('form.submit'));
  const offlineHint = h('p', { class: 'banner offline', hidden: navigator.onLine }, t('app.offlineHint'));
  const net = () => {
    offlineHint.hidden = navigator.onLine;
  };
  window.addEventListener('online', net);
  window.addEventListener('offline', net);
  const off = onFindingSent((f) => {
    if (!offlineHint.isConnected) {
      off();
      window.removeEventListener('online', net);
      window.removeEventListener('offline', net);
    } else if (f.polygon_id === p.id && done.textContent) done.textContent = t('form.sentNow');
  });
  const el = h('form', { class: 'card field-form' },
    h('h2', null, t('form.title')),
    h('fieldset', null, h('legend', null, t('form.finding')), h('div', { class: 'choices' }, radios)),
    h('label', { class: 'note' }, t('form.note'), note),
    h('div', { class: 'photo-field' }, h('span', { class: 'label' }, t('form.photos')), photosEl, file, shoot),
    offlineHint, err, done, submit);
  el.addEventListener('submit', async (e) => {
    e.preventDefault();
    done.textContent = '';
    if (!draft.finding) return void (err.textContent = t('form.pickFinding'));
    if (draft.finding === 'other' && !draft.note.trim()) return void (err.textContent = t('form.noteRequired'));
    err.textContent = '';
    submit.disabled = true;
    const fix = freshFix();
    try {
      await enqueue({
        client_id: uuid(), polygon_id: p.id, polygon_code: p.code, token: linkToken,
        finding: draft.finding, note: draft.note.trim() || null, captured_at: new Date().toISOString(),
        position: fix ? { lat: fix.lat, lon: fix.lon, accuracy: fix.accuracy, at: new Date(fix.at).toISOString() } : null,
        photos: draft.photos.map((x) => x.client_id),
      }, draft.photos.map((x) => ({
        client_id: x.client_id, blob: x.blob, width: x.width, height: x.height, captured_at: x.captured_at, position: x.position, exif: x.exif,
      })));
      for (const x of draft.photos) URL.revokeObjectURL(x.url);
      draft.finding = null;
      draft.note = '';
      draft.photos = [];
      note.value = '';
      for (const r of radios) (r.querySelector('input') as HTMLInputElement).checked = false;
      drawPhotos();
      done.textContent = t('form.queued');
    } catch (x) {
      err.textContent = String(x);
    } finally {
      submit.disabled = false;
    }
  });
  return el;
}

async function renderOutbox(el: HTMLElement, polygonId: number) {
  const list = (await items(polygonId).catch(() => [] as QItem[])).filter((i) => i.kind === 'finding');
  const all = await items(polygonId).catch(() => [] as QItem[]);
  if (!list.length) return mount(el, h('li', { class: 'muted' }, t('queue.empty')));
  mount(el, list.map((f) => {
    if (f.kind !== 'finding') return null;
    const photos = all.filter((i) => i.kind === 'photo' && f.photos.includes(i.client_id));
    return h('li', { class: `q q-${f.state}`, 'data-client-id': f.client_id, 'data-state': f.state },
      h('div', { class: 'q-head' },
        h('strong', null, t('queue.finding', { f: t(`finding.${f.finding}` as 'finding.other') })),
        h('span', { class: `qstate qs-${f.state}` }, t(`queue.${f.state}`))),
      h('p', { class: 'muted small' }, dateTime(f.created_at, true),
        photos.length ? ` · ${t('form.photoCount', { n: photos.length })} (${photos.filter((x) => x.state === 'sent').length}/${photos.length} ${t('queue.sent')})` : ''),
      f.error && f.state !== 'sent' ? h('p', { class: f.state === 'failed' ? 'error small' : 'muted small' }, label(f.error)) : null,
      f.state === 'failed' ? h('button', { type: 'button', class: 'btn', onclick: () => void retry(f.client_id) }, t('queue.retry')) : null);
  }));
}

function thumb(ph: PhotoSummary, code: string) {
  const img = h('img', { alt: '', loading: 'lazy' });
  void imageUrl(ph.thumb).then((u) => { img.src = u; }).catch(() => img.classList.add('missing'));
  const pos = ph.position ? { lat: ph.position.lat, lon: ph.position.lon, accuracy: ph.position.accuracy_m }
    : ph.exif_position ? { lat: ph.exif_position.lat, lon: ph.exif_position.lon } : null;
  return photoCard(img, captionText(code, ph.taken_at ?? ph.captured_at, pos), ph.distance_m);
}

function renderHistory(el: HTMLElement, events: HistoryEvent[], code: string) {
  if (!events.length) return mount(el, h('li', { class: 'muted' }, t('history.empty')));
  mount(el, [...events].reverse().map((e) => {
    const pl = e.payload ?? {};
    const isFinding = e.action === 'field_finding';
    return h('li', { class: `ev ev-${e.action}`, 'data-action': e.action },
      h('div', { class: 'ev-head' },
        h('strong', null, isFinding && pl.finding_label ? `${label(e.action_label, e.action)}：${label(pl.finding_label)}` : label(e.action_label, e.action)),
        h('span', { class: 'muted small' }, `${dateTime(e.at)} · ${e.username}`)),
      e.reason_label ? h('p', null, label(e.reason_label)) : null,
      e.note ? h('p', { class: 'note-text' }, e.note) : null,
      isFinding && pl.photos?.length ? h('div', { class: 'photos' }, pl.photos.map((ph) => thumb(ph, code))) : null);
  }));
}
