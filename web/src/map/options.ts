/**
 * What the analyst's map and the swipe's second map (compare.ts) share: no rotation or pitch (a plan view
 * of parcels), no box zoom (shift-drag is ours), instant tiles (no fade: the swipe must match pixel for
 * pixel), Chinese labels drawn with the local fonts (no glyph server: the intranet has no internet).
 */
export const MAP_INTERACTION = {
  boxZoom: false,
  dragRotate: false,
  pitchWithRotate: false,
  touchPitch: false,
  attributionControl: false,
  fadeDuration: 0,
  localIdeographFontFamily: '"PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif',
} as const;
