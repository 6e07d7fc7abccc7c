import { ApiError, post } from './api';
import { h, mount } from './dom';
import { lang, setLang, t } from './i18n';
import type { User } from './types';

const langSwitch = () =>
  h('button', {
    type: 'button', class: 'link lang',
    onclick: () => {
      setLang(lang() === 'zh' ? 'en' : 'zh');
      location.reload();
    },
  }, t('app.switchLang'));

function errorText(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.status === 429) return t('login.tooMany', { s: e.retryAfter ?? 60 });
    return e.text();
  }
  return String(e);
}

/** The login screen; resolves with the user once logged in (and their password changed, when required). */
export function showLogin(root: HTMLElement, notice?: string): Promise<User> {
  return new Promise((resolve) => {
    const err = h('p', { class: 'error', role: 'alert' });
    const user = h('input', { id: 'login-user', name: 'username', autocomplete: 'username', required: true, autofocus: true });
    const pass = h('input', { id: 'login-pass', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
    const submit = h('button', { type: 'submit', class: 'primary' }, t('login.submit'));
    const form = h('form', {
      class: 'card login', 'aria-labelledby': 'login-title',
      onsubmit: async (e: Event) => {
        e.preventDefault();
        err.textContent = '';
        submit.disabled = true;
        try {
          const r = await post<{ user: User }>('/api/auth/login', { username: user.value.trim(), password: pass.value }, { quiet: true });
          if (r.user.must_change_password) resolve(await showChangePassword(root, r.user, pass.value));
          else resolve(r.user);
        } catch (x) {
          err.textContent = errorText(x);
          pass.select();
        } finally {
          submit.disabled = false;
        }
      },
    },
    h('h1', { id: 'login-title' }, t('app.title')),
    h('p', { class: 'sub' }, t('login.subtitle')),
    notice ? h('p', { class: 'notice' }, notice) : null,
    h('label', { for: 'login-user' }, t('login.username')), user,
    h('label', { for: 'login-pass' }, t('login.password')), pass,
    err,
    submit,
    h('footer', null, langSwitch()));
    mount(root, h('main', { class: 'center' }, form));
    user.focus();
  });
}

/** Must change the password before anything else (the server refuses data requests until then). */
export function showChangePassword(root: HTMLElement, u: User, current = ''): Promise<User> {
  return new Promise((resolve) => {
    const err = h('p', { class: 'error', role: 'alert' });
    const cur = h('input', { id: 'pw-cur', type: 'password', autocomplete: 'current-password', required: true, value: current });
    const next = h('input', { id: 'pw-new', type: 'password', autocomplete: 'new-password', required: true, minlength: 8 });
    const again = h('input', { id: 'pw-again', type: 'password', autocomplete: 'new-password', required: true });
    const submit = h('button', { type: 'submit', class: 'primary' }, t('password.submit'));
    const form = h('form', {
      class: 'card login',
      onsubmit: async (e: Event) => {
        e.preventDefault();
        err.textContent = '';
        if (next.value !== again.value) {
          err.textContent = t('password.mismatch');
          return;
        }
        submit.disabled = true;
        try {
          const r = await post<{ user: User }>('/api/auth/password', { current_password: cur.value, new_password: next.value }, { quiet: true });
          resolve(r.user);
        } catch (x) {
          err.textContent = errorText(x);
        } finally {
          submit.disabled = false;
        }
      },
    },
    h('h1', null, t('password.title')),
    h('p', { class: 'sub' }, t('password.explain', { user: u.display_name || u.username })),
    h('label', { for: 'pw-cur' }, t('password.current')), cur,
    h('label', { for: 'pw-new' }, t('password.new')), next,
    h('label', { for: 'pw-again' }, t('password.again')), again,
    err,
    submit,
    h('footer', null, langSwitch()));
    mount(root, h('main', { class: 'center' }, form));
    (current ? next : cur).focus();
  });
}
