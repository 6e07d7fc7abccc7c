/**
 * /patrol — daily patrol on the phone (issue 16 items 8–10; 实施方案 五(一) 巡查登记台账, 六(三) 日常巡查).
 * Start (village, members); while the page is open the track is recorded, a point every ~10 s or 20 m;
 * "发现问题" records a finding at the current position (photo, category, note, 在建 → offer to open a case
 * with the stop order at once); "结束巡查" stores the patrol. Everything is kept in IndexedDB first and sent
 * exactly once (patrol-store.ts). Browsers do not record in the background: the page says so.
 */
import { api, ApiError } from './api';
import { showError, showLogin, type Shell } from './app';
import { h, mount, s, uuid } from './dom';
import { metresBetween, type LonLat } from './geo';
import { dateTime, lang, metres, t, type MessageKey } from './i18n';
import { freshFix, onPosition, type Fix } from './locate';
import { preparePhoto } from './photo';
import {
  addFinding, addPoint, allPatrols, endPatrol, findingsOf, onPatrolChange, openPatrol, putPatrol, retryAll, startPatrolQueue,
  type LocalFinding, type LocalPatrol, type TrackPoint,
} from './patrol-store';

/** a point every ~10 s or 20 m (issue 16 item 8) */
const EVERY_MS = 10_000;
const EVERY_M = 20;
/** a fix worse than this would draw a zigzag, not a track */
const WORST_ACCURACY_M = 100;
const CATEGORIES = ['construction', 'compound', 'school', 'other'] as const;
/** a metre of latitude in degrees (the sketch is drawn equirectangular, longitudes scaled by cos φ) */
const DEG_PER_M = 1 / 111_320;

let cleanup: (() => void)[] = [];
const stop = () => {
  cleanup.forEach((fn) => fn());
  cleanup = [];
};

export async function showPatrol(sh: Shell): Promise<void> {
  stop();
  document.title = t('patrol.title');
  void startPatrolQueue().catch(() => undefined);
  let villages: string[];
  let user = '';
  try {
    const r = await api<{ villages: string[]; user: string }>('GET', '/api/patrols/villages', { token: null });
    villages = r.body.villages;
    user = r.body.user;
  } catch (e) {
    if (e instanceof ApiError && (e.status === 401 || e.code === 'password_change_required')) {
      return showLogin(sh.body, () => void showPatrol(sh));
    }
    // offline and never cached: an open patrol still works (it needs no list)
    villages = [];
    if (!(await openPatrol())) return showError(sh.body, e, () => void showPatrol(sh));
  }
  const open = await openPatrol();
  if (open) return recording(sh, open);
  return startView(sh, villages, user);
}

const notice = () => h('p', { class: 'banner offline', 'data-background-note': '' }, t('patrol.background'));

function startView(sh: Shell, villages: string[], user: string) {
  const village = h('select', { id: 'patrol-village', name: 'village', required: true },
    villages.map((v) => h('option', { value: v }, v)));
  const members = h('input', { id: 'patrol-members', name: 'members', value: user, required: true, autocomplete: 'off' });
  const form = h('form', { class: 'card field-form patrol-start' },
    h('h2', null, t('patrol.title')),
    h('label', { class: 'note' }, t('patrol.village'), village),
    h('label', { class: 'note' }, t('patrol.members'), members),
    villages.length ? null : h('p', { class: 'error' }, t('patrol.noVillages')),
    h('button', { type: 'submit', class: 'primary big', 'data-start': '', disabled: !villages.length }, t('patrol.start')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const names = members.value.split(/[,，、;；\s]+/).map((x) => x.trim()).filter(Boolean).slice(0, 20);
    if (!names.length) return members.focus();
    const p: LocalPatrol = {
      client_id: uuid(), village: village.value, members: names, started_at: new Date().toISOString(), ended_at: null, track: [],
      state: 'open', error: null, tries: 0, next_at: 0, result: null,
    };
    await putPatrol(p);
    recording(sh, p);
  });
  const list = h('section', { class: 'card' }, h('h2', null, t('patrol.history')));
  mount(sh.body, nav(), notice(), form, list);
  document.body.dataset.ready = 'patrol-start';
  void renderHistory(list);
  cleanup.push(onPatrolChange(() => void renderHistory(list)));
}

