/**
 * #/cases/ID — one case (issue 13 item 2): who and where, the village's responsible person (village
 * register), the linked polygons on a small map (a click opens one in the workspace), the steps in the plan's
 * order with start, deadline in working days ("预估" beyond the published calendar), done and who recorded it,
 * the printable notices, its history and photos. Officers (analyst, admin) record steps and close; a reviewer
 * reads: no action buttons at all.
 */
import { ApiError, get } from '../api';
import { h, mount } from '../dom';
import { dateTime, num } from '../i18n';
import { toast } from '../toast';
import type { User } from '../types';
import { closeDialog, recordStepDialog } from './forms';
import { ct, ctMaybe } from './i18n';
import { deadlineNode, stepName } from './list';
import { caseMap, workspaceHref } from './minimap';
import { DOCUMENTS, STEP_ORDER, type CaseDetail, type CaseHistoryItem, type CasePhoto, type Step } from './types';

const OFFICERS: User['role'][] = ['admin', 'analyst'];

const section = (title: string, id: string, ...body: (Node | string | null)[]) =>
  h('section', { class: 'case-sec', id }, h('h3', null, title), ...body);

export class CaseView {
  private c?: CaseDetail;
  private photos: CasePhoto[] = [];
  private history: CaseHistoryItem[] = [];

  constructor(private readonly el: HTMLElement, private readonly user: User, private readonly id: number) {}

  private get officer() {
    return OFFICERS.includes(this.user.role);
  }

  async start() {
    mount(this.el, h('p', { class: 'muted' }, ct('case.back')));
    try {
      await this.load();
    } catch (e) {
      mount(this.el, h('div', { class: 'case-detail' }, h('a', { href: '#/cases', class: 'back' }, ct('case.back')),
        h('p', { class: 'error', role: 'alert' }, e instanceof ApiError && e.status === 404 ? ct('case.notFound') : e instanceof ApiError ? e.text() : String(e))));
    }
  }

  stop() {}

  private async load() {
    const [c, photos, history] = await Promise.all([
      get<CaseDetail>(`/api/cases/${this.id}`),
      get<{ items: CasePhoto[] }>(`/api/cases/${this.id}/photos`),
      get<{ items: CaseHistoryItem[] }>(`/api/cases/${this.id}/history`),
    ]);
    this.c = c;
    this.photos = photos.items;
    this.history = history.items;
    this.render();
  }

  private render() {
    const c = this.c!;
    const open = c.status === 'open';
    const mapEl = h('div', { class: 'case-map', id: 'case-map' });
    const total = c.polygons.reduce((s, p) => s + Number(p.area_m2), 0);
    const actions = this.officer
      ? h('div', { class: 'case-actions', role: 'group' },
        open ? h('button', { type: 'button', class: 'primary', id: 'act-step', onclick: () => void this.recordStep() }, ct('case.recordStep')) : null,
        open ? h('button', { type: 'button', id: 'act-close', onclick: () => void this.close() }, ct('case.close')) : null,
        h('details', { class: 'docs', id: 'docs' }, h('summary', null, ct('case.print')),
          h('ul', null, DOCUMENTS.map((d) => h('li', null,
            h('a', { href: `/reports/cases/${c.id}/${d}`, target: '_blank', rel: 'noopener', 'data-doc': d }, ct(`doc.${d}`)))))))
      : h('p', { class: 'hint read-only' }, ct('case.readOnly'));

    const r = c.responsible;
    mount(this.el, h('div', { class: 'case-detail', 'data-status': c.status },
      h('a', { href: '#/cases', class: 'back' }, ct('case.back')),
      h('header', { class: 'case-title' },
        h('h2', null, c.number),
        h('span', { class: `kind k-${c.kind}` }, ct(`case.kind.${c.kind}`)),
        h('span', { class: `badge case-${c.status}` }, ct(c.status === 'open' ? 'cases.open' : 'cases.closed')),
        c.overdue ? h('span', { class: 'overdue-mark' }, '⚠ ', ct('cases.overdue')) : null),
      h('dl', { class: 'case-facts' },
        h('dt', null, ct('cases.colParty')), h('dd', { id: 'case-party' }, c.party),
        h('dt', null, ct('cases.colVillage')), h('dd', null, c.village ?? '—', ' · ', c.address),
        h('dt', null, ct('case.responsible')), h('dd', { id: 'case-responsible' }, r
          ? [`${r.responsible}${r.title ? `（${r.title}）` : ''}`, r.phone ? [' · ', h('a', { href: `tel:${r.phone}` }, r.phone)] : null]
          : h('span', { class: 'muted' }, ct('case.noResponsible'))),
        h('dt', null, ct('case.discovered')), h('dd', null, c.discovered_on, ' · ', ct('case.registered'), ' ', dateTime(c.created_at), ' · ', c.created_by_name),
        c.status === 'closed'
          ? [h('dt', null, ct('case.outcome')), h('dd', { id: 'case-outcome' }, c.outcome ? ct(`close.${c.outcome}`) : '—',
            c.outcome_m2 !== null ? ` · ${ct('case.demolishedM2', { m2: num(c.outcome_m2, 2) })}` : '',
            c.outcome_ref ? ` · ${ct('case.permitRef', { ref: c.outcome_ref })}` : '',
            c.outcome_note ? ` · ${c.outcome_note}` : '', c.outcome_at ? ` · ${c.outcome_at}` : '')]
          : null),
      actions,
      h('div', { class: 'case-grid' },
        section(ct('case.polygons', { n: c.polygons.length }), 'case-polygons', mapEl,
          h('ul', { class: 'case-polys' }, c.polygons.map((p) => h('li', null,
            h('a', { href: workspaceHref(p), class: 'poly-link', 'data-id': p.id }, p.code), ' ',
            h('span', { class: 'muted' }, `${num(p.area_m2, 0)} m²${p.village ? ` · ${p.village}` : ''}`)))),
          h('p', { class: 'hint' }, ct('case.totalArea', { m2: num(total, 2) }))),
        section(ct('case.steps'), 'case-steps', this.stepsTable())),
      h('div', { class: 'case-grid' },
        section(ct('case.history'), 'case-history', this.historyList()),
        section(ct('case.photos'), 'case-photos', this.photoStrip()))));
    if (c.polygons.some((p) => p.geometry)) {
      try {
        caseMap(mapEl, c.polygons);
      } catch {
        mapEl.remove(); // no WebGL: the list of codes still opens each polygon
      }
    } else mapEl.remove();
    this.el.querySelector('.case-detail')?.setAttribute('data-ready', '1');
  }

