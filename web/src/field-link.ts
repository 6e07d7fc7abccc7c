/**
 * The field-link dialog (issue 5; S key, issue 13 item 17): a signed link (/f/<token>) for the checked polygons
 * or the selected one, shown as a QR code to scan with a phone and as text to copy (issue 16 item 13: the
 * server builds both on TUBAN_PUBLIC_URL), with the caller's links still in use, each revocable at once.
 */
import { api, ApiError, get, post } from './api';
import { h, mount } from './dom';
import { openDialog } from './dialog';
import { dateTime, t } from './i18n';
import { toast } from './toast';

interface Issued {
  url: string;
  qr?: string;
  link: { id: number; expires_at: string };
}

export async function shareFieldLink(ids: number[]) {
  if (!ids.length) return;
  try {
    const r = await post<Issued>('/api/field-links', { polygon_ids: ids });
    await openDialog<null>({
      title: t('fieldLink.title'),
      className: 'field-link',
      body: (done) => {
        const input = h('input', { type: 'text', readonly: true, value: r.url, class: 'link-url', autofocus: true }) as HTMLInputElement;
        input.addEventListener('focus', () => input.select());
        const active = h('div', { class: 'links-active' });
        void renderActiveLinks(active, r.link.id);
        return h('div', { class: 'dlg-body' },
          h('p', null, t('fieldLink.explain', { n: ids.length, until: dateTime(r.link.expires_at) })),
          r.qr ? h('figure', { class: 'qr' }, h('img', { src: r.qr, alt: t('fieldLink.qrAlt'), width: 180, height: 180, class: 'link-qr' }),
            h('figcaption', { class: 'muted small' }, t('fieldLink.scan'))) : null,
          input,
          h('div', { class: 'dlg-actions' },
            h('button', { type: 'button', onclick: () => { void navigator.clipboard?.writeText(r.url); toast(t('fieldLink.copied'), { kind: 'ok' }); } }, t('fieldLink.copy')),
            h('button', { type: 'button', onclick: () => done(null) }, t('common.close'))),
          active);
      },
    });
  } catch (e) {
    toast(e instanceof ApiError ? e.text() : String(e), { kind: 'error' });
  }
}

/** The caller's links still in use, each revocable at once (a lost phone, a link sent to the wrong person). */
async function renderActiveLinks(el: HTMLElement, newId: number) {
  type Link = { id: number; codes?: string[]; polygon_ids: number[]; expires_at: string; created_by: string };
  try {
    const { items } = await get<{ items: Link[] }>('/api/field-links?active=1&limit=50');
    if (!items.length) {
      mount(el);
      return;
    }
    mount(el, h('h3', null, t('fieldLink.active', { n: items.length })),
      h('ul', { class: 'plain links-list' }, items.map((l) => {
        const codes = l.codes ?? l.polygon_ids.map(String);
        return h('li', { 'data-link': l.id },
          h('span', null, l.id === newId ? h('b', null, t('fieldLink.thisOne'), ' ') : null,
            codes.slice(0, 3).join(t('common.listSep')), codes.length > 3 ? ` ${t('fieldLink.more', { n: codes.length - 3 })}` : '',
            h('small', { class: 'muted' }, ` · ${l.created_by} · ${t('fieldLink.until', { until: dateTime(l.expires_at) })}`)),
          h('button', {
            type: 'button', class: 'link danger-link',
            onclick: async () => {
              try {
                await api('DELETE', `/api/field-links/${l.id}`);
                toast(t('fieldLink.revoked'), { kind: 'ok' });
                void renderActiveLinks(el, newId);
              } catch (e) {
                toast(e instanceof ApiError ? e.text() : String(e), { kind: 'error' });
              }
            },
          }, t('fieldLink.revoke')));
      })));
  } catch {
    mount(el);
  }
}
