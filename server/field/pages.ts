/**
 * HTML the server writes for field work: the built field page (web-field/ → dist/field, served for /p,
 * /p/<图斑编号> and /f/<token>), clear refusals of a bad link, and the printable per-village sheet with a
 * QR code per polygon (SVG made here, no script on the sheet).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Response } from 'express';
import QRCode from 'qrcode';
import type { Config } from '../config';
import { STATUS_LABELS } from '../review/transitions';
import type { SheetRow } from './polygons';

/** The field page is built next to the analyst app: <webDir>/../field (dist/field by default). */
export const fieldDirOf = (config: Config) => path.join(path.dirname(config.webDir), 'field');

export const esc = (s: unknown) =>
  String(s ?? '').replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&#39;', '"': '&quot;' })[c]!);

/** Our own origin plus the configured basemap host; no inline script anywhere. */
export function fieldCsp(origins: string[]) {
  const extra = [...new Set(origins)].join(' ');
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    `img-src 'self' data: blob: ${extra}`.trim(),
    `connect-src 'self' ${extra}`.trim(),
    "worker-src 'self'",
    "manifest-src 'self'",
    "frame-ancestors 'none'",
    "base-uri 'self'",
    "form-action 'self'",
  ].join('; ');
}

/** The built page, or 503 with what to run. */
export function sendShell(res: Response, dir: string, csp: string, o: { noReferrer?: boolean } = {}) {
  const index = path.join(dir, 'index.html');
  if (!existsSync(index)) {
    res.status(503).type('text/plain; charset=utf-8')
      .send('The field page is not built: npm run build:field (npm start builds it) / 外业页面尚未构建：请运行 npm run build:field\n');
    return;
  }
  res.set({
    'Cache-Control': 'no-cache',
    'Content-Security-Policy': csp,
    'X-Content-Type-Options': 'nosniff',
    // a link's token is in its URL: never let it travel to a tile server or a map app in a Referer
    'Referrer-Policy': o.noReferrer ? 'no-referrer' : 'same-origin',
  });
  res.sendFile(index);
}

const PAGE_CSS = `
body{font-family:system-ui,-apple-system,"PingFang SC","Microsoft YaHei","WenQuanYi Micro Hei",sans-serif;margin:0;color:#1f2933;background:#f5f7fa}
main{max-width:34rem;margin:0 auto;padding:2.5rem 1.25rem}
h1{font-size:1.35rem;margin:0 0 .75rem}
p{line-height:1.6;margin:.5rem 0}
.en{color:#52606d;font-size:.95rem}
.box{background:#fff;border-radius:12px;padding:1.25rem 1.25rem 1rem;box-shadow:0 1px 3px rgba(0,0,0,.12);border-top:5px solid #c62828}
a{color:#1565c0}
`;

/** A refusal a person understands: what happened and what to do, in Chinese then English. */
export function refusalPage(o: { status: number; title_zh: string; title_en: string; message_zh: string; message_en: string; code: string; link?: { href: string; zh: string; en: string } }) {
  return `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(o.title_zh)} · ${esc(o.title_en)}</title><style>${PAGE_CSS}</style></head>
<body><main><div class="box" data-refusal="${esc(o.code)}">
<h1>${esc(o.title_zh)}</h1>
<p>${esc(o.message_zh)}</p>
<p class="en"><strong>${esc(o.title_en)}.</strong> ${esc(o.message_en)}</p>
${o.link ? `<p><a href="${esc(o.link.href)}">${esc(o.link.zh)} · ${esc(o.link.en)}</a></p>` : ''}
<p class="en">HTTP ${o.status} · ${esc(o.code)}</p>
</div></main></body></html>`;
}

export function sendRefusal(res: Response, o: Parameters<typeof refusalPage>[0]) {
  res.status(o.status).set({
    'Cache-Control': 'no-store',
    'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    'Referrer-Policy': 'no-referrer',
    'X-Content-Type-Options': 'nosniff',
  }).type('html').send(refusalPage(o));
}

