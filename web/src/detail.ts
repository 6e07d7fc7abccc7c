import { h } from './dom';
import { dateTime, int, label, lang, num, pct, t, tMaybe, type MessageKey } from './i18n';
import type { Detail, History, HistoryEvent, ListItem, MapConfig, Status } from './types';
import { chipsNode } from './chips';
import { flagLabel } from './labels';
import { get, post } from './api';
import { toast } from './toast';

interface Photo {
  id: number;
  taken_at: string | null;
  captured_at: string | null;
  distance_m: number | null;
  urls: { thumb: string; full: string; captioned: string };
}

/** Field photos of the polygon (issue 5), loaded after the panel is drawn; the caption carries time and distance. */
function evidenceNode(polygonId: number): Node {
  const box = h('div', { class: 'thumbs' }, [0, 1, 2].map(() => h('div', { class: 'thumb' })));
  get<{ evidence: Photo[] }>(`/api/polygons/${polygonId}/evidence`, { quiet: true })
    .then(({ evidence }) => {
      box.replaceChildren(...(evidence.length
        ? evidence.map((e) => h('a', { href: e.urls.captioned, target: '_blank', rel: 'noopener', class: 'thumb-link' },
          h('img', { src: e.urls.thumb, alt: t('detail.evidence'), class: 'thumb', loading: 'lazy' }),
          h('span', { class: 'muted' }, [e.taken_at ?? e.captured_at ? dateTime((e.taken_at ?? e.captured_at)!) : '',
            e.distance_m !== null ? ` · ${num(e.distance_m, 0)} m` : ''].join(''))))
        : [h('p', { class: 'muted' }, t('detail.evidenceNone'))]));
    })
    .catch(() => box.replaceChildren(h('p', { class: 'muted' }, t('detail.evidenceNone'))));
  return box;
}

export const statusBadge = (s: Status) => h('span', { class: `badge st-${s}` }, t(`status.${s}` as MessageKey));

const section = (title: string, ...body: (Node | string | null)[]) =>
  h('section', null, h('h3', null, title), ...body);

const dl = (rows: [string, Node | string | null][]) =>
  h('dl', null, rows.flatMap(([k, v]) => [h('dt', null, k), h('dd', null, v ?? '—')]));

/** The polygon as far as the queue knows it, while the full detail loads. */
export function renderDetailSkeleton(item: ListItem | undefined): Node {
  if (!item) return h('p', { class: 'muted' }, t('common.loading'));
  return h('div', { class: 'detail-body loading' },
    section(t('detail.basics'), dl([
      [t('detail.area'), `${num(item.area_m2, 0)} m² · ${num(item.area_mu, 2)} ${t('unit.mu')}`],
      [t('detail.village'), item.village ?? t('detail.noVillage')],
      [t('detail.flags'), flagsNode(item.flags)],
    ])),
    h('p', { class: 'muted' }, t('common.loading')));
}

export function flagsNode(flags: string[]): Node {
  if (!flags.length) return h('span', { class: 'muted' }, t('detail.noFlags'));
  return h('span', { class: 'flags' }, flags.map((f) => h('span', { class: `flag fl-${f}` }, flagLabel(f))));
}

/** The case a polygon is linked to: the last link event not undone by a later return/reopen. */
export function currentCase(history: History | undefined): { id: number; number: string } | undefined {
  if (!history) return undefined;
  let c: { id: number; number: string } | undefined;
  for (const e of history.items) {
    if (e.action === 'link' && e.case_id) c = { id: e.case_id, number: e.case_number ?? `#${e.case_id}` };
    if (e.action === 'return' || e.action === 'reopen') c = undefined;
  }
  return c;
}

const str = (v: unknown) => (typeof v === 'string' && v.trim() ? v : undefined);

/**
 * What an event's payload says, in words (issue 13 item 16): a field finding with its photos and distance, the
 * proof a dismissal carried (or lacked), a case's outcome.
 */
