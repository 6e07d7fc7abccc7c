import { ApiError, get, post, qs } from './api';
import { debounce, h, isTyping, mount, uuid } from './dom';
import { confirmDialog, openDialog } from './dialog';
import { askNote, pickCase, pickDismissReason } from './decide';
import { renderDetail, renderDetailSkeleton, statusBadge } from './detail';
import { dateTime, t, type MessageKey } from './i18n';
import { QueueView, type QueueHost } from './queue';
import { toast, type ToastHandle } from './toast';
import { topBar } from './shell';
import type {
  Action, BulkOut, Counts, DecisionOut, Detail, DismissReason, Epoch, History, ListItem, ListResponse, MapConfig, NewCase, Status,
  TileLayerInfo, User,
} from './types';
import { filterQuery, formatHash, parseHash, type ViewState } from './url';
import type { MapView } from './map/view';
import { fetchPage, type BBox, type Page, type Prefetch } from './queue-data';
import { shareFieldLink } from './field-link';
import { epochLabel } from './map/epoch';

const UNDO_MS = 8000;
const TO: Record<Action, Status> = {
  verify: 'verified', link: 'linked', dismiss: 'dismissed', request_field_check: 'field_check', return: 'pending', reopen: 'pending',
};
const OUTCOMES: Status[] = ['verified', 'linked', 'dismissed'];
const OPEN: Status[] = ['pending', 'field_check'];

type Extra = { reason?: DismissReason; note?: string; case_id?: number; new_case?: NewCase; proof?: { permit_ref?: string; demolished_on?: string } };
type Checked = { version: number; status: Status; code: string };

interface Undo {
  ids: number[];
  action: Action;
  /** the versions after the decision, once the server has answered */
  done: Promise<Map<number, number> | null>;
  at: number;
  toast?: ToastHandle;
}

/** The analyst workspace: queue | map | detail, wired to the keyboard and the URL. */
export class Workspace implements QueueHost {
  view: ViewState;
  items: ListItem[] = [];
  total = 0;
  counts?: Counts;
  /** per status over the whole campaign (no filter): the header keeps these (issue 13 item 14) */
  private campaign?: Counts['status'];
  private mapConfig?: MapConfig;
  /** the detail's chips need the imagery dates: the first detail waits for the (early) map config */
  private mapConfigReady?: Promise<MapConfig | undefined>;
  selectedId?: number;
  checked = new Map<number, Checked>();
  conflicts = new Set<number>();
  readonly canDecide: boolean;
  private readonly canReturn: boolean;
  private details = new Map<number, Promise<Detail>>();
  private histories = new Map<number, Promise<History>>();
  private listCtrl?: AbortController;
  private loadingMore?: Promise<void>;
  /** loaded items that have left the status filter since loading (for the offset of the next page) */
  private leftFilter = 0;
  private lastHash = '';
  private undo?: Undo;
  private map?: MapView;
  private queue: QueueView;
  private detailEl = h('div', { class: 'detail-scroll' });
  private actionsEl = h('div', { class: 'actions', role: 'toolbar', 'aria-label': t('action.toolbar') });
  private headInfo = h('div', { class: 'info' });
  private navEl = h('div', { class: 'nav', role: 'group', 'aria-label': t('nav.group') },
    h('button', { type: 'button', class: 'act nav', onclick: () => void this.move(-1), 'aria-keyshortcuts': 'K', title: `${t('nav.prev')} (K)`, 'aria-label': t('nav.prev') },
      '↑ ', h('kbd', null, 'K')),
    h('button', { type: 'button', class: 'act nav', onclick: () => void this.move(1), 'aria-keyshortcuts': 'J', title: `${t('nav.next')} (J)`, 'aria-label': t('nav.next') },
      '↓ ', h('kbd', null, 'J')));
  private headEl = h('div', { class: 'detail-head' }, this.headInfo, this.navEl);
  private bannerEl = h('div', { class: 'banner', role: 'alert', hidden: true });
  private detailPane: HTMLElement;
  private countsEls = h('span', { class: 'top-counts', 'aria-live': 'polite' });
  private refreshCounts = debounce(() => void this.loadCounts(), 600);

  /** polygon bboxes from the list pages: the map moves before the detail arrives */
  private bboxes = new Map<number, BBox>();

  constructor(
    private readonly root: HTMLElement,
    readonly user: User,
    private readonly mapModule: Promise<typeof import('./map/view')>,
    private pre?: Prefetch,
  ) {
    this.canDecide = user.role === 'analyst' || user.role === 'admin';
    this.canReturn = user.role === 'reviewer' || user.role === 'admin';
    this.view = parseHash(location.hash);
    this.queue = new QueueView(this);
    this.detailPane = h('aside', { class: 'detail', 'aria-label': t('detail.title') }, this.headEl, this.actionsEl, this.bannerEl, this.detailEl);
    this.layout();
    addEventListener('hashchange', () => this.onHashChange());
    addEventListener('keydown', (e) => this.onKey(e));
  }

  // ---------------------------------------------------------------- layout