function nav() {
  return h('p', { class: 'patrol-nav' }, h('a', { href: '/p', class: 'back' }, t('patrol.fieldLink')), h('span', { class: 'muted' }, '·'), h('strong', null, t('patrol.patrolLink')));
}

const trackLength = (tr: TrackPoint[]) => tr.reduce((sum, p, i) => (i ? sum + metresBetween([tr[i - 1][0], tr[i - 1][1]], [p[0], p[1]]) : 0), 0);
const clock = (ms: number) => {
  const sec = Math.max(0, Math.floor(ms / 1000));
  return `${String(Math.floor(sec / 3600)).padStart(2, '0')}:${String(Math.floor((sec % 3600) / 60)).padStart(2, '0')}:${String(sec % 60).padStart(2, '0')}`;
};

/** The track as a sketch: equal scale in both directions, findings as red dots, the phone as a blue one. */
function sketch(track: TrackPoint[], findings: LonLat[], me: LonLat | null): SVGSVGElement {
  const W = 350;
  const H = 200;
  const pts: LonLat[] = [...track.map((p) => [p[0], p[1]] as LonLat), ...findings, ...(me ? [me] : [])];
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'track-sketch', role: 'img', 'aria-label': t('patrol.track'), 'data-track-points': track.length });
  if (!pts.length) return svg;
  const k = Math.cos((pts[0][1] * Math.PI) / 180);
  const xs = pts.map((p) => p[0] * k);
  const ys = pts.map((p) => p[1]);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const span = Math.max(x1 - x0, y1 - y0, 50 * DEG_PER_M); // at least 50 m across
  const scale = Math.min((W - 30) / span, (H - 30) / span);
  const cx = (x0 + x1) / 2;
  const cy = (y0 + y1) / 2;
  const at = (p: LonLat) => [W / 2 + (p[0] * k - cx) * scale, H / 2 - (p[1] - cy) * scale].map((v) => Number(v.toFixed(1)));
  const dot = (p: LonLat, r: number, cls: string) => {
    const [x, y] = at(p);
    svg.appendChild(s('circle', { cx: x, cy: y, r, class: cls }));
  };
  if (track.length > 1) svg.appendChild(s('polyline', { points: track.map((p) => at([p[0], p[1]]).join(',')).join(' '), class: 'track-line' }));
  if (track.length) dot([track[0][0], track[0][1]], 5, 'track-start');
  for (const f of findings) dot(f, 7, 'track-finding');
  if (me) dot(me, 6, 'track-me');
  // a scale bar: 100 m, or 1 km on long patrols
  const m = span / DEG_PER_M > 3000 ? 1000 : 100;
  const px = m * DEG_PER_M * scale;
  svg.appendChild(s('line', { x1: 12, y1: H - 12, x2: (12 + px).toFixed(1), y2: H - 12, class: 'track-scale' }));
  svg.appendChild(s('text', { x: 12, y: H - 17, class: 'track-scale-label' }, metres(m)));
  return svg;
}

