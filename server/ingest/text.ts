/**
 * Attribute text the database cannot (or should not) store: NUL and the other C0 control characters
 * (PostgreSQL refuses U+0000 in text and jsonb — it used to end an import with a 500), DEL, and lone
 * UTF-16 surrogates (jsonb refuses "\ud800"). They are removed and counted per field, and the reader
 * reports one warning naming each field and its count. Tab, line feed and carriage return stay: they
 * are legitimate in remarks (备注) typed over several lines, and the COPY writer escapes them.
 */
import { warning, type Warning } from './warn';

// eslint-disable-next-line no-control-regex
const BAD = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
// eslint-disable-next-line no-control-regex
const BAD_TEST = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\ud800-\udfff]/;

/** True when `b[s,e)` holds a control byte we strip (ASCII fast path of the .dbf reader). */
export function hasControlByte(b: Uint8Array, s: number, e: number): boolean {
  for (let i = s; i < e; i++) {
    const c = b[i];
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || c === 0x7f) return true;
  }
  return false;
}

/** Counts removals per field; `warnings()` gives the one warning (or none). */
export class ControlChars {
  /** English label (the field name, or "name (field name)") → Chinese label and count */
  private readonly counts = new Map<string, { zh: string; n: number }>();

  private count(en: string, zh: string, n: number) {
    const c = this.counts.get(en);
    if (c) c.n += n;
    else this.counts.set(en, { zh, n });
  }

  /** `s` without the characters above; each removal is counted against `field`. */
  clean(field: string, s: string): string {
    if (!BAD_TEST.test(s)) return s; // surrogates in valid pairs also match here; the replace keeps them
    let n = 0;
    const out = s.replace(BAD, () => {
      n++;
      return '';
    });
    if (n) this.count(field, field, n);
    return out;
  }

  /** A field name cleaned, its removals counted under "<cleaned name> (field name)" / "<cleaned name>（字段名）". */
  cleanName(s: string, fallback = ''): string {
    const probe = new ControlChars();
    const out = probe.clean('', s);
    const name = out.trim() || fallback;
    if (probe.total) this.count(`${name} (field name)`, `${name}（字段名）`, probe.total);
    return out;
  }

  get total(): number {
    let t = 0;
    for (const v of this.counts.values()) t += v.n;
    return t;
  }

  warnings(): Warning[] {
    if (!this.counts.size) return [];
    const list = [...this.counts];
    return [
      warning(
        'control_chars_removed',
        `Control characters (NUL etc.) were removed from attribute text: ${list.map(([en, c]) => `${en}: ${c.n}`).join(', ')}.`,
        `已从属性文本中删除控制字符（如 NUL）：${list.map(([, c]) => `${c.zh}：${c.n} 个`).join('；')}。`,
      ),
    ];
  }
}
