/**
 * The case officer's two forms (issue 13 items 3 and 5): record a step (date, note, photos picked from the
 * polygons' evidence or uploaded, the companies of a utility notice) and close with an outcome. The server
 * checks everything again; the form refuses early what the plan refuses (report_to_town without a photo).
 */
import { ApiError, post } from '../api';
import { h } from '../dom';
import { openDialog } from '../dialog';
import { t } from '../i18n';
import { ct } from './i18n';
import { stepName } from './list';
import { COMPANIES, OUTCOMES, STEP_ORDER, type CaseDetail, type CasePhoto, type CaseStepCode, type Company, type Outcome } from './types';

/** Beijing's today, as the server numbers and dates cases */
export const todayBeijing = () =>
  new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());

const errText = (e: unknown) => (e instanceof ApiError ? e.text() : String((e as Error)?.message ?? e));

/** the steps an officer records here (the outcome is recorded by closing); report_to_town only for 在建 (六(二)1) */
export const recordable = (c: CaseDetail): CaseStepCode[] =>
  STEP_ORDER.filter((s) => s !== 'outcome' && (s !== 'report_to_town' || c.kind === 'under_construction'));

/** the first step of the plan not yet done: what the officer most likely records next */
export function nextStep(c: CaseDetail): CaseStepCode {
  const done = new Set(c.steps.filter((s) => s.done_on).map((s) => s.step));
  return recordable(c).find((s) => !done.has(s)) ?? 'stop_order';
}

async function upload(polygonId: number, file: File): Promise<number> {
  const fd = new FormData();
  fd.set('polygon_id', String(polygonId));
  fd.set('file', file);
  const res = await fetch('/api/evidence', { method: 'POST', body: fd, credentials: 'same-origin', headers: { accept: 'application/json' } });
  const json = await res.json().catch(() => undefined);
  if (!res.ok) {
    const e = json?.error;
    throw new ApiError(res.status, e?.code ?? `http_${res.status}`, e?.message ?? `HTTP ${res.status}`, e?.message_zh ?? `HTTP ${res.status}`, e?.details);
  }
  return Number(json.evidence.id);
}