const SHEET_CSS = `
@page{size:A4;margin:10mm}
*{box-sizing:border-box}
body{font-family:"PingFang SC","Microsoft YaHei","WenQuanYi Micro Hei","Noto Sans CJK SC",system-ui,sans-serif;margin:0;color:#111;background:#fff;font-size:12px}
header{padding:10px 14px;border-bottom:2px solid #111;display:flex;justify-content:space-between;align-items:flex-end;gap:12px;flex-wrap:wrap}
header h1{font-size:20px;margin:0}
header p{margin:2px 0;color:#333}
.hint{font-size:11px;color:#444}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(88mm,1fr));gap:6px;padding:8px}
.card{display:flex;gap:8px;border:1px solid #999;border-radius:4px;padding:6px;break-inside:avoid;page-break-inside:avoid}
.qr{width:30mm;height:30mm;flex:none}
.qr svg{width:100%;height:100%;display:block}
.facts{flex:1;min-width:0}
.code{font-size:15px;font-weight:700;word-break:break-all;margin:0 0 2px}
.facts dl{display:grid;grid-template-columns:auto 1fr;gap:1px 6px;margin:0}
.facts dt{color:#555}
.facts dd{margin:0;word-break:break-all}
.check{margin-top:4px;font-size:11px;line-height:1.6;color:#222}
.st{display:inline-block;padding:0 4px;border:1px solid #111;border-radius:3px;font-size:11px}
.empty{padding:24px 14px;font-size:14px}
@media screen{body{background:#eef1f4}.grid{max-width:210mm;margin:0 auto;background:#fff}header{max-width:210mm;margin:0 auto;background:#fff}}
`;

const FINDING_BOXES = '□在建 □已建成 □已拆除 □有合法手续 □未发现 □其他＿＿＿＿';

/** /p/sheet/<village>: one card per polygon to visit, its QR code opening /p/<图斑编号> on a phone. */
export async function sheetPage(o: {
  village: string;
  origin: string;
  rows: SheetRow[];
  truncated: boolean;
  flagTitles: Map<string, string>;
  generatedBy: string;
}): Promise<string> {
  const now = new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 16).replace('T', ' ');
  const cards = await Promise.all(o.rows.map(async (p) => {
    const url = `${o.origin}/p/${encodeURIComponent(p.code)}`;
    const svg = await QRCode.toString(url, { type: 'svg', errorCorrectionLevel: 'M', margin: 1 });
    const flags = p.flags.filter((f) => f !== 'no_village').map((f) => o.flagTitles.get(f) ?? f);
    return `<section class="card" data-code="${esc(p.code)}">
  <div class="qr" role="img" aria-label="二维码 ${esc(url)}">${svg}</div>
  <div class="facts">
    <p class="code">${esc(p.code)} <span class="st">${esc(STATUS_LABELS[p.status]?.zh ?? p.status)}</span></p>
    <dl>
      <dt>面积</dt><dd>${Math.round(p.area_m2).toLocaleString('zh-CN')} m² · ${Number(p.area_mu).toFixed(2)} 亩</dd>
      ${flags.length ? `<dt>重点</dt><dd>${esc(flags.join('、'))}</dd>` : ''}
      <dt>权利人</dt><dd>${esc(p.holder ?? '—')}${p.parcel_count > 1 ? `（等 ${p.parcel_count} 宗）` : ''}</dd>
      ${p.parcel_code ? `<dt>宗地</dt><dd>${esc(p.parcel_code)}${p.land_use ? ` · ${esc(p.land_use)}` : ''}</dd>` : ''}
      <dt>位置</dt><dd>${p.lat.toFixed(5)}, ${p.lon.toFixed(5)}</dd>
    </dl>
    <div class="check">核查：${FINDING_BOXES}</div>
  </div>
</section>`;
  }));
  const title = `${o.village} · 外业核查清单`;
  return `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title><style>${SHEET_CSS}</style></head>
<body>
<header>
  <div><h1>${esc(title)}</h1>
  <p>待核查图斑 ${o.rows.length} 个${o.truncated ? `（只列出前 ${o.rows.length} 个）` : ''} · Field sheet, polygons to visit</p></div>
  <div><p>${esc(now)}（北京时间）· ${esc(o.generatedBy)}</p>
  <p class="hint">用手机扫描二维码：打开图斑位置、导航、拍照上报。打印：浏览器菜单“打印”（Ctrl+P）。</p></div>
</header>
${o.rows.length ? `<div class="grid">\n${cards.join('\n')}\n</div>` : `<p class="empty">${esc(o.village)} 目前没有待核查的图斑。No polygons to visit in this village.</p>`}
</body></html>`;
}
