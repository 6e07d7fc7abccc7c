import { zh, type MessageKey } from './zh';
import { en } from './en';

/** Same approach as the analyst app (web/src/i18n): Chinese first, English on request, kept per device. */
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

export function t(key: MessageKey, params?: Record<string, string | number>): string {
  const s = CATALOGUES[current][key];
  return params ? s.replace(/\{(\w+)\}/g, (m, k: string) => (k in params ? String(params[k]) : m)) : s;
}

/** For keys built from data (a flag, a status): the message, or undefined when the catalogue has none. */
export function tMaybe(key: string): string | undefined {
  return (CATALOGUES[current] as Record<string, string>)[key];
}

/** A `{zh, en}` label from the server, in the interface language. */
export const label = (l: { zh: string; en: string } | null | undefined, fallback = '') => (l ? l[current] || l.zh : fallback);

export const num = (n: number | null | undefined, digits = 1) =>
  n === null || n === undefined || !Number.isFinite(n)
    ? '—'
    : new Intl.NumberFormat(current === 'zh' ? 'zh-CN' : 'en-US', { maximumFractionDigits: digits }).format(n);

/** 35 m, 1.2 km */
export function metres(m: number): string {
  if (m < 1000) return t('unit.m', { n: num(m < 10 ? m : Math.round(m), m < 10 ? 1 : 0) });
  return t('unit.km', { n: num(m / 1000, m < 10_000 ? 2 : 1) });
}

/** China time, as people there read it */
export function dateTime(iso: string | number | null | undefined, seconds = false): string {
  if (iso === null || iso === undefined) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return new Intl.DateTimeFormat(current === 'zh' ? 'zh-CN' : 'en-GB', {
    year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
    ...(seconds ? { second: '2-digit' } : {}), timeZone: 'Asia/Shanghai', hour12: false,
  }).format(d);
}