export function recordStepDialog(c: CaseDetail, photos: CasePhoto[], step: CaseStepCode = nextStep(c)): Promise<CaseDetail | null> {
  return openDialog<CaseDetail>({
    title: ct('case.recordStep'),
    className: 'case-form step-form',
    body: (done) => {
      const err = h('p', { class: 'error', role: 'alert' });
      const stepSel = h('select', { id: 'st-step' }, recordable(c).map((s) => h('option', { value: s, selected: s === step }, stepName(s))));
      const today = todayBeijing();
      const started = h('input', { id: 'st-started', type: 'date', min: c.discovered_on, max: today });
      const deadline = h('input', { id: 'st-deadline', type: 'date', min: c.discovered_on });
      const doneOn = h('input', { id: 'st-done', type: 'date', min: c.discovered_on, max: today, value: today });
      const note = h('textarea', { id: 'st-note', rows: 2, maxlength: 2000 });
      const companies = h('fieldset', { class: 'companies' }, h('legend', null, ct('step.form.companies')),
        COMPANIES.map((co) => h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'company', value: co, id: `st-co-${co}` }), ct(`company.${co}`))));
      // photos: those of the case's polygons, ticked to attach; an upload is added and ticked
      const picked = new Set<number>();
      const thumbs = h('div', { class: 'pick-photos' });
      const addThumb = (id: number, caption: string, on = false) => {
        if (on) picked.add(id);
        thumbs.append(h('label', { class: 'pick-photo' },
          h('input', { type: 'checkbox', value: id, checked: on, 'data-photo': id, onchange: (e: Event) => ((e.target as HTMLInputElement).checked ? picked.add(id) : picked.delete(id)) }),
          h('img', { src: `/api/evidence/${id}/thumb`, alt: caption, loading: 'lazy' }),
          h('span', { class: 'small muted' }, caption)));
      };
      for (const p of photos) addThumb(p.id, p.code);
      const uploadTo = h('select', { id: 'st-upload-to', 'aria-label': ct('step.form.uploadTo') },
        c.polygons.map((p) => h('option', { value: p.id }, p.code)));
      const uploadStatus = h('span', { class: 'small muted', 'aria-live': 'polite' });
      const file = h('input', {
        id: 'st-file', type: 'file', accept: 'image/jpeg,image/png,image/webp',
        onchange: async () => {
          const f = file.files?.[0];
          if (!f) return;
          uploadStatus.textContent = ct('step.form.uploading');
          try {
            const id = await upload(Number(uploadTo.value), f);
            const code = c.polygons.find((p) => p.id === Number(uploadTo.value))?.code ?? '';
            if (!thumbs.querySelector(`[data-photo="${id}"]`)) addThumb(id, code, true);
            else { picked.add(id); (thumbs.querySelector(`[data-photo="${id}"]`) as HTMLInputElement).checked = true; }
            uploadStatus.textContent = '';
            file.value = '';
          } catch (e) {
            uploadStatus.textContent = errText(e);
          }
        },
      });
      const startedRow = h('div', { class: 'row' }, h('label', { for: 'st-started', id: 'st-started-label' }, ct('step.form.started')), started);
      const deadlineRow = h('div', { class: 'row' }, h('label', { for: 'st-deadline' }, ct('step.form.deadline')), deadline);
      const computed = h('p', { class: 'hint' }, ct('step.form.computed'));
      const sync = () => {
        const s = stepSel.value as CaseStepCode;
        companies.hidden = s !== 'utility_notice';
        deadlineRow.hidden = s !== 'self_removal_deadline' && s !== 'forced_measures_or_court';
        computed.hidden = s !== 'utility_notice' && s !== 'report_to_town';
        (startedRow.querySelector('label') as HTMLElement).textContent = ct(s === 'utility_notice' ? 'step.form.noticeDate' : 'step.form.started');
        // a notice is recorded when it is sent; it is done when the companies have stopped the service
        if (s === 'utility_notice' && !started.value) started.value = today;
      };
      stepSel.addEventListener('change', sync);
      sync();
      const submit = h('button', { type: 'submit', class: 'primary' }, ct('step.form.save'));
      return h('form', {
        onsubmit: async (e: Event) => {
          e.preventDefault();
          const s = stepSel.value as Exclude<CaseStepCode, 'outcome'>;
          const cos = [...companies.querySelectorAll<HTMLInputElement>('input:checked')].map((x) => x.value as Company);
          const existing = c.steps.find((x) => x.step === s);
          // 六(二)1: 书面（附照片）报镇违法建设整治工作小组 — the server refuses it too
          if (s === 'report_to_town' && doneOn.value && !picked.size && !existing?.photo_ids.length) {
            err.textContent = ct('step.form.photoRequired');
            return;
          }
          if (s === 'utility_notice' && !cos.length && !existing?.companies.length) {
            err.textContent = ct('step.form.companyRequired');
            return;
          }
          const body: Record<string, unknown> = { step: s };
          if (started.value) body.started_on = started.value;
          if (!deadlineRow.hidden && deadline.value) body.deadline = deadline.value;
          if (doneOn.value) body.done_on = doneOn.value;
          if (note.value.trim()) body.note = note.value.trim();
          if (s === 'utility_notice' && cos.length) body.companies = cos;
          if (picked.size) body.photo_ids = [...picked];
          submit.disabled = true;
          try {
            done(await post<CaseDetail>(`/api/cases/${c.id}/steps`, body));
          } catch (x) {
            err.textContent = errText(x);
            submit.disabled = false;
          }
        },
      },
      h('div', { class: 'grid-form' },
        h('div', { class: 'row' }, h('label', { for: 'st-step' }, ct('step.form.step')), stepSel),
        startedRow, deadlineRow, computed,
        h('div', { class: 'row' }, h('label', { for: 'st-done' }, ct('step.form.done')), doneOn),
        h('div', { class: 'row' }, h('label', { for: 'st-note' }, ct('step.form.note')), note)),
      companies,
      h('fieldset', { class: 'photos' }, h('legend', null, ct('step.form.photos')), thumbs,
        h('div', { class: 'upload' }, h('label', { for: 'st-file' }, ct('step.form.upload')), c.polygons.length > 1 ? uploadTo : null, file, uploadStatus)),
      err,
      h('footer', null, h('button', { type: 'button', onclick: () => done(null) }, t('common.cancel')), submit));
    },
  });
}

