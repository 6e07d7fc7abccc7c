/**
 * The reviewer's dashboard (issue 6, #/dashboard): verification coverage overall and by village (table and
 * choropleth), campaign flag, batch and week (against the phases and the 10/30 deadline), outcomes and
 * dismissal reasons, photo evidence, the age of waiting polygons, overdue work, and the exports.
 *
 * Every number comes from GET /api/coverage or /api/overdue (each figure defined once, in SQL) and links
 * to the queue on exactly its polygons (the figure's `filter`). This module only lays them out.
 *
 * It filters in place (issue 14 item 6, like Esri Dashboards): a village (its row or its outline on the
 * map), a flag, a batch or a week of the curve narrows the whole dashboard; the active filters show as
 * removable chips with "clear all", and each change is a history entry, so Back returns to the previous
 * filter. The counts still open the queue on their polygons, with the same filters.
 */
import './dashboard.css';
import { ApiError, get, qs } from '../api';
import { h, mount } from '../dom';
import { dateTime, int, label, pct, t, tMaybe, type MessageKey } from '../i18n';
import { flagLabel } from '../labels';
import { topBar } from '../shell';
import type { User } from '../types';
import { figureHash } from '../url';
import { barList, countLink, shareBar, weeklyCurve } from './charts';
import { choroplethLegend, createChoropleth, withFigures, type Choropleth, type OutlineCollection } from './choropleth';
import type { Coverage, Figure, Overdue } from './types';
import { proofKpi } from './proof';
import { reportsKpi } from './reports';
import { patrolPanel } from './patrols';
import { casePanel } from './case-panel';

/** The dashboard's own filters, kept in its hash: #/dashboard?village=…&flags=…&batch=…&year=… */
interface DashFilter {
  village?: string;
  flags?: string;
  batch?: string;
  /** ISO week YYYY-Www: the polygons first decided that week (GET /api/coverage ?week=) */
  week?: string;
  year?: string;
}

const FILTER_KEYS = ['village', 'flags', 'batch', 'week', 'year'] as const;
/** what "clear all" removes (the campaign year only sets the phases drawn on the curve) */
const NARROWING = ['village', 'flags', 'batch', 'week'] as const;
const EXPORTERS: User['role'][] = ['admin', 'analyst', 'reviewer'];

export function parseDashHash(hash: string): DashFilter {
  const i = hash.indexOf('?');
  const u = new URLSearchParams(i >= 0 ? hash.slice(i + 1) : '');
  const f: DashFilter = {};
  for (const k of FILTER_KEYS) {
    const v = u.get(k)?.trim();
    if (v) f[k] = v.slice(0, 100);
  }
  if (f.batch && !/^\d+$/.test(f.batch)) delete f.batch;
  if (f.year && !/^(19|20)\d\d$/.test(f.year)) delete f.year;
  if (f.week && !/^\d{4}-W\d{2}$/.test(f.week)) delete f.week;
  return f;
}

const dashHash = (f: DashFilter) => {
  const u = new URLSearchParams();
  for (const k of FILTER_KEYS) if (f[k]) u.set(k, f[k]!);
  const s = u.toString();
  return `#/dashboard${s ? `?${s}` : ''}`;
};

const card = (title: string, body: Node | (Node | null)[], o: { cls?: string; id?: string; note?: Node | string } = {}) =>
  h('section', { class: `panel ${o.cls ?? ''}`, id: o.id ?? null, 'aria-label': title },
    h('h2', null, title), body, o.note ? h('p', { class: 'hint' }, o.note) : null);

export class Dashboard {
  private filter: DashFilter;
  private body = h('div', { class: 'dash-body', 'aria-busy': 'true' });
  private filtersEl = h('div', { class: 'dash-filters', role: 'search' });
  private chipsEl = h('div', { class: 'dash-chips', id: 'dash-chips', 'aria-live': 'polite' });
  private weekOf = new Map<string, { from: string; to: string }>();
  private villages: string[] = [];
  private batches: { id: number; name: string }[] = [];
  private map?: Choropleth;
  private mapEl = h('div', { class: 'choro-map', id: 'choropleth' });
  private ctrl?: AbortController;
  private outlines?: Promise<OutlineCollection>;

