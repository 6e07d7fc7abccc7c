/**
 * Safe unzip of an uploaded archive, read from its file (or from bytes, for small inputs and tests).
 *
 * Threats handled: path traversal names (refused even though entries are written only under names we
 * choose — a zip built to escape a folder is not a delivery we want), too many entries, decompression
 * bombs (checked on the declared sizes first, then enforced on the bytes really produced while
 * inflating: per entry, in total, and by compression ratio), corrupt or encrypted archives,
 * compression methods other than stored/deflate.
 *
 * Only the central directory is read up front; entry data is inflated on demand, so a zip with ten
 * layers only pays for the one that is imported. Big entries (.shp, .dbf) are streamed to a file
 * (`extract`), never held in memory (issue 11 item 6); `read` is for the small ones (.prj, .cpg).
 */
import { crc32 } from 'node:zlib';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import yauzl, { type Entry, type ZipFile } from 'yauzl';
import iconv from 'iconv-lite';
import { IngestError } from '../errors';
import type { IngestLimits } from './types';
import { utf8Check } from './encoding';
import { mb } from './warn';

export interface ZipEntryInfo {
  /** decoded path inside the archive, '/'-separated */
  path: string;
  uncompressedSize: number;
  compressedSize: number;
}

export interface ZipArchive {
  /** file entries only (no folders, no __MACOSX/ or ._ resource forks) */
  entries: ZipEntryInfo[];
  /** inflate one entry into memory, counting bytes against the archive's limits */
  read(path: string): Promise<Uint8Array>;
  /** inflate one entry into the file `dest`, streaming, with the same limits */
  extract(path: string, dest: string): Promise<void>;
  close(): void;
}

/**
 * A small entry may legitimately compress far better than the bomb ratio (a .dbf of blank
 * 254-character fields deflates > 100:1). The ratio only matters once the output is big enough to
 * hurt, so it is enforced above this many bytes.
 */
export const RATIO_FLOOR_BYTES = 1 << 20;
/** how much inflated data is gathered before one write to the scratch file */
const EXTRACT_BATCH_BYTES = 1 << 20;

// the reason is the zip library's own (English) words: in the English message and the details only
const corrupt = (reason: string) =>
  new IngestError('zip_corrupt', `The zip file is damaged or not a zip (${reason}).`, '压缩包已损坏或不是 zip 文件。', {
    reason,
  });

