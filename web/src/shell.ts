import { post } from './api';
import { h } from './dom';
import { lang, setLang, t, type MessageKey } from './i18n';
import type { User } from './types';

/** The screens of the web app; the hash says which one (screenOf in url.ts). */
export type Screen = 'workspace' | 'dashboard' | 'qc' | 'cases' | 'villages';

const SCREENS: { id: Screen; hash: string; key: MessageKey; roles: User['role'][] }[] = [
  { id: 'workspace', hash: '#/', key: 'nav.workspace', roles: ['admin', 'analyst', 'reviewer', 'field'] },
  { id: 'dashboard', hash: '#/dashboard', key: 'nav.dashboard', roles: ['admin', 'analyst', 'reviewer'] },
  { id: 'qc', hash: '#/qc', key: 'nav.qc', roles: ['admin', 'analyst', 'reviewer'] },
  // the case screens (issue 13): officers work cases, reviewers read them
  { id: 'cases', hash: '#/cases', key: 'nav.cases', roles: ['admin', 'analyst', 'reviewer'] },
  // the village register (issue 14 item 3): admins keep it, analysts and reviewers read it (GET's roles)
  { id: 'villages', hash: '#/villages', key: 'nav.villages', roles: ['admin', 'analyst', 'reviewer'] },
];

export const canSee = (user: User, s: Screen) => SCREENS.find((x) => x.id === s)!.roles.includes(user.role);

/**
 * The top bar every screen shares: title, the screens this role may open, who is logged in, language, log out.
 * `middle` is the screen's own live figure (the workspace's counts).
 */
export function topBar(user: User, active: Screen, o: { middle?: Node; help?: () => void } = {}): HTMLElement {
  const tabs = SCREENS.filter((s) => s.roles.includes(user.role));
  return h('header', { class: 'top' },
    h('h1', null, t('app.title')),
    tabs.length > 1
      ? h('nav', { class: 'screens', 'aria-label': t('nav.screens') },
        tabs.map((s) => h('a', { href: s.hash, class: 'screen-tab', 'aria-current': s.id === active ? 'page' : null }, t(s.key))))
      : null,
    o.middle ?? null,
    h('span', { class: 'spacer' }),
    user.is_demo ? h('span', { class: 'demo', title: t('app.demoTitle') }, t('app.demo')) : null,
    h('span', { class: 'who' }, `${user.display_name || user.username} · ${t(`role.${user.role}` as MessageKey)}`),
    o.help ? h('button', { type: 'button', class: 'link keys-btn', onclick: o.help, 'aria-keyshortcuts': '?' }, t('app.keys'), ' ', h('kbd', null, '?')) : null,
    h('button', {
      type: 'button', class: 'link', lang: lang() === 'zh' ? 'en' : 'zh',
      onclick: () => { setLang(lang() === 'zh' ? 'en' : 'zh'); location.reload(); },
    }, t('app.switchLang')),
    h('button', {
      type: 'button', class: 'link',
      onclick: async () => {
        await post('/api/auth/logout').catch(() => undefined);
        location.hash = '';
        location.reload();
      },
    }, t('app.logout')));
}