function payloadLines(e: HistoryEvent): Node[] {
  const p = e.payload ?? {};
  const out: Node[] = [];
  if (e.action === 'field_finding' && str(p.finding)) {
    const photos = Array.isArray(p.photos) ? p.photos.length : 0;
    const bits = [
      photos ? t('history.photos', { n: photos }) : '',
      typeof p.distance_m === 'number' ? t('history.distance', { m: num(p.distance_m, 0) }) : '',
    ].filter(Boolean).join(' · ');
    out.push(h('div', { class: `finding fr-${p.finding as string}` },
      h('b', null, t('history.finding', { finding: tMaybe(`finding.${p.finding as string}`) ?? label(p.finding_label as never, String(p.finding)) })),
      bits ? h('span', { class: 'muted' }, ` · ${bits}`) : null));
  }
  const proof = (p.proof ?? {}) as Record<string, unknown>;
  if (str(proof.permit_ref)) out.push(h('div', { class: 'proof' }, t('history.proofPermit', { ref: proof.permit_ref as string })));
  if (str(proof.demolished_on)) out.push(h('div', { class: 'proof' }, t('history.proofDemolished', { date: proof.demolished_on as string })));
  if (Array.isArray(p.lacking_proof) && p.lacking_proof.length) {
    out.push(h('div', { class: 'proof lacking' }, t('history.lackingProof', {
      list: p.lacking_proof.map((k) => tMaybe(`proof.kind.${String(k)}`) ?? String(k)).join(t('common.listSep')),
    })));
  }
  if (e.action === 'case_closed' && str(p.outcome)) {
    const m2 = typeof p.outcome_m2 === 'number' ? ` · ${num(p.outcome_m2, 1)} m²` : '';
    out.push(h('div', null, t('history.caseOutcome', { outcome: (tMaybe(`outcome.${p.outcome as string}`) ?? (p.outcome as string)) + m2 })));
  }
  return out;
}

/** The priority's terms that count, with their weights (issue 13 rule 9: the formula in the detail panel). */
function formulaNode(f: NonNullable<Detail['priority_formula']>): Node {
  const termLabel = (k: string, v: number, w: number) =>
    k === 'area_per_100m2' ? t('formula.area', { m2: num(v, 0), w: num(w, 2), cap: num(f.area_cap, 0) })
      : k === 'other_layer' || k === 'geom_changed' ? t(`formula.${k}` as MessageKey) : flagLabel(k);
  const terms = f.terms.filter((x) => x.points > 0);
  return h('details', { class: 'formula' },
    h('summary', null, t('detail.formula'), ' · ', t('detail.formulaTotal', { total: num(f.total, 1) })),
    h('table', { class: 'formula-terms' }, h('tbody', null,
      terms.map((x) => h('tr', null, h('td', null, termLabel(x.key, x.value, x.weight)), h('td', { class: 'num' }, `+${num(x.points, 1)}`))))),
    h('p', { class: 'muted small' }, f.formula));
}

