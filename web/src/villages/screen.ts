/**
 * #/villages — the village register (村（社区）责任人名册, issue 14 item 3): who answers for each village (the
 * 村（居）书记 or a named responsible person) and a phone, as the ledger, the village report and the case page
 * show them. Admins set a row, remove it, or import the office's CSV and see every refused line with its
 * reason; analysts and reviewers read it (the roles of /api/villages/register).
 *
 * The villages listed are the register's rows and the village layer's names, so a village nobody entered
 * yet shows as "not registered" instead of being missing.
 */
import './villages.css';
import { api, ApiError, get } from '../api';
import { confirmDialog } from '../dialog';
import { h, mount } from '../dom';
import { lang, t } from '../i18n';
import { topBar } from '../shell';
import { toast } from '../toast';
import type { User } from '../types';

interface RegisterRow {
  village: string;
  responsible: string;
  title: string;
  phone: string | null;
  updated_at: string;
  updated_by: string;
}

interface ImportReport {
  inserted: number;
  updated: number;
  refused: { line: number; reason: string; reason_zh: string }[];
  unknown_villages: string[];
}

const DEFAULT_TITLE = '村（居）书记';
const path = (village: string) => `/api/villages/register/${encodeURIComponent(village)}`;
const errText = (e: unknown) => (e instanceof ApiError ? e.text() : String(e));
const collator = new Intl.Collator('zh-CN');

export class VillagesScreen {
  private body = h('main', { class: 'vr-main', 'aria-busy': 'true' });
  private rows: RegisterRow[] = [];
  private known: string[] = [];
  private editing?: string;
  private report?: ImportReport;
  private readonly admin: boolean;

  constructor(root: HTMLElement, user: User) {
    this.admin = user.role === 'admin';
    mount(root, h('div', { class: 'vr-page' }, topBar(user, 'villages'), this.body));
  }

  async start() {
    await this.load();
  }

  private async load() {
    this.body.setAttribute('aria-busy', 'true');
    try {
      const [reg, outlines] = await Promise.all([
        get<{ items: RegisterRow[] }>('/api/villages/register'),
        // the names of the village layer (no figures computed); a town without the layer lists the register only
        get<{ features: { properties: { name: string | null } }[] }>('/api/coverage/villages.geojson?figures=0').catch(() => ({ features: [] })),
      ]);
      this.rows = reg.items;
      this.known = outlines.features.map((f) => f.properties.name).filter((n): n is string => !!n);
      this.render();
    } catch (e) {
      mount(this.body, h('p', { class: 'error', role: 'alert' }, errText(e), ' ',
        h('button', { type: 'button', onclick: () => void this.load() }, t('common.retry'))));
    } finally {
      this.body.setAttribute('aria-busy', 'false');
    }
  }

  private render() {
    const byName = new Map(this.rows.map((r) => [r.village, r]));
    const names = [...new Set([...this.rows.map((r) => r.village), ...this.known])].sort(collator.compare);
    const missing = names.filter((n) => !byName.has(n)).length;
    mount(this.body,
      h('div', { class: 'vr-head' },
        h('h2', null, t('vr.title')),
        h('span', { class: 'muted' }, t('vr.count', { n: this.rows.length, missing })),
        h('span', { class: 'spacer' }),
        this.admin ? null : h('span', { class: 'vr-readonly', id: 'vr-readonly' }, t('vr.readOnly'))),
      h('p', { class: 'hint' }, t('vr.intro')),
      this.admin ? this.importPanel() : null,
      this.admin ? this.addForm(names.filter((n) => !byName.has(n))) : null,
      h('div', { class: 'vr-table-wrap' },
        h('table', { class: 'vr-table', id: 'vr-table' },
          h('thead', null, h('tr', null,
            h('th', null, t('vr.colVillage')), h('th', null, t('vr.colResponsible')), h('th', null, t('vr.colTitle')),
            h('th', null, t('vr.colPhone')), h('th', { class: 'vr-upd' }, t('vr.colUpdated')), this.admin ? h('th', null, t('vr.colActions')) : null)),
          h('tbody', null, names.length
            ? names.map((n) => (this.editing === n ? this.editRow(n, byName.get(n)) : this.row(n, byName.get(n))))
            : h('tr', null, h('td', { colspan: 6, class: 'muted' }, t('vr.empty')))))));
  }

