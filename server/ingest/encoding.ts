/**
 * Choosing the attribute encoding of a .dbf.
 *
 * Order: --encoding → .cpg → .dbf language driver id (byte 29) → detection (valid UTF-8 ⇒ UTF-8,
 * else GBK). A declared encoding that the bytes contradict (a .cpg saying UTF-8 over GBK bytes is
 * common: tools copy a .cpg template) is overridden with a warning rather than producing mojibake.
 *
 * The GBK family (GBK, GB2312, CP936) is always DECODED with GB18030: it is a strict superset, so
 * every GBK byte sequence decodes the same, and the rare 4-byte GB18030 characters in names of
 * people and villages survive. `used` still reports what the file said ('gbk').
 */
import iconv from 'iconv-lite';
import { IngestError } from '../errors';
import type { EncodingInfo } from './types';
import { warning, type Warning } from './warn';

/**
 * Strict UTF-8 check of b[start,end): 0 = invalid, 1 = ASCII only, 2 = valid with multi-byte chars.
 * Overlongs, surrogates and > U+10FFFF are invalid, so GBK text is very rarely mistaken for UTF-8.
 * With allowTruncatedTail, an incomplete sequence at the very end is accepted: writers cut UTF-8
 * strings at the field width, often in the middle of a character (3 bytes per Chinese char).
 */
export function utf8Check(b: Uint8Array, start: number, end: number, allowTruncatedTail = false): 0 | 1 | 2 {
  let multi = false;
  let i = start;
  while (i < end) {
    const c = b[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) need = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      if (c === 0xe0) lo = 0xa0;
      else if (c === 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      if (c === 0xf0) lo = 0x90;
      else if (c === 0xf4) hi = 0x8f;
    } else return 0;
    for (let k = 1; k <= need; k++) {
      if (i + k >= end) return allowTruncatedTail ? (multi ? 2 : 1) : 0;
      const d = b[i + k];
      if (k === 1 ? d < lo || d > hi : d < 0x80 || d > 0xbf) return 0;
    }
    multi = true;
    i += need + 1;
  }
  return multi ? 2 : 1;
}

/** End index with an incomplete trailing UTF-8 sequence removed (see utf8Check). */
export function utf8CompleteEnd(b: Uint8Array, start: number, end: number): number {
  // walk back over at most 3 continuation bytes to the lead byte
  let i = end - 1;
  let cont = 0;
  while (i >= start && cont < 3 && (b[i] & 0xc0) === 0x80) {
    i--;
    cont++;
  }
  if (i < start) return end;
  const c = b[i];
  const need = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;
  return need > cont ? i : end;
}

const GB_FAMILY = new Set(['gbk', 'gb2312', 'cp936', 'ms936', 'windows-936', 'euc-cn', 'x-gbk', 'gb-2312', 'gb2312-80', 'chinese']);
const CODEPAGES: Record<string, string> = {
  '936': 'gbk',
  '20936': 'gbk',
  '54936': 'gb18030',
  '65001': 'utf-8',
  '950': 'big5',
  '932': 'shift_jis',
  '949': 'cp949',
  '874': 'windows-874',
  '28591': 'iso-8859-1',
  '437': 'cp437',
  '850': 'cp850',
  '866': 'cp866',
};

/**
 * Canonical encoding name for a label from a .cpg or --encoding ('UTF-8', 'utf8', '936', 'CP936',
 * 'ANSI 936', '1252', 'GB2312' …), or null when iconv-lite does not know it.
 */
