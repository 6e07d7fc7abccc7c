import { h } from './dom';
import { t } from './i18n';

/**
 * A modal dialog on <dialog>: focus moves in and comes back, Escape cancels. Resolves with what the
 * body's `submit` callback returned, or null when cancelled.
 */
export function openDialog<T>(o: {
  title: string;
  body: (done: (v: T | null) => void) => Node;
  className?: string;
}): Promise<T | null> {
  const before = document.activeElement as HTMLElement | null;
  return new Promise((resolve) => {
    const dlg = h('dialog', { class: `dlg ${o.className ?? ''}`, 'aria-label': o.title });
    let settled = false;
    const done = (v: T | null) => {
      if (settled) return;
      settled = true;
      dlg.close();
      dlg.remove();
      before?.focus?.();
      resolve(v);
    };
    dlg.append(
      h('header', null, h('h2', null, o.title), h('button', { type: 'button', class: 'icon close', 'aria-label': t('common.close'), onclick: () => done(null) }, '×')),
      o.body(done),
    );
    dlg.addEventListener('cancel', (e) => {
      e.preventDefault();
      done(null);
    });
    // keys typed in a dialog are the dialog's, never the workspace's shortcuts
    dlg.addEventListener('keydown', (e) => e.stopPropagation());
    document.body.appendChild(dlg);
    dlg.showModal();
    const first = dlg.querySelector<HTMLElement>('[autofocus]') ?? dlg.querySelector<HTMLElement>('input, select, textarea, button:not(.close)');
    first?.focus();
  });
}

export function confirmDialog(title: string, message: string, okLabel: string): Promise<boolean> {
  return openDialog<boolean>({
    title,
    body: (done) =>
      h('form', { method: 'dialog', onsubmit: (e: Event) => { e.preventDefault(); done(true); } },
        h('p', null, message),
        h('footer', null,
          h('button', { type: 'button', onclick: () => done(null) }, t('common.cancel')),
          h('button', { type: 'submit', class: 'primary', autofocus: true }, okLabel))),
  }).then((v) => v === true);
}