  constructor(root: HTMLElement, private readonly user: User) {
    this.filter = parseDashHash(location.hash);
    mount(root, h('div', { class: 'dash' },
      topBar(user, 'dashboard'),
      h('main', { class: 'dash-main' }, this.filtersEl, this.chipsEl, this.body)));
    // Back/Forward between filter states (pushState entries fire popstate; a typed hash fires hashchange)
    const follow = () => {
      if (!location.hash.startsWith('#/dashboard')) return;
      const next = parseDashHash(location.hash);
      if (JSON.stringify(next) === JSON.stringify(this.filter)) return;
      this.filter = next;
      void this.load();
    };
    addEventListener('popstate', follow);
    addEventListener('hashchange', follow);
  }

  /** A new filter state: a history entry of its own, so Back returns to the previous one. */
  private set(patch: Partial<DashFilter>) {
    const next: DashFilter = { ...this.filter, ...patch };
    for (const k of FILTER_KEYS) if (!next[k]) delete next[k];
    if (JSON.stringify(next) === JSON.stringify(this.filter)) return;
    this.filter = next;
    history.pushState(null, '', dashHash(this.filter));
    void this.load();
  }

  /** the coverage query: the dashboard filter (year only changes the weekly phases) */
  private query() {
    const f = this.filter;
    return { village: f.village, flags: f.flags, batch: f.batch, week: f.week, year: f.year };
  }

  async start() {
    await this.load();
  }

  async load() {
    this.ctrl?.abort();
    const ctrl = (this.ctrl = new AbortController());
    this.body.setAttribute('aria-busy', 'true');
    const q = this.query();
    // the village outlines, once per screen and together with the first figures; the figures colour them
    this.outlines ??= get<OutlineCollection>('/api/coverage/villages.geojson?figures=0');
    this.outlines.catch(() => (this.outlines = undefined));
    try {
      const [cov, over] = await Promise.all([
        get<Coverage>(`/api/coverage${qs(q)}`, { signal: ctrl.signal }),
        get<Overdue>(`/api/overdue${qs({ village: q.village, flags: q.flags, batch: q.batch, week: q.week, limit: 20 })}`, { signal: ctrl.signal }),
      ]);
      if (ctrl.signal.aborted) return;
      // the pickers offer what the unfiltered figures hold (a filtered answer would hide the other villages)
      if (!this.filter.village && !this.villages.length) this.villages = cov.by_village.map((v) => v.village).filter((v) => v !== '-');
      if (!this.filter.batch && !this.batches.length) this.batches = cov.by_batch.map((b) => ({ id: b.batch_id, name: `#${b.batch_id} ${b.file_name}` }));
      for (const w of cov.weekly.weeks) this.weekOf.set(w.week, { from: w.from, to: w.to });
      this.renderFilters(cov);
      this.renderChips(cov);
      this.render(cov, over);
      this.body.setAttribute('aria-busy', 'false');
      const villages = withFigures(await this.outlines, cov.by_village, cov.filter);
      if (ctrl.signal.aborted) return;
      if (this.map) await this.map.update(villages);
      else this.map = await createChoropleth(this.mapEl, villages, (name) => this.set({ village: name }));
      if (this.filter.village) this.highlightVillage(this.filter.village);
      this.body.dataset.ready = '1';
    } catch (e) {
      if ((e as Error).name === 'AbortError') return;
      this.body.setAttribute('aria-busy', 'false');
      mount(this.body, h('p', { class: 'error', role: 'alert' }, e instanceof ApiError ? e.text() : String(e),
        ' ', h('button', { type: 'button', onclick: () => void this.load() }, t('common.retry'))));
    }
  }

