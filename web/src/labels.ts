import { tMaybe } from './i18n';

/** A priority flag in words; custom layers' flags are shown by name. */
export const flagLabel = (f: string) => tMaybe(`flag.${f}`) ?? f;
