/**
 * Entry point of the ingest reader: bytes of an upload → ReadResult.
 *
 * The kind is decided by content (zip magic, JSON '{'), the file name only breaks ties and
 * improves messages. In a zip, a layer is a .shp with its same-named siblings in the same folder
 * (case-insensitive, so DLTB.SHP + dltb.dbf pair up) or a .geojson/.json file.
 * Every refusal is an IngestError with a stable code; nothing else escapes.
 */
import { IngestError } from '../errors';
import type { ReadOptions, ReadResult } from './types';
import { openZip, type ZipArchive } from './zip';
import { dbfMissing, readShapefile, type ShapefileParts } from './shapefile';
import { readGeoJson } from './geojson';
import { readGeoJsonStream } from './geojson-stream';
import { mb } from './warn';
import { fileSource, type ByteSource } from './bytes';
import { open, readFile, stat } from 'node:fs/promises';
import path from 'node:path';

type Kind = 'zip' | 'json' | 'shp' | 'rar' | '7z' | 'gpkg' | 'unknown';

export function sniffKind(buf: Uint8Array, fileName: string): Kind {
  const b = buf;
  if (b[0] === 0x50 && b[1] === 0x4b && (b[2] === 0x03 || b[2] === 0x05 || b[2] === 0x07)) return 'zip';
  let i = b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? 3 : 0;
  while (i < b.length && i < 4096 && (b[i] === 0x20 || b[i] === 0x09 || b[i] === 0x0a || b[i] === 0x0d)) i++;
  if (b[i] === 0x7b /* { */) return 'json';
  if ((b[0] === 0xff && b[1] === 0xfe) || (b[0] === 0xfe && b[1] === 0xff)) return 'json'; // UTF-16 BOM
  if (b.length >= 4 && b[0] === 0 && b[1] === 0 && b[2] === 0x27 && b[3] === 0x0a) return 'shp'; // file code 9994
  if (b[0] === 0x52 && b[1] === 0x61 && b[2] === 0x72 && b[3] === 0x21) return 'rar';
  if (b[0] === 0x37 && b[1] === 0x7a && b[2] === 0xbc && b[3] === 0xaf) return '7z';
  if (Buffer.from(b.subarray(0, 15)).toString('latin1') === 'SQLite format 3') return 'gpkg';
  if (/\.shp$/i.test(fileName)) return 'shp';
  return 'unknown';
}

const ext = (p: string) => (/\.([^./]+)$/.exec(p)?.[1] ?? '').toLowerCase();
const stripExt = (p: string) => p.replace(/\.[^./]+$/, '');
const baseName = (p: string) => p.slice(p.lastIndexOf('/') + 1);

export interface ZipLayer {
  kind: 'shp' | 'geojson';
  /** display name: base name (shp without extension, geojson with), or the path when not unique */
  name: string;
  /** path in the zip, without extension for shapefiles */
  path: string;
  /** for shapefiles: extension → entry path */
  files: Record<string, string>;
}

const folderOf = (p: string) => p.slice(0, p.lastIndexOf('/') + 1).toLowerCase();

/**
 * A layer without its own .prj takes the folder's only .prj that belongs to no layer (DLTB.shp beside
 * 坐标系.prj, or DLTB.shp.prj): refusing such a delivery as "no coordinate system" would be refusing it
 * for its file name. The reader warns (prj_name_differs). Only when exactly one layer and one orphan
 * .prj share the folder: anything else is a guess.
 */
function adoptOrphanPrj(layers: ZipLayer[], groups: Iterable<{ path: string; files: Record<string, string> }>): void {
  const orphans = new Map<string, string[]>();
  for (const g of groups)
    if (!g.files.shp && g.files.prj) orphans.set(folderOf(g.path), [...(orphans.get(folderOf(g.path)) ?? []), g.files.prj]);
  const without = new Map<string, ZipLayer[]>();
  for (const l of layers)
    if (l.kind === 'shp' && !l.files.prj) without.set(folderOf(l.path), [...(without.get(folderOf(l.path)) ?? []), l]);
  for (const [folder, ls] of without) {
    const prjs = orphans.get(folder) ?? [];
    if (ls.length === 1 && prjs.length === 1) ls[0].files.prj = prjs[0];
  }
}