  private renderFilters(cov: Coverage) {
    const f = this.filter;
    const select = (id: string, aria: MessageKey, all: MessageKey, options: { value: string; text: string }[], value: string | undefined,
      onchange: (v: string) => void) =>
      h('label', { class: 'dash-filter' }, h('span', null, t(aria)),
        h('select', { id, onchange: (e: Event) => onchange((e.target as HTMLSelectElement).value) },
          h('option', { value: '' }, t(all)),
          options.map((o) => h('option', { value: o.value, selected: o.value === value }, o.text)),
          value && !options.some((o) => o.value === value) ? h('option', { value, selected: true }, value) : null));
    const year = h('input', {
      id: 'd-year', type: 'number', min: 2000, max: 2099, step: 1, value: f.year ?? String(cov.weekly.year), inputmode: 'numeric',
      onchange: (e: Event) => {
        const v = (e.target as HTMLInputElement).value;
        this.set({ year: /^(19|20)\d\d$/.test(v) ? v : undefined });
      },
    });
    // the exports take the dashboard's filter as the server spells it (a week as its first-outcome bounds)
    const exp = (path: string, key: MessageKey) => h('a', { class: 'button', href: `${path}${qs(cov.filter)}`, download: '' }, t(key));
    mount(this.filtersEl,
      select('d-village', 'queue.village', 'queue.allVillages', this.villages.map((v) => ({ value: v, text: v })), f.village,
        (v) => this.set({ village: v || undefined })),
      select('d-flag', 'dash.flag', 'dash.allFlags', ['frontage', 'compound', 'school', 'green'].map((x) => ({ value: x, text: flagLabel(x) })), f.flags,
        (v) => this.set({ flags: v || undefined })),
      select('d-batch', 'queue.batch', 'queue.allBatches', this.batches.map((b) => ({ value: String(b.id), text: b.name })), f.batch,
        (v) => this.set({ batch: v || undefined })),
      h('label', { class: 'dash-filter' }, h('span', null, t('dash.year')), year),
      h('span', { class: 'asof muted' }, t('dash.asOf', { t: dateTime(cov.as_of) })),
      h('span', { class: 'spacer' }),
      EXPORTERS.includes(this.user.role)
        ? h('div', { class: 'exports', role: 'group', 'aria-label': t('dash.exports') },
          h('span', { class: 'muted' }, t('dash.exports')),
          exp('/api/exports/ledger.xlsx', 'dash.exportXlsx'),
          exp('/api/exports/ledger.csv', 'dash.exportCsv'),
          exp('/api/exports/polygons.geojson', 'dash.exportGeojson'),
          exp('/api/exports/polygons.zip', 'dash.exportShp'),
          h('a', { class: 'button', href: `/api/exports/cases.xlsx${qs({ village: f.village })}`, download: '' }, t('dash.exportCases')),
          f.village ? h('a', { class: 'button', href: `/reports/village/${encodeURIComponent(f.village)}`, target: '_blank', rel: 'noopener' }, t('dash.report')) : null)
        : null);
  }

