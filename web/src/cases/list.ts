/**
 * #/cases — the case ledger on screen (issue 13 item 1): filters village, kind, overdue, open/closed, year and
 * text, all in the URL (#/cases?village=…&kind=…&status=…&year=…&overdue=1&q=…&sel=ID); J/K moves the
 * selection, Enter opens the case. Each row: number, party, village, next deadline with its step ("预估" when
 * the deadline lies beyond the published holiday calendar), polygons and an overdue marker.
 */
import { ApiError, get, qs } from '../api';
import { debounce, h, isTyping, mount } from '../dom';
import { int, tMaybe } from '../i18n';
import type { User } from '../types';
import { ct } from './i18n';
import type { CaseListItem, CaseListOut } from './types';

export interface ListState {
  village?: string;
  kind?: 'under_construction' | 'existing';
  status?: 'open' | 'closed';
  year?: number;
  overdue?: boolean;
  q?: string;
  sel?: number;
}

const PAGE = 100;

export function parseListHash(hash: string): ListState {
  const i = hash.indexOf('?');
  const u = new URLSearchParams(i >= 0 ? hash.slice(i + 1) : '');
  const s: ListState = {};
  const v = u.get('village')?.trim();
  if (v) s.village = v.slice(0, 100);
  const k = u.get('kind');
  if (k === 'under_construction' || k === 'existing') s.kind = k;
  const st = u.get('status');
  if (st === 'open' || st === 'closed') s.status = st;
  const y = Number(u.get('year'));
  if (Number.isInteger(y) && y >= 2000 && y <= 2099) s.year = y;
  if (u.get('overdue') === '1') s.overdue = true;
  const q = u.get('q')?.trim();
  if (q) s.q = q.slice(0, 100);
  const sel = Number(u.get('sel'));
  if (Number.isInteger(sel) && sel > 0) s.sel = sel;
  return s;
}

export function listHash(s: ListState): string {
  const u = new URLSearchParams();
  if (s.village) u.set('village', s.village);
  if (s.kind) u.set('kind', s.kind);
  if (s.status) u.set('status', s.status);
  if (s.year) u.set('year', String(s.year));
  if (s.overdue) u.set('overdue', '1');
  if (s.q) u.set('q', s.q);
  if (s.sel) u.set('sel', String(s.sel));
  const q = u.toString();
  return `#/cases${q ? `?${q}` : ''}`;
}

export const stepName = (s: string) => tMaybe(`step.${s}`) ?? s;

/** a deadline with its "estimated" mark (issue 13 rule 8: shown wherever the deadline shows) */
export const deadlineNode = (date: string | null, estimated: boolean, overdue = false) =>
  date === null
    ? h('span', { class: 'muted' }, '—')
    : h('span', { class: `deadline${overdue ? ' overdue' : ''}` }, date,
      estimated ? h('span', { class: 'est', title: ct('cases.estimatedTitle') }, ct('cases.estimated')) : null);

export class CaseList {
  private state: ListState;
  private items: CaseListItem[] = [];
  private total = 0;
  private villages = new Set<string>();
  private filtersEl = h('div', { class: 'case-filters', role: 'search', 'aria-label': ct('cases.filters') });
  private tableEl = h('div', { class: 'case-table-wrap', 'aria-busy': 'true' });
  private summaryEl = h('span', { class: 'muted', 'aria-live': 'polite' });
  private ctrl?: AbortController;
  private onKey = (e: KeyboardEvent) => this.key(e);

  constructor(private readonly el: HTMLElement, private readonly user: User) {
    this.state = parseListHash(location.hash);
    for (const v of user.villages ?? []) this.villages.add(v);
  }

  async start() {
    mount(this.el, h('div', { class: 'case-list' },
      h('div', { class: 'case-head' }, h('h2', null, ct('cases.title')), this.summaryEl, h('span', { class: 'spacer' }),
        h('span', { class: 'hint keys-hint' }, ct('cases.keys'))),
      this.filtersEl, this.tableEl));
    addEventListener('keydown', this.onKey);
    // the register names the villages; a village-limited user sees theirs
    if (!this.user.villages?.length) {
      get<{ items: { village: string }[] }>('/api/villages/register', { quiet: true })
        .then((r) => { r.items.forEach((x) => this.villages.add(x.village)); this.renderFilters(); })
        .catch(() => undefined);
    }
    this.renderFilters();
    await this.load();
  }