/** Map a yauzl error message to a stable code. yauzl only gives us Error(message). */
function mapYauzlError(e: unknown, path?: string): IngestError {
  if (e instanceof IngestError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  if (/encrypt/i.test(msg))
    return new IngestError(
      'zip_encrypted',
      'The zip is password-protected; upload an unencrypted zip.',
      '压缩包设有密码，请上传未加密的 zip。',
      { path },
    );
  if (/unsupported compression method/i.test(msg))
    return new IngestError(
      'zip_unsupported_method',
      'The zip uses a compression method other than Deflate; re-create it with a standard zip tool.',
      '压缩包使用了不支持的压缩算法，请用常规 zip 工具（Deflate）重新压缩。',
      { path, reason: msg },
    );
  if (/too many bytes in the stream/i.test(msg))
    // the entry inflates to more than its header declares: crafted archive
    return new IngestError(
      'zip_bomb',
      'A zip entry inflates to more data than it declares (zip bomb); refused.',
      '压缩包中的文件解压后超过其声明的大小（疑似压缩炸弹），已拒绝。',
      { path, reason: msg },
    );
  return corrupt(path ? `${path}: ${msg}` : msg);
}

function openInput(input: Uint8Array | { path: string }): Promise<ZipFile> {
  return new Promise((resolve, reject) => {
    // decodeStrings:false — we decode names ourselves: Chinese Windows zip tools write GBK names
    // without the UTF-8 flag, which yauzl would decode as CP437 mojibake.
    const options = { lazyEntries: true, decodeStrings: false, validateEntrySizes: true };
    const done = (err: Error | null, zf?: ZipFile) => (err || !zf ? reject(err ?? new Error('no zip')) : resolve(zf));
    if (input instanceof Uint8Array) yauzl.fromBuffer(Buffer.from(input.buffer, input.byteOffset, input.byteLength), options, done);
    // from the file: yauzl reads the central directory and each entry through the descriptor
    else yauzl.open(input.path, { ...options, autoClose: false }, done);
  });
}

function listEntries(zf: ZipFile): Promise<Entry[]> {
  return new Promise((resolve, reject) => {
    const out: Entry[] = [];
    zf.on('entry', (e: Entry) => {
      out.push(e);
      zf.readEntry();
    });
    zf.once('end', () => resolve(out));
    zf.once('error', reject);
    zf.readEntry();
  });
}

/** Entry name: Info-ZIP Unicode Path field, else UTF-8 (flag or valid bytes), else GBK. */
export function decodeEntryName(raw: Buffer, flags: number, extra: { id: number; data: Buffer }[]): string {
  for (const f of extra) {
    // 0x7075: version 1, CRC32 of the raw name, then the UTF-8 name. Ignore it if the CRC is stale.
    if (f.id === 0x7075 && f.data.length >= 6 && f.data[0] === 1 && f.data.readUInt32LE(1) === crc32(raw))
      return f.data.subarray(5).toString('utf8');
  }
  if (flags & 0x800 || utf8Check(raw, 0, raw.length) !== 0) return raw.toString('utf8');
  // The zip spec says CP437, but in practice non-UTF-8 names in Chinese deliveries are GBK.
  return iconv.decode(raw, 'gb18030');
}

export function isUnsafePath(p: string): boolean {
  return p.startsWith('/') || /^[a-zA-Z]:/.test(p) || p.includes('\0') || p.split('/').includes('..');
}

/** macOS Finder adds __MACOSX/ folders and ._ AppleDouble files; they are never data. */
export function isJunkPath(p: string): boolean {
  const parts = p.split('/');
  return parts.some((s) => s === '__MACOSX') || (parts[parts.length - 1] ?? '').startsWith('._');
}

export async function openZip(input: Uint8Array | { path: string }, limits: IngestLimits): Promise<ZipArchive> {
  let zf: ZipFile;
  try {
    zf = await openInput(input);
  } catch (e) {
    throw mapYauzlError(e);
  }
  try {
    // entryCount comes from the end-of-central-directory record: refuse before walking it.
    if (zf.entryCount > limits.maxZipEntries)
      throw new IngestError(
        'zip_too_many_entries',
        `The zip holds ${zf.entryCount} entries; at most ${limits.maxZipEntries} are accepted.`,
        `压缩包内有 ${zf.entryCount} 个文件，最多允许 ${limits.maxZipEntries} 个。`,
        { entries: zf.entryCount, limit: limits.maxZipEntries },
      );
    let raw: Entry[];
    try {
      raw = await listEntries(zf);
    } catch (e) {
      throw mapYauzlError(e);
    }

    const byPath = new Map<string, Entry>();
    const entries: ZipEntryInfo[] = [];
    for (const e of raw) {
      const name = decodeEntryName(e.fileName as unknown as Buffer, e.generalPurposeBitFlag, e.extraFields).replace(/\\/g, '/');
      if (isUnsafePath(name))
        throw new IngestError(
          'zip_unsafe_path',
          `The zip contains an unsafe entry path "${name}" (absolute or with ".."); refused.`,
          `压缩包中含有不安全的路径“${name}”（绝对路径或包含 ..），已拒绝。`,
          { path: name },
        );
      if (name.endsWith('/') || isJunkPath(name)) continue;
      if (byPath.has(name)) continue; // duplicate names: first wins, like most unzip tools
      byPath.set(name, e);
      entries.push({ path: name, uncompressedSize: e.uncompressedSize, compressedSize: e.compressedSize });
    }

    let totalOut = 0;
    const maxEntry = Math.min(limits.maxEntryBytes ?? Infinity, limits.maxUncompressedBytes);
    const bomb = (path: string, reason: string) =>
      new IngestError(
        'zip_bomb',
        `Refused: "${path}" ${reason} (limits: ${mb(maxEntry)} per file, ${mb(limits.maxUncompressedBytes)} uncompressed in total, ratio ${limits.maxCompressionRatio}:1).`,
        `已拒绝：“${path}” 解压后过大或压缩比异常（疑似压缩炸弹；上限：单个文件 ${mb(maxEntry)}，总计 ${mb(limits.maxUncompressedBytes)}，压缩比 ${limits.maxCompressionRatio}:1）。`,
        { path, reason, limits },
      );
    const entryCap = (e: Entry) => Math.max(RATIO_FLOOR_BYTES, e.compressedSize * limits.maxCompressionRatio);

    /** Inflate one entry, handing each chunk to `sink`; stops at the first byte over a limit. */
    const inflate = async (path: string, sink: (c: Buffer) => void | Promise<void>): Promise<number> => {
      const e = byPath.get(path);
      if (!e) throw new Error(`zip entry not found: ${path}`);
      // Fast refusal on declared sizes: an honest bomb need not be inflated to be recognised.
      if (e.uncompressedSize > maxEntry) throw bomb(path, `declares ${mb(e.uncompressedSize)} uncompressed`);
      if (totalOut + e.uncompressedSize > limits.maxUncompressedBytes)
        throw bomb(path, `declares ${mb(e.uncompressedSize)} uncompressed`);
      if (e.uncompressedSize > entryCap(e)) throw bomb(path, `declares a compression ratio above ${limits.maxCompressionRatio}:1`);

      const stream = await new Promise<Readable>((resolve, reject) =>
        zf.openReadStream(e, (err, s) => (err || !s ? reject(mapYauzlError(err, path)) : resolve(s))),
      );
      // Declared sizes can lie: count what inflate really produces and stop at the first byte over, per entry
      // and for the archive. One entry at a time: yauzl (3.4) reads every entry's stream through one queue,
      // and an entry destroyed with a read still queued throws from that read — an uncaught exception.
      const cap = Math.min(entryCap(e), maxEntry);
      let n = 0;
      try {
        for await (const c of stream as AsyncIterable<Buffer>) {
          n += c.length;
          totalOut += c.length;
          if (n > cap) throw bomb(path, `inflates to more than ${mb(cap)}`);
          if (totalOut > limits.maxUncompressedBytes) throw bomb(path, `inflates the archive past ${mb(limits.maxUncompressedBytes)}`);
          await sink(c);
        }
      } catch (err) {
        stream.destroy();
        throw mapYauzlError(err, path);
      }
      return n;
    };

    const read = async (path: string): Promise<Uint8Array> => {
      const chunks: Buffer[] = [];
      const n = await inflate(path, (c) => void chunks.push(c));
      return Buffer.concat(chunks, n);
    };

    const extract = async (path: string, dest: string): Promise<void> => {
      const out = await open(dest, 'wx');
      // inflate hands over 16 KB at a time: written in ~1 MB batches, not one awaited write per chunk
      // (a 75 MB .shp was ~4,600 writes, most of the extraction's time)
      let batch: Buffer[] = [];
      let batched = 0;
      const flush = async () => {
        if (!batched) return;
        const b = batch;
        batch = [];
        batched = 0;
        await out.writev(b);
      };
      try {
        await inflate(path, async (c) => {
          batch.push(c);
          batched += c.length;
          if (batched >= EXTRACT_BATCH_BYTES) await flush();
        });
        await flush();
      } finally {
        await out.close();
      }
    };

    return { entries, read, extract, close: () => zf.close() };
  } catch (e) {
    zf.close();
    throw e;
  }
}
