/**
 * Per-village report (村（社区）图斑核查情况报告): one server-rendered, print-ready HTML page — A4, Chinese,
 * a static SVG map of the village's polygons coloured by status, the figures of GET /api/coverage for the
 * village, the polygon table, the imagery chips of its polygons (issue 15 item 4) and a place for photos. The
 * browser prints it to PDF; no script, no tiles; the only things fetched are the chips, as <img> from this
 * server with the session that opened the report (the page's CSP allows images from 'self').
 */
import type { Queryable } from '../db/types';
import { sqlSet } from '../db/sql-file';
import { AppError } from '../errors';
import { DISMISS_REASON_LABELS, STATUS_LABELS, type Status } from '../review/transitions';
import { computeCoverage, FLAG_LABELS, PHASE_LABELS } from './coverage';
import { responsibleFor } from '../villages/register';

const SQL = sqlSet(new URL('./report.sql', import.meta.url), ['frame', 'polygons'] as const);

export const STATUS_COLOURS: Record<Status, string> = {
  pending: '#9e9e9e',
  field_check: '#f59e0b',
  verified: '#dc2626',
  linked: '#7c3aed',
  dismissed: '#16a34a',
};

const esc = (s: unknown) =>
  String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const num = (n: number | null | undefined, d = 2) => (n == null ? '' : n.toLocaleString('zh-CN', { minimumFractionDigits: d, maximumFractionDigits: d }));
const pct = (x: number | null | undefined) => (x == null ? '—' : `${(x * 100).toFixed(1)}%`);

interface Frame {
  code: string | null;
  polygons: number;
  has_outline: boolean | null;
  x0: number | null;
  y1: number | null;
  width: number | null;
  height: number | null;
  outline_svg: string | null;
}

interface PolygonRow {
  id: number;
  code: string;
  status: Status;
  area_m2: number;
  area_mu: number;
  flags: string[];
  decided_by: string | null;
  decided_at: string | null;
  reason: string | null;
  case_number: string | null;
  svg: string;
  lx: number;
  ly: number;
  right_x: number;
  span_x: number;
  span_y: number;
}

export interface ReportInput {
  regionCode: string;
  village: string;
  scope: string[] | undefined;
  workSrid: number;
  asOf: Date;
  year?: number;
  /** the imported imagery's dates (an epoch with no imagery is null); absent: no imagery section */
  imagery?: { before: { date: string | null; version?: string | null } | null; after: { date: string | null; version?: string | null } | null };
}

/** chips printed per report: two A4 pages of them at most; the rest are on screen */
export const REPORT_CHIPS_MAX = 12;
/** the polygons a reader checks first: confirmed illegal building, then what is still open, then the dismissed */
const CHIP_ORDER: Record<Status, number> = { verified: 0, linked: 1, field_check: 2, pending: 3, dismissed: 4 };

/**
 * The map's largest printed size (mm): the A4 text width, and a height that leaves the map on one page
 * with its heading, legend and caption. Every size on the map (label text, lines, the scale bar) is given
 * in printed points and converted to map units with the map's printed scale, so the row numbers print at
 * MAP_LABEL_PT whatever the village's extent.
 */
const MAP_MAX_MM = { w: 182, h: 165 };
export const MAP_LABEL_PT = 7.5;
/** beyond this many polygons the numbers would cover the map: the caption says so instead */
const MAX_LABELS = 400;
const MM_PER_PT = 25.4 / 72;