export function closeDialog(c: CaseDetail): Promise<CaseDetail | null> {
  return openDialog<CaseDetail>({
    title: `${ct('close.title')} · ${c.number}`,
    className: 'case-form close-form',
    body: (done) => {
      const err = h('p', { class: 'error', role: 'alert' });
      const today = todayBeijing();
      const outcome = h('fieldset', { class: 'outcomes' }, h('legend', null, ct('close.outcome')),
        OUTCOMES.map((o, i) => h('label', { class: 'check' }, h('input', { type: 'radio', name: 'outcome', value: o, id: `cl-${o}`, checked: i === 0 }), ct(`close.${o}`))));
      const m2 = h('input', { id: 'cl-m2', type: 'number', min: 0.01, step: 0.01, inputmode: 'decimal' });
      const ref = h('input', { id: 'cl-ref', maxlength: 200 });
      const note = h('textarea', { id: 'cl-note', rows: 2, maxlength: 2000 });
      const at = h('input', { id: 'cl-date', type: 'date', value: today, min: c.discovered_on, max: today });
      const m2Row = h('div', { class: 'row' }, h('label', { for: 'cl-m2' }, ct('close.m2')), m2);
      const refRow = h('div', { class: 'row' }, h('label', { for: 'cl-ref' }, ct('close.ref')), ref);
      const chosen = () => (outcome.querySelector<HTMLInputElement>('input:checked')?.value ?? 'demolished') as Outcome;
      const sync = () => {
        m2Row.hidden = chosen() !== 'demolished';
        refRow.hidden = chosen() !== 'regularised';
      };
      outcome.addEventListener('change', sync);
      sync();
      const submit = h('button', { type: 'submit', class: 'primary' }, ct('close.submit'));
      return h('form', {
        onsubmit: async (e: Event) => {
          e.preventDefault();
          const o = chosen();
          const body: Record<string, unknown> = { outcome: o, outcome_at: at.value || undefined };
          if (o === 'demolished') {
            const v = Number(m2.value);
            if (!(v > 0)) { err.textContent = ct('close.m2Required'); return; }
            body.outcome_m2 = v;
          }
          if (o === 'regularised') {
            if (!ref.value.trim()) { err.textContent = ct('close.refRequired'); return; }
            body.outcome_ref = ref.value.trim();
          }
          if (o === 'other' && !note.value.trim()) { err.textContent = ct('close.noteRequired'); return; }
          if (note.value.trim()) body.note = note.value.trim();
          submit.disabled = true;
          try {
            done(await post<CaseDetail>(`/api/cases/${c.id}/close`, body));
          } catch (x) {
            err.textContent = errText(x);
            submit.disabled = false;
          }
        },
      },
      outcome,
      h('div', { class: 'grid-form' }, m2Row, refRow,
        h('div', { class: 'row' }, h('label', { for: 'cl-note' }, ct('close.note')), note),
        h('div', { class: 'row' }, h('label', { for: 'cl-date' }, ct('close.date')), at)),
      err,
      h('footer', null, h('button', { type: 'button', onclick: () => done(null) }, t('common.cancel')), submit));
    },
  });
}
