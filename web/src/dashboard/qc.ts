/**
 * Quality check (抽查, issue 6 §2, #/qc): draw N decided polygons per village, approve each decision or return
 * it with a comment (the polygon goes back to the queue through the review workflow), and watch the
 * reviewed share and agreement rate per village and per analyst. Figures come from GET /api/qc/samples/:id.
 */
import './dashboard.css';
import { ApiError, get, post } from '../api';
import { h, mount } from '../dom';
import { openDialog } from '../dialog';
import { dateTime, int, pct, t, tMaybe, type MessageKey } from '../i18n';
import { topBar } from '../shell';
import { toast } from '../toast';
import type { MapConfig, User } from '../types';
import { chipsNode } from '../chips';
import type { Sample, SampleItem, SampleStats, SampleSummary } from './types';
import { proofPanel } from './proof';

const CHECKERS: User['role'][] = ['admin', 'reviewer'];

const sampleIdOf = (hash: string) => {
  const m = /[?&]sample=(\d+)/.exec(hash);
  return m ? Number(m[1]) : undefined;
};

export class QcScreen {
  private listEl = h('div', { class: 'qc-list' });
  private detailEl = h('div', { class: 'qc-detail', 'aria-live': 'polite' });
  private readonly canCheck: boolean;
  private current?: number;
  /** imagery dates for the chips; absent when the map config could not be read (the table stays as it was) */
  private imagery?: MapConfig['imagery'];

  constructor(root: HTMLElement, user: User) {
    this.canCheck = CHECKERS.includes(user.role);
    mount(root, h('div', { class: 'dash' },
      topBar(user, 'qc'),
      h('main', { class: 'dash-main qc' }, h('div', { class: 'qc-side' }, this.drawForm(), proofPanel(user), this.listEl), this.detailEl)));
    addEventListener('hashchange', () => {
      if (!location.hash.startsWith('#/qc')) return;
      const id = sampleIdOf(location.hash);
      if (id !== this.current) void this.open(id);
    });
  }

  async start() {
    const config = get<MapConfig>('/api/config/map').then((c) => (this.imagery = c.imagery), () => undefined);
    await Promise.all([this.loadList(), config]);
    await this.open(sampleIdOf(location.hash));
  }

  private drawForm() {
    if (!this.canCheck) return h('p', { class: 'hint' }, t('qc.readOnly'));
    const n = h('input', { id: 'qc-n', type: 'number', min: 1, max: 1000, value: 5, required: true, inputmode: 'numeric' });
    const seed = h('input', { id: 'qc-seed', type: 'text', maxlength: 100, placeholder: t('qc.seedPlaceholder') });
    const err = h('p', { class: 'error', role: 'alert' });
    const form = h('form', {
      class: 'panel qc-form',
      onsubmit: async (e: Event) => {
        e.preventDefault();
        err.textContent = '';
        const per = Number(n.value);
        if (!Number.isInteger(per) || per < 1 || per > 1000) {
          err.textContent = t('qc.badN');
          return;
        }
        const btn = form.querySelector('button')!;
        btn.disabled = true;
        try {
          const s = await post<Sample>('/api/qc/samples', { per_village: per, ...(seed.value.trim() ? { seed: seed.value.trim() } : {}) });
          await this.loadList();
          location.hash = `#/qc?sample=${s.id}`;
        } catch (x) {
          err.textContent = x instanceof ApiError ? x.text() : String(x);
        } finally {
          btn.disabled = false;
        }
      },
    },
    h('h2', null, t('qc.draw')),
    h('label', { for: 'qc-n' }, t('qc.perVillage')), n,
    h('label', { for: 'qc-seed' }, t('qc.seed')), seed,
    h('button', { type: 'submit', class: 'primary' }, t('qc.drawSubmit')),
    err);
    return form;
  }

