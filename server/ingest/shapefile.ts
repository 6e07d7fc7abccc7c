/**
 * One shapefile layer (.shp + .dbf, optional .shx .prj .cpg) → ReadResult (minus availableLayers).
 * Geometry is parsed up front (it is needed for the CRS guess and range check); attributes are
 * decoded and geometry reprojected lazily in features(), so a big layer is not held twice.
 */
import type { Geometry } from 'geojson';
import { IngestError } from '../errors';
import type { ReadFeature, ReadOptions, ReadResult } from './types';
import { countDeleted, decodeFieldNames, fieldKind, makeRecordReader, parseDbfHeader, scanTextUtf8, visibleFields } from './dbf';
import { chooseEncoding } from './encoding';
import { crsFromOption, crsFromPrj, emptyLayerCrs, inferCrs, transformer, type ResolvedCrs } from './crs';
import { assertSaneNumbers, checkPlacement, compareWithDeclared } from './placement';
import { BBox, mapCoords, typeKey } from './geometry';
import { isShpRing, judgeOverstated, ringGeometry, ringHexEwkb, scanShp, shpHeaderType, shpRecords, shxRecordCount, type ShpRing } from './shp';
import type { ByteSource } from './bytes';
import { acceptCount, acceptShapeType } from './accept';
import { ControlChars } from './text';
import { warning, type Warning } from './warn';

export interface ShapefileParts {
  /** layer name reported back (the .shp base name) */
  name: string;
  /** a file-backed source for a delivery inflated to disk, so the layer is never held whole (bytes.ts) */
  shp: Uint8Array | ByteSource;
  shx?: Uint8Array | ByteSource;
  dbf?: Uint8Array | ByteSource;
  prj?: Uint8Array;
  /** path of the .prj in the zip when its base name is not the layer's (a lone .prj beside the .shp) */
  prjPath?: string;
  cpg?: Uint8Array;
}

export const dbfMissing = (name: string) =>
  new IngestError(
    'dbf_missing',
    `The shapefile "${name}" has no .dbf attribute file; zip the .shp together with its .dbf (and .prj, .cpg).`,
    `shapefile “${name}” 缺少 .dbf 属性表文件，请将 .shp 与同名的 .dbf（以及 .prj、.cpg）一起压缩上传。`,
    { layer: name },
  );

/**
 * A single-ring polygon read in the work CRS: its EWKB comes straight from the .shp bytes (hexEwkb);
 * the GeoJSON is built only if something asks for `geometry`. A class, not a closure per record: this
 * runs 500k times for a district's parcels.
 */
class RingFeature implements ReadFeature {
  private g: Geometry | undefined;
  constructor(
    private readonly ring: ShpRing,
    readonly properties: ReadFeature['properties'],
  ) {}
  get geometry(): Geometry {
    return (this.g ??= ringGeometry(this.ring));
  }
  hexEwkb(srid: number, multi: boolean): string {
    return ringHexEwkb(this.ring, srid, multi);
  }
}

