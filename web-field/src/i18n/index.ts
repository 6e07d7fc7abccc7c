import { createI18n, type Lang } from '../../../web/src/i18n/core';
import { zh, type MessageKey } from './zh';
import { en } from './en';

/** The analyst app's i18n machinery (web/src/i18n/core.ts) with the field page's own catalogues. */
export type { Lang, MessageKey };

export const { lang, setLang, t, tMaybe, label, num, dateTime } = createI18n<MessageKey>({ zh, en });

/** 35 m, 1.2 km */
export function metres(m: number): string {
  if (m < 1000) return t('unit.m', { n: num(m < 10 ? m : Math.round(m), m < 10 ? 1 : 0) });
  return t('unit.km', { n: num(m / 1000, m < 10_000 ? 2 : 1) });
}
