/**
 * Outcomes lacking their proof (issue 13 item 18): how many dismissed polygons and closed cases lack the evidence
 * their reason or outcome needs (GET /api/proof/lacking), the requirements themselves, and for an admin a small
 * form to change them (PUT /api/admin/proof-requirements). Used by the QC screen and, through one line, the
 * dashboard (proofKpi): kept apart from page.ts, whose filters change elsewhere.
 */
import { api, ApiError, get } from '../api';
import { h, mount } from '../dom';
import { openDialog } from '../dialog';
import { int, label, t, type MessageKey } from '../i18n';
import { toast } from '../toast';
import type { User } from '../types';

type Label = { zh: string; en: string };
interface Lacking {
  lacking: number;
  polygons: { lacking: number; ids: number[] };
  cases: { lacking: number; ids: number[] };
  by_requirement: { subject: 'dismiss' | 'case'; outcome: string; proof: string; outcomes: number; lacking: number; outcome_label: Label; proof_label: Label }[];
}
interface Req { subject: 'dismiss' | 'case'; outcome: string; proof: string; enforced: boolean; outcome_label: Label; proof_label: Label }
interface Reqs { items: Req[]; proofs: { code: string; label: Label }[] }

const DISMISS = ['legal_permitted', 'false_change', 'agricultural_facility', 'temporary_use', 'already_removed', 'other'];
const CASE = ['demolished', 'regularised', 'confiscated', 'other'];

/** The dashboard's figure: one KPI tile, filled when the count arrives. */
export function proofKpi(): HTMLElement {
  const value = h('span', { class: 'kpi-value', id: 'kpi-proof' }, '…');
  const sub = h('span', { class: 'kpi-sub' });
  const el = h('div', { class: 'kpi proof-kpi' }, h('span', { class: 'kpi-label' }, t('proof.lackingTitle')), value, sub);
  get<Lacking>('/api/proof/lacking', { quiet: true }).then((l) => {
    value.textContent = int(l.lacking);
    sub.textContent = t('proof.lackingSub', { p: int(l.polygons.lacking), c: int(l.cases.lacking) });
    if (l.lacking) el.classList.add('warn');
  }, () => (value.textContent = '—'));
  return el;
}

/** The QC screen's panel: the count per requirement, and the requirements (editable by an admin). */
export function proofPanel(user: User): HTMLElement {
  const el = h('section', { class: 'panel proof-panel', id: 'proof-panel' }, h('h2', null, t('proof.lackingTitle')), h('p', { class: 'muted' }, '…'));
  const load = async () => {
    try {
      const [l, r] = await Promise.all([get<Lacking>('/api/proof/lacking'), get<Reqs>('/api/proof-requirements')]);
      const enforced = new Map(r.items.map((x) => [`${x.subject}/${x.outcome}/${x.proof}`, x.enforced]));
      mount(el,
        h('h2', null, t('proof.lackingTitle'), ' ', h('b', { id: 'qc-proof-lacking', class: l.lacking ? 'warn' : '' }, int(l.lacking))),
        h('p', { class: 'muted' }, l.lacking ? t('proof.lackingSub', { p: int(l.polygons.lacking), c: int(l.cases.lacking) }) : t('proof.lackingNone')),
        h('table', { class: 'fig-table', id: 'proof-table' },
          h('thead', null, h('tr', null, h('th', null, t('proof.colOutcome')), h('th', null, t('proof.colProof')),
            h('th', null, t('proof.colEnforced')), h('th', { class: 'num' }, t('proof.colLacking')))),
          h('tbody', null, l.by_requirement.map((x) => h('tr', null,
            h('td', null, `${t(`proof.subject.${x.subject}` as MessageKey)} · ${label(x.outcome_label)}`),
            h('td', null, label(x.proof_label)),
            h('td', null, t(enforced.get(`${x.subject}/${x.outcome}/${x.proof}`) ? 'proof.enforcedYes' : 'proof.enforcedNo')),
            h('td', { class: `num ${x.lacking ? 'warn' : ''}` }, `${int(x.lacking)} / ${int(x.outcomes)}`))))),
        l.polygons.ids.length
          ? h('p', null, h('a', { href: `#/?status=all&q=&p=${l.polygons.ids[0]}` }, t('proof.openPolygons')))
          : null,
        user.role === 'admin'
          ? h('button', { type: 'button', id: 'proof-edit', onclick: () => void edit(r).then((changed) => (changed ? load() : undefined)) }, t('proof.edit'))
          : null);
    } catch (e) {
      mount(el, h('p', { class: 'error' }, e instanceof ApiError ? e.text() : String(e)));
    }
  };
  void load();
  return el;
}

/** The admin's form: a checkbox per (outcome, proof) — needed or not — and whether it is required. */
function edit(r: Reqs): Promise<boolean | null> {
  return openDialog<boolean>({
    title: t('proof.editTitle'),
    className: 'proof-edit',
    body: (done) => {
      const cur = new Map(r.items.map((x) => [`${x.subject}/${x.outcome}/${x.proof}`, x.enforced]));
      const rows: { subject: 'dismiss' | 'case'; outcome: string; proof: string; on: HTMLInputElement; must: HTMLInputElement }[] = [];
      const outcomeLabel = (s: string, o: string) => t((s === 'dismiss' ? `reason.${o}` : `outcome.${o}`) as MessageKey);
      const table = h('table', { class: 'fig-table' },
        h('thead', null, h('tr', null, h('th', null, t('proof.colOutcome')), r.proofs.map((p) => h('th', null, label(p.label))))),
        h('tbody', null, [...DISMISS.map((o) => ['dismiss', o] as const), ...CASE.map((o) => ['case', o] as const)].map(([s, o]) =>
          h('tr', null, h('th', { scope: 'row' }, `${t(`proof.subject.${s}` as MessageKey)} · ${outcomeLabel(s, o)}`),
            r.proofs.map((p) => {
              const k = `${s}/${o}/${p.code}`;
              const on = h('input', { type: 'checkbox', checked: cur.has(k), 'data-k': k, 'aria-label': `${outcomeLabel(s, o)} ${label(p.label)}` }) as HTMLInputElement;
              const must = h('input', { type: 'checkbox', checked: cur.get(k) ?? true, 'data-must': k, 'aria-label': t('proof.colEnforced') }) as HTMLInputElement;
              rows.push({ subject: s, outcome: o, proof: p.code, on, must });
              return h('td', null, h('label', null, on), ' ', h('label', { class: 'small muted' }, must, t('proof.colEnforced')));
            })))));
      const err = h('p', { class: 'error', role: 'alert' });
      return h('form', {
        onsubmit: async (e: Event) => {
          e.preventDefault();
          try {
            await api('PUT', '/api/admin/proof-requirements', {
              items: rows.filter((x) => x.on.checked).map((x) => ({ subject: x.subject, outcome: x.outcome, proof: x.proof, enforced: x.must.checked })),
            });
            toast(t('proof.saved'), { kind: 'ok' });
            done(true);
          } catch (x) {
            err.textContent = x instanceof ApiError ? x.text() : String(x);
          }
        },
      },
      h('p', { class: 'hint' }, t('proof.editHint')), h('div', { class: 'table-scroll' }, table), err,
      h('footer', null,
        h('button', { type: 'button', onclick: () => done(false) }, t('common.cancel')),
        h('button', { type: 'submit', class: 'primary', id: 'proof-save' }, t('proof.save'))));
    },
  });
}
