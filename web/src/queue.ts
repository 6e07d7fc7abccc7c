import { h, mount } from './dom';
import { dateTime, int, num, t, tMaybe, type MessageKey } from './i18n';
import { flagLabel } from './labels';
import { SORTS, STATUSES, type Counts, type ListItem, type Sort, type Status } from './types';
import type { ViewState } from './url';

/** A dashboard filter in words: 「排除原因：误判变化」, 「首次处理早于 2026-10-31 00:00」. */
export function describeExtra(key: string, value: string): string {
  const list = value.split(',').filter(Boolean);
  switch (key) {
    case 'reason':
      return `${t('extra.reason')}${list.map((r) => (r === '-' ? t('extra.none') : tMaybe(`reason.${r}`) ?? r)).join(t('common.listSep'))}`;
    case 'evidence':
      return value === '1' ? t('extra.withPhoto') : t('extra.withoutPhoto');
    case 'field_result':
      return value === '1' ? t('extra.fieldResultYes') : t('extra.fieldResultNo');
    case 'first_outcome':
      return t('extra.neverDecided');
    case 'first_outcome_from':
    case 'first_outcome_to':
    case 'imported_from':
    case 'imported_to':
      return `${t(`extra.${key}` as MessageKey)}${dateTime(value)}`;
    case 'decided_by':
      return `${t('extra.decided_by')}${list.join(t('common.listSep'))}`;
    case 'survey':
      return `${t('extra.survey')}${value}`;
    case 'source':
      return `${t('extra.source')}${list.map((s) => tMaybe(`source.${s}`) ?? s).join(t('common.listSep'))}`;
    default:
      return `${key}=${value}`;
  }
}

/** What the queue asks of the workspace. */
export interface QueueHost {
  view: ViewState;
  items: ListItem[];
  total: number;
  counts?: Counts;
  selectedId?: number;
  checked: Map<number, { version: number; status: Status; code: string }>;
  conflicts: Set<number>;
  canDecide: boolean;
  setFilters(patch: Partial<ViewState>): void;
  /** `/`, a code, Enter: filter by it, then select and open the match (issue 13 item 13) */
  openSearch(q: string | undefined): void;
  select(id: number): void;
  toggleCheck(id: number, on?: boolean): void;
  checkRange(fromId: number, toId: number): void;
  clearChecks(): void;
  bulk(action: 'verify' | 'link' | 'dismiss' | 'request_field_check'): void;
  loadMore(): Promise<void>;
  hasMore(): boolean;
}

/** The queue: status chips with live counts, filters, the list (keyboard: J/K, X to check). */
export class QueueView {
  readonly el: HTMLElement;
  private chips = h('div', { class: 'chips', role: 'group', 'aria-label': t('queue.statusFilter') });
  private filters = h('div', { class: 'filters' });
  private bulkBar = h('div', { class: 'bulkbar', hidden: true, role: 'region', 'aria-label': t('bulk.region') });
  private summary = h('p', { class: 'summary', 'aria-live': 'polite' });
  private list = h('ul', { class: 'list', role: 'listbox', 'aria-label': t('queue.list'), tabindex: 0 });
  /** checked polygons the loaded list does not hold (box-selected on the map, another filter): shown all the same */
  private offList = h('div', { class: 'off-list', hidden: true });
  private sentinel = h('li', { class: 'sentinel', 'aria-hidden': 'true' });
  private search!: HTMLInputElement;
  private lastChecked?: number;

  constructor(private readonly host: QueueHost) {
    this.el = h('aside', { class: 'queue', 'aria-label': t('queue.title') },
      this.chips, this.filters, this.summary, this.bulkBar, this.offList, this.list);
    this.list.addEventListener('click', (e) => this.onListClick(e));
    this.offList.addEventListener('click', (e) => this.onListClick(e));
    new IntersectionObserver((entries) => {
      if (entries.some((x) => x.isIntersecting) && this.host.hasMore()) void this.host.loadMore();
    }, { root: this.list, rootMargin: '200px' }).observe(this.sentinel);
    this.renderFilters();
  }

  focusSearch() {
    this.search.focus();
    this.search.select();
  }