function recording(sh: Shell, p0: LocalPatrol) {
  stop();
  let p = p0;
  let last: TrackPoint | null = p.track.at(-1) ?? null;
  let fix: Fix | null = null;
  let findings: LocalFinding[] = [];
  const elapsed = h('strong', { 'data-elapsed': '' });
  const dist = h('strong', { 'data-distance': '' });
  const points = h('strong', { 'data-points': '' });
  const found = h('strong', { 'data-findings': '' });
  const gps = h('p', { class: 'muted small', 'data-gps': '' }, t('patrol.gpsWaiting'));
  const map = h('div', { class: 'track-box' });
  const list = h('ul', { class: 'outbox patrol-findings' });
  const stat = (label: MessageKey, el: HTMLElement) => h('div', { class: 'stat' }, h('span', { class: 'muted small' }, t(label)), el);

  const draw = () => {
    elapsed.textContent = clock(Date.now() - Date.parse(p.started_at));
    dist.textContent = metres(trackLength(p.track));
    points.textContent = String(p.track.length);
    found.textContent = String(findings.length);
    mount(map, sketch(p.track, findings.map((f) => [f.lon, f.lat]), fix ? [fix.lon, fix.lat] : null));
    mount(list, findings.map(findingRow));
  };
  let loads = 0;
  const reload = async () => {
    const run = ++loads;
    const fs = await findingsOf(p.client_id);
    if (run !== loads) return;
    findings = fs;
    draw();
  };

  const take = (f: Fix) => {
    if (f.accuracy > WORST_ACCURACY_M) {
      gps.textContent = t('patrol.gpsPoor', { m: Math.round(f.accuracy) });
      return;
    }
    gps.textContent = t('patrol.gpsFix', { m: Math.round(f.accuracy) });
    const pt: TrackPoint = [Number(f.lon.toFixed(7)), Number(f.lat.toFixed(7)), f.at];
    if (last && pt[2] - last[2] < EVERY_MS && metresBetween([last[0], last[1]], [pt[0], pt[1]]) < EVERY_M) return;
    last = pt;
    p = { ...p, track: [...p.track, pt] };
    void addPoint(p.client_id, pt);
    draw();
  };
  cleanup.push(onPosition((f, problem) => {
    if (problem) gps.textContent = t('patrol.gpsDenied');
    if (!f) return;
    fix = f;
    take(f);
  }));
  const tick = setInterval(() => {
    elapsed.textContent = clock(Date.now() - Date.parse(p.started_at));
    // standing still: a point every ~10 s all the same, so the time on the track is right
    if (fix && Date.now() - (last?.[2] ?? 0) >= EVERY_MS) take({ ...fix, at: Date.now() });
  }, 1000);
  cleanup.push(() => clearInterval(tick));
  cleanup.push(onPatrolChange(() => void reload()));
  cleanup.push(keepAwake());

  const end = h('button', {
    type: 'button', class: 'btn end-patrol', 'data-end': '',
    onclick: async () => {
      if (!confirm(t('patrol.endConfirm'))) return;
      stop();
      await endPatrol(p.client_id);
      void showPatrol(sh);
    },
  }, t('patrol.end'));
  const findBtn = h('button', { type: 'button', class: 'primary big', 'data-find': '', onclick: () => findingForm(sh, p, async () => recording(sh, (await openPatrol()) ?? p)) }, t('patrol.find'));

  mount(sh.body, nav(), notice(),
    h('section', { class: 'card patrol-live', 'data-patrol': p.client_id },
      h('h2', null, t('patrol.summary', { village: p.village, members: p.members.join('、') })),
      h('div', { class: 'stats' }, stat('patrol.elapsed', elapsed), stat('patrol.distance', dist), stat('patrol.points', points), stat('patrol.findings', found)),
      gps, map, findBtn, end),
    h('section', { class: 'card' }, h('h2', null, t('patrol.findings')), list));
  document.body.dataset.ready = 'patrol-live';
  void reload();
}

/** The screen stays on while patrolling where the browser allows it (the track stops when it sleeps). */
function keepAwake(): () => void {
  type Lock = { release(): Promise<void> };
  const wl = (navigator as Navigator & { wakeLock?: { request(t: 'screen'): Promise<Lock> } }).wakeLock;
  if (!wl) return () => undefined;
  let lock: Lock | null = null;
  const get = () => void wl.request('screen').then((l) => (lock = l)).catch(() => undefined);
  const onVis = () => document.visibilityState === 'visible' && get();
  get();
  document.addEventListener('visibilitychange', onVis);
  return () => {
    document.removeEventListener('visibilitychange', onVis);
    void lock?.release().catch(() => undefined);
  };
}