  private render(c: Coverage, o: Overdue) {
    const ov = c.overall;
    const kpi = (key: MessageKey, value: Node | string, sub: Node | string | null, cls = '') =>
      h('div', { class: `kpi ${cls}` }, h('span', { class: 'kpi-label' }, t(key)), h('span', { class: 'kpi-value' }, value), sub ? h('span', { class: 'kpi-sub' }, sub) : null);
    const link = (n: number, filter: Record<string, string>) => countLink(n, filter);
    const dl = c.weekly.deadline;
    const kpis = h('div', { class: 'kpis', id: 'kpis' },
      kpi('dash.kpiShare', h('a', { href: figureHash(ov.decided_filter), id: 'kpi-share' }, pct(ov.share)),
        t('dash.kpiShareSub', { decided: int(ov.decided), total: int(ov.total) }), 'big'),
      c.by_outcome.map((x) => kpi(`status.${x.status}` as MessageKey, link(x.count, x.filter), pct(ov.total ? x.count / ov.total : null), `st-${x.status}`)),
      kpi('dash.kpiDeadline', h('a', { href: figureHash(dl.filter) }, pct(dl.share)),
        t(dl.passed ? 'dash.kpiDeadlinePassed' : 'dash.kpiDeadlineOpen', { date: dl.date, n: int(dl.decided) })),
      kpi('dash.kpiEvidence', c.evidence.evidence_available ? h('a', { href: figureHash(c.evidence.filter) }, pct(c.evidence.share)) : '—',
        t('dash.kpiEvidenceSub', { n: int(c.evidence.with_photo), of: int(c.evidence.verified) })),
      kpi('dash.kpiOverdue', h('a', { href: figureHash(o.polygons.filter) }, int(o.polygons.count)),
        t('dash.kpiOverdueSub', { days: o.pending_days, cases: int(o.cases.count) }), o.polygons.count || o.cases.count ? 'warn' : ''),
      proofKpi(),
      reportsKpi());

    const villageTable = this.figureTable(
      c.by_village.map((v) => ({ key: v.village, name: v.village === '-' ? t('detail.noVillage') : v.village, fig: v })),
      'dash.colVillage', 'village-table', (key) => (key === '-' || this.filter.village === key ? null : { village: key }),
      (name) => (name === '-' ? null : h('a', {
        href: `/reports/village/${encodeURIComponent(name)}`, target: '_blank', rel: 'noopener', class: 'report-link', title: t('dash.report'),
      }, t('dash.reportShort'))));

    const flags = this.figureTable(c.by_flag.map((f) => ({ key: f.flag, name: f.label ? label(f.label) : flagLabel(f.flag), fig: f })), 'dash.colFlag', 'flag-table',
      (key) => (key === 'no_village' || this.filter.flags === key ? null : { flags: key }));
    // 卫片 / 巡查 / 举报: every item in exactly one source (issue 16 item 1)
    const sources = this.figureTable((c.by_source ?? []).map((s) => ({ key: s.source, name: label(s.label), fig: s })), 'dash.colSource', 'source-table', () => null);
    const batches = this.figureTable(c.by_batch.map((b) => ({
      key: String(b.batch_id), name: `#${b.batch_id} ${b.file_name}${b.survey ? ` · ${b.survey}` : ''}`, fig: b,
    })), 'dash.colBatch', 'batch-table', (key) => (this.filter.batch === key ? null : { batch: key }));

    const outcomes = barList(c.by_outcome.map((x) => ({ label: label(x.label), count: x.count, filter: x.filter, cls: `st-${x.status}` })), { total: ov.total });
    const reasons = barList(c.by_reason.map((x) => ({ label: label(x.label), count: x.count, filter: x.filter, cls: 'st-dismissed' })), { total: ov.dismissed || undefined });
    const ages = barList(c.pending_age.buckets.map((b) => ({
      label: b.max_days === null ? t('dash.ageOver', { d: b.min_days }) : t('dash.ageRange', { a: b.min_days, b: b.max_days }),
      count: b.count, filter: b.filter, cls: 'st-pending',
    })));
    const oldest = c.pending_age.oldest;

    const chosen = this.filter.week ? c.weekly.weeks.find((w) => w.week === this.filter.week) : undefined;
    const curve = h('div', { class: 'curve-wrap' }, weeklyCurve(c, { selected: this.filter.week, onWeek: (week) => this.set({ week }) }),
      chosen ? h('p', { class: 'week-open', id: 'week-open' },
        t('dash.weekChosen', { week: chosen.week, range: this.weekRange(chosen.week) }), ' ',
        countLink(chosen.decided, chosen.filter), ' ', t('dash.weekChosenOpen')) : null,
      h('p', { class: 'hint' },
        t('dash.curveNote', { year: c.weekly.year }),
        c.weekly.undated.count ? [' ', h('a', { href: figureHash(c.weekly.undated.filter) }, t('dash.undated', { n: int(c.weekly.undated.count) }))] : null));

    const cases = o.cases.items.length
      ? h('table', { class: 'fig-table', id: 'overdue-cases' },
        h('thead', null, h('tr', null, h('th', null, t('dash.colCase')), h('th', null, t('dash.colVillage')), h('th', null, t('dash.colSteps')),
          h('th', { class: 'num' }, t('dash.colDeadline')), h('th', { class: 'num' }, t('dash.colPolygons')))),
        h('tbody', null, o.cases.items.map((x) => h('tr', null,
          h('td', null, x.number, h('div', { class: 'muted small' }, x.party)),
          h('td', null, x.village ?? '—'),
          h('td', null, x.overdue_steps.map((s) => tMaybe(`step.${s}`) ?? s).join(t('common.listSep'))),
          h('td', { class: 'num overdue' }, x.next_deadline ?? '—'),
          h('td', { class: 'num' }, int(x.polygon_count))))))
      : h('p', { class: 'muted' }, t('dash.noOverdueCases'));
    const overduePolys = o.polygons.by_village.length
      ? barList(o.polygons.by_village.map((v) => ({ label: v.village, count: v.count, filter: v.filter, cls: 'st-pending' })))
      : h('p', { class: 'muted' }, t('dash.noOverduePolygons', { days: o.pending_days }));

    mount(this.body,
      kpis,
      h('div', { class: 'grid two' },
        card(t('dash.byVillageMap'), [this.mapEl, choroplethLegend()], { cls: 'map-panel-d', id: 'p-map' }),
        card(t('dash.byVillage'), villageTable, { id: 'p-villages' })),
      h('div', { class: 'grid two' },
        card(t('dash.weekly'), curve, { id: 'p-weekly' }),
        card(t('dash.outcomes'), [outcomes, h('h3', null, t('dash.reasons')), reasons], { id: 'p-outcomes' })),
      h('div', { class: 'grid three' },
        card(t('dash.byFlag'), [flags, h('h3', null, t('dash.bySource')), sources], { id: 'p-flags' }),
        card(t('dash.byBatch'), batches, { id: 'p-batches' }),
        card(t('dash.age'), [ages, oldest ? h('p', { class: 'hint' }, t('dash.oldest', { d: int(oldest.age_days) }), ' ',
          oldest.polygons.slice(0, 5).map((p, i) => [i ? t('common.listSep') : '', h('a', { href: `#/?p=${p.id}&status=all` }, p.code)])) : null], { id: 'p-age' })),
      // issue 13: demolished m² against the year's target, cases closed per week (its own module)
      casePanel(this.user, this.filter.year ? Number(this.filter.year) : undefined),
      // issue 16 item 10: patrol and public reports per village and week (its own module)
      patrolPanel(this.filter.village),
      h('div', { class: 'grid two' },
        card(t('dash.overdueCases', { n: int(o.cases.count) }), cases, { id: 'p-overdue-cases' }),
        card(t('dash.overduePolygons', { days: o.pending_days, n: int(o.polygons.count) }), overduePolys, { id: 'p-overdue-polygons' })));
    this.map?.resize();
  }