  renderChips() {
    const c = this.host.counts;
    const active = this.host.view.status;
    mount(this.chips,
      STATUSES.map((s) =>
        h('button', {
          type: 'button', class: `chip st-${s}`, 'aria-pressed': active.includes(s) ? 'true' : 'false',
          'data-status': s,
          onclick: (e: MouseEvent) => {
            // click: only this status; ctrl/shift-click: add or remove it
            const multi = e.ctrlKey || e.metaKey || e.shiftKey;
            const next = multi ? (active.includes(s) ? active.filter((x) => x !== s) : [...active, s]) : active.length === 1 && active[0] === s ? [] : [s];
            this.host.setFilters({ status: next });
          },
        },
        h('span', { class: 'dot' }), t(`status.${s}` as MessageKey), ' ',
        h('span', { class: 'n', 'data-count': s }, c ? int(c.status[s]) : '…'))),
      h('button', {
        type: 'button', class: 'chip all', 'aria-pressed': active.length === 0 ? 'true' : 'false',
        onclick: () => this.host.setFilters({ status: [] }),
      }, t('queue.all'), ' ', h('span', { class: 'n' }, c ? int(Object.values(c.status).reduce((a, b) => a + b, 0)) : '…')));
  }

  renderFilters() {
    const v = this.host.view;
    const c = this.host.counts;
    this.search = h('input', {
      id: 'q', type: 'search', placeholder: t('queue.searchPlaceholder'), value: v.q ?? '', autocomplete: 'off',
      'aria-label': t('queue.search'), 'aria-keyshortcuts': '/',
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    this.search.addEventListener('input', () => {
      clearTimeout(timer);
      timer = setTimeout(() => this.host.setFilters({ q: this.search.value.trim() || undefined }), 250);
    });
    this.search.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') {
        clearTimeout(timer);
        this.host.openSearch(this.search.value.trim() || undefined);
        this.list.focus();
      } else if (e.key === 'Escape') {
        this.search.blur();
      }
    });

    const villages = c?.village ?? [];
    const village = h('select', {
      id: 'f-village', 'aria-label': t('queue.village'),
      onchange: (e: Event) => {
        const val = (e.target as HTMLSelectElement).value;
        this.host.setFilters({ village: val ? [val] : [] });
      },
    },
    h('option', { value: '' }, t('queue.allVillages')),
    v.village.length > 1 ? h('option', { value: v.village.join(','), selected: true }, t('queue.severalVillages', { n: v.village.length })) : null,
    villages.map((x) => {
      const val = x.value ?? '-';
      return h('option', { value: val, selected: v.village.length === 1 && v.village[0] === val }, `${x.value ?? t('detail.noVillage')} (${int(x.n)})`);
    }),
    // a village from the link that has nothing under the other filters
    v.village.length === 1 && !villages.some((x) => (x.value ?? '-') === v.village[0])
      ? h('option', { value: v.village[0], selected: true }, `${v.village[0]} (0)`) : null);

    const batches = c?.batch ?? [];
    const batch = h('select', {
      id: 'f-batch', 'aria-label': t('queue.batch'),
      onchange: (e: Event) => {
        const val = Number((e.target as HTMLSelectElement).value);
        this.host.setFilters({ batch: val > 0 ? val : undefined });
      },
    },
    h('option', { value: '' }, t('queue.allBatches')),
    batches.map((b) => h('option', { value: b.value, selected: v.batch === b.value }, `${t('detail.batch')} #${b.value} (${int(b.n)})`)),
    v.batch && !batches.some((b) => b.value === v.batch) ? h('option', { value: v.batch, selected: true }, `${t('detail.batch')} #${v.batch}`) : null);

    const sort = h('select', {
      id: 'f-sort', 'aria-label': t('queue.sort'),
      onchange: (e: Event) => this.host.setFilters({ sort: (e.target as HTMLSelectElement).value as Sort }),
    }, SORTS.map((s) => h('option', { value: s, selected: v.sort === s }, t(`sort.${s}` as MessageKey))));

