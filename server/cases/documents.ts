/**
 * The written notices of a case (issue 13 item 4), as print-ready A4 HTML pages like the village report:
 * 责令停止违法建设通知书, 停止供水/供电/供气服务的书面通知 (one per company) and 限期自行拆除通知书.
 * Each carries the case number, party, address, the polygons' codes and area and a date, in neutral wording,
 * with a signature/seal block. No script, nothing fetched: the browser prints it to paper or PDF.
 *
 * The procedure is the plan's (实施方案 六(二)1): stop the construction, notify the water, power and gas
 * companies in writing (they stop the service within 3 working days), order removal within a deadline.
 */
import type { Queryable } from '../db/types';
import { AppError } from '../errors';
import { getCase, type Scope } from '../review/cases';
import { today } from '../review/workdays';

export const CASE_DOCUMENTS = ['stop_order', 'utility_water', 'utility_power', 'utility_gas', 'self_removal'] as const;
export type CaseDocument = (typeof CASE_DOCUMENTS)[number];

export const CASE_DOCUMENT_TITLES: Record<CaseDocument, string> = {
  stop_order: '责令停止违法建设通知书',
  utility_water: '停止供水服务的书面通知',
  utility_power: '停止供电服务的书面通知',
  utility_gas: '停止供气服务的书面通知',
  self_removal: '限期自行拆除通知书',
};

const UTILITY: Partial<Record<CaseDocument, { service: string; company: string }>> = {
  utility_water: { service: '供水', company: '供水单位' },
  utility_power: { service: '供电', company: '供电单位' },
  utility_gas: { service: '供气', company: '供气单位' },
};