  /**
   * A breakdown: name, polygons, decided, share (bar), waiting — every count a link to the queue, and the
   * name a button that filters the dashboard to that row (`narrow`: the patch, or null when it cannot).
   */
  private figureTable(rows: { key: string; name: string; fig: Figure }[], head: MessageKey, id: string,
    narrow: (key: string) => Partial<DashFilter> | null, extra?: (key: string) => Node | null) {
    if (!rows.length) return h('p', { class: 'muted' }, t('dash.none'));
    return h('table', { class: 'fig-table', id },
      h('thead', null, h('tr', null,
        h('th', null, t(head)), h('th', { class: 'num' }, t('dash.colTotal')), h('th', { class: 'num' }, t('dash.colDecided')),
        h('th', { class: 'share' }, t('dash.colShare')), h('th', { class: 'num' }, t('dash.colWaiting')))),
      h('tbody', null, rows.map((r) => h('tr', { 'data-key': r.key },
        h('th', { scope: 'row' }, this.narrowButton(r.name, narrow(r.key)), extra ? [' ', extra(r.key)] : null),
        h('td', { class: 'num' }, countLink(r.fig.total, r.fig.filter)),
        h('td', { class: 'num' }, countLink(r.fig.decided, r.fig.decided_filter)),
        h('td', { class: 'share' }, shareBar(r.fig.share, r.fig.decided, r.fig.total, r.fig.decided_filter)),
        h('td', { class: 'num' }, countLink(r.fig.pending + r.fig.field_check, { ...r.fig.filter, status: 'pending,field_check' }))))));
  }

