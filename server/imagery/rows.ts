/**
 * Full-width bands of source rows, read block row by block row (a row of TIFF tiles, or a strip), each block
 * decoded once: consecutive bands of tile rows overlap the same block rows, and decoding them twice was half
 * of an import's time. Blocks of a chunky (pixel-interleaved) file in a compression geotiff decodes with its
 * default parameters are used as decoded, without geotiff's per-pixel copy (readRasters); anything else goes
 * through readRasters, a block row at a time.
 */
import { getDecoder, type GeoTIFFImage } from 'geotiff';
import { IngestError } from '../errors';
import type { ImagerySource } from './source';

/** a block row larger than this is refused: it would have to be decoded whole (one strip for the image) */
const MAX_BLOCK_ROW_BYTES = 256 * 1024 * 1024;
/** none, LZW, deflate (both codes), PackBits, zstd: their decoders take the default parameters */
const DIRECT = new Set([1, 5, 8, 32946, 32773, 50000]);

export interface RowBand {
  /** first row held */
  y0: number;
  h: number;
  w: number;
  /** values per pixel in `data` */
  stride: number;
  /** where each band read (ImagerySource.samples) sits within a pixel */
  bandAt: number[];
  data: ArrayLike<number>;
}

type Typed = Uint8Array | Uint16Array | Int16Array | Int8Array;

const num = (v: unknown): number | undefined => (v == null ? undefined : typeof v === 'number' ? v : Number((v as ArrayLike<number>)[0]));

export class RowReader {
  private readonly blockH: number;
  private readonly blockW: number;
  private readonly direct: boolean;
  private readonly spp: number;
  private readonly cache = new Map<number, Typed>();
  private decoder?: Awaited<ReturnType<typeof getDecoder>>;

  constructor(private readonly src: ImagerySource) {
    const img: GeoTIFFImage = src.image;
    this.blockH = img.getTileHeight();
    this.blockW = img.getTileWidth();
    this.spp = img.getSamplesPerPixel();
    const fd = img.fileDirectory;
    const compression = num(fd.getValue('Compression')) ?? 1;
    const planar = num(fd.getValue('PlanarConfiguration')) ?? 1;
    const bigEndian16 = src.bits === 16 && !img.littleEndian;
    this.direct = DIRECT.has(compression) && planar === 1 && !bigEndian16;
    const bytes = this.blockH * src.width * this.spp * (src.bits / 8);
    if (bytes > MAX_BLOCK_ROW_BYTES) {
      throw new IngestError('imagery_strip_too_large',
        `The image is stored in strips of ${this.blockH} rows (${Math.round(bytes / 1048576)} MB each), too large to read piece by piece; rewrite it tiled (gdal_translate -co TILED=YES)`,
        `影像按每条 ${this.blockH} 行存储（每条 ${Math.round(bytes / 1048576)} MB），过大，无法分块读取；请转存为分块（瓦片）格式（gdal_translate -co TILED=YES）`,
        { rows_per_strip: this.blockH });
    }
  }

  private async blockRow(r: number): Promise<Typed> {
    const hit = this.cache.get(r);
    if (hit) return hit;
    const { src } = this;
    const y0 = r * this.blockH;
    const h = Math.min(this.blockH, src.height - y0);
    let out: Typed;
    if (this.direct) {
      if (!this.decoder) {
        const fd = src.image.fileDirectory;
        const compression = num(fd.getValue('Compression')) ?? 1;
        this.decoder = await getDecoder(compression, {
          tileWidth: this.blockW, tileHeight: this.blockH, planarConfiguration: 1,
          bitsPerSample: await fd.loadValue('BitsPerSample'), predictor: num(await fd.loadValue('Predictor')) ?? 1,
        } as never);
      }
      const Arr = src.bits === 8 ? (src.signed ? Int8Array : Uint8Array) : src.signed ? Int16Array : Uint16Array;
      out = new Arr(src.width * h * this.spp);
      const cols = Math.ceil(src.width / this.blockW);
      const blocks = await Promise.all(Array.from({ length: cols }, (_, c) => src.image.getTileOrStrip(c, r, 0, this.decoder!)));
      for (const b of blocks) {
        const block = new Arr(b.data as ArrayBuffer);
        const x0 = b.x * this.blockW;
        const w = Math.min(this.blockW, src.width - x0);
        for (let row = 0; row < h; row++) {
          const from = row * this.blockW * this.spp;
          out.set(block.subarray(from, from + w * this.spp), (row * src.width + x0) * this.spp);
        }
      }
    } else {
      out = (await src.image.readRasters({ window: [0, y0, src.width, y0 + h], interleave: true })) as unknown as Typed;
    }
    this.cache.set(r, out);
    return out;
  }

  /** rows [v0, v1) of the image, full width; block rows above v0 are let go (bands are asked top-down) */
  async rows(v0: number, v1: number): Promise<RowBand> {
    const { src } = this;
    const r0 = Math.floor(v0 / this.blockH);
    const r1 = Math.floor((v1 - 1) / this.blockH);
    for (const k of this.cache.keys()) if (k < r0) this.cache.delete(k);
    const stride = this.spp;
    const bandAt = src.samples;
    if (r0 === r1) {
      const b = await this.blockRow(r0);
      const off = (v0 - r0 * this.blockH) * src.width * stride;
      return { y0: v0, h: v1 - v0, w: src.width, stride, bandAt, data: b.subarray(off, off + (v1 - v0) * src.width * stride) };
    }
    const first = await this.blockRow(r0);
    const data = new (first.constructor as new (n: number) => Typed)((v1 - v0) * src.width * stride);
    for (let r = r0; r <= r1; r++) {
      const b = await this.blockRow(r);
      const top = Math.max(v0, r * this.blockH);
      const bottom = Math.min(v1, (r + 1) * this.blockH);
      const from = (top - r * this.blockH) * src.width * stride;
      data.set(b.subarray(from, from + (bottom - top) * src.width * stride), (top - v0) * src.width * stride);
    }
    return { y0: v0, h: v1 - v0, w: src.width, stride, bandAt, data };
  }
}
