/**
 * Image chips (issue 15 item 4): the before and after imagery around a polygon, its outline drawn by the server,
 * side by side with their dates — in the detail panel and the QC screen.
 */
import { h } from './dom';
import { t } from './i18n';
import { epochLabel } from './map/epoch';
import type { Epoch, MapConfig, MapSource } from './types';

const EPOCHS: Epoch[] = ['before', 'after'];

/**
 * Imagery imported into tuban (served under /tiles/imagery/) has chips; a tile service configured by URL does
 * not (the server cuts chips from its own pyramid only).
 */
export const hasChips = (s: MapSource | null | undefined): s is MapSource =>
  s?.import_id !== undefined || !!s?.tiles?.some((u) => u.includes('/tiles/imagery/'));

/** The chip's address; the import's version (?v= of the tile template) makes it safe to cache for good. */
export function chipUrl(polygonId: number, epoch: Epoch, source: MapSource | null | undefined, base = '/api/polygons'): string {
  const v = source?.import_id ?? /[?&]v=([^&]+)/.exec(source?.tiles?.[0] ?? '')?.[1];
  return `${base}/${polygonId}/chips/${epoch}${v ? `?v=${v}` : ''}`;
}

/**
 * Two chips, before then after; null when no imported imagery exists. An epoch without imagery, or whose
 * imagery does not cover this polygon (404), shows a plain "no imagery here" box of the same size.
 */
export function chipsNode(o: { id: number; code: string; imagery: MapConfig['imagery'] | undefined; small?: boolean }): HTMLElement | null {
  const im = o.imagery;
  if (!im || !EPOCHS.some((e) => hasChips(im[e]))) return null;
  return h('div', { class: `imgchips${o.small ? ' small' : ''}`, 'data-chips': o.id },
    EPOCHS.map((epoch) => {
      const src = im[epoch];
      const caption = epochLabel(epoch, src);
      const none = () => h('div', { class: 'chip-none' }, t('imagery.chipNone', { epoch: t(`imagery.${epoch}`) }));
      if (!hasChips(src)) return h('figure', { class: 'imgchip', 'data-epoch': epoch }, none(), h('figcaption', null, caption));
      const img = h('img', {
        src: chipUrl(o.id, epoch, src), width: 320, height: 240, loading: 'lazy', decoding: 'async',
        alt: t('imagery.chipAlt', { code: o.code, epoch: t(`imagery.${epoch}`), date: src.date || t('imagery.noDate') }),
      }) as HTMLImageElement;
      img.addEventListener('error', () => img.replaceWith(none()), { once: true });
      return h('figure', { class: 'imgchip', 'data-epoch': epoch },
        h('a', { href: img.src, target: '_blank', rel: 'noopener', title: caption }, img),
        h('figcaption', null, caption));
    }));
}
