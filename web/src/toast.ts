import { h } from './dom';
import { t } from './i18n';

const region = () => {
  let r = document.getElementById('toasts');
  if (!r) {
    r = h('div', { id: 'toasts', role: 'status', 'aria-live': 'polite' });
    document.body.appendChild(r);
  }
  return r;
};

export interface ToastHandle {
  close(): void;
  el: HTMLElement;
}

/** A short message; `action` adds a button (e.g. undo); kind 'error' stays until closed. */
export function toast(message: string, o: { kind?: 'info' | 'error' | 'ok'; ms?: number; action?: { label: string; run: () => void } } = {}): ToastHandle {
  const kind = o.kind ?? 'info';
  const el = h('div', { class: `toast ${kind}`, role: kind === 'error' ? 'alert' : undefined },
    h('span', { class: 'msg' }, message),
    o.action ? h('button', { type: 'button', class: 'link', onclick: () => { o.action!.run(); close(); } }, o.action.label) : null,
    h('button', { type: 'button', class: 'icon', 'aria-label': t('common.close'), onclick: () => close() }, '×'));
  const close = () => el.remove();
  region().appendChild(el);
  const ms = o.ms ?? (kind === 'error' ? 0 : 4000);
  if (ms) setTimeout(close, ms);
  return { close, el };
}