const SHP_PARTS = new Set(['shp', 'shx', 'dbf', 'prj', 'cpg']);

/** Group the entries of a zip into layers (pure; exported for tests). */
export function findLayers(paths: string[]): ZipLayer[] {
  const groups = new Map<string, { path: string; files: Record<string, string> }>();
  const layers: ZipLayer[] = [];
  for (const p of paths) {
    const e = ext(p);
    if (e === 'geojson' || e === 'json') {
      layers.push({ kind: 'geojson', name: baseName(p), path: p, files: {} });
      continue;
    }
    if (!SHP_PARTS.has(e)) continue;
    const key = stripExt(p).toLowerCase();
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { path: stripExt(p), files: {} }));
    if (g.files[e])
      throw new IngestError(
        'zip_ambiguous_files',
        `The zip holds both "${g.files[e]}" and "${p}"; keep one.`,
        `压缩包中同时有“${g.files[e]}”和“${p}”，请只保留一个。`,
        { paths: [g.files[e], p] },
      );
    g.files[e] = p;
    if (e === 'shp') g.path = stripExt(p); // the .shp's spelling names the layer
  }
  for (const g of groups.values())
    if (g.files.shp) layers.push({ kind: 'shp', name: baseName(g.path), path: g.path, files: g.files });
  adoptOrphanPrj(layers, groups.values());
  // A base name shared by two layers (same name in two folders) is shown with its path.
  const count = new Map<string, number>();
  for (const l of layers) count.set(l.name.toLowerCase(), (count.get(l.name.toLowerCase()) ?? 0) + 1);
  for (const l of layers) if (count.get(l.name.toLowerCase())! > 1) l.name = l.path;
  return layers.sort((a, b) => a.path.localeCompare(b.path));
}

/** Match --layer against base name or path, with or without extension, case-insensitively. */
export function matchLayer(layers: ZipLayer[], wanted: string): ZipLayer[] {
  const w = wanted.trim().replace(/\\/g, '/').toLowerCase();
  const wNoExt = /\.(shp|geojson|json)$/.test(w) ? stripExt(w) : w;
  return layers.filter((l) => {
    const full = l.kind === 'shp' ? `${l.path}.shp` : l.path;
    const candidates = [l.name, l.path, full, baseName(full), stripExt(baseName(full)), stripExt(l.path)].map((s) => s.toLowerCase());
    return candidates.includes(w) || candidates.includes(wNoExt);
  });
}

function chooseLayer(layers: ZipLayer[], opts: ReadOptions, entries: string[]): ZipLayer {
  const names = layers.map((l) => l.name);
  if (!layers.length) {
    const dbfOnly = entries.some((p) => ext(p) === 'dbf');
    const nested = entries.filter((p) => ext(p) === 'zip');
    throw new IngestError(
      'no_layer',
      `The zip contains no shapefile (.shp) or GeoJSON layer${nested.length ? ' (zips inside the zip are not opened; upload the inner zip)' : dbfOnly ? ' (a .dbf without its .shp is not a layer)' : ''}.`,
      `压缩包中没有 shapefile（.shp）或 GeoJSON 图层${nested.length ? '（不会解开压缩包内的压缩包，请直接上传内层压缩包）' : dbfOnly ? '（只有 .dbf 而没有 .shp 不构成图层）' : ''}。`,
      { entries: entries.slice(0, 50) },
    );
  }
  if (opts.sourceLayer !== undefined && opts.sourceLayer !== '') {
    const hits = matchLayer(layers, opts.sourceLayer);
    if (hits.length === 1) return hits[0];
    if (hits.length === 0)
      throw new IngestError(
        'layer_not_found',
        `No layer "${opts.sourceLayer}" in the zip. Layers: ${names.join(', ')}.`,
        `压缩包中没有名为“${opts.sourceLayer}”的图层。现有图层：${names.join('、')}。`,
        { layers: names, requested: opts.sourceLayer },
      );
    layers = hits; // ambiguous: fall through and list only the candidates
  }
  if (layers.length > 1) {
    const list = layers.map((l) => l.name);
    // --layer names the tuban layer (survey, cadastral …); the layer inside the zip is chosen with
    // --name (npm run ingest) or the source_layer form field (POST /api/imports)
    throw new IngestError(
      'multiple_layers',
      `The zip holds ${list.length} layers (${list.join(', ')}); choose one with --name ${list[0]} (npm run ingest) or the form field source_layer=${list[0]} (POST /api/imports).`,
      `压缩包中有 ${list.length} 个图层（${list.join('、')}），请指定要导入的图层：命令行用 --name ${list[0]}（npm run ingest），接口用表单字段 source_layer=${list[0]}（POST /api/imports）。`,
      { layers: list, option: '--name', field: 'source_layer' },
    );
  }
  return layers[0];
}

