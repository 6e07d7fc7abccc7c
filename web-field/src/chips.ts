/**
 * Image chips on the phone (issue 15 item 4): the before and after imagery around the polygon with its outline,
 * so the field team knows what to look for. Fetched with the page's credentials (a link's token is a header)
 * and kept by the service worker, so they show offline after the first visit.
 */
import { imageUrl } from './api';
import { h } from './dom';
import { t } from './i18n';
import type { Epoch, Imagery, MapSource } from './types';

const EPOCHS: Epoch[] = ['before', 'after'];

/** "后时相 2020-10-01" */
export const epochLabel = (epoch: Epoch, s: MapSource | null | undefined) =>
  t('imagery.badge', { epoch: t(`imagery.${epoch}`), date: s?.date || t('imagery.noDate') });

/** imported imagery (our /tiles/imagery/ pyramid) has chips; a tile service configured by URL does not */
const hasChips = (s: MapSource | null | undefined): s is MapSource => s?.import_id !== undefined || !!s?.tiles?.some((u) => u.includes('/tiles/imagery/'));

/** the chip (a link may ask for its polygons'); the import's id makes the answer cacheable for good */
export function fieldChipUrl(polygonId: number, epoch: Epoch, s: MapSource): string {
  const v = s.import_id ?? /[?&]v=([^&]+)/.exec(s.tiles?.[0] ?? '')?.[1];
  return `/api/polygons/${polygonId}/chips/${epoch}${v ? `?v=${v}` : ''}`;
}

export function chipsCard(polygonId: number, code: string, im: Imagery | undefined): HTMLElement | null {
  if (!im || !EPOCHS.some((e) => hasChips(im[e]))) return null;
  return h('section', { class: 'card chips-card' },
    h('h2', null, t('imagery.chips')),
    h('div', { class: 'imgchips', 'data-chips': polygonId }, EPOCHS.map((epoch) => {
      const src = im[epoch];
      const none = () => h('div', { class: 'chip-none' }, t('imagery.chipNone', { epoch: t(`imagery.${epoch}`) }));
      const fig = h('figure', { class: 'imgchip', 'data-epoch': epoch });
      if (!hasChips(src)) fig.append(none());
      else {
        const img = h('img', {
          alt: t('imagery.chipAlt', { code, epoch: t(`imagery.${epoch}`), date: src.date || t('imagery.noDate') }),
          width: 320, height: 240, decoding: 'async',
        });
        fig.append(img);
        imageUrl(fieldChipUrl(polygonId, epoch, src))
          .then((u) => {
            img.src = u;
            fig.dataset.loaded = '1';
          })
          .catch(() => img.replaceWith(none()));
      }
      fig.append(h('figcaption', null, epochLabel(epoch, src)));
      return fig;
    })),
    h('p', { class: 'muted small' }, t('imagery.chipsHint')));
}

/** The chips of a link's polygons, fetched with their details so the page has them offline. */
export function prefetchChips(ids: number[], im: Imagery | undefined): Promise<unknown> {
  if (!im) return Promise.resolve();
  const urls = ids.flatMap((id) => EPOCHS.flatMap((e) => (hasChips(im[e]) ? [fieldChipUrl(id, e, im[e]!)] : [])));
  return Promise.all(urls.map((u) => imageUrl(u).catch(() => undefined)));
}