const esc = (s: unknown) =>
  String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const m2 = (n: number) => n.toLocaleString('zh-CN', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
/** 2021-05-06 → 2021年5月6日 (the way Chinese official documents write dates) */
export const zhDate = (iso: string) => {
  const [y, m, d] = iso.split('-').map(Number);
  return `${y}年${m}月${d}日`;
};

interface CasePolygon { code: string; area_m2: number; village: string | null }
interface CaseStepRow { step: string; started_on: string | null; deadline: string | null; done_on: string | null }

/**
 * One notice of case `id` as HTML. `date`: the date printed on it (default today in Beijing). The issuer is the
 * setting `case_issuer` when an admin has set one; otherwise a blank line is left to be written by hand.
 */
export async function caseDocument(
  q: Queryable, regionCode: string, id: number, doc: CaseDocument, scope: Scope, date: string = today(),
): Promise<string> {
  const c = await getCase(q, regionCode, id, scope) as unknown as {
    number: string; party: string; address: string; village: string | null; kind: string; discovered_on: string;
    polygons: CasePolygon[]; steps: CaseStepRow[];
  };
  if (!c.polygons.length) {
    throw new AppError('case_without_polygons', `Case ${id} has no polygons to print`, `案件 ${id} 没有关联图斑，无法生成文书`, 409);
  }
  const issuer = (await q.query<{ value: string }>("SELECT value FROM setting WHERE key = 'case_issuer'")).rows[0]?.value ?? null;
  const total = c.polygons.reduce((s, p) => s + Number(p.area_m2), 0);
  const title = CASE_DOCUMENT_TITLES[doc];
  const removal = c.steps.find((s) => s.step === 'self_removal_deadline')?.deadline ?? null;
  const blank = (w = '10em') => `<span class="blank" style="min-width:${w}"></span>`;

  const facts = `<table class="facts">
  <tr><th>案件编号</th><td>${esc(c.number)}</td></tr>
  <tr><th>当事人</th><td>${esc(c.party)}</td></tr>
  <tr><th>地址</th><td>${esc(c.address)}${c.village ? `（${esc(c.village)}）` : ''}</td></tr>
  <tr><th>图斑编号</th><td>${c.polygons.map((p) => esc(p.code)).join('、')}</td></tr>
  <tr><th>图斑面积</th><td>${m2(total)} 平方米${c.polygons.length > 1 ? `（${c.polygons.map((p) => `${esc(p.code)}：${m2(Number(p.area_m2))}`).join('；')}）` : ''}</td></tr>
</table>`;

  let addressee: string;
  let body: string;
  const u = UTILITY[doc];
  if (u) {
    addressee = `${blank('12em')}（${u.company}）：`;
    body = `<p>经核查，位于${esc(c.address)}的建设（案件编号 ${esc(c.number)}，当事人 ${esc(c.party)}）涉嫌未取得建设工程规划许可或者未按照许可内容进行建设，相关情况见下表。</p>
<p>根据违法建设整治工作的有关规定，请贵单位在收到本通知之日起3个工作日内，依法停止对上述建设的${u.service}服务，并将办理情况书面回复。</p>`;
  } else if (doc === 'stop_order') {
    addressee = `${esc(c.party)}：`;
    body = `<p>经核查，你（单位）位于${esc(c.address)}的建设涉嫌未取得建设工程规划许可或者未按照许可内容进行建设，相关情况见下表。</p>
<p>现责令你（单位）自收到本通知之日起立即停止建设，并在${blank('6em')}日内提供该建设的审批文件等相关材料。逾期不提供的，将依法处理。</p>
<p>如有异议，可在收到本通知之日起${blank('4em')}日内向本机关提出陈述、申辩。</p>`;
  } else {
    addressee = `${esc(c.party)}：`;
    body = `<p>经核查，你（单位）位于${esc(c.address)}的建设涉嫌未取得建设工程规划许可或者未按照许可内容进行建设，相关情况见下表。</p>
<p>现通知你（单位）于${removal ? `<b>${esc(zhDate(removal))}</b>` : `${blank('10em')}`}前自行拆除上述建设，恢复原状。逾期未拆除的，将依法处理。</p>
<p>如有异议，可在收到本通知之日起${blank('4em')}日内向本机关提出陈述、申辩。</p>`;
  }

  return `<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>${esc(title)} ${esc(c.number)}</title>
<style>
  @page { size: A4; margin: 22mm 20mm 18mm; }
  * { box-sizing: border-box; }
  body { font-family: "FangSong", "STFangsong", "Noto Serif CJK SC", "Noto Sans CJK SC", "WenQuanYi Micro Hei", "SimSun", serif;
         font-size: 13pt; color: #111; margin: 0 auto; max-width: 170mm; line-height: 1.6; }
  h1 { font-size: 20pt; text-align: center; margin: 0 0 2mm; letter-spacing: 0.08em; font-weight: 700; }
  .no { text-align: center; margin: 0 0 8mm; font-size: 12pt; }
  p { margin: 0 0 3mm; text-indent: 2em; }
  p.to { text-indent: 0; }
  table.facts { border-collapse: collapse; width: 100%; margin: 4mm 0 6mm; font-size: 12pt; }
  table.facts th, table.facts td { border: 0.6pt solid #444; padding: 1.5mm 2.5mm; text-align: left; vertical-align: top; }
  table.facts th { width: 28mm; background: #f3f4f6; font-weight: 600; white-space: nowrap; }
  .blank { display: inline-block; border-bottom: 0.8pt solid #111; height: 1.1em; vertical-align: bottom; }
  .seal { margin-top: 8mm; margin-left: auto; width: 78mm; text-align: center; line-height: 1.9; }
  .seal .stamp { display: inline-block; width: 30mm; height: 30mm; border: 0.8pt dashed #999; border-radius: 50%;
                 color: #999; font-size: 10pt; line-height: 30mm; margin: 1mm 0; }
  .receipt { margin-top: 8mm; border-top: 0.8pt dashed #666; padding-top: 4mm; font-size: 12pt; }
  .receipt p { text-indent: 0; }
  .screen-note { font-family: sans-serif; font-size: 10pt; color: #555; background: #fffbe6; border: 1px solid #e5d48a;
                 padding: 2mm 3mm; margin-bottom: 6mm; text-indent: 0; }
  @media print { .screen-note { display: none; } }
</style>
</head>
<body data-doc="${doc}">
<p class="screen-note">打印预览：使用浏览器的“打印”（Ctrl+P）输出到 A4 纸或 PDF；本提示不会打印。</p>
<h1>${esc(title)}</h1>
<div class="no">${esc(c.number)}</div>
<p class="to">${addressee}</p>
${body}
${facts}
<div class="seal">
  <div>${issuer ? esc(issuer) : `${blank('48mm')}`}</div>
  <div class="stamp">（盖章）</div>
  <div>经办人（签名）：${blank('30mm')}</div>
  <div>${esc(zhDate(date))}</div>
</div>
<div class="receipt">
  <p>送达回证：本通知已于${blank('6em')}年${blank('3em')}月${blank('3em')}日送达。</p>
  <p>受送达人（签名或盖章）：${blank('40mm')}　　送达人：${blank('30mm')}</p>
</div>
</body>
</html>`;
}
