/** The polygons to visit (a link's, or those of the user's villages), nearest first once the phone has a position. */
import { h, mount } from './dom';
import { compass, relate, type LonLat } from './geo';
import { dateTime, metres, num, t, tMaybe } from './i18n';
import { onPosition } from './locate';
import { cachedBanner, linkToken, prefetchDetails, type Shell } from './app';
import type { WorkItem, Worklist } from './types';

const hrefOf = (it: WorkItem) => (linkToken ? `/f/${linkToken}#${encodeURIComponent(it.code)}` : `/p/${encodeURIComponent(it.code)}`);

export function showList(sh: Shell, wl: Worklist) {
  const list = h('ul', { class: 'worklist' });
  const who = wl.who;
  const head = who.kind === 'link'
    ? h('p', { class: 'linkinfo' }, t('link.for', { label: who.label ?? `#${who.link_id}` }), ' · ', t('link.expires', { time: dateTime(who.expires_at) }), ' · ', t('link.by', { name: who.created_by }))
    : h('p', { class: 'muted' }, who.display_name || who.username, who.villages ? ` · ${who.villages.join('、')}` : '');
  mount(sh.body,
    cachedBanner(),
    h('section', { class: 'card' },
      h('h1', null, t('list.title')),
      head,
      h('p', { class: 'muted small' }, t('list.count', { n: wl.total }), wl.total > wl.items.length ? ` · ${t('list.more', { n: wl.items.length })}` : ''),
      wl.items.length ? list : h('p', null, t('list.empty')),
      // accounts patrol too (issue 16 item 8); a signed link only opens its polygons
      who.kind === 'user' ? h('p', { class: 'patrol-nav' }, h('a', { href: '/patrol', 'data-patrol-link': '' }, t('patrol.patrolLink'), ' →')) : null));

  let here: LonLat | null = null;
  const draw = () => {
    const rows = wl.items.map((it) => ({ it, rel: here ? relate(here, it.geometry) : null }));
    if (here) rows.sort((a, b) => a.rel!.distance - b.rel!.distance);
    mount(list, rows.map(({ it, rel }) => h('li', null,
      h('a', { href: hrefOf(it), class: 'row', 'data-code': it.code },
        h('div', { class: 'row-main' },
          h('strong', null, it.code),
          h('span', { class: `badge st-${it.status}` }, tMaybe(`status.${it.status}`) ?? it.status)),
        h('div', { class: 'muted small' },
          [it.village, it.holder, `${num(it.area_m2, 0)} m²`, ...it.flags.map((f) => tMaybe(`flag.${f}`) ?? f)].filter(Boolean).join(' · ')),
        h('div', { class: 'row-dist' },
          rel ? (rel.inside ? t('loc.inside') : `${metres(rel.distance)} · ${t(`dir.${compass(rel.bearing!)}`)}`) : '',
          it.findings ? h('span', { class: 'chip' }, t('list.findings', { n: it.findings })) : null)))));
  };
  draw();
  let lastDraw = 0;
  const off = onPosition((fix) => {
    if (!fix) return;
    here = [fix.lon, fix.lat];
    if (Date.now() - lastDraw > 3000) {
      lastDraw = Date.now();
      draw();
    }
  });
  const obs = new MutationObserver(() => {
    if (!list.isConnected) {
      off();
      obs.disconnect();
    }
  });
  obs.observe(document.getElementById('app')!, { childList: true, subtree: true });
  document.body.dataset.ready = 'list';
  prefetchDetails(wl);
}