  private layout() {
    const header = topBar(this.user, 'workspace', { middle: this.countsEls, help: () => this.showHelp() });
    const mapEl = h('div', { id: 'map', class: 'map' });
    const mapWrap = h('main', { class: 'mapwrap', 'aria-label': t('map.label') }, mapEl,
      h('div', { class: 'map-status', id: 'map-status', hidden: true }));
    mount(this.root, h('div', { class: 'ws' }, header, this.queue.el, mapWrap, this.detailPane));
    this.renderActions();
    this.renderEmptyDetail();
  }

  // ---------------------------------------------------------------- start

  async start() {
    const v = this.view;
    const pre = this.pre;
    this.pre = undefined;
    const config = pre ? pre.config.catch(() => get<MapConfig>('/api/config/map')) : get<MapConfig>('/api/config/map');
    this.mapConfigReady = config.then((c) => (this.mapConfig = c), () => undefined);
    // a link naming its polygon by code: find its id (the loaded list first, else the server)
    if (v.code && !v.p) v.p = await this.idOfCode(v.code, pre?.page);
    const tileList = get<{ layers: TileLayerInfo[] }>('/tiles').catch(() => ({ layers: [] as TileLayerInfo[] }));
    const list = this.loadList(pre?.page);
    // the counts (per status, village and flag over the whole survey: the page's heaviest query) wait for the
    // map's camera, so they do not compete with the queue's first page and the first tiles for the database
    // and the CPU; at the latest after 2.5 s (a map that never gets there)
    let countsAsked = false;
    const askCounts = () => {
      if (!countsAsked) void this.loadCounts();
      countsAsked = true;
    };
    const countsTimer = setTimeout(askCounts, 2500);
    // where the map opens: the link's view, the linked polygon, or the top of the queue (selected: one key
    // decides it); the whole survey's extent only when the queue is empty (at district scale that view alone
    // holds tens of thousands of polygons)
    const linkView = v.c && v.z !== undefined;
    // the map (style, worker, GL context) starts now, not after the queue's first page: at zoom 0 no layer
    // asks for tiles, and everything is ready when the camera comes
    const mapReady = Promise.all([config, this.mapModule]).then(([cfg, mod]) => mod.createMapView({
      container: document.getElementById('map')!,
      config: cfg,
      onSelect: (id, m) => (m.toggle && this.canDecide ? this.toggleCheck(id) : this.select(id, { fly: false })),
      onBoxSelect: (ids, bbox) => void this.boxSelect(ids, bbox),
      onMove: (c, z) => {
        this.view.c = c;
        this.view.z = z;
        this.writeHash();
      },
    }));
    mapReady.catch(() => undefined);
    const start = v.p ?? (linkView ? undefined : await list.then(() => this.items[0]?.id));
    const camera: Promise<{ bbox?: [number, number, number, number]; center?: [number, number]; zoom?: number }> =
      linkView
        ? Promise.resolve({ center: v.c!, zoom: v.z! })
        : start && this.bboxes.has(start)
          ? Promise.resolve({ bbox: this.bboxes.get(start)! })
          : start
            ? this.detail(start).then((d) => ({ bbox: d.bbox }), () => this.surveyBounds())
            : this.surveyBounds();
    // the detail panel need not wait for the map
    if (start) void list.then(() => this.select(start, { fly: false, scroll: true }));
    try {
      this.map = await mapReady;
      this.map.setInitialView(await camera);
      if (this.selectedId) this.map.setSelected(this.selectedId);
      if (this.checked.size) this.map.setChecked([...this.checked.keys()]);
      void tileList.then((l) => this.map?.addCustomLayers(l.layers));
    } catch (e) {
      const s = document.getElementById('map-status')!;
      s.hidden = false;
      s.textContent = `${t('map.failed')} ${e instanceof ApiError ? e.text() : (e as Error).message}`;
    } finally {
      clearTimeout(countsTimer);
      askCounts();
    }
  }

  private async surveyBounds() {
    try {
      const tj = await get<{ bounds: [number, number, number, number] }>('/tiles/survey.json');
      const b = tj.bounds;
      if (b && b[2] - b[0] < 10 && b[3] - b[1] < 10) return { bbox: b };
    } catch {
      /* the default centre */
    }
    return {};
  }

  // ---------------------------------------------------------------- data

  /** The first page of the queue (a prefetched one when it is for these filters and arrived fine). */
  async loadList(prefetched?: Promise<Page>) {
    this.listCtrl?.abort();
    const ctrl = (this.listCtrl = new AbortController());
    this.leftFilter = 0;
    try {
      const r = (prefetched && (await prefetched.catch(() => undefined))) || (await fetchPage(this.view, 0, { signal: ctrl.signal }));
      if (ctrl.signal.aborted) return;
      for (const [id, b] of r.bboxes) this.bboxes.set(id, b);
      this.items = r.items;
      this.total = r.total;
      this.queue.renderList();
    } catch (e) {
      if ((e as Error).name !== 'AbortError') this.showError(e);
    }
  }

  hasMore() {
    return this.items.length - this.leftFilter < this.total && !this.loadingMore;
  }

