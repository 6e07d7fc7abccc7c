import { prefetchChips } from './chips';
import { api, ApiError, replayThroughWorker, useLinkToken } from './api';
import { h, mount } from './dom';
import { dateTime, lang, setLang, t } from './i18n';
import { onQueueChange, pendingCount } from './queue';
import type { Worklist } from './types';

/**
 * What the views share: the header, login, errors, the worklist. The field page has three ways in:
 *   /p/<图斑编号>  one polygon, for a logged-in user (a link in a chat, a QR code on a village sheet)
 *   /p            the polygons still to visit in the user's villages
 *   /f/<token>    a signed link: its polygons only, no account (#<code> picks one of several)
 * Everything it reads is cached by the service worker; what it records goes through the outbox (queue.ts).
 */
const root = document.getElementById('app')!;
const path = location.pathname;
const linkMatch = /^\/f\/([A-Za-z0-9_-]{43})\/?$/.exec(path);
export const codeMatch = /^\/p\/([^/]+)\/?$/.exec(path);
export const linkToken = linkMatch ? linkMatch[1] : null;
useLinkToken(linkToken);

export interface Shell {
  header: HTMLElement;
  body: HTMLElement;
}

let rerender: () => void = () => undefined;
export const setRerender = (fn: () => void) => {
  rerender = fn;
};

let net: HTMLElement | null = null;
let offlineNote: HTMLElement | null = null;
let offlineReady = false;
function updateOfflineNote() {
  if (!offlineNote) return;
  offlineNote.hidden = !offlineReady;
  offlineNote.textContent = t('app.offlineReady');
}
async function updateNet() {
  if (!net) return;
  const n = await pendingCount().catch(() => 0);
  net.className = `net ${navigator.onLine ? 'on' : 'off'}`;
  net.textContent = `${navigator.onLine ? t('app.online') : t('app.offline')}${n ? ` · ${t('app.pending', { n })}` : ''}`;
  net.dataset.pending = String(n);
}
onQueueChange(() => void updateNet());
window.addEventListener('online', () => void updateNet());
window.addEventListener('offline', () => void updateNet());

function header(): HTMLElement {
  net = h('span', { class: 'net', 'data-net': '' });
  offlineNote = h('span', { class: 'offline-ready', 'data-offline-note': '', title: t('app.offlineReadyTitle') });
  void updateNet();
  updateOfflineNote();
  return h('header', { class: 'top' },
    h('a', { class: 'brand', href: linkToken ? `/f/${linkToken}` : '/p' }, t('app.title')),
    net,
    offlineNote,
    h('button', {
      type: 'button', class: 'lang', title: t('app.langTitle'),
      onclick: () => {
        setLang(lang() === 'zh' ? 'en' : 'zh');
        rerender();
      },
    }, t('app.lang')));
}

export function shell(): Shell {
  const body = h('main', { class: 'body' });
  const top = header();
  mount(root, top, body);
  return { header: top, body };
}

export function showError(body: HTMLElement, e: unknown, retry?: () => void) {
  const text = e instanceof ApiError ? e.text() : String(e);
  mount(body, h('section', { class: 'card error-card', 'data-error': e instanceof ApiError ? e.code : 'error' },
    h('h2', null, e instanceof ApiError && e.status === 410 ? t('link.refused') : t('app.error')),
    h('p', null, text),
    e instanceof ApiError && lang() === 'zh' && e.message ? h('p', { class: 'muted' }, e.message) : null,
    retry ? h('button', { type: 'button', class: 'primary', onclick: retry }, t('app.retry')) : null));
}

/** Login once; the session then slides for 30 days on this phone. */
export function showLogin(body: HTMLElement, onDone: () => void, notice?: string) {
  const user = h('input', { id: 'login-user', name: 'username', autocomplete: 'username', required: true, autocapitalize: 'none' });
  const pass = h('input', { id: 'login-pass', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const err = h('p', { class: 'error', role: 'alert' }, notice ?? '');
  const form = h('form', { class: 'card login' },
    h('h2', null, t('login.title')),
    h('p', { class: 'muted' }, t('login.subtitle')),
    h('label', null, t('login.username'), user),
    h('label', null, t('login.password'), pass),
    err,
    h('button', { type: 'submit', class: 'primary big' }, t('login.submit')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    err.textContent = '';
    try {
      const r = await api<{ user: { must_change_password: boolean } }>('POST', '/api/auth/login', { body: { username: user.value, password: pass.value }, token: null });
      if (r.body.user.must_change_password) return showPasswordChange(body, pass.value, onDone);
      onDone();
    } catch (x) {
      err.textContent = x instanceof ApiError ? x.text() : t('login.failed');
    }
  });
  mount(body, form);
  user.focus();
}

function showPasswordChange(body: HTMLElement, current: string, onDone: () => void) {
  const next = h('input', { type: 'password', autocomplete: 'new-password', minlength: 8, required: true });
  const err = h('p', { class: 'error', role: 'alert' });
  const form = h('form', { class: 'card login' },
    h('h2', null, t('password.title')),
    h('label', null, t('password.new'), next),
    err,
    h('button', { type: 'submit', class: 'primary big' }, t('password.submit')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await api('POST', '/api/auth/password', { body: { current_password: current, new_password: next.value }, token: null });
      onDone();
    } catch (x) {
      err.textContent = x instanceof ApiError ? x.text() : String(x);
    }
  });
  mount(body, form);
}

/** The worklist: kept by the service worker for offline use, and the details of its polygons prefetched. */
export async function loadWorklist(): Promise<Worklist> {
  const r = await api<Worklist>('GET', '/api/field/worklist');
  const cachedAt = r.headers.get('x-tuban-cached');
  if (cachedAt) document.body.dataset.cached = cachedAt;
  return r.body;
}

export function cachedBanner(): HTMLElement | null {
  const c = document.body.dataset.cached;
  return c ? h('p', { class: 'banner offline' }, t('app.cached', { time: dateTime(Number(c)) })) : null;
}

let prefetched = false;
/**
 * Warm the offline cache: the detail of each polygon to visit (two at a time, after the page is up) — for a
 * link, or a user limited to some villages; an office account seeing the whole town does not prefetch it.
 */
export function prefetchDetails(wl: Worklist) {
  if (prefetched || !navigator.onLine || !('serviceWorker' in navigator)) return;
  if (wl.who.kind === 'user' && !wl.who.villages) return;
  prefetched = true;
  const queue = wl.items.map((x) => x.id).slice(0, 100);
  const worker = async () => {
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
      await api('GET', `/api/field/polygons/${id}`).catch(() => undefined);
      // its imagery chips too: on site, offline, they show what to look for (issue 15 item 4)
      await prefetchChips([id], wl.map.imagery);
    }
  };
  setTimeout(() => void Promise.all([worker(), worker()]), 1500);
}

export function registerWorker() {
  if (!('serviceWorker' in navigator)) return;
  const scope = linkToken ? '/f/' : '/p';
  const sw = navigator.serviceWorker;
  sw.register('/field/sw.js', { scope })
    .then(async () => {
      // the worker claims the page once its precache is complete; what the page read before that is
      // fetched again through it, so this first visit is enough to open the page offline
      if (!sw.controller) await new Promise((done) => sw.addEventListener('controllerchange', done, { once: true }));
      await replayThroughWorker();
      offlineReady = true;
      document.body.dataset.offline = 'ready';
      updateOfflineNote();
    })
    .catch(() => undefined);
}

