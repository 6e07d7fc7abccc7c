/**
 * Messages of imagery (issue 15 items 3–4): the epoch badge, the swipe compare and the image chips. Kept apart
 * from zh.ts/en.ts, which spread them in (as desk.ts), so parallel work on the big catalogues does not collide.
 */
export const imageryZh = {
  'imagery.before': '前时相',
  'imagery.after': '后时相',
  'imagery.badge': '{epoch} {date}',
  'imagery.noDate': '日期不详',
  'imagery.badgeTitle': '地图当前显示的影像时相；按 T 切换，Shift+T 卷帘对比',
  'imagery.onlyOne': '只有一期影像：{epoch} {date}',
  'imagery.compareNeedsBoth': '卷帘对比需要前后两期影像，目前只有{epoch}',
  'imagery.divider': '前后时相分隔线（左右方向键移动）',
  'imagery.compareHint': '拖动分隔线对比前后时相 · Esc 或 Shift+T 关闭',
  'imagery.compareClose': '关闭卷帘对比',
  'imagery.chips': '影像对比（前时相 / 后时相）',
  'imagery.chipNone': '此处无{epoch}影像',
  'imagery.chipAlt': '{code} {epoch}影像（{date}），框线为图斑边界',
  'imagery.chipsCol': '影像（前 / 后）',
  'keys.compare': '卷帘对比前后时相（Esc 关闭）',
} as const;

export const imageryEn: Record<keyof typeof imageryZh, string> = {
  'imagery.before': 'Before',
  'imagery.after': 'After',
  'imagery.badge': '{epoch} · {date}',
  'imagery.noDate': 'date unknown',
  'imagery.badgeTitle': 'The date of imagery the map shows; T switches, Shift+T opens the swipe',
  'imagery.onlyOne': 'Only one date of imagery: {epoch} {date}',
  'imagery.compareNeedsBoth': 'The swipe needs imagery of both dates; there is only {epoch}',
  'imagery.divider': 'Divider between the two dates (left/right arrow keys move it)',
  'imagery.compareHint': 'Drag the divider to compare the dates · Esc or Shift+T closes',
  'imagery.compareClose': 'Close the swipe',
  'imagery.chips': 'Imagery, before / after',
  'imagery.chipNone': 'No {epoch} imagery here',
  'imagery.chipAlt': '{code}: {epoch} imagery ({date}), the polygon outlined',
  'imagery.chipsCol': 'Imagery (before / after)',
  'keys.compare': 'Swipe between the two dates (Esc closes)',
};