  loadMore(): Promise<void> {
    if (this.loadingMore) return this.loadingMore;
    if (this.items.length - this.leftFilter >= this.total) return Promise.resolve();
    const ctrl = this.listCtrl;
    this.loadingMore = (async () => {
      try {
        const r = await fetchPage(this.view, this.items.length - this.leftFilter, { signal: ctrl?.signal });
        // the list was loaded anew (other filters, a search) while this page was on its way: it belongs to the
        // old list, and appended it would put the old view's rows under the new one's
        if (ctrl?.signal.aborted) return;
        for (const [id, b] of r.bboxes) this.bboxes.set(id, b);
        const have = new Set(this.items.map((x) => x.id));
        const fresh = r.items.filter((x) => !have.has(x.id));
        this.items.push(...fresh);
        this.total = r.total;
        this.queue.appendRows(fresh);
      } catch (e) {
        if ((e as Error).name !== 'AbortError') this.showError(e);
      } finally {
        this.loadingMore = undefined;
      }
    })();
    return this.loadingMore;
  }

  private async idOfCode(code: string, page?: Promise<Page>): Promise<number | undefined> {
    const listed = (await page?.catch(() => undefined))?.items.find((x) => x.code === code);
    if (listed) return listed.id;
    try {
      return (await get<{ id: number }>(`/api/polygons/by-code/${encodeURIComponent(code)}`, { quiet: true })).id;
    } catch {
      toast(t('queue.noMatch', { q: code }), { kind: 'error' });
      return undefined;
    }
  }