  private narrowButton(name: string, patch: Partial<DashFilter> | null) {
    if (!patch) return h('span', { class: 'row-name' }, name);
    return h('button', { type: 'button', class: 'row-filter', title: t('dash.filterBy', { name }), onclick: () => this.set(patch) }, name);
  }

  /** 10/25–10/31 of a week the curve knows, else the week as written */
  private weekRange(week: string) {
    const w = this.weekOf.get(week);
    if (!w) return week;
    const day = (ms: number) => new Intl.DateTimeFormat('zh-CN', { timeZone: 'Asia/Shanghai', month: 'numeric', day: 'numeric' }).format(ms);
    return `${day(Date.parse(w.from))}–${day(Date.parse(w.to) - 1)}`;
  }

  /** The active filters as removable chips, and the way back to the whole town. */
  private renderChips(cov: Coverage) {
    const f = this.filter;
    const flagName = (x: string) => {
      const g = cov.by_flag.find((b) => b.flag === x);
      return g?.label ? label(g.label) : flagLabel(x);
    };
    const batchName = (id: string) => this.batches.find((b) => String(b.id) === id)?.name ?? `#${id}`;
    const chips: { key: (typeof NARROWING)[number]; text: string }[] = [];
    if (f.village) chips.push({ key: 'village', text: t('dash.chipVillage', { v: f.village === '-' ? t('detail.noVillage') : f.village }) });
    if (f.flags) chips.push({ key: 'flags', text: t('dash.chipFlag', { v: f.flags.split(',').map(flagName).join(t('common.listSep')) }) });
    if (f.batch) chips.push({ key: 'batch', text: t('dash.chipBatch', { v: batchName(f.batch) }) });
    if (f.week) chips.push({ key: 'week', text: t('dash.chipWeek', { v: f.week, range: this.weekRange(f.week) }) });
    if (!chips.length) {
      mount(this.chipsEl, h('span', { class: 'muted small' }, t('dash.chipsNone')));
      return;
    }
    mount(this.chipsEl,
      h('span', { class: 'muted small' }, t('dash.chipsLabel')),
      chips.map((c) => h('span', { class: 'chip dash-chip', 'data-filter': c.key },
        c.text,
        h('button', { type: 'button', class: 'chip-x', 'aria-label': t('dash.chipRemove', { v: c.text }), title: t('dash.chipRemove', { v: c.text }), onclick: () => this.set({ [c.key]: undefined }) }, '×'))),
      h('button', {
        type: 'button', class: 'link', id: 'dash-clear',
        onclick: () => this.set(Object.fromEntries(NARROWING.map((k) => [k, undefined]))),
      }, t('dash.clearAll')));
  }

  private highlightVillage(name: string) {
    const row = this.body.querySelector<HTMLElement>(`#village-table tr[data-key="${CSS.escape(name)}"]`);
    if (!row) return;
    this.body.querySelectorAll('#village-table tr.hl').forEach((r) => r.classList.remove('hl'));
    row.classList.add('hl');
    row.scrollIntoView({ block: 'nearest' });
  }
}
