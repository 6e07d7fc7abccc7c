/** Public reports past their response deadline (issue 16 item 6): a KPI on the dashboard, loaded on its own. */
import { get } from '../api';
import { h } from '../dom';
import { int, t } from '../i18n';
import { figureHash } from '../url';

interface OverdueReports {
  overdue: number;
  response_workdays: number;
  items: { polygon_id: number; code: string; village: string | null; due_on: string }[];
}

export function reportsKpi(): HTMLElement {
  const value = h('span', { class: 'kpi-value', id: 'kpi-reports' }, '…');
  const sub = h('span', { class: 'kpi-sub' });
  const el = h('div', { class: 'kpi reports-kpi' }, h('span', { class: 'kpi-label' }, t('dash.kpiReports')), value, sub);
  get<OverdueReports>('/api/reports/overdue', { quiet: true }).then((r) => {
    value.replaceChildren(h('a', { href: figureHash({ source: 'report', status: 'pending' }) }, int(r.overdue)));
    sub.textContent = t('dash.kpiReportsSub', { d: r.response_workdays });
    if (r.overdue) el.classList.add('warn');
  }, () => (value.textContent = '—'));
  return el;
}