export async function villageReport(q: Queryable, r: ReportInput): Promise<string> {
  const notFound = () => new AppError('not_found', `No village ${r.village}`, `没有村（社区）“${r.village}”`, 404);
  if (r.scope && !r.scope.includes(r.village)) throw notFound();
  const frame = (await q.query<Frame>(SQL.frame, [r.regionCode, r.village])).rows[0];
  if (!frame || (!frame.has_outline && !frame.polygons)) throw notFound();
  const responsible = await responsibleFor(q, r.regionCode, r.village);
  const polys = frame.x0 === null ? [] : (await q.query<PolygonRow>(SQL.polygons, [r.regionCode, r.village, frame.x0, frame.y1])).rows;
  const cov = await computeCoverage(q, {
    base: { regionCode: r.regionCode, villageScope: r.scope, village: [r.village] },
    baseQuery: { village: r.village },
    asOf: r.asOf,
    year: r.year,
    workSrid: r.workSrid,
  });

  // ---- map: user units are metres of the work CRS; mmPerUnit is the printed scale
  const w = Math.max(frame.width ?? 1, 1);
  const h = Math.max(frame.height ?? 1, 1);
  const pad = Math.max(w, h) * 0.03;
  const W = w + 2 * pad;
  const H = h + 2 * pad;
  const mmPerUnit = Math.min(MAP_MAX_MM.w / W, MAP_MAX_MM.h / H);
  /** a printed size in points as map units */
  const pt = (x: number) => ((x * MM_PER_PT) / mmPerUnit).toFixed(2);
  const labels = polys.length <= MAX_LABELS;
  /**
   * The row number on the polygon; beside it (east, text starting after the edge) when the polygon is
   * not at least twice its number's size, which would hide it.
   */
  const label = (p: PolygonRow, n: number) => {
    const textW = Number(pt(MAP_LABEL_PT * 0.6 * String(n).length));
    const small = p.span_x < 2 * textW || p.span_y < 2 * Number(pt(MAP_LABEL_PT));
    return small
      ? `<text x="${(p.right_x + Number(pt(1.5))).toFixed(1)}" y="${p.ly.toFixed(1)}" text-anchor="start">${n}</text>`
      : `<text x="${p.lx.toFixed(1)}" y="${p.ly.toFixed(1)}">${n}</text>`;
  };
  const map = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="${-pad} ${-pad} ${W} ${H}" width="${(W * mmPerUnit).toFixed(1)}mm" height="${(H * mmPerUnit).toFixed(1)}mm" role="img" aria-label="${esc(r.village)}图斑分布图">
  <rect x="${-pad}" y="${-pad}" width="${W}" height="${H}" fill="#fff"/>
  ${frame.outline_svg ? `<path d="${frame.outline_svg}" fill="#f8fafc" stroke="#334155" stroke-width="${pt(1)}" stroke-dasharray="${pt(4)} ${pt(2)}" fill-rule="evenodd"/>` : ''}
  ${polys.map((p) => `<path d="${p.svg}" fill="${STATUS_COLOURS[p.status]}" fill-opacity="0.75" stroke="${STATUS_COLOURS[p.status]}" stroke-width="${pt(0.75)}" fill-rule="evenodd"><title>${esc(p.code)} ${esc(STATUS_LABELS[p.status]?.zh)}</title></path>`).join('\n  ')}
  ${labels ? `<g class="labels" font-size="${pt(MAP_LABEL_PT)}" font-weight="700" text-anchor="middle" dominant-baseline="central" fill="#111" stroke="#fff" stroke-width="${pt(2)}" stroke-linejoin="round" paint-order="stroke">
  ${polys.map((p, i) => label(p, i + 1)).join('\n  ')}
  </g>` : ''}
  ${scaleBar(w, h, pad, pt)}
  ${northArrow(w, pad, pt)}
</svg>`;

  const legend = (Object.keys(STATUS_COLOURS) as Status[])
    .map((s) => `<span class="key"><i style="background:${STATUS_COLOURS[s]}"></i>${esc(STATUS_LABELS[s].zh)} ${cov.overall[s]}</span>`)
    .join('');

  // ---- figures (all from GET /api/coverage's computation)
  const o = cov.overall;
  const reasons = cov.by_reason.filter((x) => x.count > 0);
  const flags = cov.by_flag.filter((x) => x.total > 0);
  const ages = cov.pending_age.buckets.filter((b) => b.count > 0);
  const ageLabel = (b: { min_days: number; max_days: number | null }) =>
    b.max_days === null ? `${b.min_days} 天以上` : b.min_days === 0 ? `${b.max_days} 天以内` : `${b.min_days}–${b.max_days} 天`;

  const rows = polys.map((p, i) => `<tr>
      <td class="n">${i + 1}</td><td class="code">${esc(p.code)}</td><td class="n">${num(p.area_m2)}</td><td class="n">${num(p.area_mu, 3)}</td>
      <td class="s"><i class="dot" style="background:${STATUS_COLOURS[p.status]}"></i>${esc(STATUS_LABELS[p.status]?.zh ?? p.status)}</td>
      <td>${esc(p.flags.map((f) => FLAG_LABELS[f]?.zh ?? f).join('、'))}</td>
      <td>${esc(p.decided_by)}</td><td>${esc(p.decided_at)}</td><td>${esc(p.case_number)}</td>
      <td>${esc(p.reason ? (DISMISS_REASON_LABELS as Record<string, { zh: string }>)[p.reason]?.zh ?? p.reason : '')}</td>
    </tr>`).join('\n');

  const photos = polys.filter((p) => p.status === 'verified' || p.status === 'linked').slice(0, 6);
  const chips = imagerySection(polys, r.imagery);
  const today = new Intl.DateTimeFormat('zh-CN', { timeZone: 'Asia/Shanghai', year: 'numeric', month: 'long', day: 'numeric' }).format(r.asOf);
  const phase = cov.weekly.phases.find((ph) => r.asOf.toISOString() >= ph.from! && r.asOf.toISOString() < ph.to!);

  return `<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(r.village)} 违法建设图斑核查情况报告</title>
