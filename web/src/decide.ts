import { get, qs } from './api';
import { h } from './dom';
import { openDialog } from './dialog';
import { t, type MessageKey } from './i18n';
import { DISMISS_REASONS, type CaseItem, type DismissReason, type NewCase } from './types';

interface ProofReq { subject: 'dismiss' | 'case'; outcome: string; proof: 'permit_ref' | 'photo_after' | 'field_photo'; enforced: boolean }
let proofReqs: Promise<ProofReq[]> | undefined;
/** The proof each outcome needs (GET /api/proof-requirements, issue 13 item 18), once per page. */
export function proofRequirements(): Promise<ProofReq[]> {
  proofReqs ??= get<{ items: ProofReq[] }>('/api/proof-requirements', { quiet: true }).then((r) => r.items, () => {
    proofReqs = undefined;
    return [];
  });
  return proofReqs;
}

type Proof = { permit_ref?: string; demolished_on?: string };

/**
 * D: the reason picker. Keys 1–6 pick a reason; `other` needs a note. A reason that needs proof asks for it
 * (the permit reference, the demolition date) and says which photo it needs; the server refuses without it.
 */
export async function pickDismissReason(count: number): Promise<{ reason: DismissReason; note?: string; proof?: Proof } | null> {
  const reqs = (await proofRequirements()).filter((r) => r.subject === 'dismiss');
  const needs = (reason: string) => reqs.filter((r) => r.outcome === reason);
  const asks = (reason: string) => needs(reason).some((r) => r.proof !== 'field_photo');
  return openDialog({
    title: count > 1 ? t('dismiss.titleBulk', { n: count }) : t('dismiss.title'),
    className: 'dismiss',
    body: (done) => {
      const err = h('p', { class: 'error', role: 'alert' });
      const note = h('textarea', { id: 'dismiss-note', rows: 2, maxlength: 2000, placeholder: t('dismiss.notePlaceholder') });
      const kinds = (list: ProofReq[]) => list.map((x) => t(`proof.kind.${x.proof}` as MessageKey)).join(t('common.listSep'));
      const radios = DISMISS_REASONS.map((r, i) => {
        const n = needs(r);
        const must = n.filter((x) => x.enforced);
        const may = n.filter((x) => !x.enforced);
        return h('label', { class: 'reason' },
          h('input', { type: 'radio', name: 'reason', value: r, checked: i === 0 }),
          h('kbd', null, String(i + 1)), ' ', t(`reason.${r}` as MessageKey),
          must.length ? h('small', { class: 'needs' }, ` · ${t('proof.needs', { list: kinds(must) })}`) : null,
          may.length ? h('small', { class: 'needs muted' }, ` · ${t('proof.recommended', { list: kinds(may) })}`) : null);
      });
      const permit = h('input', { id: 'proof-permit', type: 'text', maxlength: 200, placeholder: t('proof.permitPlaceholder') }) as HTMLInputElement;
      const date = h('input', { id: 'proof-date', type: 'date', max: new Date().toISOString().slice(0, 10) }) as HTMLInputElement;
      const permitRow = h('div', { class: 'proof-row', hidden: true }, h('label', { for: 'proof-permit' }, t('proof.permitRef')), permit);
      const dateRow = h('div', { class: 'proof-row', hidden: true }, h('label', { for: 'proof-date' }, t('proof.demolishedOn')), date,
        h('small', { class: 'muted' }, t('proof.photoAfterHint')));
      const photoRow = h('p', { class: 'proof-row hint', hidden: true }, t('proof.fieldPhotoHint'));
      const proofBox = h('fieldset', { class: 'proof', hidden: true }, h('legend', null, t('proof.title')), permitRow, dateRow, photoRow);
      const current = () => (form.querySelector<HTMLInputElement>('input[name=reason]:checked')?.value ?? '') as DismissReason;
      const showProof = () => {
        const n = needs(current());
        permitRow.hidden = !n.some((x) => x.proof === 'permit_ref');
        dateRow.hidden = !n.some((x) => x.proof === 'photo_after');
        photoRow.hidden = !n.some((x) => x.proof === 'field_photo');
        proofBox.hidden = !n.length;
      };
      const form = h('form', {
        onsubmit: (e: Event) => {
          e.preventDefault();
          const reason = (form.querySelector<HTMLInputElement>('input[name=reason]:checked')?.value ?? '') as DismissReason;
          if (!reason) return;
          if (reason === 'other' && !note.value.trim()) {
            err.textContent = t('dismiss.noteRequired');
            note.focus();
            return;
          }
          const n = needs(reason);
          const must = (k: ProofReq['proof']) => n.some((x) => x.proof === k && x.enforced);
          if (must('permit_ref') && !permit.value.trim()) {
            err.textContent = t('proof.permitRequired');
            permit.focus();
            return;
          }
          if (must('photo_after') && !date.value) {
            err.textContent = t('proof.dateRequired');
            date.focus();
            return;
          }
          const proof: Proof = {};
          if (!permitRow.hidden && permit.value.trim()) proof.permit_ref = permit.value.trim();
          if (!dateRow.hidden && date.value) proof.demolished_on = date.value;
          done({ reason, note: note.value.trim() || undefined, ...(Object.keys(proof).length ? { proof } : {}) });
        },
        onkeydown: (e: KeyboardEvent) => {
          if (e.target === note || e.target === permit || e.target === date) {
            if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) form.requestSubmit();
            return;
          }
          const n = Number(e.key);
          if (Number.isInteger(n) && n >= 1 && n <= DISMISS_REASONS.length) {
            e.preventDefault();
            const input = radios[n - 1].querySelector('input')!;
            input.checked = true;
            input.focus();
            showProof();
            const r = DISMISS_REASONS[n - 1];
            if (r === 'other') note.focus();
            else if (asks(r)) (permitRow.hidden ? date : permit).focus();
            else form.requestSubmit();
          }
        },
      },
      h('fieldset', { onchange: () => showProof() }, h('legend', null, t('dismiss.reason')), radios),
      proofBox,
      h('label', { for: 'dismiss-note' }, t('dismiss.note')), note,
      err,
      h('p', { class: 'hint' }, t('dismiss.keysHint')),
      h('footer', null,
        h('button', { type: 'button', onclick: () => done(null) }, t('common.cancel')),
        h('button', { type: 'submit', class: 'primary danger' }, t('action.dismiss'))));
      setTimeout(() => {
        showProof();
        radios[0].querySelector('input')!.focus();
      }, 0);
      return form;
    },
  });
}