  private async loadList() {
    try {
      const { items } = await get<{ items: SampleSummary[] }>('/api/qc/samples');
      mount(this.listEl, h('section', { class: 'panel' }, h('h2', null, t('qc.samples')),
        items.length
          ? h('ul', { class: 'qc-samples' }, items.map((s) => h('li', null,
            h('a', { href: `#/qc?sample=${s.id}`, 'aria-current': s.id === this.current ? 'true' : null },
              h('b', null, t('qc.sampleName', { id: s.id })), ' ', h('span', { class: 'muted' }, dateTime(s.created_at)),
              h('div', { class: 'small muted' }, t('qc.sampleLine', { per: s.per_village, items: int(s.items), reviewed: int(s.reviewed), by: s.created_by_name }))))))
          : h('p', { class: 'muted' }, t('qc.noSamples'))));
    } catch (e) {
      mount(this.listEl, h('p', { class: 'error' }, e instanceof ApiError ? e.text() : String(e)));
    }
  }

  private async open(id: number | undefined) {
    this.current = id;
    this.listEl.querySelectorAll('a[aria-current]').forEach((a) => a.removeAttribute('aria-current'));
    this.listEl.querySelector(`a[href="#/qc?sample=${id}"]`)?.setAttribute('aria-current', 'true');
    if (!id) {
      mount(this.detailEl, h('section', { class: 'panel' }, h('h2', null, t('nav.qc')), h('p', { class: 'muted' }, t('qc.intro'))));
      return;
    }
    try {
      const s = await get<Sample>(`/api/qc/samples/${id}`);
      if (this.current === id) this.render(s);
    } catch (e) {
      mount(this.detailEl, h('p', { class: 'error', role: 'alert' }, e instanceof ApiError ? e.text() : String(e)));
    }
  }

  private statsTable(rows: (SampleStats & { name: string })[], head: MessageKey, id: string) {
    return h('table', { class: 'fig-table', id },
      h('thead', null, h('tr', null, h('th', null, t(head)), h('th', { class: 'num' }, t('qc.colItems')), h('th', { class: 'num' }, t('qc.colReviewed')),
        h('th', { class: 'num' }, t('qc.colApproved')), h('th', { class: 'num' }, t('qc.colReturned')), h('th', { class: 'num' }, t('qc.colAgreement')))),
      h('tbody', null, rows.map((r) => h('tr', null, h('th', { scope: 'row' }, r.name),
        h('td', { class: 'num' }, int(r.items)),
        h('td', { class: 'num' }, `${int(r.reviewed)} (${pct(r.reviewed_share)})`),
        h('td', { class: 'num' }, int(r.approved)),
        h('td', { class: 'num' }, int(r.returned)),
        h('td', { class: 'num' }, pct(r.agreement))))));
  }