function stateChip(state: string) {
  return h('span', { class: `qstate qs-${state === 'open' ? 'sending' : state}`, 'data-state': state }, t(`patrol.state.${state}` as MessageKey));
}

function findingRow(f: LocalFinding) {
  return h('li', { 'data-finding': f.client_id },
    h('div', { class: 'q-head' }, h('strong', null, t(`patrol.cat.${f.category}` as MessageKey)), stateChip(f.state)),
    h('div', { class: 'muted small' }, dateTime(Date.parse(f.found_at)), f.under_construction ? ` · ${t('patrol.uc')}：${t('patrol.yes')}` : ''),
    f.note ? h('div', { class: 'note-text' }, f.note) : null,
    f.result ? h('div', { class: 'small', 'data-lead': f.result.code }, t('patrol.lead', { code: f.result.code }), f.result.village ? ` · ${f.result.village}` : '') : null,
    f.result?.case_number ? h('div', { class: 'small ok', 'data-case': f.result.case_number }, t('patrol.case', { number: f.result.case_number, deadline: f.result.report_deadline ?? '' })) : null,
    f.result?.case_refused ? h('div', { class: 'small warn' }, t('patrol.caseRefused', { why: f.result.case_refused })) : null,
    waitOrError(f));
}

/** waiting (no network, a busy server): kept on the phone and sent later; refused: why */
function waitOrError(x: { state: string; error: { zh: string; en: string } | null }) {
  if (x.state === 'waiting' || x.state === 'sending') return h('div', { class: 'small patrol-wait' }, t('patrol.savedOffline'));
  if (x.state === 'failed' && x.error) return h('div', { class: 'small error' }, lang() === 'zh' ? x.error.zh : x.error.en);
  return null;
}

let historyRun = 0;
async function renderHistory(el: HTMLElement) {
  // renders overlap when changes come fast: only the latest one is shown
  const run = ++historyRun;
  const ps = (await allPatrols()).filter((p) => p.state !== 'open').slice(0, 20);
  const rows = await Promise.all(ps.map(async (p) => {
    const fs = await findingsOf(p.client_id);
    return h('li', { 'data-local-patrol': p.client_id },
      h('div', { class: 'q-head' }, h('strong', null, `${p.village} · ${dateTime(Date.parse(p.started_at))}`), stateChip(p.state)),
      h('div', { class: 'muted small' }, p.members.join('、'), ' · ', clock(Date.parse(p.ended_at ?? p.started_at) - Date.parse(p.started_at)), ' · ',
        metres(trackLength(p.track)), ' · ', t('patrol.findingN', { n: fs.length })),
      p.result ? h('div', { class: 'small', 'data-server-distance': p.result.distance_m }, t('patrol.serverDistance', { d: metres(p.result.distance_m) })) : null,
      h('div', { class: 'track-box small-box' }, sketch(p.track, fs.map((f) => [f.lon, f.lat]), null)),
      h('ul', { class: 'outbox patrol-findings' }, fs.map(findingRow)),
      p.state === 'failed' ? h('button', { type: 'button', class: 'btn', onclick: () => void retryAll() }, t('patrol.retry')) : null,
      waitOrError(p));
  }));
  if (run !== historyRun) return;
  mount(el, h('h2', null, t('patrol.history')), rows.length ? h('ul', { class: 'outbox patrol-history' }, rows) : h('p', { class: 'muted' }, t('patrol.none')));
}

