/** Where a work item came from (issue 16 item 1): 卫片 the survey polygons, 巡查 daily patrol, 举报 public reports. */
export const LEAD_SOURCES = ['survey', 'patrol', 'report'] as const;
export type LeadSource = (typeof LEAD_SOURCES)[number];
export const SOURCE_LABELS: Record<LeadSource, { zh: string; en: string }> = {
  survey: { zh: '卫片', en: 'Survey' },
  patrol: { zh: '巡查', en: 'Patrol' },
  report: { zh: '举报', en: 'Public report' },
};