function eventRow(e: HistoryEvent): Node {
  const action = label(e.action_label, e.action);
  return h('li', { 'data-action': e.action },
    h('time', { datetime: e.at }, dateTime(e.at)), ' ',
    h('strong', null, e.username), ' ',
    action, ' ',
    h('span', { class: 'muted' }, `${t(`status.${e.from_status}` as MessageKey)} → ${t(`status.${e.to_status}` as MessageKey)}`),
    e.reason ? h('div', null, `${t('detail.reason')}: ${label(e.reason_label, e.reason)}`) : null,
    e.case_id ? h('div', null, `${t('detail.case')}: ${e.case_number ?? `#${e.case_id}`}`) : null,
    ...payloadLines(e),
    e.note ? h('div', { class: 'note' }, e.note) : null);
}

function attrValue(v: unknown): string {
  if (v === null || v === undefined || v === '') return '—';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/**
 * A lead (巡查/举报) near an item already there: say so, and let the analyst merge it into that item (issue 16
 * item 1). The lead is dismissed with a note naming the item; both histories stay as they are.
 */
function leadNotice(d: Detail): Node | null {
  if (d.merged_into) return h('p', { class: 'notice' }, t('detail.mergedInto', { code: d.merged_into_code ?? `#${d.merged_into}` }));
  if (!d.duplicate_of || (d.status !== 'pending' && d.status !== 'field_check')) return null;
  const code = d.duplicate_of_code ?? `#${d.duplicate_of}`;
  const btn = h('button', { type: 'button', class: 'secondary merge' }, t('detail.merge', { code })) as HTMLButtonElement;
  btn.addEventListener('click', () => {
    btn.disabled = true;
    post(`/api/polygons/${d.id}/merge`, { into: d.duplicate_of, version: d.version, request_id: crypto.randomUUID() })
      .then(() => {
        toast(t('detail.mergeDone', { code }), { kind: 'ok' });
        // the queue and the panel show the lead dismissed: simplest is to read them again
        setTimeout(() => location.reload(), 600);
      })
      .catch(() => { btn.disabled = false; });
  });
  return h('p', { class: 'notice warn' }, t('detail.duplicateOf', { code }), ' ', btn);
}

export function renderDetail(d: Detail, history: History | undefined, imagery?: MapConfig['imagery']): Node {
  const chips = chipsNode({ id: d.id, code: d.code, imagery });
  const kase = currentCase(history);
  const school = d.layers.find((l) => l.layer === 'school' && l.distance_m !== null);
  const hits = d.layers.filter((l) => l.hit !== false && (l.feature_name || l.overlap_m2 || l.distance_m !== null));
  const layerTitle = (l: { title_zh: string; title_en: string; layer: string }) => (lang() === 'zh' ? l.title_zh : l.title_en) || l.layer;
  return h('div', { class: 'detail-body' },
    d.removed_batch_id ? h('p', { class: 'notice warn' }, t('detail.removed')) : null,
    d.geom_changed_batch_id ? h('p', { class: 'notice' }, t('detail.geomChanged', { batch: d.geom_changed_batch_id })) : null,
    leadNotice(d),
    section(t('detail.basics'), dl([
      [t('detail.source'), t(`source.${d.source ?? 'survey'}` as MessageKey)],
      [t('detail.area'), `${num(d.area_m2, 0)} m² · ${num(d.area_mu, 2)} ${t('unit.mu')}`],
      [t('detail.village'), d.village_name ?? t('detail.noVillage')],
      [t('detail.priority'), d.priority_formula ? h('span', null, num(d.priority, 1), ' ', formulaNode(d.priority_formula)) : num(d.priority, 1)],
      [t('detail.flags'), flagsNode(d.flags)],
      [t('detail.school'), d.school_distance_m === null
        ? t('detail.noSchool')
        : school?.feature_name
          ? t('detail.schoolNamed', { m: num(d.school_distance_m, 0), name: school.feature_name })
          : `${num(d.school_distance_m, 0)} m`],
      [t('detail.survey'), `${d.survey} · ${t('detail.batch')} #${d.batch_id}`],
      // the case opens on the case screens (issue 13)
      [t('detail.case'), kase ? h('a', { href: `#/cases/${kase.id}`, class: 'case-link' }, h('strong', null, kase.number)) : t('detail.noCase')],
    ])),
    // what the satellite saw, before and after (issue 15 item 4): next to the facts the decision rests on
    chips ? section(t('imagery.chips'), chips) : null,
    section(t('detail.parcels', { n: d.parcels.length }),
      d.parcels.length
        ? h('table', null,
          h('thead', null, h('tr', null,
            h('th', null, t('parcel.code')), h('th', null, t('parcel.holder')), h('th', null, t('parcel.use')),
            h('th', { class: 'num' }, t('parcel.overlap')), h('th', { class: 'num' }, t('parcel.share')))),
          h('tbody', null, d.parcels.map((p) => h('tr', null,
            h('td', null, p.parcel_code ?? '—'), h('td', null, p.holder ?? '—'), h('td', null, p.land_use ?? '—'),
            h('td', { class: 'num' }, `${num(p.overlap_m2, 0)} m²`), h('td', { class: 'num' }, pct(p.share))))))
        : h('p', { class: 'muted' }, t('detail.noParcels'))),
    hits.length
      ? section(t('detail.layers'), h('ul', { class: 'plain' }, hits.map((l) =>
        h('li', null, h('strong', null, layerTitle(l)), ' ',
          l.feature_name ?? l.feature_code ?? '',
          l.share !== null ? ` · ${pct(l.share)}` : '',
          l.share === null && l.distance_m !== null ? ` · ${num(l.distance_m, 0)} m` : ''))))
      : null,
    d.prior.length
      ? section(t('detail.prior'), h('ul', { class: 'plain' }, d.prior.map((p) =>
        h('li', null, `${p.survey} · ${p.code} · `, statusBadge(p.status), ` · ${t('detail.overlap')} ${pct(p.share)}`))))
      : null,
    section(t('detail.history'),
      !history
        ? h('p', { class: 'muted' }, t('common.loading'))
        : history.items.length
          ? h('ol', { class: 'history' }, history.items.map(eventRow))
          : h('p', { class: 'muted' }, t('detail.noHistory'))),
    d.merged_leads?.length
      ? section(t('detail.mergedLeads'), h('ul', { class: 'plain' }, d.merged_leads.map((l) =>
        h('li', null, `${t(`source.${l.source}` as MessageKey)} · ${l.code} · `, statusBadge(l.status)))))
      : null,
    section(t('detail.evidence'), evidenceNode(d.id)),
    section(t('detail.attrs'), dl(Object.entries(d.attrs ?? {}).map(([k, v]) => [k, attrValue(v)]))),
    d.versions.length ? h('p', { class: 'muted' }, t('detail.versions', { n: int(d.versions.length) })) : null,
  );
}