  stop() {
    removeEventListener('keydown', this.onKey);
    this.ctrl?.abort();
  }

  /** a filter change is a history entry (Back undoes it); the selection only replaces the entry */
  private set(patch: Partial<ListState>, o: { push?: boolean } = { push: true }) {
    this.state = { ...this.state, ...patch };
    for (const k of Object.keys(this.state) as (keyof ListState)[]) if (this.state[k] === undefined || this.state[k] === false) delete this.state[k];
    if (o.push) history.pushState(null, '', listHash(this.state));
    else history.replaceState(null, '', listHash(this.state));
  }

  /** Back/Forward inside the list */
  applyHash() {
    const next = parseListHash(location.hash);
    const { sel: _a, ...a } = next;
    const { sel: _b, ...b } = this.state;
    this.state = next;
    this.renderFilters();
    if (JSON.stringify(a) !== JSON.stringify(b)) void this.load();
    else this.renderRows();
  }

  private async load(more = false) {
    this.ctrl?.abort();
    const ctrl = (this.ctrl = new AbortController());
    this.tableEl.setAttribute('aria-busy', 'true');
    const s = this.state;
    try {
      const r = await get<CaseListOut>(`/api/cases${qs({
        village: s.village, kind: s.kind, status: s.status, year: s.year, overdue: s.overdue ? '1' : undefined, q: s.q,
        limit: PAGE, offset: more ? this.items.length : 0,
      })}`, { signal: ctrl.signal });
      if (ctrl.signal.aborted) return;
      this.items = more ? [...this.items, ...r.items] : r.items;
      this.total = r.total;
      let added = false;
      for (const c of r.items) if (c.village && !this.villages.has(c.village)) { this.villages.add(c.village); added = true; }
      if (added) this.renderFilters();
      this.renderRows();
      this.tableEl.setAttribute('aria-busy', 'false');
      this.tableEl.dataset.ready = '1';
    } catch (e) {
      if ((e as Error).name === 'AbortError') return;
      this.tableEl.setAttribute('aria-busy', 'false');
      mount(this.tableEl, h('p', { class: 'error', role: 'alert' }, e instanceof ApiError ? e.text() : String(e)));
    }
  }

  private renderFilters() {
    const s = this.state;
    const field = (text: string, control: HTMLElement) => h('label', { class: 'case-filter' }, h('span', null, text), control);
    const select = (id: string, options: [string, string][], value: string | undefined, on: (v: string) => void) =>
      h('select', { id, onchange: (e: Event) => on((e.target as HTMLSelectElement).value) },
        options.map(([v, text]) => h('option', { value: v, selected: (value ?? '') === v }, text)));
    const villages = [...this.villages].sort((a, b) => a.localeCompare(b, 'zh-CN'));
    if (s.village && !villages.includes(s.village)) villages.push(s.village);
    const search = h('input', {
      id: 'cases-q', type: 'search', value: s.q ?? '', placeholder: ct('cases.search'), autocomplete: 'off', 'aria-keyshortcuts': '/',
    });
    const typed = debounce(() => { this.set({ q: search.value.trim() || undefined, sel: undefined }); void this.load(); }, 300);
    search.addEventListener('input', typed);
    const change = (patch: Partial<ListState>) => { this.set({ ...patch, sel: undefined }); void this.load(); };
    mount(this.filtersEl,
      field(ct('cases.village'), select('cases-village', [['', ct('cases.allVillages')], ...villages.map((v): [string, string] => [v, v])], s.village,
        (v) => change({ village: v || undefined }))),
      field(ct('cases.kind'), select('cases-kind', [['', ct('cases.allKinds')], ['under_construction', ct('case.kind.under_construction')],
        ['existing', ct('case.kind.existing')]], s.kind, (v) => change({ kind: (v || undefined) as ListState['kind'] }))),
      field(ct('cases.status'), select('cases-status', [['', ct('cases.allStatus')], ['open', ct('cases.open')], ['closed', ct('cases.closed')]], s.status,
        (v) => change({ status: (v || undefined) as ListState['status'] }))),
      field(ct('cases.year'), h('input', {
        id: 'cases-year', type: 'number', min: 2000, max: 2099, step: 1, inputmode: 'numeric', value: s.year ?? '',
        onchange: (e: Event) => {
          const y = Number((e.target as HTMLInputElement).value);
          change({ year: Number.isInteger(y) && y >= 2000 && y <= 2099 ? y : undefined });
        },
      })),
      h('label', { class: 'case-filter check' }, h('input', {
        id: 'cases-overdue', type: 'checkbox', checked: !!s.overdue,
        onchange: (e: Event) => change({ overdue: (e.target as HTMLInputElement).checked || undefined }),
      }), h('span', null, ct('cases.overdueOnly'))),
      h('div', { class: 'case-filter grow' }, h('span', null, ct('cases.search')), search));
  }

