import { createI18n, type Lang } from './core';
import { zh, type MessageKey } from './zh';
import { en } from './en';

export type { Lang, MessageKey };

export const { lang, setLang, t, tMaybe, label, num, dateTime } = createI18n<MessageKey>({ zh, en });

export const int = (n: number) => num(Math.round(n), 0);
export const pct = (share: number | null | undefined) => (share === null || share === undefined ? '—' : `${num(share * 100, 0)}%`);