/** L: pick an open case (search) or open a new one. */
export function pickCase(o: { count: number; village?: string | null; code?: string }): Promise<{ case_id: number } | { new_case: NewCase } | null> {
  return openDialog({
    title: o.count > 1 ? t('link.titleBulk', { n: o.count }) : t('link.title'),
    className: 'link-case',
    body: (done) => {
      const search = h('input', { id: 'case-q', type: 'search', placeholder: t('link.searchPlaceholder'), autocomplete: 'off', autofocus: true });
      const list = h('ul', { class: 'cases', role: 'listbox', 'aria-label': t('link.openCases') });
      const status = h('p', { class: 'hint', 'aria-live': 'polite' });
      let ctrl: AbortController | undefined;
      let items: CaseItem[] = [];
      let active = 0;
      const paint = () => {
        list.replaceChildren(...items.map((c, i) =>
          h('li', {
            role: 'option', 'aria-selected': i === active ? 'true' : 'false', tabindex: -1,
            onclick: () => done({ case_id: c.id }),
          },
          h('strong', null, c.number), ' ', c.party, h('small', null, ` · ${c.address}${c.village ? ` · ${c.village}` : ''} · ${t('link.polygons', { n: c.polygon_count })}`))));
        status.textContent = items.length ? t('link.pickHint') : t('link.none');
      };
      const load = async () => {
        ctrl?.abort();
        ctrl = new AbortController();
        try {
          const r = await get<{ items: CaseItem[] }>(`/api/cases${qs({ status: 'open', q: search.value.trim(), limit: 8 })}`, { signal: ctrl.signal });
          items = r.items;
          active = 0;
          paint();
        } catch (e) {
          if ((e as Error).name !== 'AbortError') status.textContent = String((e as Error).message);
        }
      };
      search.addEventListener('input', () => void load());
      search.addEventListener('keydown', (e) => {
        if (e.key === 'ArrowDown') { active = Math.min(items.length - 1, active + 1); paint(); e.preventDefault(); }
        else if (e.key === 'ArrowUp') { active = Math.max(0, active - 1); paint(); e.preventDefault(); }
        else if (e.key === 'Enter' && items[active]) { e.preventDefault(); done({ case_id: items[active].id }); }
      });
      void load();

      const err = h('p', { class: 'error', role: 'alert' });
      const party = h('input', { id: 'nc-party', required: true, maxlength: 200 });
      const address = h('input', { id: 'nc-address', required: true, maxlength: 500, value: [o.village, o.code].filter(Boolean).join(' ') });
      const kind = h('select', { id: 'nc-kind' },
        h('option', { value: 'existing' }, t('case.kind.existing')),
        h('option', { value: 'under_construction' }, t('case.kind.under_construction')));
      const note = h('input', { id: 'nc-note', maxlength: 2000 });
      const create = h('form', {
        class: 'new-case',
        onsubmit: (e: Event) => {
          e.preventDefault();
          if (!party.value.trim() || !address.value.trim()) {
            err.textContent = t('link.partyAddressRequired');
            return;
          }
          done({
            new_case: {
              party: party.value.trim(), address: address.value.trim(),
              kind: kind.value as NewCase['kind'], note: note.value.trim() || undefined,
            },
          });
        },
      },
      h('h3', null, t('link.newCase')),
      h('div', { class: 'grid2' },
        h('label', { for: 'nc-party' }, t('case.party')), party,
        h('label', { for: 'nc-address' }, t('case.address')), address,
        h('label', { for: 'nc-kind' }, t('case.kind')), kind,
        h('label', { for: 'nc-note' }, t('case.note')), note),
      err,
      h('footer', null,
        h('button', { type: 'button', onclick: () => done(null) }, t('common.cancel')),
        h('button', { type: 'submit', class: 'primary' }, t('link.createAndLink'))));
      return h('div', null,
        h('label', { for: 'case-q' }, t('link.search')), search, status, list, create);
    },
  });
}

/** A required comment (return, reopen). */
export function askNote(title: string, label: string, okLabel: string): Promise<string | null> {
  return openDialog<string>({
    title,
    body: (done) => {
      const note = h('textarea', { id: 'note-text', rows: 3, maxlength: 2000, required: true, autofocus: true });
      const err = h('p', { class: 'error', role: 'alert' });
      return h('form', {
        onsubmit: (e: Event) => {
          e.preventDefault();
          if (!note.value.trim()) {
            err.textContent = t('note.required');
            return;
          }
          done(note.value.trim());
        },
      },
      h('label', { for: 'note-text' }, label), note, err,
      h('footer', null,
        h('button', { type: 'button', onclick: () => done(null) }, t('common.cancel')),
        h('button', { type: 'submit', class: 'primary' }, okLabel)));
    },
  });
}