  private row(village: string, r: RegisterRow | undefined) {
    return h('tr', { 'data-village': village, class: r ? '' : 'unregistered' },
      h('th', { scope: 'row' }, village),
      r ? [
        h('td', { class: 'vr-resp' }, r.responsible),
        h('td', null, r.title),
        h('td', null, r.phone ? h('a', { href: `tel:${r.phone}` }, r.phone) : h('span', { class: 'muted' }, '—')),
        h('td', { class: 'muted small vr-upd' }, `${r.updated_at} · ${r.updated_by}`),
      ] : h('td', { colspan: 4, class: 'muted' }, t('vr.notRegistered')),
      this.admin ? h('td', { class: 'vr-actions' },
        h('button', { type: 'button', class: 'link vr-edit', onclick: () => { this.editing = village; this.render(); this.focusEdit(); } },
          r ? t('vr.edit') : t('vr.register')),
        r ? h('button', { type: 'button', class: 'link danger vr-delete', onclick: () => void this.remove(village) }, t('vr.delete')) : null) : null);
  }

  private editRow(village: string, r: RegisterRow | undefined) {
    const err = h('div', { class: 'error small', role: 'alert' });
    const resp = h('input', { class: 'vr-in-resp', value: r?.responsible ?? '', maxlength: 100, required: true, 'aria-label': t('vr.colResponsible') });
    const title = h('input', { class: 'vr-in-title', value: r?.title ?? '', maxlength: 50, placeholder: DEFAULT_TITLE, 'aria-label': t('vr.colTitle') });
    const phone = h('input', { class: 'vr-in-phone', value: r?.phone ?? '', maxlength: 30, inputmode: 'tel', 'aria-label': t('vr.colPhone') });
    const save = async () => {
      if (await this.save(village, resp.value, title.value, phone.value, err)) {
        this.editing = undefined;
        await this.load();
      }
    };
    // on the row, so Escape also works from its buttons; Enter only from the fields (a button has its own)
    const keys = (e: KeyboardEvent) => {
      if (e.key === 'Enter' && e.target instanceof HTMLInputElement) void save();
      if (e.key === 'Escape') { this.editing = undefined; this.render(); }
    };
    return h('tr', { 'data-village': village, class: 'editing', onkeydown: keys },
      h('th', { scope: 'row' }, village),
      h('td', null, resp), h('td', null, title), h('td', null, phone, err),
      h('td', { class: 'vr-upd' }),
      h('td', { class: 'vr-actions' },
        h('button', { type: 'button', class: 'primary vr-save', onclick: () => void save() }, t('vr.save')),
        h('button', { type: 'button', class: 'link', onclick: () => { this.editing = undefined; this.render(); } }, t('vr.cancel'))));
  }

  private focusEdit() {
    this.body.querySelector<HTMLInputElement>('tr.editing .vr-in-resp')?.focus();
  }

  /** PUT one row; a refusal (400) is shown beside the fields, in the interface language. */
  private async save(village: string, responsible: string, title: string, phone: string, err: HTMLElement): Promise<boolean> {
    err.textContent = '';
    if (!village.trim()) { err.textContent = t('vr.needVillage'); return false; }
    if (!responsible.trim()) { err.textContent = t('vr.needResponsible'); return false; }
    try {
      await api('PUT', path(village.trim()), {
        responsible: responsible.trim(), ...(title.trim() ? { title: title.trim() } : {}), phone: phone.trim() || null,
      });
      toast(t('vr.saved', { v: village.trim() }), { kind: 'ok' });
      return true;
    } catch (e) {
      err.textContent = errText(e);
      return false;
    }
  }

  private async remove(village: string) {
    if (!(await confirmDialog(t('vr.deleteTitle'), t('vr.deleteConfirm', { v: village }), t('vr.delete')))) return;
    try {
      await api('DELETE', path(village));
      toast(t('vr.deleted', { v: village }), { kind: 'ok' });
      await this.load();
    } catch (e) {
      toast(errText(e), { kind: 'error' });
    }
  }

