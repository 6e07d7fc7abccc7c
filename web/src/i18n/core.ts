/**
 * The i18n machinery both web builds share (the analyst app, web/, and the field page, web-field/): Chinese
 * first, English on request, the choice kept per device. Each build brings its own typed catalogues, so a
 * missing or misspelt key is a compile error there; this module only looks them up and formats.
 */
export type Lang = 'zh' | 'en';

const KEY = 'tuban.lang';

function stored(): Lang {
  try {
    const v = localStorage.getItem(KEY);
    if (v === 'en' || v === 'zh') return v;
  } catch {
    /* storage blocked: default */
  }
  return 'zh';
}

export function createI18n<K extends string>(catalogues: Record<Lang, Record<K, string>>) {
  let current: Lang = stored();
  document.documentElement.lang = current === 'zh' ? 'zh-CN' : 'en';

  const locale = () => (current === 'zh' ? 'zh-CN' : 'en-US');
  return {
    lang: () => current,
    setLang(l: Lang) {
      current = l;
      try {
        localStorage.setItem(KEY, l);
      } catch {
        /* ignore */
      }
      document.documentElement.lang = l === 'zh' ? 'zh-CN' : 'en';
    },
    /** The message for `key`, with `{name}` placeholders filled from `params`. */
    t(key: K, params?: Record<string, string | number>): string {
      const s = catalogues[current][key];
      return params ? s.replace(/\{(\w+)\}/g, (m, k: string) => (k in params ? String(params[k]) : m)) : s;
    },
    /** For keys built from data (a flag, a status): the message, or undefined when the catalogue has none. */
    tMaybe: (key: string): string | undefined => (catalogues[current] as Record<string, string>)[key],
    /** A `{zh, en}` label from the server, in the interface language. */
    label: (l: { zh: string; en: string } | null | undefined, fallback = '') => (l ? l[current] || l.zh : fallback),
    num: (n: number | null | undefined, digits = 1) =>
      n === null || n === undefined || !Number.isFinite(n)
        ? '—'
        : new Intl.NumberFormat(locale(), { maximumFractionDigits: digits }).format(n),
    /** China time, as people there read it */
    dateTime(iso: string | number | null | undefined, seconds = false): string {
      if (iso === null || iso === undefined || iso === '') return '—';
      const d = new Date(iso);
      if (Number.isNaN(d.getTime())) return String(iso);
      return new Intl.DateTimeFormat(current === 'zh' ? 'zh-CN' : 'en-GB', {
        year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
        ...(seconds ? { second: '2-digit' } : {}), timeZone: 'Asia/Shanghai', hour12: false,
      }).format(d);
    },
  };
}
