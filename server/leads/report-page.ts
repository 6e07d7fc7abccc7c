/**
 * The public report page (/report) and a report's status page (/report/<code>#<secret>), zh-CN, phone first
 * (390×844), no account (issue 16 items 2, 5, 6). Server-written HTML with one small script of our own
 * (public/report.js): no map library and nothing from the internet, so it works on an intranet. The secret
 * stays in the URL's fragment, which the browser never sends to a server (nor in a Referer).
 */
import { readFileSync } from 'node:fs';
import { esc } from '../field/pages';
import { MAX_REPORT_PHOTOS, REPORT_CATEGORIES } from './reports';

export const REPORT_SCRIPT = readFileSync(new URL('./public/report.js', import.meta.url), 'utf8');

export const REPORT_CSP = [
  "default-src 'none'", "script-src 'self'", "style-src 'unsafe-inline'", "img-src 'self' data:", "connect-src 'self'",
  "form-action 'self'", "base-uri 'none'", "frame-ancestors 'none'",
].join('; ');

const CSS = `
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"PingFang SC","Microsoft YaHei","WenQuanYi Micro Hei","Noto Sans CJK SC",sans-serif;margin:0;color:#1f2933;background:#f5f7fa;font-size:16px}
header{background:#9b1c1c;color:#fff;padding:.9rem 1rem}
header h1{font-size:1.25rem;margin:0 auto;max-width:32rem}
header p{margin:.25rem auto 0;max-width:32rem;font-size:.85rem;opacity:.92}
main{max-width:34rem;margin:0 auto;padding:.75rem 1rem 2rem}
section{background:#fff;border-radius:10px;padding:.8rem .9rem;margin:.7rem 0;box-shadow:0 1px 2px rgba(0,0,0,.08)}
h2{font-size:1.02rem;margin:0 0 .5rem}
#map{width:100%;height:auto;background:#eef2f5;border:1px solid #cbd2d9;border-radius:8px;touch-action:manipulation;display:block}
.village{fill:#d9f0e3;stroke:#3f7d5a;stroke-width:1.5}
.vname{font-size:13px;fill:#234;paint-order:stroke;stroke:#fff;stroke-width:3px}
.pin{fill:#d64545}.pin-halo{fill:rgba(214,69,69,.25)}
button{font:inherit;border:0;border-radius:8px;padding:.7rem 1rem;background:#1f6feb;color:#fff;width:100%;margin-top:.5rem}
button.secondary{background:#e4e7eb;color:#1f2933}
button:disabled{opacity:.6}
label.choice{display:flex;gap:.5rem;align-items:flex-start;padding:.45rem 0;border-bottom:1px solid #eef0f2}
label.choice:last-child{border-bottom:0}
textarea,input[type=tel],input[type=text]{font:inherit;width:100%;padding:.6rem;border:1px solid #cbd2d9;border-radius:8px}
textarea{min-height:6rem}
.muted{color:#616e7c;font-size:.85rem}
.file{position:absolute;opacity:0;width:1px;height:1px}
.filebtn{display:block;text-align:center;padding:.7rem 1rem;border-radius:8px;background:#e4e7eb;color:#1f2933}
.file:focus+.filebtn{outline:2px solid #1f6feb}
.hp{position:absolute;left:-10000px;width:1px;height:1px;overflow:hidden}
.message{margin:.5rem 0;font-size:.95rem}.message.error{color:#b42318}
#nearby{background:#fff8e6;border:1px solid #f0c36d}
.receipt-code{font-size:1.6rem;letter-spacing:.12em;font-weight:700;margin:.2rem 0}
.state{font-size:1.8rem;font-weight:700;margin:.3rem 0}
.state-received{color:#1f6feb}.state-in_progress{color:#b7791f}.state-done{color:#2f855a}
a{color:#1f6feb;word-break:break-all}
`;

function shell(title: string, body: string) {
  return `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${esc(title)}</title><style>${CSS}</style></head>
<body>${body}<script src="/report-assets/report.js"></script></body></html>`;
}

export function reportFormPage(o: { town?: string } = {}) {
  const cats = Object.entries(REPORT_CATEGORIES).map(([k, v], i) =>
    `<label class="choice"><input type="radio" name="category" value="${k}"${i === 0 ? ' checked' : ''}> ${esc(v)}</label>`).join('');
  return shell('违法建设举报', `
<header><h1>违法建设举报</h1><p>${esc(o.town ?? '')}无需注册，可匿名举报。电话仅用于核实情况，严格保密。</p></header>
<main>
<form id="report-form" novalidate>
  <section>
    <h2>1. 位置</h2>
    <svg id="map" viewBox="0 0 360 300" role="img" aria-label="村界地图：点选违法建设的位置"></svg>
    <p class="muted" id="map-note">在地图上点选位置，或使用手机定位。</p>
    <button type="button" class="secondary" id="gps">使用我的位置（GPS）</button>
    <p id="place" class="muted">尚未选择位置</p>
    <input type="hidden" name="lon"><input type="hidden" name="lat">
  </section>
  <section id="nearby" hidden></section>
  <section>
    <h2>2. 类别</h2>${cats}
  </section>
  <section>
    <h2>3. 情况说明</h2>
    <textarea name="description" maxlength="2000" placeholder="例如：某村某组路口，有人正在加建第三层，已施工约一周"></textarea>
  </section>
  <section>
    <h2>4. 照片（最多 ${MAX_REPORT_PHOTOS} 张，可选）</h2>
    <input type="file" id="photos" class="file" accept="image/jpeg,image/png,image/webp" multiple>
    <label for="photos" class="filebtn">拍照或从相册选择</label>
    <p class="muted" id="photo-note"></p>
    <p class="muted">照片会压缩后上传；手机型号等设备信息会被删除，拍摄时间和位置保留作为证据。</p>
  </section>
  <section>
    <h2>5. 联系电话（可选，保密）</h2>
    <input type="tel" name="phone" maxlength="30" autocomplete="tel" placeholder="仅供核实，不会公开">
    <div class="hp" aria-hidden="true"><label>网站<input type="text" name="website" tabindex="-1" autocomplete="off"></label></div>
  </section>
  <p id="message" class="message" role="alert"></p>
  <button type="submit" id="submit">提交举报</button>
</form>
<section id="receipt" hidden>
  <h2>举报已受理</h2>
  <p>回执编号</p><p class="receipt-code" id="receipt-code"></p>
  <p>查询密码：<strong id="receipt-secret"></strong></p>
  <p id="receipt-state"></p>
  <p>请保存下面的链接（或截图本页），凭它查询办理状态：</p>
  <p><a id="receipt-link"></a></p>
  <p class="muted">办理状态只显示“已受理 / 核查中 / 已处理”及日期。</p>
</section>
</main>`);
}

export function reportStatusPage(code: string) {
  return shell(`举报 ${code} 办理状态`, `
<header><h1>举报办理状态</h1><p>回执编号 ${esc(code)}</p></header>
<main><section><div id="status" data-code="${esc(code)}">正在查询…</div></section>
<p class="muted"><a href="/report">再举报一处</a></p></main>`);
}