  async loadCounts() {
    try {
      const q = filterQuery(this.view);
      const filtered = Object.entries(q).some(([k, v]) => k !== 'status' && (Array.isArray(v) ? v.length : v !== undefined));
      const [counts, campaign] = await Promise.all([
        get<Counts>(`/api/polygons/counts${qs(q)}`),
        filtered ? get<Counts>('/api/polygons/counts') : undefined,
      ]);
      this.counts = counts;
      this.campaign = campaign ? { ...campaign.status } : { ...counts.status };
      this.queue.renderFilters();
      this.renderTopCounts();
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 0)) console.warn(e);
    }
  }

  /** the campaign's totals, whatever the filter; the filtered count beside them (issue 13 item 14) */
  private renderTopCounts() {
    const c = this.campaign;
    if (!c) return;
    const open = c.pending + c.field_check;
    const all = Object.values(c).reduce((a, b) => a + b, 0);
    const filtered = this.counts && (this.view.village.length || this.view.flags.length || this.view.batch || this.view.q || Object.keys(this.view.extra).length);
    mount(this.countsEls, h('span', { class: 'campaign' }, t('top.progress', { open, done: all - open, all })),
      filtered ? h('span', { class: 'filtered', id: 'top-filtered' }, ` · ${t('top.filtered', { n: this.counts!.total })}`) : null);
  }

  private detail(id: number): Promise<Detail> {
    let p = this.details.get(id);
    if (!p) {
      p = get<Detail>(`/api/polygons/${id}`);
      p.catch(() => this.details.delete(id));
      this.details.set(id, p);
    }
    return p;
  }

  private history(id: number): Promise<History> {
    let p = this.histories.get(id);
    if (!p) {
      p = get<History>(`/api/polygons/${id}/history`);
      p.catch(() => this.histories.delete(id));
      this.histories.set(id, p);
    }
    return p;
  }

  private forget(id: number) {
    this.details.delete(id);
    this.histories.delete(id);
  }

  // ---------------------------------------------------------------- filters and URL

  /** A filter change is a new history entry: Back returns to the filters before (issue 13 item 14). */
  setFilters(patch: Partial<ViewState>): Promise<void> {
    Object.assign(this.view, patch);
    this.writeHash(true);
    this.queue.renderFilters();
    void this.loadCounts();
    return this.loadList();
  }

  /** `/`, code, Enter: the list filtered by it, and the match (the exact code, else the first) selected and open. */
  async openSearch(q: string | undefined) {
    await this.setFilters({ q });
    if (!q) return;
    const hit = this.items.find((x) => x.code === q) ?? this.items.find((x) => x.code.toLowerCase() === q.toLowerCase()) ?? this.items[0];
    if (hit) await this.select(hit.id);
    else toast(t('queue.noMatch', { q }), { ms: 2500 });
  }

  private writeHash(push = false) {
    const h = formatHash(this.view);
    if (h === this.lastHash) return;
    this.lastHash = h;
    if (push) history.pushState(null, '', h);
    else history.replaceState(null, '', h);
  }

  private onHashChange() {
    if (location.hash === this.lastHash) return;
    const next = parseHash(location.hash);
    const filtersChanged = JSON.stringify(filterQuery(next)) !== JSON.stringify(filterQuery(this.view)) || next.sort !== this.view.sort;
    this.view = next;
    this.lastHash = location.hash;
    if (filtersChanged) {
      this.queue.renderFilters();
      void this.loadList();
      void this.loadCounts();
    }
    if (next.c && next.z !== undefined) this.map?.map.jumpTo({ center: next.c, zoom: next.z });
    const fly = !(next.c && next.z !== undefined);
    if (next.code && next.code !== this.items.find((x) => x.id === this.selectedId)?.code) {
      void this.idOfCode(next.code).then((id) => (id ? this.select(id, { fly }) : undefined));
    } else if (!next.code && next.p && next.p !== this.selectedId) void this.select(next.p, { fly });
  }

  // ---------------------------------------------------------------- selection

  async select(id: number, o: { fly?: boolean; scroll?: boolean } = {}) {
    const fly = o.fly ?? true;
    this.selectedId = id;
    const listed = this.items.find((x) => x.id === id);
    // the URL names the polygon by its code; by its id only until the detail says the code
    this.view.code = listed?.code;
    this.view.p = listed ? undefined : id;
    this.writeHash();
    this.queue.markSelected(id, o.scroll ?? true);
    this.map?.setSelected(id);
    document.body.classList.add('has-detail');
    const item = this.items.find((x) => x.id === id);
    const known = this.bboxes.get(id);
    if (fly && known) this.map?.fitTo(known);
    this.renderHead(item);
    this.renderActions();
    this.hideBannerUnlessFor(id);
    mount(this.detailEl, renderDetailSkeleton(item));
    try {
      const d = await this.detail(id);
      const imagery = (this.mapConfig ?? (await this.mapConfigReady))?.imagery;
      if (this.selectedId !== id) return;
      if (fly && !known) this.map?.fitTo(d.bbox);
      if (!this.view.code) {
        this.view.code = d.code;
        this.view.p = undefined;
        this.writeHash();
      }
      this.renderHead(item ?? d);
      mount(this.detailEl, renderDetail(d, undefined, imagery));
      const hist = await this.history(id).catch(() => undefined);
      if (this.selectedId !== id) return;
      mount(this.detailEl, renderDetail(d, hist, imagery));
    } catch (e) {
      if (this.selectedId === id) mount(this.detailEl, h('p', { class: 'error' }, e instanceof ApiError ? e.text() : String(e)));
    }
    // the next one is likely wanted next: fetch it now
    const next = this.neighbour(1);
    if (next) {
      void this.detail(next.id).catch(() => undefined);
      void this.history(next.id).catch(() => undefined);
    }
  }

  private renderEmptyDetail() {
    mount(this.headInfo, h('h2', null, t('detail.title')));
    mount(this.detailEl, h('div', { class: 'empty-detail' },
      h('p', null, t('detail.pickOne')),
      h('p', { class: 'muted' }, t('detail.pickHint'))));
  }

  private renderHead(item: { code: string; status: Status; village?: string | null; village_name?: string | null; version: number } | undefined) {
    if (!item) return;
    const cur = this.items.find((x) => x.id === this.selectedId);
    const status = cur?.status ?? item.status;
    mount(this.headInfo,
      h('h2', null, item.code, ' ', statusBadge(status)),
      h('p', { class: 'muted' }, `${item.village ?? item.village_name ?? t('detail.noVillage')} · ${t('detail.version')} ${cur?.version ?? item.version}`),
      h('button', { type: 'button', class: 'link back', onclick: () => document.body.classList.remove('has-detail') }, t('detail.backToQueue')));
  }

  private renderActions() {
    const id = this.selectedId;
    const item = id ? this.items.find((x) => x.id === id) : undefined;
    const status = item?.status;
    const btn = (label: MessageKey, key: string, run: () => void, o: { cls?: string; disabled?: boolean } = {}) =>
      h('button', { type: 'button', class: `act ${o.cls ?? ''}`, disabled: o.disabled, onclick: run, 'aria-keyshortcuts': key },
        t(label), ' ', h('kbd', null, key));
    const open = !status || OPEN.includes(status);
    mount(this.actionsEl,
      this.canDecide
        ? [
          btn('action.verify', 'V', () => void this.act('verify'), { cls: 'act-verify', disabled: !id || !open }),
          btn('action.link', 'L', () => void this.act('link'), { cls: 'act-link', disabled: !id || !open }),
          btn('action.dismiss', 'D', () => void this.act('dismiss'), { cls: 'act-dismiss', disabled: !id || !open }),
          btn('action.request_field_check', 'F', () => void this.act('request_field_check'), { cls: 'act-field', disabled: !id || (status !== 'pending' && !!status) }),
          status && (OUTCOMES.includes(status) || status === 'field_check') ? btn('action.reopen', 'O', () => void this.act('reopen')) : null,
          h('button', { type: 'button', class: 'act act-share', disabled: !id && !this.checked.size, onclick: () => void this.shareFieldLink(), 'aria-keyshortcuts': 'S' },
            t('action.fieldLink'), ' ', h('kbd', null, 'S')),
        ]
        : null,
      this.canReturn && status && OUTCOMES.includes(status) ? btn('action.return', 'R', () => void this.act('return')) : null);
  }

  /** S: a signed field link (/f/<token>) with its QR code, for the checked polygons or the selected one. */
  private shareFieldLink() {
    return shareFieldLink(this.checked.size ? [...this.checked.keys()] : this.selectedId ? [this.selectedId] : []);
  }

  private neighbour(step: 1 | -1, o: { openOnly?: boolean } = {}): ListItem | undefined {
    const i = this.items.findIndex((x) => x.id === this.selectedId);
    const wanted = (x: ListItem) => !o.openOnly || this.matchesStatusFilter(x.status) || (!this.view.status.length && OPEN.includes(x.status));
    for (let k = i + step; k >= 0 && k < this.items.length; k += step) if (wanted(this.items[k])) return this.items[k];
    return undefined;
  }

  private matchesStatusFilter(s: Status) {
    return !this.view.status.length || this.view.status.includes(s);
  }

  async move(step: 1 | -1, o: { openOnly?: boolean } = {}) {
    let next = this.neighbour(step, o);
    if (!next && step === 1 && this.hasMore()) {
      await this.loadMore();
      next = this.neighbour(step, o);
    }
    if (next) await this.select(next.id);
    else if (step === 1 && this.selectedId === undefined && this.items[0]) await this.select(this.items[0].id);
    else toast(step === 1 ? t('nav.end') : t('nav.start'), { ms: 1500 });
  }

  // ---------------------------------------------------------------- checks (bulk)

  toggleCheck(id: number, on?: boolean) {
    const it = this.items.find((x) => x.id === id);
    const want = on ?? !this.checked.has(id);
    if (want && it) this.checked.set(id, { version: it.version, status: it.status, code: it.code });
    else if (want && !it) void this.checkUnlisted([id]);
    else this.checked.delete(id);
    this.afterChecks();
  }

  checkRange(fromId: number, toId: number) {
    const a = this.items.findIndex((x) => x.id === fromId);
    const b = this.items.findIndex((x) => x.id === toId);
    if (a < 0 || b < 0) return this.toggleCheck(toId);
    const on = !this.checked.has(toId);
    for (const it of this.items.slice(Math.min(a, b), Math.max(a, b) + 1)) {
      // a range picks the open ones: decided polygons in between would only make the bulk action refuse
      if (on && OPEN.includes(it.status)) this.checked.set(it.id, { version: it.version, status: it.status, code: it.code });
      else this.checked.delete(it.id);
    }
    this.afterChecks();
  }

  clearChecks() {
    this.checked.clear();
    this.afterChecks();
  }

  private afterChecks() {
    this.queue.renderChecks();
    this.map?.setChecked([...this.checked.keys()]);
  }

  /** Polygons picked on the map but not in the loaded list: their versions come from the list API by bbox. */
  private async checkUnlisted(ids: number[], bbox?: [number, number, number, number]) {
    const want = new Set(ids);
    const found = new Map<number, ListItem>();
    if (bbox) {
      const r = await get<ListResponse>(`/api/polygons${qs({ ...filterQuery(this.view), bbox: bbox.map((x) => x.toFixed(7)).join(','), limit: 1000 })}`);
      for (const it of r.items) if (want.has(it.id)) found.set(it.id, it);
    }
    for (const id of ids) {
      if (found.has(id)) continue;
      try {
        const d = await this.detail(id);
        if (this.matchesStatusFilter(d.status)) found.set(id, { ...d, village: d.village_name } as unknown as ListItem);
      } catch {
        /* not visible to this user */
      }
    }
    for (const it of found.values()) this.checked.set(it.id, { version: it.version, status: it.status, code: it.code });
    this.afterChecks();
  }

  private async boxSelect(ids: number[], bbox: [number, number, number, number]) {
    if (!this.canDecide || !ids.length) return;
    const listed = new Map(this.items.map((x) => [x.id, x]));
    const unlisted: number[] = [];
    for (const id of ids) {
      const it = listed.get(id);
      if (it) {
        if (this.matchesStatusFilter(it.status)) this.checked.set(id, { version: it.version, status: it.status, code: it.code });
      } else unlisted.push(id);
    }
    this.afterChecks();
    if (unlisted.length) await this.checkUnlisted(unlisted, bbox);
    toast(t('bulk.boxSelected', { n: this.checked.size }), { ms: 2000 });
  }

  // ---------------------------------------------------------------- deciding

  /** V/L/D/F/O/R: on the checked polygons when there are any, otherwise on the selected one. */
  async act(action: Action) {
    if (this.checked.size && (action === 'verify' || action === 'link' || action === 'dismiss' || action === 'request_field_check')) {
      return this.bulk(action);
    }
    const id = this.selectedId;
    if (!id) return;
    let item: ListItem | undefined = this.items.find((x) => x.id === id);
    if (!item) {
      const d = await this.detail(id);
      item = { ...d, village: d.village_name } as unknown as ListItem;
    }
    const extra = await this.askExtra(action, 1, item);
    if (!extra) return;
    await this.decideOne(item, action, extra);
  }

  private async askExtra(action: Action, count: number, item?: ListItem): Promise<Extra | null> {
    if (action === 'dismiss') return pickDismissReason(count);  // with the proof its reason needs (issue 13 item 18)
    if (action === 'link') return pickCase({ count, village: item?.village, code: item?.code });
    if (action === 'return') {
      const note = await askNote(t('action.return'), t('note.returnLabel'), t('action.return'));
      return note ? { note } : null;
    }
    if (action === 'reopen') {
      const note = await askNote(t('action.reopen'), t('note.reopenLabel'), t('action.reopen'));
      return note ? { note } : null;
    }
    return {};
  }

  private setLocalStatus(id: number, status: Status, version?: number) {
    const it = this.items.find((x) => x.id === id);
    if (it) {
      const was = it.status;
      it.status = status;
      if (version !== undefined) it.version = version;
      if (this.matchesStatusFilter(was) && !this.matchesStatusFilter(status)) this.leftFilter++;
      else if (!this.matchesStatusFilter(was) && this.matchesStatusFilter(status)) this.leftFilter--;
      this.queue.updateRow(id);
      if (id === this.selectedId) this.queue.markSelected(id, false);
    }
    this.map?.setStatus(id, status);
    if (id === this.selectedId) {
      this.renderActions();
      if (it) this.renderHead(it);
    }
  }

  /** Moves counts optimistically from one status to another, then asks the server. */
  private shiftCounts(from: Status, to: Status, n = 1) {
    if (this.counts) {
      this.counts.status[from] = Math.max(0, this.counts.status[from] - n);
      this.counts.status[to] += n;
      if (this.campaign && this.campaign !== this.counts.status) {
        this.campaign[from] = Math.max(0, this.campaign[from] - n);
        this.campaign[to] += n;
      }
      this.queue.renderChips();
      this.renderTopCounts();
    }
    this.refreshCounts();
  }

  private async decideOne(item: ListItem, action: Action, extra: Extra) {
    const id = item.id;
    const from = item.status;
    const version = item.version;
    const to = TO[action];
    this.conflicts.delete(id);
    // optimistic: show it and move on at once; a refusal puts it back and says why
    this.applyLocal(id, to);
    this.shiftCounts(from, to);
    const body = { action, version, request_id: uuid(), ...extra };
    const done = post<DecisionOut>(`/api/polygons/${id}/decisions`, body)
      .then((r) => {
        this.applyLocal(id, r.polygon.status, r.polygon.version);
        this.forget(id);
        if (r.case?.created) toast(t('link.created', { number: r.case.number }), { kind: 'ok' });
        return new Map([[id, r.polygon.version]]);
      })
      .catch((e) => {
        // the undo offer was for a decision that did not happen
        if (this.undo?.ids.includes(id)) {
          this.undo.toast?.close();
          this.undo = undefined;
        }
        this.refused(item, from, to, version, e);
        return null;
      });
    if (action !== 'return' && action !== 'reopen') {
      this.offerUndo({ ids: [id], action, done, at: Date.now() }, t('undo.one', { code: item.code, status: t(`status.${to}` as MessageKey) }));
    } else {
      void done.then((v) => v && toast(t('decided.one', { code: item.code, status: t(`status.${to}` as MessageKey) }), { kind: 'ok', ms: 2500 }));
    }
    if (id === this.selectedId && (action === 'verify' || action === 'link' || action === 'dismiss' || action === 'request_field_check')) {
      await this.move(1, { openOnly: true });
    }
    await done;
  }

  private applyLocal(id: number, status: Status, version?: number) {
    this.setLocalStatus(id, status, version);
    const c = this.checked.get(id);
    if (c) {
      c.status = status;
      if (version !== undefined) c.version = version;
    }
  }

  /** A refused decision: back to what the server says, and say plainly who decided it. */
  private refused(item: ListItem, from: Status, optimistic: Status, version: number, e: unknown) {
    const id = item.id;
    const err = e instanceof ApiError ? e : undefined;
    const cur = err?.details?.current as { status: Status; version: number } | undefined;
    this.applyLocal(id, cur?.status ?? from, cur?.version ?? version);
    this.shiftCounts(optimistic, cur?.status ?? from);
    this.forget(id);
    if (err?.code === 'version_conflict' || err?.code === 'invalid_transition' || err?.code === 'polygon_removed') {
      this.conflicts.add(id);
      this.queue.updateRow(id);
      const by = err.details?.by as { username: string; at: string; action: string } | null | undefined;
      const msg = err.code === 'version_conflict'
        ? by
          ? t('conflict.by', {
            code: item.code, user: by.username, at: dateTime(by.at),
            action: t(`action.${by.action}` as MessageKey), status: t(`status.${cur?.status ?? from}` as MessageKey),
          })
          : t('conflict.someone', { code: item.code, status: t(`status.${cur?.status ?? from}` as MessageKey) })
        : err.text();
      this.showBanner(id, msg);
    } else {
      this.showError(e, item.code);
    }
  }

  private showBanner(id: number, msg: string) {
    this.bannerEl.dataset.id = String(id);
    this.bannerEl.dataset.seen = id === this.selectedId ? '1' : '';
    mount(this.bannerEl,
      h('span', { class: 'warn-icon', 'aria-hidden': 'true' }, '⚠'),
      h('span', { class: 'msg' }, msg),
      id !== this.selectedId ? h('button', { type: 'button', class: 'link', onclick: () => void this.select(id) }, t('conflict.show')) : null,
      h('button', { type: 'button', class: 'icon', 'aria-label': t('common.close'), onclick: () => (this.bannerEl.hidden = true) }, '×'));
    this.bannerEl.hidden = false;
  }

  private hideBannerUnlessFor(id: number) {
    if (this.bannerEl.hidden) return;
    const bid = Number(this.bannerEl.dataset.id);
    // keep a conflict in sight until the analyst has looked at the polygon it is about, then let it go
    if (bid === id) {
      this.bannerEl.dataset.seen = '1';
      this.bannerEl.querySelector('button.link')?.remove();
    } else if (this.bannerEl.dataset.seen === '1' || !this.conflicts.has(bid)) {
      this.bannerEl.hidden = true;
    }
  }

  private showError(e: unknown, code?: string) {
    const msg = e instanceof ApiError ? e.text() : String((e as Error)?.message ?? e);
    toast(code ? `${code}: ${msg}` : msg, { kind: 'error' });
  }

  async bulk(action: 'verify' | 'link' | 'dismiss' | 'request_field_check') {
    const entries = [...this.checked.entries()];
    if (!entries.length) return;
    const n = entries.length;
    if (action === 'verify' || action === 'request_field_check') {
      const ok = await confirmDialog(t(`action.${action}`), t('bulk.confirm', { n, action: t(`action.${action}`) }), t(`action.${action}`));
      if (!ok) return;
    }
    const extra = await this.askExtra(action, n);
    if (!extra) return;
    const to = TO[action];
    const body = { action, items: entries.map(([id, c]) => ({ id, version: c.version })), request_id: uuid(), ...extra };
    let r: BulkOut;
    try {
      r = await post<BulkOut>('/api/decisions/bulk', body);
    } catch (e) {
      return this.bulkRefused(e, entries);
    }
    for (const it of r.items) {
      const from = this.checked.get(it.id)?.status ?? it.from_status;
      this.applyLocal(it.id, it.status, it.version);
      this.shiftCounts(from, it.status);
      this.forget(it.id);
    }
    this.checked.clear();
    this.afterChecks();
    if (r.case?.created) toast(t('link.created', { number: r.case.number }), { kind: 'ok' });
    const versions = new Map(r.items.map((x) => [x.id, x.version]));
    this.offerUndo({ ids: r.items.map((x) => x.id), action, done: Promise.resolve(versions), at: Date.now() },
      t('undo.bulk', { n: r.count, status: t(`status.${to}` as MessageKey) }));
    // the view moves on to the next pending polygon (issue 13 item 15): the selected one when it is still open
    const sel = this.items.find((x) => x.id === this.selectedId);
    if (sel && OPEN.includes(sel.status) && !versions.has(sel.id)) await this.select(sel.id);
    else if (sel) await this.move(1, { openOnly: true });
    else {
      const first = this.items.find((x) => OPEN.includes(x.status));
      if (first) await this.select(first.id);
    }
  }

  private bulkRefused(e: unknown, entries: [number, Checked][]) {
    const err = e instanceof ApiError ? e : undefined;
    const conflicts = (err?.details?.conflicts ?? []) as { id: number; current_version: number; status: Status; reason: string }[];
    if (!conflicts.length) return this.showError(e);
    const code = new Map(entries.map(([id, c]) => [id, c.code]));
    for (const c of conflicts) {
      this.applyLocal(c.id, c.status, c.current_version);
      this.conflicts.add(c.id);
      this.queue.updateRow(c.id);
      this.checked.delete(c.id);
      this.forget(c.id);
    }
    this.afterChecks();
    this.refreshCounts();
    const list = conflicts.slice(0, 6)
      .map((c) => t('conflict.item', { code: code.get(c.id) ?? String(c.id), status: t(`status.${c.status}` as MessageKey) }))
      .join(t('common.listSep'));
    this.showBanner(conflicts[0].id, t('conflict.bulk', { n: conflicts.length, total: entries.length, list, left: this.checked.size }));
  }

  private offerUndo(u: Undo, message: string) {
    this.undo?.toast?.close();
    this.undo = u;
    u.toast = toast(message, { kind: 'ok', ms: UNDO_MS, action: { label: `${t('undo.label')} (U)`, run: () => void this.runUndo() } });
  }

  async runUndo() {
    const u = this.undo;
    this.undo = undefined;
    if (!u || Date.now() - u.at > UNDO_MS + 500) return;
    u.toast?.close();
    const versions = await u.done;
    if (!versions) return;
    const note = t('undo.note');
    try {
      if (u.ids.length === 1) {
        const id = u.ids[0];
        const from = TO[u.action];
        this.applyLocal(id, 'pending');
        this.shiftCounts(from, 'pending');
        const r = await post<DecisionOut>(`/api/polygons/${id}/decisions`, { action: 'reopen', version: versions.get(id), note, request_id: uuid() });
        this.applyLocal(id, r.polygon.status, r.polygon.version);
        this.forget(id);
        await this.select(id);
      } else {
        const r = await post<BulkOut>('/api/decisions/bulk', {
          action: 'reopen', note, request_id: uuid(), items: u.ids.map((id) => ({ id, version: versions.get(id)! })),
        });
        for (const it of r.items) {
          this.applyLocal(it.id, it.status, it.version);
          this.shiftCounts(it.from_status, it.status);
          this.forget(it.id);
        }
      }
      toast(t('undo.done'), { ms: 2000 });
    } catch (e) {
      this.refreshCounts();
      this.showError(e);
      void this.loadList();
    }
  }

  // ---------------------------------------------------------------- keys

  private onKey(e: KeyboardEvent) {
    if (e.defaultPrevented || document.querySelector('dialog[open]')) return;
    if (isTyping(e)) return;
    if (e.altKey) return;
    const k = e.key;
    if ((e.ctrlKey || e.metaKey) && k.toLowerCase() === 'z') {
      e.preventDefault();
      void this.runUndo();
      return;
    }
    if (e.ctrlKey || e.metaKey) return;
    // Space and Enter on a focused control are that control's
    if ((k === ' ' || k === 'Enter') && (e.target as HTMLElement | null)?.closest?.('button, a, summary, input, select')) return;
    const run = (fn: () => unknown) => {
      e.preventDefault();
      fn();
    };
    switch (k) {
      case 'j': case 'J': case 'ArrowDown':
        if (k === 'ArrowDown' && (e.target as HTMLElement)?.closest?.('.maplibregl-canvas-container, .maplibregl-map')) return;
        return run(() => void this.move(1));
      case 'k': case 'K': case 'ArrowUp':
        if (k === 'ArrowUp' && (e.target as HTMLElement)?.closest?.('.maplibregl-canvas-container, .maplibregl-map')) return;
        return run(() => void this.move(-1));
      case 'v': case 'V': if (this.canDecide) run(() => void this.act('verify')); return;
      case 'l': case 'L': if (this.canDecide) run(() => void this.act('link')); return;
      case 'd': case 'D': if (this.canDecide) run(() => void this.act('dismiss')); return;
      case 'f': case 'F': if (this.canDecide) run(() => void this.act('request_field_check')); return;
      case 'o': case 'O': if (this.canDecide) run(() => void this.act('reopen')); return;
      case 'r': case 'R': if (this.canReturn) run(() => void this.act('return')); return;
      case 'u': case 'U': return run(() => void this.runUndo());
      case 'x': case 'X': case ' ':
        if (this.canDecide && this.selectedId) run(() => this.toggleCheck(this.selectedId!));
        return;
      case 's': case 'S': if (this.canDecide) run(() => void this.shareFieldLink()); return;
      case 't': case 'T': return run(() => this.imageryKey(e));
      case '/': return run(() => this.queue.focusSearch());
      case '?': return run(() => this.showHelp());
      case 'Escape':
        // the swipe first: Esc leaves it without touching the checked polygons
        if (this.map?.comparing) run(() => this.map!.closeCompare());
        else if (this.checked.size) run(() => this.clearChecks());
        return;
      case 'Enter':
        if (!this.selectedId && this.items[0]) run(() => void this.select(this.items[0].id));
        return;
    }
  }

  /**
   * T flips the before/after imagery, Shift+T opens (or closes) the swipe (issue 15 item 3); with no imagery
   * either says so instead of doing nothing (issue 13 item 17), and with one date only, which one there is.
   */
  private imageryKey(e: KeyboardEvent) {
    const c = this.mapConfig?.imagery;
    if (!c || (!c.before && !c.after)) {
      toast(t('map.noImagery'), { ms: 3500 });
      return;
    }
    const map = this.map;
    if (!map) return;
    const only: Epoch | null = c.before && c.after ? null : c.after ? 'after' : 'before';
    if (e.shiftKey) {
      if (map.comparing) map.closeCompare();
      else if (only) toast(t('imagery.compareNeedsBoth', { epoch: epochLabel(only, c[only]) }), { ms: 3500 });
      else void map.openCompare().catch((x) => this.showError(x));
      return;
    }
    if (map.comparing) map.closeCompare();
    if (!map.toggleImagery() && only) toast(t('imagery.onlyOne', { epoch: t(`imagery.${only}`), date: c[only]?.date || t('imagery.noDate') }), { ms: 3000 });
  }

  showHelp() {
    const rows: [string, MessageKey][] = [
      ['J / ↓', 'keys.next'], ['K / ↑', 'keys.prev'],
      ['V', 'keys.verify'], ['L', 'keys.link'], ['D', 'keys.dismiss'], ['F', 'keys.field'],
      ['U / Ctrl+Z', 'keys.undo'], [`X / ${t('keys.cap.space')}`, 'keys.check'], [t('keys.cap.shiftClick'), 'keys.range'],
      [t('keys.cap.shiftDrag'), 'keys.box'],
      ['Esc', 'keys.clear'], ['/', 'keys.search'], ['T', 'keys.imagery'], ['Shift+T', 'keys.compare'], ['S', 'keys.fieldLink'], ['O', 'keys.reopen'], ['R', 'keys.return'], ['?', 'keys.help'],
    ];
    void openDialog<boolean>({
      title: t('keys.title'),
      className: 'help',
      body: (done) => h('div', null,
        h('table', { class: 'keys' }, h('tbody', null, rows.map(([k, m]) =>
          h('tr', null, h('th', null, k.split(' / ').map((x, i) => [i ? ' / ' : '', h('kbd', null, x)])), h('td', null, t(m)))))),
        h('p', { class: 'muted' }, t('keys.autoAdvance')),
        h('footer', null, h('button', { type: 'button', class: 'primary', autofocus: true, onclick: () => done(true) }, t('common.close')))),
    });
  }
}