  private addForm(unregistered: string[]) {
    const err = h('div', { class: 'error small', role: 'alert' });
    const village = h('input', { id: 'vr-new-village', list: 'vr-unregistered', maxlength: 100, required: true });
    const resp = h('input', { id: 'vr-new-resp', maxlength: 100, required: true });
    const title = h('input', { id: 'vr-new-title', maxlength: 50, placeholder: DEFAULT_TITLE });
    const phone = h('input', { id: 'vr-new-phone', maxlength: 30, inputmode: 'tel', placeholder: '0796-8123456' });
    const field = (label: string, input: HTMLElement) => h('label', { class: 'vr-field' }, h('span', null, label), input);
    return h('form', {
      class: 'vr-add panel', id: 'vr-add', 'aria-label': t('vr.addTitle'),
      onsubmit: async (e: Event) => {
        e.preventDefault();
        if (await this.save(village.value, resp.value, title.value, phone.value, err)) await this.load();
      },
    },
    h('h3', null, t('vr.addTitle')),
    h('div', { class: 'vr-fields' },
      field(t('vr.colVillage'), village), field(t('vr.colResponsible'), resp), field(t('vr.colTitle'), title), field(t('vr.colPhone'), phone),
      h('button', { type: 'submit', class: 'primary' }, t('vr.save'))),
    h('datalist', { id: 'vr-unregistered' }, unregistered.map((n) => h('option', { value: n }))),
    err);
  }

  private importPanel() {
    const file = h('input', { type: 'file', id: 'vr-file', accept: '.csv,text/csv' });
    const out = h('div', { id: 'vr-report', 'aria-live': 'polite' }, this.report ? this.reportView(this.report) : null);
    const run = async (e: Event) => {
      e.preventDefault();
      const f = file.files?.[0];
      if (!f) {
        mount(out, h('p', { class: 'error', role: 'alert' }, t('vr.chooseFile')));
        return;
      }
      try {
        // the file's bytes as they are: the server tells UTF-8 from GBK (Excel zh-CN's "CSV")
        this.report = await api<ImportReport>('POST', '/api/villages/register/import', new Blob([await f.arrayBuffer()], { type: 'text/csv' }));
        this.editing = undefined;
        await this.load();
      } catch (err) {
        this.report = undefined;
        mount(out, h('p', { class: 'error', role: 'alert', id: 'vr-import-error' }, errText(err)));
      }
    };
    return h('form', { class: 'vr-import panel', id: 'vr-import', onsubmit: run, 'aria-label': t('vr.importTitle') },
      h('h3', null, t('vr.importTitle')),
      h('p', { class: 'hint' }, t('vr.importHint')),
      h('div', { class: 'vr-fields' }, file, h('button', { type: 'submit', class: 'primary', id: 'vr-import-go' }, t('vr.importGo'))),
      out);
  }

  /** What the import did: counts, every refused line with its reason, villages the data does not know. */
  private reportView(r: ImportReport) {
    const zh = lang() === 'zh';
    return h('div', { class: 'vr-result' },
      h('p', { id: 'vr-counts', class: r.refused.length ? 'warn' : 'ok' },
        t('vr.importCounts', { inserted: r.inserted, updated: r.updated, refused: r.refused.length })),
      r.refused.length ? h('table', { class: 'vr-refused', id: 'vr-refused' },
        h('caption', null, t('vr.refusedTitle')),
        h('thead', null, h('tr', null, h('th', null, t('vr.colLine')), h('th', null, t('vr.colReason')))),
        h('tbody', null, r.refused.map((x) => h('tr', { 'data-line': x.line },
          h('td', { class: 'num' }, x.line), h('td', null, zh ? x.reason_zh : x.reason))))) : null,
      r.unknown_villages.length ? h('p', { class: 'hint', id: 'vr-unknown' },
        t('vr.unknownVillages', { v: r.unknown_villages.join(t('common.listSep')) })) : null);
  }
}
