import { t } from '../i18n';
import type { Epoch, MapSource } from '../types';

/** "后时相 2020-10-01" / "After · 2020-10-01": an imagery date as every screen names it. */
export function epochLabel(epoch: Epoch, source: Pick<MapSource, 'date'> | null | undefined): string {
  return t('imagery.badge', { epoch: t(`imagery.${epoch}`), date: source?.date || t('imagery.noDate') });
}
