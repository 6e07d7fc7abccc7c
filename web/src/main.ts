import './style.css';
import { ApiError, get, onAuthProblem } from './api';
import { h, mount } from './dom';
import { t } from './i18n';
import { showChangePassword, showLogin } from './login';
import type { User } from './types';
import { Workspace } from './workspace';
import { prefetch } from './queue-data';
import { parseHash, screenOf } from './url';
import { canSee } from './shell';

/**
 * Start: who is logged in (GET /api/auth/me) → the login screen, then the screen the hash names: the
 * workspace, the reviewer's dashboard or the quality check. For the workspace the map code (and MapLibre,
 * its own chunk) starts loading at once, in parallel with that question.
 */
const root = document.getElementById('app')!;
// a reviewer's home is the coverage dashboard
const REVIEWER_HOME = '#/dashboard';
let screen = screenOf(location.hash);
const mapModule = import('./map/view');
mapModule.catch(() => undefined);
// the queue's first page and the map configuration, asked for together with "who is logged in?"
let pre: ReturnType<typeof prefetch> | undefined = screen === 'workspace' ? prefetch(parseHash(location.hash)) : undefined;
// screens are separate pages of one app: moving between them (a link, Back) starts the new one afresh
addEventListener('hashchange', () => {
  if (screenOf(location.hash) !== screen) location.reload();
});

async function currentUser(): Promise<User | undefined> {
  try {
    return (await get<{ user: User }>('/api/auth/me', { quiet: true })).user;
  } catch (e) {
    if (e instanceof ApiError && (e.status === 401 || e.status === 403)) return undefined;
    throw e;
  }
}

async function boot() {
  let user: User | undefined;
  try {
    user = await currentUser();
  } catch (e) {
    mount(root, h('main', { class: 'center' }, h('div', { class: 'card' },
      h('h1', null, t('app.title')),
      h('p', { class: 'error' }, e instanceof ApiError ? e.text() : String(e)),
      h('button', { type: 'button', class: 'primary', onclick: () => location.reload() }, t('common.retry')))));
    return;
  }
  if (!user || user.must_change_password) pre = undefined; // those answered 401/403: ask again after login
  if (!user) user = await showLogin(root);
  if (user.must_change_password) user = await showChangePassword(root, user);
  if (!location.hash && user.role === 'reviewer') {
    history.replaceState(null, '', REVIEWER_HOME);
    screen = 'dashboard';
  }
  if (screen !== 'workspace' && !canSee(user, screen)) {
    history.replaceState(null, '', '#/');
    screen = 'workspace';
  }
  const ws = screen === 'dashboard'
    ? new (await import('./dashboard/page')).Dashboard(root, user)
    : screen === 'qc'
      ? new (await import('./dashboard/qc')).QcScreen(root, user)
      : screen === 'cases'
        ? new (await import('./cases/screen')).CasesScreen(root, user)
        : screen === 'villages'
          ? new (await import('./villages/screen')).VillagesScreen(root, user)
          : new Workspace(root, user, mapModule, pre);
  // the session ended (logged out elsewhere, expired, disabled): back to the login screen, keeping the link
  let relogging = false;
  onAuthProblem((e) => {
    if (relogging) return;
    relogging = true;
    const notice = e.code === 'password_change_required' ? undefined : t('login.sessionEnded');
    void (e.code === 'password_change_required' ? showChangePassword(root, user!) : showLogin(root, notice)).then(() => location.reload());
  });
  await ws.start();
}

void boot();