  private render(s: Sample) {
    const o = s.stats.overall;
    // the reviewer checks a decision against what the satellite saw (issue 15 item 4)
    const withChips = !!chipsNode({ id: 0, code: '', imagery: this.imagery });
    const item = (it: SampleItem) => {
      const changed = it.current_version !== it.version;
      const decided = t(`status.${it.decided_status}` as MessageKey) + (it.reason ? ` · ${tMaybe(`reason.${it.reason}`) ?? it.reason}` : '');
      return h('tr', { 'data-item': it.id, class: it.verdict ? `done ${it.verdict}` : '' },
        h('td', null, h('a', { href: `#/?p=${it.polygon_id}&status=all`, title: t('qc.openPolygon') }, it.code)),
        h('td', null, it.village ?? '—'),
        withChips ? h('td', { class: 'qc-chips' }, chipsNode({ id: it.polygon_id, code: it.code, imagery: this.imagery, small: true })) : null,
        h('td', null, h('span', { class: `badge st-${it.decided_status}` }, decided)),
        h('td', null, it.decided_by ?? '—', h('div', { class: 'small muted' }, dateTime(it.decided_at))),
        h('td', { class: 'verdict' },
          it.verdict
            ? [h('b', null, t(it.verdict === 'approve' ? 'qc.approved' : 'qc.returned')),
              h('div', { class: 'small muted' }, `${it.reviewed_by_name ?? ''} ${dateTime(it.reviewed_at)}`),
              it.comment ? h('div', { class: 'small' }, it.comment) : null]
            : changed
              ? h('span', { class: 'muted' }, t('qc.changed', { status: t(`status.${it.current_status}` as MessageKey) }))
              : this.canCheck
                ? [h('button', { type: 'button', class: 'act qc-approve', onclick: () => void this.verdict(s.id, it, 'approve') }, t('qc.approve')),
                  ' ',
                  h('button', { type: 'button', class: 'act qc-return', onclick: () => void this.askReturn(s.id, it) }, t('qc.return'))]
                : h('span', { class: 'muted' }, t('qc.pending'))));
    };
    mount(this.detailEl,
      h('section', { class: 'panel' },
        h('h2', null, t('qc.sampleName', { id: s.id }), ' ', h('small', { class: 'muted' },
          t('qc.sampleMeta', { per: s.per_village, seed: s.seed, by: s.created_by_name, at: dateTime(s.created_at) }))),
        o ? h('div', { class: 'kpis qc-kpis' },
          h('div', { class: 'kpi big' }, h('span', { class: 'kpi-label' }, t('qc.reviewedShare')), h('span', { class: 'kpi-value', id: 'qc-reviewed' }, pct(o.reviewed_share)),
            h('span', { class: 'kpi-sub' }, t('qc.reviewedSub', { n: int(o.reviewed), of: int(o.items) }))),
          h('div', { class: 'kpi' }, h('span', { class: 'kpi-label' }, t('qc.agreement')), h('span', { class: 'kpi-value', id: 'qc-agreement' }, pct(o.agreement)),
            h('span', { class: 'kpi-sub' }, t('qc.agreementSub', { a: int(o.approved), r: int(o.returned) }))))
          : null),
      h('div', { class: 'grid two' },
        h('section', { class: 'panel' }, h('h2', null, t('qc.byVillage')),
          this.statsTable(s.stats.by_village.map((v) => ({ ...v, name: v.village === null || v.village === '-' ? t('detail.noVillage') : v.village })), 'dash.colVillage', 'qc-by-village')),
        h('section', { class: 'panel' }, h('h2', null, t('qc.byAnalyst')),
          this.statsTable(s.stats.by_analyst.map((v) => ({ ...v, name: v.analyst ?? '—' })), 'qc.colAnalyst', 'qc-by-analyst'))),
      h('section', { class: 'panel' }, h('h2', null, t('qc.items', { n: int(s.items.length) })),
        h('table', { class: 'fig-table qc-items', id: 'qc-items' },
          h('thead', null, h('tr', null, h('th', null, t('qc.colCode')), h('th', null, t('dash.colVillage')),
            withChips ? h('th', null, t('imagery.chipsCol')) : null, h('th', null, t('qc.colDecision')),
            h('th', null, t('qc.colAnalyst')), h('th', null, t('qc.colVerdict')))),
          h('tbody', null, s.items.map(item)))));
  }

  private async askReturn(sampleId: number, it: SampleItem) {
    const comment = await openDialog<string>({
      title: t('qc.returnTitle', { code: it.code }),
      body: (done) => {
        const area = h('textarea', { id: 'qc-comment', rows: 4, maxlength: 2000, 'aria-label': t('qc.comment'), autofocus: true });
        const err = h('p', { class: 'error', role: 'alert' });
        return h('form', {
          method: 'dialog',
          onsubmit: (e: Event) => {
            e.preventDefault();
            if (!area.value.trim()) {
              err.textContent = t('qc.commentRequired');
              area.focus();
              return;
            }
            done(area.value.trim());
          },
        },
        h('p', { class: 'hint' }, t('qc.returnExplain')),
        h('label', { for: 'qc-comment' }, t('qc.comment')), area, err,
        h('footer', null,
          h('button', { type: 'button', onclick: () => done(null) }, t('common.cancel')),
          h('button', { type: 'submit', class: 'primary', id: 'qc-return-ok' }, t('qc.return'))));
      },
    });
    if (comment) await this.verdict(sampleId, it, 'return', comment);
  }

  private async verdict(sampleId: number, it: SampleItem, verdict: 'approve' | 'return', comment?: string) {
    try {
      await post(`/api/qc/items/${it.id}`, { verdict, ...(comment ? { comment } : {}) });
      toast(t(verdict === 'approve' ? 'qc.approvedToast' : 'qc.returnedToast', { code: it.code }), { kind: 'ok' });
    } catch (e) {
      toast(e instanceof ApiError ? e.text() : String(e), { kind: 'error' });
    }
    await this.open(sampleId);
    void this.loadList();
  }
}
