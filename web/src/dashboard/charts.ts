/**
 * The dashboard's small charts, drawn as plain SVG and HTML: every mark is a link to the polygons behind it
 * (the figure's filter as a queue view), so a chart is also a way into the queue.
 */
import { h } from '../dom';
import { int, label, pct, t } from '../i18n';
import { figureHash } from '../url';
import type { Coverage, Filter } from './types';

const SVG = 'http://www.w3.org/2000/svg';

function s<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, ...children: (Node | string)[]) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c);
  return el;
}

/** A count that opens the queue on exactly its polygons. */
export function countLink(n: number, filter: Filter, title?: string) {
  return h('a', { href: figureHash(filter), class: 'fig', title: title ?? t('dash.open') }, int(n));
}

/** A share as a bar with its figure: the bar is the decided part, the text says how many of how many. */
export function shareBar(share: number | null, decided: number, total: number, filter: Filter) {
  const w = share === null ? 0 : Math.round(share * 1000) / 10;
  return h('a', { href: figureHash(filter), class: 'sharebar', title: t('dash.shareTitle', { decided: int(decided), total: int(total) }) },
    h('span', { class: 'track' }, h('span', { class: 'fill', style: `width:${w}%` })),
    h('span', { class: 'pct' }, pct(share)));
}

/** Horizontal bars of counts (outcomes, reasons, ages), each a link. */
export function barList(rows: { label: string; count: number; filter: Filter; cls?: string }[], o: { total?: number } = {}) {
  const max = Math.max(1, ...rows.map((r) => r.count));
  return h('ul', { class: 'bars' }, rows.map((r) =>
    h('li', null,
      h('span', { class: 'bar-label' }, r.label),
      h('a', { href: figureHash(r.filter), class: 'bar-link', title: t('dash.open') },
        h('span', { class: `bar ${r.cls ?? ''}`, style: `width:${(r.count / max) * 100}%` }),
        h('span', { class: 'bar-n' }, int(r.count), o.total ? h('small', null, ` ${pct(r.count / o.total)}`) : null)))));
}

const DAY = 86_400_000;

/**
 * Share of polygons with an outcome, cumulative by ISO week, over the campaign's phases, with the 10/30
 * deadline marked. Each week is a link to the polygons first decided that week; with `onWeek` a click
 * filters the dashboard to that week instead (the link stays for a new tab), `selected` is marked.
 */
export function weeklyCurve(c: Coverage, o: { selected?: string; onWeek?: (week: string) => void } = {}): SVGSVGElement | HTMLElement {
  const wk = c.weekly;
  if (!wk.weeks.length) return h('p', { class: 'muted' }, t('dash.noWeeks'));
  const W = 720;
  const H = 230;
  const m = { l: 42, r: 12, t: 22, b: 34 };
  const x0 = Date.parse(wk.weeks[0].from);
  const x1 = Date.parse(wk.weeks[wk.weeks.length - 1].to);
  const x = (ms: number) => m.l + ((ms - x0) / Math.max(DAY, x1 - x0)) * (W - m.l - m.r);
  const y = (share: number) => H - m.b - share * (H - m.t - m.b);
  const total = c.overall.total || 1;
  const maxWeek = Math.max(1, ...wk.weeks.map((w) => w.decided));

  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'curve', role: 'img', 'aria-label': t('dash.curveLabel') });
  // phases as bands behind everything
  wk.phases.forEach((p, i) => {
    const a = Math.max(x0, Date.parse(p.from));
    const b = Math.min(x1, Date.parse(p.to));
    if (b <= a) return;
    svg.append(s('rect', { x: x(a), y: m.t, width: x(b) - x(a), height: H - m.t - m.b, class: `phase phase-${i}` }));
    svg.append(s('text', { x: x(a) + 4, y: m.t - 6, class: 'phase-label' }, label(p.label)));
  });
  // grid and axis
  for (const g of [0, 0.25, 0.5, 0.75, 1]) {
    svg.append(s('line', { x1: m.l, x2: W - m.r, y1: y(g), y2: y(g), class: 'grid' }));
    svg.append(s('text', { x: m.l - 6, y: y(g) + 4, class: 'axis', 'text-anchor': 'end' }, `${g * 100}%`));
  }
  // month ticks (at most ~12 labels)
  const months: number[] = [];
  const start = new Date(x0);
  for (let d = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1)); d.getTime() < x1; d = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1))) {
    months.push(d.getTime());
  }
  const every = Math.max(1, Math.ceil(months.length / 12));
  months.forEach((ms, i) => {
    if (i % every) return;
    const d = new Date(ms);
    svg.append(s('text', { x: x(ms), y: H - m.b + 16, class: 'axis', 'text-anchor': 'middle' },
      d.getUTCMonth() === 0 ? `${d.getUTCFullYear()}` : t('dash.month', { m: d.getUTCMonth() + 1 })));
  });
  // weekly decided as thin bars, the cumulative share as a line; each week a link
  const pts: string[] = [];
  for (const w of wk.weeks) {
    const a = x(Date.parse(w.from));
    const b = x(Date.parse(w.to));
    const share = w.cumulative / total;
    pts.push(`${((a + b) / 2).toFixed(1)},${y(share).toFixed(1)}`);
    const link = s('a', { href: figureHash(w.filter), class: `week${w.week === o.selected ? ' selected' : ''}`, 'data-week': w.week },
      s('title', {}, t('dash.weekTitle', { week: w.week, n: int(w.decided), cum: int(w.cumulative), share: pct(share) })),
      s('rect', { x: a, y: m.t, width: Math.max(1, b - a), height: H - m.t - m.b, class: 'week-hit' }),
      s('rect', { x: a + (b - a) * 0.15, y: H - m.b - (w.decided / maxWeek) * 40, width: Math.max(1, (b - a) * 0.7), height: (w.decided / maxWeek) * 40, class: 'week-bar' }));
    if (o.onWeek) {
      link.addEventListener('click', (e) => {
        const m = e as MouseEvent;
        if (m.ctrlKey || m.metaKey || m.shiftKey || m.button !== 0) return; // a new tab: the queue
        e.preventDefault();
        o.onWeek!(w.week);
      });
    }
    svg.append(link);
  }
  svg.append(s('polyline', { points: pts.join(' '), class: 'cum' }));
  // the deadline: end of 10/30 (Beijing)
  const dl = Date.parse(wk.deadline.to);
  if (dl >= x0 && dl <= x1) {
    svg.append(s('line', { x1: x(dl), x2: x(dl), y1: m.t, y2: H - m.b, class: 'deadline' }));
    svg.append(s('text', { x: x(dl) - 4, y: m.t + 12, class: 'deadline-label', 'text-anchor': 'end' },
      t('dash.deadlineMark', { date: wk.deadline.date.slice(5).replace('-', '/'), share: pct(wk.deadline.share) })));
  }
  return svg;
}
