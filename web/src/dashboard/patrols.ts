/**
 * Daily patrol on the reviewer dashboard (issue 16 item 10): per village and week, patrol days, kilometres,
 * findings, new items by source and public-report response times (GET /api/patrol-weeks, which counts items
 * as the coverage does), and the 巡查登记台账 downloads. Loaded on its own, like the other side panels.
 */
import { get } from '../api';
import { h, mount } from '../dom';
import { int, num, t } from '../i18n';

interface Week {
  village: string | null;
  week: string;
  patrols: number;
  patrol_days: number;
  km: number;
  findings: number;
  leads: { survey: number; patrol: number; report: number };
  reports: number;
  responded: number;
  response_h_median: number | null;
  response_h_max: number | null;
}

/** the latest weeks first; a town's season fits, a district's is cut here (the ledger has everything) */
const MAX_ROWS = 60;
const hours = (v: number | null) => (v === null ? '—' : num(v, 1));

export function patrolPanel(village?: string): HTMLElement {
  const body = h('div', { class: 'patrol-weeks' }, h('p', { class: 'muted' }, '…'));
  const q = village ? `?village=${encodeURIComponent(village)}` : '';
  get<{ weeks: Week[]; totals: { patrols: number; patrol_days: number; km: number; findings: number } }>(`/api/patrol-weeks${q}`, { quiet: true }).then((r) => {
    const rows = r.weeks.slice(0, MAX_ROWS);
    mount(body,
      h('p', { class: 'hint', id: 'patrol-totals' }, t('dash.patrolTotals', {
        days: int(r.totals.patrol_days), km: num(r.totals.km, 1), findings: int(r.totals.findings),
      })),
      rows.length ? h('table', { class: 'fig-table', id: 'patrol-weeks' },
        h('thead', null, h('tr', null,
          h('th', null, t('dash.patrolWeek')), h('th', null, t('dash.patrolVillage')),
          h('th', { class: 'num' }, t('dash.patrolDays')), h('th', { class: 'num' }, t('dash.patrolKm')),
          h('th', { class: 'num' }, t('dash.patrolFindings')),
          h('th', { class: 'num' }, t('dash.leadSurvey')), h('th', { class: 'num' }, t('dash.leadPatrol')), h('th', { class: 'num' }, t('dash.leadReport')),
          h('th', { class: 'num' }, t('dash.reportsAnswered')), h('th', { class: 'num' }, t('dash.responseMedian')))),
        h('tbody', null, rows.map((w) => h('tr', { 'data-week': w.week, 'data-village': w.village ?? '-' },
          h('td', null, w.week), h('th', { scope: 'row' }, w.village ?? t('dash.patrolNoVillage')),
          h('td', { class: 'num' }, int(w.patrol_days)), h('td', { class: 'num' }, num(w.km, 1)),
          h('td', { class: 'num' }, int(w.findings)),
          h('td', { class: 'num' }, int(w.leads.survey)), h('td', { class: 'num' }, int(w.leads.patrol)), h('td', { class: 'num' }, int(w.leads.report)),
          h('td', { class: 'num' }, w.reports ? `${int(w.responded)}/${int(w.reports)}` : '—'),
          h('td', { class: 'num', title: w.response_h_max === null ? '' : t('dash.responseMax', { h: hours(w.response_h_max) }) }, hours(w.response_h_median))))))
        : h('p', { class: 'muted' }, t('dash.none')),
      h('p', { class: 'hint' }, t('dash.patrolLedger'), ' ',
        h('a', { href: `/api/exports/patrols.xlsx${q}`, download: '' }, 'XLSX'), ' · ',
        h('a', { href: `/api/exports/patrols.csv${q}`, download: '' }, 'CSV')));
  }, () => mount(body, h('p', { class: 'muted' }, '—')));
  return h('section', { class: 'panel', id: 'p-patrol', 'aria-label': t('dash.patrol') }, h('h2', null, t('dash.patrol')), body,
    h('p', { class: 'hint' }, t('dash.patrolNote')));
}