async function readFromZip(input: Uint8Array | { path: string }, opts: ReadOptions): Promise<ReadResult> {
  let zip: ZipArchive | undefined;
  const sources: ByteSource[] = [];
  try {
    zip = await openZip(input, opts.limits);
    const paths = zip.entries.map((e) => e.path);
    const layers = findLayers(paths);
    const layer = chooseLayer(layers, opts, paths);
    const availableLayers = layers.map((l) => l.name);
    if (layer.kind === 'geojson') {
      const name = baseName(layer.path);
      if (opts.scratchDir) {
        // inflated to the scratch folder and read one feature at a time, like a GeoJSON upload (issue 11 item 6)
        const dest = path.join(opts.scratchDir, 'layer.geojson');
        await zip.extract(layer.path, dest);
        const src = fileSource(dest);
        sources.push(src);
        const streamed = readGeoJsonStream(src, name, opts);
        if (streamed) return { ...streamed, availableLayers, close: () => src.close() };
        src.close();
        sources.length = 0;
        // not a UTF-8 FeatureCollection (UTF-16, GBK, a single Feature): read whole, bounded by the zip's caps
        return { ...readGeoJson(new Uint8Array(await readFile(dest)), name, opts), availableLayers };
      }
      const bytes = await zip.read(layer.path);
      return { ...readGeoJson(bytes, name, opts), availableLayers };
    }
    const name = baseName(layer.path);
    if (!layer.files.dbf) throw dbfMissing(name); // before inflating a possibly large .shp
    // the big parts go to the scratch folder and are read through a window (bytes.ts), never whole
    const big = async (e: 'shp' | 'shx' | 'dbf'): Promise<Uint8Array | ByteSource> => {
      if (!opts.scratchDir) return zip!.read(layer.files[e]);
      const dest = path.join(opts.scratchDir, `layer.${e}`);
      await zip!.extract(layer.files[e], dest);
      const src = fileSource(dest);
      sources.push(src);
      return src;
    };
    const parts: ShapefileParts = { name, shp: await big('shp') };
    for (const e of ['shx', 'dbf'] as const) if (layer.files[e]) parts[e] = await big(e);
    for (const e of ['prj', 'cpg'] as const) if (layer.files[e]) parts[e] = await zip.read(layer.files[e]);
    if (layer.files.prj && stripExt(layer.files.prj).toLowerCase() !== layer.path.toLowerCase()) parts.prjPath = layer.files.prj;
    const result = { ...readShapefile(parts, opts), availableLayers };
    const close = () => sources.forEach((s) => s.close());
    return { ...result, close };
  } catch (e) {
    sources.forEach((s) => s.close());
    throw e;
  } finally {
    zip?.close();
  }
}

const unsupported = (en: string, zh: string, fileName: string) =>
  new IngestError(
    'unsupported_format',
    `${en} Upload a .zip holding the shapefile (.shp, .shx, .dbf, .prj, .cpg) or a GeoJSON file.`,
    `${zh}请上传包含 shapefile（.shp、.shx、.dbf、.prj、.cpg）的 .zip 压缩包，或 GeoJSON 文件。`,
    { fileName },
  );