export function readShapefile(parts: ShapefileParts, opts: ReadOptions): Omit<ReadResult, 'availableLayers'> {
  const warnings: Warning[] = [];
  if (!parts.dbf) throw dbfMissing(parts.name);
  // the geometry type first: a point file given as a survey is refused for that, whatever else is wrong
  const headerType = shpHeaderType(parts.shp);
  if (headerType !== undefined) acceptShapeType(headerType, opts.accept);

  const scan = scanShp(parts.shp);
  warnings.push(...scan.warnings);
  if (scan.recordCount === 0) acceptCount(0, 0, opts.accept, parts.name); // before the .dbf, encoding and CRS
  const shxCount = parts.shx ? shxRecordCount(parts.shx) : undefined;
  if (parts.shx) {
    const n = shxCount;
    if (n !== scan.recordCount)
      warnings.push(
        warning(
          'shx_mismatch',
          `The .shx index lists ${n ?? 'an unreadable number of'} records but the .shp holds ${scan.recordCount}; the .shx was ignored.`,
          `.shx 索引记录数（${n ?? '无法读取'}）与 .shp 的 ${scan.recordCount} 条不一致，已忽略 .shx。`,
        ),
      );
  }

  const dbf = parts.dbf;
  const header = parseDbfHeader(dbf);
  const overstated = judgeOverstated(scan, header.recordCount, shxCount);
  if (overstated) warnings.push(overstated);
  if (header.recordCount !== scan.recordCount)
    throw new IngestError(
      'shp_dbf_mismatch',
      `The .shp has ${scan.recordCount} records but the .dbf has ${header.recordCount}: attributes would attach to the wrong polygons. Re-export the layer.`,
      `.shp 有 ${scan.recordCount} 条记录，而 .dbf 有 ${header.recordCount} 条：属性会对应到错误的图形，已拒绝。请重新导出该图层。`,
      { shpRecords: scan.recordCount, dbfRecords: header.recordCount },
    );

  const fieldDescs = visibleFields(header);
  const enc = chooseEncoding({ option: opts.encoding, cpg: parts.cpg, ldid: header.ldid, verdict: () => scanTextUtf8(dbf, header) });
  warnings.push(...enc.warnings);
  const control = new ControlChars();
  const { names, renamed } = decodeFieldNames(fieldDescs, enc.codec, control);
  if (renamed.length)
    warnings.push(
      warning(
        'field_names_renamed',
        `Duplicate or empty field names were made unique: ${renamed.join(', ')}.`,
        `重复或空的字段名已改为唯一名称：${renamed.join('，')}。`,
      ),
    );
  const deleted = countDeleted(dbf, header);
  if (deleted)
    warnings.push(
      warning(
        'dbf_deleted_records',
        `${deleted} records are flagged as deleted in the .dbf; they were imported like the others (their geometry is still in the .shp).`,
        `.dbf 中有 ${deleted} 条记录标记为已删除；它们的图形仍在 .shp 中，已与其他记录一样导入。`,
      ),
    );

  // A first walk learns the extent and the geometry types; features() walks the file again rather
  // than keeping 500k parsed records between the two (peak memory must not grow with the file).
  const bbox = new BBox();
  const geometryTypes: Record<string, number> = {};
  for (const g of shpRecords(parts.shp, scan, bbox)) {
    const k = isShpRing(g) ? 'Polygon' : typeKey(g);
    geometryTypes[k] = (geometryTypes[k] ?? 0) + 1;
  }
  const count = scan.recordCount;
  // no features / none with a shape: said before anything about the coordinate system
  acceptCount(count, count - (geometryTypes.null ?? 0), opts.accept, parts.name);

  assertSaneNumbers(bbox);
  if (parts.prj && parts.prjPath)
    warnings.push(
      warning(
        'prj_name_differs',
        `The layer has no "${parts.name}.prj"; the only .prj beside it, "${parts.prjPath}", was used. Check that it belongs to this layer.`,
        `图层没有同名的“${parts.name}.prj”，已使用同一文件夹中唯一的 .prj 文件“${parts.prjPath}”。请确认它属于该图层。`,
      ),
    );
  const crs = opts.srs ? crsWithOption(opts.srs, parts.prj, bbox, warnings) : parts.prj ? crsFromPrj(parts.prj) : bbox.empty ? emptyLayerCrs(opts.workSrid) : inferCrs(bbox);
  warnings.push(...crs.warnings);
  warnings.push(...checkPlacement(bbox, crs, opts.workSrid));
  const reproject = transformer(crs, opts.workSrid);

  const records = makeRecordReader(dbf, header, fieldDescs, names, enc.codec, control);
  const reportAnomalies = () => {
    const a = records.anomalies;
    const add = (w: Warning) => warnings.some((x) => x.code === w.code) || warnings.push(w);
    control.warnings().forEach(add); // field names were cleaned up front, values as they were read
    if (a.badNumbers)
      add(warning('dbf_bad_numbers', `${a.badNumbers} numeric values were not numbers and were set to empty.`, `有 ${a.badNumbers} 个数值字段的值不是数字，已置为空。`));
    if (a.bigIntegers)
      add(
        warning(
          'dbf_big_integers',
          `${a.bigIntegers} integer values exceed 2^53 and were kept as text so no digit is lost.`,
          `有 ${a.bigIntegers} 个整数超过 2^53，已按文本保留以免丢失位数。`,
        ),
      );
    if (a.badDates)
      add(warning('dbf_bad_dates', `${a.badDates} date values are not YYYYMMDD and were kept as text.`, `有 ${a.badDates} 个日期值不是 YYYYMMDD 格式，已按文本保留。`));
  };

  const shp = parts.shp;
  function* features(): Generator<ReadFeature> {
    let i = 0;
    for (const rec of shpRecords(shp, scan, new BBox())) {
      if (isShpRing(rec)) {
        if (!reproject) yield new RingFeature(rec, records.read(i));
        else yield { geometry: mapCoords(ringGeometry(rec), reproject), properties: records.read(i) };
        i++;
        continue;
      }
      const g: Geometry | null = rec;
      yield { geometry: g && reproject ? mapCoords(g, reproject) : g, properties: records.read(i) };
      i++;
    }
    reportAnomalies(); // value problems are only known once every record has been decoded
  }

  return {
    sourceLayer: parts.name,
    fields: fieldDescs.map((f, i) => ({ name: names[i], type: fieldKind(f) })),
    crs: { source: crs.source, how: crs.how, target: `EPSG:${opts.workSrid}` },
    encoding: enc.info,
    count,
    geometryTypes,
    features,
    warnings,
  };
}

/**
 * --srs wins over the .prj, but the .prj is still read: when it says something else, or cannot be read,
 * the report says so (a --srs typed for another delivery is a common slip).
 */
function crsWithOption(srs: string, prj: Uint8Array | undefined, bbox: BBox, warnings: Warning[]): ResolvedCrs {
  const option = crsFromOption(srs);
  if (!prj) return option;
  let declared: ResolvedCrs;
  try {
    declared = crsFromPrj(prj);
  } catch {
    warnings.push(
      warning(
        'prj_ignored',
        `The .prj could not be interpreted; the layer was read as ${option.source} (--srs).`,
        `无法解析 .prj，已按 --srs 指定的 ${option.source} 读取。`,
      ),
    );
    return option;
  }
  const w = compareWithDeclared(option, declared, bbox, 'the .prj', ' .prj ');
  if (w) warnings.push(w);
  return option;
}