export function normalizeEncodingLabel(label: string): string | null {
  let s = label.replace(/^\uFEFF/, '').trim().toLowerCase().replace(/_/g, '-');
  s = s.replace(/^ansi\s*/, '').replace(/^(code\s*page|codepage)\s*/, '');
  if (!s) return null;
  if (/^\d+$/.test(s)) {
    if (CODEPAGES[s]) return CODEPAGES[s];
    if (/^125\d$/.test(s)) return `windows-${s}`;
    return iconv.encodingExists(`cp${s}`) ? `cp${s}` : null;
  }
  if (s === 'utf8' || s === 'utf-8') return 'utf-8';
  if (GB_FAMILY.has(s)) return 'gbk';
  if (s === 'gb18030') return 'gb18030';
  if (/^(iso-?8859-1|latin-?1|8859-1)$/.test(s)) return 'iso-8859-1';
  const cp = /^(?:cp|windows-|ms)(\d+)$/.exec(s);
  if (cp) return normalizeEncodingLabel(cp[1]);
  return iconv.encodingExists(s) ? s : null;
}

export const isGbFamily = (enc: string) => enc === 'gbk' || enc === 'gb18030';

/** The codec actually used to decode: GBK family → GB18030 (superset), UTF-8 → native. */
export const codecFor = (enc: string) => (isGbFamily(enc) ? 'gb18030' : enc);

/**
 * dBase language driver id (header byte 29) → encoding. 0x00 (unset) and 0x57 ("ANSI": the
 * writer's system code page, unknown to us) are deliberately absent: they say nothing.
 */
const LDID: Record<number, string> = {
  0x01: 'cp437', 0x02: 'cp850', 0x03: 'windows-1252', 0x04: 'macintosh', 0x08: 'cp865', 0x09: 'cp437',
  0x0a: 'cp850', 0x0b: 'cp437', 0x0d: 'cp437', 0x0e: 'cp850', 0x0f: 'cp437', 0x10: 'cp850', 0x11: 'cp437',
  0x12: 'cp850', 0x13: 'shift_jis', 0x14: 'cp850', 0x15: 'cp437', 0x16: 'cp850', 0x17: 'cp865', 0x18: 'cp437',
  0x19: 'cp437', 0x1a: 'cp850', 0x1b: 'cp437', 0x1c: 'cp863', 0x1d: 'cp850', 0x1f: 'cp852', 0x22: 'cp852',
  0x23: 'cp852', 0x24: 'cp860', 0x25: 'cp850', 0x26: 'cp866', 0x37: 'cp850', 0x40: 'cp852', 0x4d: 'gbk',
  0x4e: 'cp949', 0x4f: 'big5', 0x50: 'windows-874', 0x58: 'windows-1252', 0x59: 'windows-1252', 0x64: 'cp852',
  0x65: 'cp866', 0x66: 'cp865', 0x67: 'cp861', 0x6a: 'cp737', 0x6b: 'cp857', 0x6c: 'cp863', 0x78: 'big5',
  0x79: 'cp949', 0x7a: 'gbk', 0x7b: 'shift_jis', 0x7c: 'windows-874', 0x86: 'cp737', 0x87: 'cp852',
  0x88: 'cp857', 0xc8: 'windows-1250', 0xc9: 'windows-1251', 0xca: 'windows-1254', 0xcb: 'windows-1253',
  0xcc: 'windows-1257',
};

export function ldidEncoding(byte: number): string | null {
  const e = LDID[byte];
  return e && iconv.encodingExists(e) ? e : null;
}

/** What the text bytes look like: 0 invalid UTF-8, 1 pure ASCII, 2 valid UTF-8 with non-ASCII. */
export type Utf8Verdict = 0 | 1 | 2;

export interface EncodingChoice {
  info: EncodingInfo;
  /** iconv-lite codec name, or 'utf-8' */
  codec: string;
  warnings: Warning[];
}

export function badEncoding(label: string): IngestError {
  return new IngestError(
    'bad_encoding',
    `Unknown encoding "${label}". Use e.g. gbk, gb18030 or utf-8.`,
    `无法识别的编码“${label}”，请使用 gbk、gb18030 或 utf-8 等。`,
    { encoding: label },
  );
}

/**
 * @param verdict lazily computed UTF-8 verdict over the text bytes (character field values and
 *   field names) — only what the declarations are checked against.
 */