<style>
  @page { size: A4; margin: 16mm 14mm 18mm; }
  * { box-sizing: border-box; }
  body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", "SimSun", sans-serif;
         font-size: 10.5pt; color: #111; margin: 0 auto; max-width: 182mm; line-height: 1.5; }
  h1 { font-size: 17pt; text-align: center; margin: 0 0 2mm; letter-spacing: 0.05em; }
  .sub { text-align: center; color: #444; margin-bottom: 5mm; }
  h2 { font-size: 12.5pt; border-left: 4px solid #b91c1c; padding-left: 2mm; margin: 6mm 0 2mm; page-break-after: avoid; }
  table { border-collapse: collapse; width: 100%; font-size: 9pt; }
  th, td { border: 0.5pt solid #888; padding: 1mm 1.5mm; vertical-align: top; }
  th { background: #f1f5f9; font-weight: 600; }
  thead { display: table-header-group; }
  tr { page-break-inside: avoid; }
  td.s { white-space: nowrap; }
  td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
  /* the polygon list: a code (500118-2020-000010) or a short header broken over two lines reads as two values */
  table.list { font-size: 8.5pt; }
  table.list th { white-space: nowrap; padding: 1mm; }
  table.list td { padding: 0.8mm 1mm; }
  td.code { white-space: nowrap; font-variant-numeric: tabular-nums; }
  .figures td:first-child { width: 45%; }
  .map { border: 0.5pt solid #888; page-break-inside: avoid; text-align: center; line-height: 0; }
  .map svg { display: inline-block; max-width: 100%; height: auto; }
  .legend { font-size: 9pt; margin: 1.5mm 0 0; }
  .key { margin-right: 4mm; white-space: nowrap; }
  .key i, i.dot { display: inline-block; width: 3mm; height: 3mm; margin-right: 1mm; vertical-align: -0.4mm; }
  .photos { display: grid; grid-template-columns: repeat(3, 1fr); gap: 3mm; page-break-inside: avoid; }
  /* photos, note and signatures stay on one page: a signature line alone on the last page signs nothing */
  .tail { page-break-inside: avoid; break-inside: avoid; }
  .photo { border: 0.5pt dashed #888; height: 34mm; display: flex; flex-direction: column; align-items: center; justify-content: center; color: #666; font-size: 9pt; }
  .chips { display: grid; grid-template-columns: 1fr 1fr; gap: 3mm 4mm; }
  .chip-pair { page-break-inside: avoid; break-inside: avoid; }
  .chip-pair .cap { font-size: 8.5pt; margin-bottom: 0.8mm; white-space: nowrap; overflow: hidden; }
  .chip-pair .imgs { display: grid; grid-template-columns: 1fr 1fr; gap: 1.5mm; }
  .chip-pair figure { margin: 0; }
  .chip-pair img, .chip-pair .none { display: block; width: 100%; aspect-ratio: 4 / 3; height: auto; border: 0.5pt solid #888; background: #f1f5f9; }
  .chip-pair .none { display: flex; align-items: center; justify-content: center; color: #666; font-size: 8pt; }
  .chip-pair figcaption { font-size: 7.5pt; color: #333; text-align: center; }
  .sign { margin-top: 10mm; display: flex; justify-content: space-between; page-break-inside: avoid; }
  .note { color: #555; font-size: 8.5pt; }
  @media screen { body { padding: 10mm; background: #fff; } }
</style>
</head>
<body>
<h1>${esc(r.village)}违法建设图斑核查情况报告</h1>
<div class="sub">${esc(frame.code ? `行政区代码 ${frame.code} · ` : '')}截至 ${esc(today)}${phase ? ` · 当前阶段：${esc(phase.label?.zh)}` : ''}</div>
<div class="sub responsible">${responsible
    ? `责任人：${esc(responsible.responsible)}（${esc(responsible.title)}）${responsible.phone ? ` · 联系电话 ${esc(responsible.phone)}` : ''}`
    : '责任人：名册中未登记'}</div>

<h2>一、核查进度</h2>
<table class="figures">
  <tbody>
    <tr><td>图斑总数</td><td class="n">${o.total}</td></tr>
    <tr><td>已有处理结果（核实、立案、排除）</td><td class="n">${o.decided}（${pct(o.share)}）</td></tr>
    <tr><td>其中：已核实</td><td class="n">${o.verified}</td></tr>
    <tr><td>其中：已立案</td><td class="n">${o.linked}</td></tr>
    <tr><td>其中：已排除</td><td class="n">${o.dismissed}</td></tr>
    <tr><td>待核查 / 待实地核查</td><td class="n">${o.pending} / ${o.field_check}</td></tr>
    <tr><td>集中整治期限（${esc(cov.weekly.deadline.date)}）前已处理</td><td class="n">${cov.weekly.deadline.decided}（${pct(cov.weekly.deadline.share)}）</td></tr>
    ${flags.map((f) => `<tr><td>整治重点：${esc(f.label?.zh ?? f.flag)}</td><td class="n">${f.decided} / ${f.total}（${pct(f.share)}）</td></tr>`).join('\n    ')}
    ${reasons.length ? `<tr><td>排除原因</td><td>${reasons.map((x) => `${esc(x.label.zh)} ${x.count}`).join('；')}</td></tr>` : ''}
    ${ages.length ? `<tr><td>待处理图斑等待时间（自首次导入）</td><td>${ages.map((b) => `${esc(ageLabel(b))} ${b.count}`).join('；')}</td></tr>` : ''}
  </tbody>
</table>

<h2>二、图斑分布图</h2>
<div class="map">${map}</div>
<div class="legend">${legend}</div>
<p class="note">坐标系 EPSG:${r.workSrid}（CGCS2000 高斯-克吕格投影），${labels ? '图上数字为下表序号。' : `图斑超过 ${MAX_LABELS} 个，图上不标序号。`}${frame.has_outline ? '虚线为村（社区）界。' : '无村界数据。'}</p>

<h2>三、图斑清单</h2>
<table class="list">
  <thead><tr><th>序号</th><th>图斑编号</th><th>面积<br>（平方米）</th><th>面积<br>（亩）</th><th>状态</th><th>整治重点</th><th>认定人</th><th>认定时间</th><th>案件编号</th><th>排除原因</th></tr></thead>
  <tbody>
${rows || '<tr><td colspan="10">本村（社区）无图斑。</td></tr>'}
  </tbody>
</table>

${chips}
<div class="tail">
<h2>${chips ? '五' : '四'}、现场照片</h2>
<div class="photos">
  ${(photos.length ? photos : [null, null, null]).map((p) => `<div class="photo">${p ? `${esc(p.code)}<br>` : ''}照片待上传</div>`).join('\n  ')}
</div>
<p class="note">现场照片（带拍摄时间与位置）接入后显示于此。</p>

<div class="sign"><span>村（社区）负责人（签字）：</span><span>核查人（签字）：</span><span>日期：　　年　　月　　日</span></div>
</div>
</body>
</html>`;
}

/**
 * 四、影像对比: for the village's polygons that matter most (confirmed first), the before and after chips with
 * their dates and the polygon's row number; at most REPORT_CHIPS_MAX, the note says how many are left out.
 */
function imagerySection(polys: PolygonRow[], im: ReportInput['imagery']): string {
  if (!im || (!im.before && !im.after) || !polys.length) return '';
  const picked = polys
    .map((p, i) => ({ p, n: i + 1 }))
    .sort((a, b) => CHIP_ORDER[a.p.status] - CHIP_ORDER[b.p.status] || a.n - b.n)
    .slice(0, REPORT_CHIPS_MAX);
  const epochs = [['before', '前时相'], ['after', '后时相']] as const;
  const chip = (id: number, epoch: 'before' | 'after', name: string) => {
    const e = im[epoch];
    const caption = `${name} ${e?.date ?? '日期不详'}`;
    // eager, with its size: the browser has every chip before it prints
    const body = e
      ? `<img src="/api/polygons/${id}/chips/${epoch}${e.version ? `?v=${encodeURIComponent(e.version)}` : ''}" width="320" height="240" alt="${esc(caption)}" loading="eager" decoding="sync">`
      : `<div class="none">无${name}影像</div>`;
    return `<figure>${body}<figcaption>${esc(caption)}</figcaption></figure>`;
  };
  const blocks = picked.map(({ p, n }) => `<div class="chip-pair">
    <div class="cap"><b>${n}</b> · ${esc(p.code)} · ${esc(STATUS_LABELS[p.status]?.zh ?? p.status)}</div>
    <div class="imgs">${epochs.map(([e, name]) => chip(p.id, e, name)).join('')}</div>
  </div>`).join('\n  ');
  const left = polys.length - picked.length;
  return `<h2>四、影像对比</h2>
<div class="chips">
  ${blocks}
</div>
<p class="note">前后时相影像，框线为图斑边界；序号同图斑清单。${left > 0 ? `另有 ${left} 个图斑未列出，请在系统中查看。` : ''}</p>`;
}

function scaleBar(w: number, h: number, pad: number, pt: (x: number) => string): string {
  // a round length near a fifth of the map width
  const target = (w + 2 * pad) / 5;
  const pow = 10 ** Math.floor(Math.log10(target));
  const len = [5, 2, 1].map((k) => k * pow).find((x) => x <= target) ?? pow;
  const x = -pad + (w + 2 * pad) * 0.04;
  const y = h + pad * 0.5;
  const u = (p: number) => Number(pt(p));
  return `<g font-size="${pt(8)}" fill="#111"><rect x="${x}" y="${y - u(2.5)}" width="${len}" height="${pt(2.5)}" fill="#111"/>
    <text x="${x + len / 2}" y="${y - u(4.5)}" text-anchor="middle">${len >= 1000 ? `${len / 1000} km` : `${len} m`}</text></g>`;
}

function northArrow(w: number, pad: number, pt: (x: number) => string): string {
  const u = (p: number) => Number(pt(p));
  const x = w + pad * 0.3;
  const y = -pad * 0.2;
  return `<g fill="#111"><path d="M ${x} ${y} l ${u(-5)} ${u(14)} l ${u(5)} ${u(-3.5)} l ${u(5)} ${u(3.5)} Z"/>
    <text x="${x}" y="${y + u(24)}" font-size="${pt(9)}" text-anchor="middle">北</text></g>`;
}

/**
 * The report's own error page (a person followed a link or typed a name; raw JSON would mean nothing to
 * them): the same error in Chinese and English, and the way back.
 */
export function reportErrorPage(e: AppError): string {
  const title = e.status === 404 ? '未找到报告 / Report not found' : '无法生成报告 / Cannot show the report';
  return `<!doctype html>
<html lang="zh-CN">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(title)}</title>
<style>body { font-family: "Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif; max-width: 40em; margin: 15vh auto; padding: 0 1em; color: #111; line-height: 1.6; }
h1 { font-size: 1.4em; } .en { color: #555; } a { color: #1d4ed8; }</style></head>
<body>
<h1>${esc(title)}</h1>
<p>${esc(e.message_zh)}</p>
<p class="en" lang="en">${esc(e.message)}</p>
<p><a href="/">返回首页</a> · <a href="/" lang="en">Back to the start page</a></p>
</body>
</html>`;
}