  private stepsTable(): Node {
    const c = this.c!;
    const by = new Map(c.steps.map((s) => [s.step, s]));
    const row = (code: (typeof STEP_ORDER)[number]) => {
      const s: Step | undefined = by.get(code);
      const na = code === 'report_to_town' && c.kind !== 'under_construction';
      const state = s?.done_on ? 'done' : s?.overdue ? 'overdue' : s ? 'open' : 'none';
      return h('tr', { class: `step st-${state}`, 'data-step': code },
        h('th', { scope: 'row' }, h('span', { class: 'step-mark', 'aria-hidden': 'true' }, s?.done_on ? '✓' : s?.overdue ? '!' : '○'), ' ', stepName(code),
          s?.companies.length ? h('div', { class: 'small muted companies' }, ct('case.companies', { list: s.companies.map((x) => ct(`company.${x}`)).join('、') })) : null,
          s?.photo_ids.length ? h('div', { class: 'small muted' }, ct('case.photosN', { n: s.photo_ids.length })) : null,
          s?.note ? h('div', { class: 'small note' }, s.note) : null),
        h('td', null, na ? h('span', { class: 'muted small' }, ct('case.notApplicable')) : s?.started_on ?? (s ? '—' : h('span', { class: 'muted' }, ct('case.notRecorded')))),
        h('td', null, s ? deadlineNode(s.deadline, s.deadline_estimated, s.overdue) : '—',
          s?.workdays ? h('div', { class: 'small muted' }, ct('case.workdays', { n: s.workdays })) : null),
        h('td', { class: 'done' }, s?.done_on ?? '—'),
        h('td', { class: 'small' }, s?.recorded_by_name ?? '—', s?.recorded_by_name ? h('div', { class: 'muted' }, dateTime(s.recorded_at)) : null));
    };
    return h('table', { class: 'steps-table' },
      h('thead', null, h('tr', null, h('th', null, ct('case.stepCol')), h('th', null, ct('case.startCol')), h('th', null, ct('case.deadlineCol')),
        h('th', null, ct('case.doneCol')), h('th', null, ct('case.byCol')))),
      h('tbody', null, STEP_ORDER.map(row)));
  }

  private historyList(): Node {
    if (!this.history.length) return h('p', { class: 'muted' }, ct('case.noHistory'));
    const what = (e: CaseHistoryItem) => {
      const p = e.payload ?? {};
      if (e.action === 'case_step' && p.step) {
        const s = p.step as { step: string; done_on?: string | null; companies?: string[] };
        return [stepName(s.step), s.done_on ? ` · ${ct('case.doneCol')} ${s.done_on}` : '',
          s.companies?.length ? ` · ${s.companies.map((x) => ctMaybe(`company.${x}`) ?? x).join('、')}` : ''].join('');
      }
      if (e.action === 'case_closed') {
        return [ctMaybe(`close.${p.outcome}`) ?? String(p.outcome), p.outcome_m2 ? ` · ${num(Number(p.outcome_m2), 2)} m²` : '',
          p.outcome_ref ? ` · ${p.outcome_ref}` : ''].join('');
      }
      return '';
    };
    return h('ol', { class: 'history case-hist' }, this.history.map((e) => h('li', { 'data-action': e.action },
      h('time', { datetime: e.at }, dateTime(e.at)), ' ', h('strong', null, e.username), ' ',
      ctMaybe(`hist.${e.action}`) ?? e.action, ' ', h('span', null, what(e)),
      h('div', { class: 'small muted' }, e.codes.join('、')),
      e.note ? h('div', { class: 'note' }, e.note) : null)));
  }

  private photoStrip(): Node {
    if (!this.photos.length) return h('p', { class: 'muted' }, ct('case.noPhotos'));
    return h('div', { class: 'thumbs' }, this.photos.map((p) => h('a', { href: `/api/evidence/${p.id}/captioned.jpg`, target: '_blank', rel: 'noopener', class: 'thumb-link' },
      h('img', { src: `/api/evidence/${p.id}/thumb`, alt: p.code, class: 'thumb', loading: 'lazy' }),
      h('span', { class: 'muted small' }, `${p.code} · ${dateTime(p.captured_at ?? p.uploaded_at)}`))));
  }

  private async recordStep() {
    const out = await recordStepDialog(this.c!, this.photos);
    if (!out) return;
    toast(ct('step.done', { step: stepName(out.steps.slice().sort((a, b) => b.recorded_at.localeCompare(a.recorded_at))[0]?.step ?? '') }), { kind: 'ok' });
    await this.load();
  }

  private async close() {
    const out = await closeDialog(this.c!);
    if (!out) return;
    toast(ct('close.done', { number: out.number }), { kind: 'ok' });
    await this.load();
  }
}