  private renderRows() {
    mount(this.summaryEl, ct('cases.total', { n: int(this.total) }));
    if (!this.items.length) {
      mount(this.tableEl, h('p', { class: 'muted empty' }, ct('cases.none')));
      return;
    }
    const sel = this.state.sel;
    const rows = this.items.map((c) => h('tr', {
      id: `case-${c.id}`, 'data-id': c.id, class: `case-row${c.id === sel ? ' selected' : ''}${c.overdue ? ' is-overdue' : ''}`,
      'aria-selected': c.id === sel ? 'true' : 'false',
      onclick: (e: MouseEvent) => {
        if ((e.target as HTMLElement).closest('a')) return;
        this.select(c.id);
      },
      ondblclick: () => this.open(c.id),
    },
    h('td', { class: 'c-number' }, h('a', { href: `#/cases/${c.id}` }, c.number),
      h('span', { class: `kind k-${c.kind}` }, ct(`case.kind.${c.kind}`))),
    h('td', { class: 'c-party' }, c.party, h('div', { class: 'muted small' }, c.address)),
    h('td', { class: 'c-village' }, c.village ?? '—'),
    h('td', { class: 'c-next' }, c.status === 'closed'
      ? h('span', { class: 'muted' }, ct('cases.closed'), c.outcome ? ` · ${ct(`close.${c.outcome}`)}` : '')
      : [deadlineNode(c.next_deadline, c.next_deadline_estimated, c.overdue), c.next_step ? h('div', { class: 'muted small' }, stepName(c.next_step)) : null]),
    h('td', { class: 'c-polys num', 'data-unit': ct('cases.colPolygons') }, int(c.polygon_count)),
    h('td', { class: 'c-state' }, c.overdue
      ? h('span', { class: 'overdue-mark', title: c.overdue_steps.map(stepName).join('、') }, '⚠ ', ct('cases.overdue'))
      : null)));
    mount(this.tableEl,
      h('table', { class: 'case-table', role: 'grid', 'aria-label': ct('cases.title') },
        h('thead', null, h('tr', null,
          h('th', null, ct('cases.colNumber')), h('th', null, ct('cases.colParty')), h('th', null, ct('cases.colVillage')),
          h('th', null, ct('cases.colNext')), h('th', { class: 'num' }, ct('cases.colPolygons')), h('th', null, ct('cases.colState')))),
        h('tbody', null, rows)),
      this.items.length < this.total
        ? h('button', { type: 'button', class: 'more', onclick: () => void this.load(true) }, ct('cases.more'))
        : null);
  }

  private select(id: number) {
    this.set({ sel: id }, { push: false });
    this.tableEl.querySelectorAll('tr.case-row.selected').forEach((r) => { r.classList.remove('selected'); r.setAttribute('aria-selected', 'false'); });
    const row = this.tableEl.querySelector<HTMLElement>(`#case-${id}`);
    row?.classList.add('selected');
    row?.setAttribute('aria-selected', 'true');
    row?.scrollIntoView({ block: 'nearest' });
  }

  private open(id: number) {
    location.hash = `#/cases/${id}`;
  }

  private key(e: KeyboardEvent) {
    if (isTyping(e) || e.ctrlKey || e.metaKey || e.altKey || document.querySelector('dialog[open]')) return;
    const i = this.items.findIndex((c) => c.id === this.state.sel);
    const go = (j: number) => {
      e.preventDefault();
      const c = this.items[Math.max(0, Math.min(this.items.length - 1, j))];
      if (c) this.select(c.id);
    };
    switch (e.key) {
      case 'j': case 'J': case 'ArrowDown': return go(i < 0 ? 0 : i + 1);
      case 'k': case 'K': case 'ArrowUp': return go(i < 0 ? 0 : i - 1);
      case 'Enter':
        if ((e.target as HTMLElement)?.closest?.('button, a')) return;
        if (this.state.sel) { e.preventDefault(); this.open(this.state.sel); }
        return;
      case '/':
        e.preventDefault();
        document.getElementById('cases-q')?.focus();
    }
  }
}