function findingForm(sh: Shell, p: LocalPatrol, back: () => void | Promise<void>) {
  stop();
  const fix = freshFix();
  const lastPt = p.track.at(-1);
  const at = fix ? { lon: fix.lon, lat: fix.lat, accuracy: fix.accuracy } : lastPt ? { lon: lastPt[0], lat: lastPt[1], accuracy: null } : null;
  let photo: { blob: Blob; exif: Record<string, unknown> } | null = null;
  const file = h('input', { type: 'file', accept: 'image/*', capture: 'environment', class: 'hidden-file', 'data-photo-input': '' });
  const preview = h('div', { class: 'photos' });
  const shoot = h('button', { type: 'button', class: 'btn shoot', onclick: () => file.click() }, t('patrol.takePhoto'));
  file.addEventListener('change', async () => {
    const f = file.files?.[0];
    if (!f) return;
    const prepared = await preparePhoto(f);
    photo = { blob: prepared.blob, exif: prepared.exif };
    mount(preview, h('figure', { class: 'photo' }, h('img', { src: URL.createObjectURL(prepared.blob), alt: '' })));
    shoot.textContent = t('patrol.retake');
  });
  const radio = (name: string, value: string, label: string, checked = false) =>
    h('label', { class: 'choice' }, h('input', { type: 'radio', name, value, checked }), h('span', null, label));
  const cats = h('div', { class: 'choices' }, CATEGORIES.map((c, i) => radio('category', c, t(`patrol.cat.${c}` as MessageKey), i === 0)));
  const uc = h('div', { class: 'choices' }, radio('uc', 'yes', t('patrol.yes')), radio('uc', 'no', t('patrol.no'), true));
  const openCase = h('input', { type: 'checkbox', name: 'open_case', checked: true, 'data-open-case': '' });
  const party = h('input', { name: 'party', maxlength: 200, autocomplete: 'off' });
  const offer = h('div', { class: 'case-offer', hidden: true, 'data-case-offer': '' },
    h('label', { class: 'choice strong' }, openCase, h('span', null, t('patrol.openCase'))),
    h('p', { class: 'small' }, t('patrol.openCaseHint')),
    h('label', { class: 'note' }, t('patrol.party'), party));
  uc.addEventListener('change', () => {
    offer.hidden = (uc.querySelector('input:checked') as HTMLInputElement | null)?.value !== 'yes';
  });
  const note = h('textarea', { name: 'note', rows: 3, maxlength: 2000 });
  const err = h('p', { class: 'error', role: 'alert' }, at ? '' : t('patrol.noFix'));
  const form = h('form', { class: 'card field-form patrol-finding' },
    h('h2', null, t('patrol.findTitle')),
    at ? h('p', { class: 'muted small', 'data-finding-at': '' },
      t('patrol.at', { lat: at.lat.toFixed(6), lon: at.lon.toFixed(6), m: at.accuracy === null ? '?' : Math.round(at.accuracy) })) : null,
    h('div', { class: 'photo-field' }, h('span', { class: 'label' }, t('patrol.photo')), preview, file, shoot),
    h('fieldset', null, h('legend', null, t('patrol.category')), cats),
    h('label', { class: 'note' }, t('patrol.note'), note),
    h('fieldset', null, h('legend', null, t('patrol.uc')), uc),
    offer,
    err,
    h('button', { type: 'submit', class: 'primary big', 'data-save-finding': '', disabled: !at }, t('patrol.save')),
    h('button', { type: 'button', class: 'btn cancel', onclick: () => void back() }, t('patrol.cancel')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!at) return;
    const underConstruction = (uc.querySelector('input:checked') as HTMLInputElement).value === 'yes';
    await addFinding({
      client_id: uuid(), patrol_client_id: p.client_id, lon: at.lon, lat: at.lat, accuracy: at.accuracy, found_at: new Date().toISOString(),
      category: (cats.querySelector('input:checked') as HTMLInputElement).value, note: note.value.trim(),
      under_construction: underConstruction, open_case: underConstruction && openCase.checked, party: party.value.trim(),
      photo: photo?.blob ?? null, exif: photo?.exif ?? {},
    });
    await back();
  });
  mount(sh.body, form);
  document.body.dataset.ready = 'patrol-finding';
  window.scrollTo(0, 0);
}