/** The first bytes of a file: enough for sniffKind (a BOM, blanks, then '{'). */
async function head(file: string): Promise<Uint8Array> {
  const fh = await open(file, 'r');
  try {
    const b = Buffer.alloc(4200);
    const { bytesRead } = await fh.read(b, 0, b.length, 0);
    return b.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/**
 * Read a delivery given as bytes or as a file on disk. From a file, a zip is opened through its
 * descriptor and its shapefile parts inflated into opts.scratchDir, so memory stays bounded whatever
 * the file's size (issue 11 item 6). The result's close() releases those files once features() is done.
 */
export async function readSource(input: Uint8Array | { path: string }, opts: ReadOptions): Promise<ReadResult> {
  try {
    const size = input instanceof Uint8Array ? input.byteLength : (await stat(input.path)).size;
    if (size > opts.limits.maxUploadBytes)
      throw new IngestError(
        'file_too_large',
        `The file is ${mb(size)}; at most ${mb(opts.limits.maxUploadBytes)} is accepted.`,
        `文件大小为 ${mb(size)}，最大允许 ${mb(opts.limits.maxUploadBytes)}。`,
        { bytes: size, limit: opts.limits.maxUploadBytes },
      );
    if (size === 0)
      throw new IngestError('empty_file', 'The uploaded file is empty.', '上传的文件为空。', { fileName: opts.fileName });
    const kind = sniffKind(input instanceof Uint8Array ? input : await head(input.path), opts.fileName);
    switch (kind) {
      case 'zip':
        return await readFromZip(input, opts);
      case 'json': {
        const name = baseName(opts.fileName.replace(/\\/g, '/')) || 'geojson';
        if (!(input instanceof Uint8Array)) {
          // a UTF-8 FeatureCollection on disk is read one feature at a time (geojson-stream.ts); any other
          // GeoJSON (another encoding, a single Feature) is read whole below, bounded by maxUploadBytes
          const src = fileSource(input.path);
          try {
            const streamed = readGeoJsonStream(src, name, opts);
            if (streamed) return { ...streamed, availableLayers: [name], close: () => src.close() };
          } catch (e) {
            src.close();
            throw e;
          }
          src.close();
        }
        const buf = input instanceof Uint8Array ? input : new Uint8Array(await readFile(input.path));
        return { ...readGeoJson(buf, name, opts), availableLayers: [name] };
      }
      case 'shp':
        throw new IngestError(
          'shp_not_zipped',
          'A bare .shp cannot be imported: its attributes (.dbf) and coordinate system (.prj) are separate files. Zip the .shp with its .dbf, .shx, .prj and .cpg and upload the zip.',
          '不能单独导入 .shp：属性（.dbf）和坐标系（.prj）在其他文件中。请将 .shp 与同名的 .dbf、.shx、.prj、.cpg 一起压缩成 zip 上传。',
          { fileName: opts.fileName },
        );
      case 'rar':
      case '7z':
        throw new IngestError(
          'unsupported_archive',
          `${kind.toUpperCase()} archives are not supported; re-pack the files as a .zip.`,
          `不支持 ${kind.toUpperCase()} 压缩格式，请重新打包为 .zip。`,
          { fileName: opts.fileName },
        );
      case 'gpkg':
        throw unsupported('GeoPackage / SQLite files are not supported yet.', '暂不支持 GeoPackage / SQLite 文件。', opts.fileName);
      default:
        if (/\.zip$/i.test(opts.fileName))
          throw new IngestError('zip_corrupt', 'The .zip file is damaged or not a zip.', '.zip 文件已损坏或不是 zip 格式。', {
            fileName: opts.fileName,
          });
        if (/\.(geo)?json$/i.test(opts.fileName))
          throw new IngestError('geojson_invalid', 'The GeoJSON is not valid: it does not start with "{".', 'GeoJSON 无效：内容不是以“{”开头。', {
            fileName: opts.fileName,
          });
        throw unsupported(`Unrecognised file "${opts.fileName}".`, `无法识别的文件“${opts.fileName}”。`, opts.fileName);
    }
  } catch (e) {
    if (e instanceof IngestError) throw e;
    // Last resort: a parser bug or an input shape nobody anticipated must still reach the person
    // as a readable refusal, never as a stack trace.
    throw new IngestError(
      'read_failed',
      `The file could not be read (${e instanceof Error ? e.message : String(e)}).`,
      '无法读取该文件（解析时出错）。',
      { fileName: opts.fileName, error: e instanceof Error ? e.message : String(e) },
    );
  }
}
