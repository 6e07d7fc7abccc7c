import { zh, type MessageKey } from './zh';
import { en } from './en';

export type Lang = 'zh' | 'en';
export type { MessageKey };

const CATALOGUES: Record<Lang, Record<MessageKey, string>> = { zh, en };
const KEY = 'tuban.lang';

let current: Lang = (() => {
  try {
    const v = localStorage.getItem(KEY);
    if (v === 'en' || v === 'zh') return v;
  } catch {
    /* storage blocked: default */
  }
  return 'zh';
})();

export const lang = () => current;

export function setLang(l: Lang) {
  current = l;
  try {
    localStorage.setItem(KEY, l);
  } catch {
    /* ignore */
  }
  document.documentElement.lang = l === 'zh' ? 'zh-CN' : 'en';
}
document.documentElement.lang = current === 'zh' ? 'zh-CN' : 'en';

/** The message for `key`, with `{name}` placeholders filled from `params`. */
export function t(key: MessageKey, params?: Record<string, string | number>): string {
  const s = CATALOGUES[current][key];
  return params ? s.replace(/\{(\w+)\}/g, (m, k: string) => (k in params ? String(params[k]) : m)) : s;
}

/** A `{zh, en}` label from the server, in the interface language. */
export const label = (l: { zh: string; en: string } | null | undefined, fallback = '') => (l ? l[current] || l.zh : fallback);

const nf = () => new Intl.NumberFormat(current === 'zh' ? 'zh-CN' : 'en-US', { maximumFractionDigits: 1 });
export const num = (n: number | null | undefined, digits = 1) =>
  n === null || n === undefined || !Number.isFinite(n)
    ? '—'
    : new Intl.NumberFormat(current === 'zh' ? 'zh-CN' : 'en-US', { maximumFractionDigits: digits }).format(n);
export const int = (n: number) => nf().format(Math.round(n));
export const pct = (share: number | null | undefined) => (share === null || share === undefined ? '—' : `${num(share * 100, 0)}%`);

export function dateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return new Intl.DateTimeFormat(current === 'zh' ? 'zh-CN' : 'en-GB', {
    year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', timeZone: 'Asia/Shanghai',
  }).format(d);
}

/** For keys built from data (a flag, a layer name): the message, or undefined when the catalogue has none. */
export function tMaybe(key: string): string | undefined {
  return (CATALOGUES[current] as Record<string, string>)[key];
}
