/**
 * The dashboard's case panel (issue 13 item 5): area demolished by cases closed as 已拆除 in the year against the
 * admin's target for that year (the district scores the campaign by it), and cases closed per week. An admin
 * sets the target here (PUT /api/admin/demolition-target). Figures from GET /api/cases/stats, computed in SQL.
 *
 * Kept apart from page.ts (one line hooks it in): the year is the dashboard's year filter when one is set,
 * else the current year — cases close in calendar time, whatever survey year the coverage figures show.
 */
import './case-panel.css';
import { ApiError, api, get } from '../api';
import { h, mount } from '../dom';
import { int, lang, num, pct } from '../i18n';
import type { User } from '../types';

interface CaseStats {
  year: number;
  demolished_m2: number;
  closed: number;
  target_m2: number | null;
  share: number | null;
  weeks: { week_start: string; closed: number; demolished_m2: number }[];
}

const L = {
  zh: {
    title: '案件：拆除面积与结案', demolished: '已拆除面积', target: '年度目标', noTarget: '未设置目标', closed: '已结案',
    perWeek: '每周结案数', noWeeks: '本年度尚无结案', setTarget: '设置目标（m²）', save: '保存', saved: '已保存',
    year: '{y} 年', cases: '件', ledger: '案件台账',
  },
  en: {
    title: 'Cases: demolished area and closures', demolished: 'Demolished', target: 'Target', noTarget: 'no target set', closed: 'Closed',
    perWeek: 'Cases closed per week', noWeeks: 'No case closed this year yet', setTarget: 'Set target (m²)', save: 'Save', saved: 'Saved',
    year: '{y}', cases: 'cases', ledger: 'Case ledger',
  },
};
const m = () => L[lang()];

const thisYear = () => Number(new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai', year: 'numeric' }).format(new Date()));

/** The panel, filled when its figures arrive. `year`: the dashboard's year filter, if any. */
export function casePanel(user: User, year?: number): HTMLElement {
  const y = year ?? thisYear();
  const body = h('div', { class: 'case-panel-body', 'aria-busy': 'true' });
  const panel = h('section', { class: 'panel', id: 'p-cases', 'aria-label': m().title },
    h('h2', null, m().title, ' · ', m().year.replace('{y}', String(y)), ' ', h('a', { href: '#/cases', class: 'report-link' }, m().ledger)), body);
  const load = async () => {
    try {
      const s = await get<CaseStats>(`/api/cases/stats?year=${y}`);
      render(s);
    } catch (e) {
      mount(body, h('p', { class: 'error' }, e instanceof ApiError ? e.text() : String(e)));
    }
    body.setAttribute('aria-busy', 'false');
  };
  const render = (s: CaseStats) => {
    const share = s.share === null ? null : Math.min(1, s.share);
    const max = Math.max(1, ...s.weeks.map((w) => w.closed));
    const weeks = s.weeks.slice(-16);
    mount(body,
      h('div', { class: 'case-kpis' },
        h('div', { class: 'kpi big' }, h('span', { class: 'kpi-label' }, m().demolished),
          h('span', { class: 'kpi-value', id: 'kpi-demolished' }, `${num(s.demolished_m2, 1)} m²`),
          h('span', { class: 'kpi-sub' }, s.target_m2 === null ? m().noTarget : `${m().target} ${num(s.target_m2, 0)} m² · ${pct(s.share)}`)),
        h('div', { class: 'kpi' }, h('span', { class: 'kpi-label' }, m().closed),
          h('span', { class: 'kpi-value', id: 'kpi-closed' }, int(s.closed)), h('span', { class: 'kpi-sub' }, m().cases))),
      s.target_m2 !== null
        ? h('div', { class: 'target-bar', role: 'img', 'aria-label': `${pct(s.share)}` },
          h('div', { class: 'target-fill', style: `width:${((share ?? 0) * 100).toFixed(1)}%` }))
        : null,
      h('h3', null, m().perWeek),
      weeks.length
        ? h('div', { class: 'week-bars', id: 'closed-weeks' }, weeks.map((w) => h('div', { class: 'week-bar', title: `${w.week_start}: ${w.closed}` },
          h('span', { class: 'wb-n' }, String(w.closed)),
          h('span', { class: 'wb-bar', style: `height:${Math.round((w.closed / max) * 60) + 2}px` }),
          h('span', { class: 'wb-d' }, w.week_start.slice(5)))))
        : h('p', { class: 'muted' }, m().noWeeks),
      user.role === 'admin' ? targetForm(y, s.target_m2, load) : null);
  };
  void load();
  return panel;
}

function targetForm(year: number, current: number | null, reload: () => Promise<void>): HTMLElement {
  const input = h('input', { id: 'target-m2', type: 'number', min: 1, step: 1, inputmode: 'numeric', value: current ?? '' });
  const msg = h('span', { class: 'small muted', 'aria-live': 'polite' });
  return h('form', {
    class: 'target-form',
    onsubmit: async (e: Event) => {
      e.preventDefault();
      const v = Number(input.value);
      if (!(v > 0)) return;
      try {
        await api('PUT', '/api/admin/demolition-target', { year, target_m2: v });
        msg.textContent = m().saved;
        await reload();
      } catch (x) {
        msg.textContent = x instanceof ApiError ? x.text() : String(x);
      }
    },
  }, h('label', { for: 'target-m2' }, m().setTarget), input, h('button', { type: 'submit' }, m().save), msg);
}