export function chooseEncoding(input: {
  option?: string;
  cpg?: Uint8Array;
  ldid: number;
  verdict: () => Utf8Verdict;
}): EncodingChoice {
  const warnings: Warning[] = [];
  const pick = (used: string, how: EncodingInfo['how']): EncodingChoice => ({ info: { used, how }, codec: codecFor(used), warnings });

  if (input.option !== undefined) {
    const enc = normalizeEncodingLabel(input.option);
    if (!enc) throw badEncoding(input.option);
    return pick(enc, 'option');
  }

  /** A declaration is overridden only when the bytes clearly contradict it. */
  const checked = (declared: string, how: 'cpg' | 'ldid', source: string, source_zh: string): EncodingChoice => {
    const v = input.verdict();
    if (declared === 'utf-8' && v === 0) {
      warnings.push(
        warning(
          `encoding_${how}_mismatch`,
          `${source} says UTF-8 but the attributes are not valid UTF-8; decoded as GBK/GB18030 instead.`,
          `${source_zh}声明为 UTF-8，但属性数据不是有效的 UTF-8，已按 GBK/GB18030 解码。`,
        ),
      );
      return pick('gbk', 'detected');
    }
    if (declared !== 'utf-8' && v === 2) {
      warnings.push(
        warning(
          `encoding_${how}_mismatch`,
          `${source} says ${declared} but the attributes are valid UTF-8 text; decoded as UTF-8 instead.`,
          `${source_zh}声明为 ${declared}，但属性数据是有效的 UTF-8 文本，已按 UTF-8 解码。`,
        ),
      );
      return pick('utf-8', 'detected');
    }
    if (how === 'ldid' && !isGbFamily(declared) && v === 0)
      // A Western code page decodes any byte without error, so we cannot prove it wrong; say so.
      warnings.push(
        warning(
          'encoding_ldid_suspect',
          `The .dbf declares code page ${declared}; if Chinese text looks garbled, re-import with --encoding gbk.`,
          `.dbf 声明的代码页为 ${declared}；如中文显示为乱码，请用 --encoding gbk 重新导入。`,
        ),
      );
    return pick(declared, how);
  };

  if (input.cpg) {
    const text = Buffer.from(input.cpg).toString('latin1').replace(/\0/g, '').trim();
    const enc = normalizeEncodingLabel(text);
    if (enc) return checked(enc, 'cpg', `The .cpg file ("${text}")`, `.cpg 文件（“${text}”）`);
    warnings.push(
      warning(
        'encoding_cpg_unknown',
        `The .cpg file names an unknown encoding ("${text.slice(0, 40)}"); it was ignored.`,
        `.cpg 文件中的编码“${text.slice(0, 40)}”无法识别，已忽略。`,
      ),
    );
  }

  const fromLdid = ldidEncoding(input.ldid);
  const hex = `0x${input.ldid.toString(16).padStart(2, '0')}`;
  if (fromLdid) return checked(fromLdid, 'ldid', `The .dbf language driver (${hex})`, `.dbf 的语言驱动标记（${hex}）`);

  return pick(input.verdict() === 0 ? 'gbk' : 'utf-8', 'detected');
}

/** A fast text decoder for byte ranges of one buffer. Trailing spaces/NULs are the caller's job. */
export function makeTextDecoder(codec: string): (b: Buffer, start: number, end: number) => string {
  if (codec === 'utf-8') return (b, s, e) => b.toString('utf8', s, utf8CompleteEnd(b, s, e));
  return (b, s, e) => {
    // ASCII is the same in every code page we accept; Buffer's latin1 slice is much faster than iconv
    let ascii = true;
    for (let i = s; i < e; i++)
      if (b[i] >= 0x80) {
        ascii = false;
        break;
      }
    return ascii ? b.toString('latin1', s, e) : iconv.decode(b.subarray(s, e), codec);
  };
}