    const flagFacet = c?.flags ?? [];
    const flagNames = [...new Set([...flagFacet.map((f) => f.value), ...v.flags])];
    const flags = h('div', { class: 'flag-filter', role: 'group', 'aria-label': t('queue.flags') },
      flagNames.map((f) => {
        const n = flagFacet.find((x) => x.value === f)?.n ?? 0;
        const on = v.flags.includes(f);
        return h('button', {
          type: 'button', class: `chip small fl-${f}`, 'aria-pressed': on ? 'true' : 'false',
          onclick: () => this.host.setFilters({ flags: on ? v.flags.filter((x) => x !== f) : [...v.flags, f] }),
        }, flagLabel(f), ' ', h('span', { class: 'n' }, int(n)));
      }));

    const extra = Object.entries(v.extra);
    mount(this.filters,
      extra.length
        ? h('div', { class: 'extra-filter', role: 'group', 'aria-label': t('extra.title') },
          h('span', null, h('b', null, t('extra.title')), ' ', extra.map(([k, val]) => describeExtra(k, val)).join(t('extra.sep'))),
          h('button', {
            type: 'button', class: 'icon', id: 'clear-extra', title: t('extra.clear'), 'aria-label': t('extra.clear'),
            onclick: () => this.host.setFilters({ extra: {} }),
          }, '×'))
        : null,
      h('div', { class: 'row' }, this.search,
        h('button', {
          type: 'button', class: 'chip small field-result', id: 'f-field-result', title: t('queue.fieldResultTitle'),
          'aria-pressed': v.extra.field_result === '1' ? 'true' : 'false',
          onclick: () => {
            const { field_result: cur, ...rest } = v.extra;
            this.host.setFilters({ extra: cur === '1' ? rest : { ...rest, field_result: '1' } });
          },
        }, t('queue.fieldResult'))),
      h('div', { class: 'row' }, village, batch, sort),
      flagNames.length ? flags : null);
    this.renderChips();
  }

  renderSummary() {
    const { items, total } = this.host;
    this.summary.textContent = t('queue.summary', { shown: int(items.length), total: int(total) });
  }

  renderList() {
    const { items } = this.host;
    this.renderSummary();
    this.renderOffList();
    if (!items.length) {
      mount(this.list, h('li', { class: 'empty' }, t('queue.empty')));
      return;
    }
    mount(this.list, items.map((it) => this.row(it)), this.sentinel);
    if (this.host.selectedId) this.markSelected(this.host.selectedId, false);
  }

  appendRows(items: ListItem[]) {
    this.renderSummary();
    for (const it of items) this.list.insertBefore(this.row(it), this.sentinel);
  }

  private row(it: ListItem): HTMLElement {
    const checked = this.host.checked.has(it.id);
    const li = h('li', {
      id: `row-${it.id}`, role: 'option', 'data-id': it.id,
      class: `row st-${it.status}${checked ? ' checked' : ''}${this.host.conflicts.has(it.id) ? ' conflict' : ''}`,
      'aria-selected': it.id === this.host.selectedId ? 'true' : 'false',
    },
    this.host.canDecide
      ? h('input', { type: 'checkbox', class: 'check', checked, 'aria-label': t('queue.checkRow', { code: it.code }), tabindex: -1 })
      : null,
    h('span', { class: `badge st-${it.status}` }, t(`status.${it.status}` as MessageKey)),
    h('span', { class: 'code' }, it.code),
    it.source && it.source !== 'survey' ? h('span', { class: `source src-${it.source}` }, t(`source.${it.source}` as MessageKey)) : null,
    it.duplicate_of && !it.merged_into ? h('span', { class: 'dup', title: t('queue.possibleDuplicate') }, t('queue.duplicateBadge')) : null,
    this.host.conflicts.has(it.id) ? h('span', { class: 'warn-icon', title: t('conflict.rowTitle') }, '⚠') : null,
    h('span', { class: 'meta' },
      `${it.village ?? t('detail.noVillage')} · ${num(it.area_mu, 2)} ${t('unit.mu')} · ${t('queue.priorityShort')} ${num(it.priority, 1)}`),
    it.flags.length ? h('span', { class: 'flags' }, it.flags.map((f) => h('span', { class: `flag fl-${f}` }, flagLabel(f)))) : null,
    it.field_result
      ? h('span', { class: `field-back fr-${it.field_result}`, title: t('queue.fieldResult') },
        t('queue.fieldResultBadge', { finding: tMaybe(`finding.${it.field_result}`) ?? it.field_result }))
      : null);
    return li;
  }

  updateRow(id: number) {
    const it = this.host.items.find((x) => x.id === id);
    const old = document.getElementById(`row-${id}`);
    if (it && old) old.replaceWith(this.row(it));
  }

  markSelected(id: number | undefined, scroll = true) {
    for (const el of this.list.querySelectorAll('[aria-selected="true"]')) el.setAttribute('aria-selected', 'false');
    if (id === undefined) return;
    const el = document.getElementById(`row-${id}`);
    if (!el) return;
    el.setAttribute('aria-selected', 'true');
    this.list.setAttribute('aria-activedescendant', el.id);
    if (scroll) el.scrollIntoView({ block: 'nearest' });
  }

  renderChecks() {
    for (const el of this.list.querySelectorAll<HTMLElement>('li.row')) {
      const id = Number(el.dataset.id);
      const on = this.host.checked.has(id);
      el.classList.toggle('checked', on);
      const box = el.querySelector<HTMLInputElement>('input.check');
      if (box) box.checked = on;
    }
    this.renderOffList();
    const n = this.host.checked.size;
    this.bulkBar.hidden = n === 0;
    if (!n) return;
    const b = (action: 'verify' | 'link' | 'dismiss' | 'request_field_check', key: string) =>
      h('button', { type: 'button', class: `act act-${action}`, onclick: () => this.host.bulk(action) },
        t(`action.${action}` as MessageKey), ' ', h('kbd', null, key));
    mount(this.bulkBar,
      h('strong', null, t('bulk.selected', { n })),
      h('div', { class: 'acts' },
        b('verify', 'V'), b('link', 'L'), b('dismiss', 'D'), b('request_field_check', 'F'),
        h('button', { type: 'button', class: 'link', onclick: () => this.host.clearChecks() }, t('bulk.clear'), ' ', h('kbd', null, 'Esc'))));
  }

  /** Checked polygons not in the loaded list, as rows above it: a box selection shows wherever it lies (issue 13 item 15). */
  private renderOffList() {
    const listed = new Set(this.host.items.map((x) => x.id));
    const off = [...this.host.checked.entries()].filter(([id]) => !listed.has(id));
    this.offList.hidden = off.length === 0;
    if (!off.length) return mount(this.offList);
    mount(this.offList,
      h('p', { class: 'small muted' }, t('queue.offList', { n: off.length })),
      h('ul', { class: 'list off', role: 'listbox', 'aria-label': t('queue.offList', { n: off.length }) },
        off.slice(0, 50).map(([id, c]) => h('li', {
          id: `off-${id}`, role: 'option', 'data-id': id, class: `row st-${c.status} checked`,
          'aria-selected': id === this.host.selectedId ? 'true' : 'false',
        },
        h('input', { type: 'checkbox', class: 'check', checked: true, 'aria-label': t('queue.checkRow', { code: c.code }), tabindex: -1 }),
        h('span', { class: `badge st-${c.status}` }, t(`status.${c.status}` as MessageKey)),
        h('span', { class: 'code' }, c.code)))));
  }

  private onListClick(e: MouseEvent) {
    const li = (e.target as HTMLElement).closest<HTMLElement>('li.row');
    if (!li) return;
    const id = Number(li.dataset.id);
    const onBox = (e.target as HTMLElement).classList.contains('check');
    if (onBox || e.ctrlKey || e.metaKey || (e.shiftKey && this.host.canDecide)) {
      if (e.shiftKey && this.lastChecked !== undefined && this.lastChecked !== id) {
        this.host.checkRange(this.lastChecked, id);
      } else {
        this.host.toggleCheck(id, onBox ? (e.target as HTMLInputElement).checked : undefined);
      }
      this.lastChecked = id;
      return;
    }
    this.host.select(id);
  }
}
