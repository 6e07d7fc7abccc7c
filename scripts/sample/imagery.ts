/**
 * Synthetic "before" and "after" imagery of the sample town (合成影像): 8-bit RGB GeoTIFFs in EPSG:4523,
 * rendered from the town's own layers (the same seed rebuilds the same towns as `generateSample`).
 *
 * - before (前时相): fields, orchards, woods, water, roads with kerbs and lane marks, yards and roofs
 *   on the built parcels — but no roof where a survey polygon will stand;
 * - after (后时相): the same ground with every survey polygon's change drawn on it (a roof for
 *   新增建设用地 / 疑似违法建筑, bare earth for 推填土, concrete for 硬化地面, a greenhouse for 其他),
 *   plus a few new roofs that are in no survey record (`unsurveyed` in imagery.json), so an analyst
 *   has something the survey missed; and a slightly different radiometry, as two acquisitions have.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Polygon, Position } from 'geojson';
import { writeGeoTiffRgb } from './geotiff-write';
import { EPSG, planScale, type SampleScale } from './generate';
import { pointInRing } from './geometry';
import { Rng } from './prng';
import { NOISE_SIZE, Raster, noiseTexture, type Shader } from './raster';
import { generateTown, type SurveyItem } from './town';

export type ImageryEpoch = 'before' | 'after';

/** file names: the epoch's year and 'synthetic' in the name, so a copied file still says what it is */
export const IMAGERY_FILES: Record<ImageryEpoch, string> = {
  before: 'imagery-before-2019-synthetic.tif',
  after: 'imagery-after-2020-synthetic.tif',
};

export interface SampleImageryOptions {
  out: string;
  seed?: number;
  /** the town scales only: a district at 1 m would be 1.3 Gpixel per epoch */
  scale?: Extract<SampleScale, 'tiny' | 'town'>;
  /** metres per pixel (0.5–1) */
  resolution?: number;
}

export interface SampleImageryInfo {
  generator: 'tuban scripts/sample/imagery.ts';
  synthetic: true;
  seed: number;
  scale: SampleScale;
  epsg: number;
  resolution: number;
  width: number;
  height: number;
  /** [minx, miny, maxx, maxy] in EPSG:4523 */
  bbox: [number, number, number, number];
  epochs: { epoch: ImageryEpoch; file: string; date: string; bytes: number }[];
  /** survey polygons drawn into the after image, by 变化类型 */
  surveyDrawn: Record<string, number>;
  /** new roofs in the after image that no survey record has: centre (EPSG:4523) and area (m²) */
  unsurveyed: { x: number; y: number; area: number }[];
  millis: { render: number; write: number; total: number };
}

/** roof colours of the buildings already there before */
export const OLD_ROOFS: readonly (readonly [number, number, number])[] = [
  [150, 86, 66], // clay tile
  [96, 99, 102], // grey tile
  [78, 80, 83],
  [128, 98, 78],
  [176, 172, 164], // concrete
  [200, 197, 188],
];
const INDUSTRY_ROOFS: readonly (readonly [number, number, number])[] = [
  [150, 162, 172],
  [112, 140, 168],
  [185, 188, 186],
];
/** roof colours of new structures (the after image): fresh colour-steel and tile, brighter than the old */
export const NEW_ROOFS: readonly (readonly [number, number, number])[] = [
  [64, 112, 178], // blue colour-steel
  [222, 224, 222], // white colour-steel
  [186, 68, 52], // new red tile
  [58, 142, 136], // teal
  [198, 194, 186], // fresh concrete
  [196, 112, 66], // orange tile
];

/**
 * The after image's radiometry, applied to every pixel: another acquisition, a little warmer and greener
 * (v → v·gain + add per band, clamped).
 */
export const AFTER_TINT = { gain: [1.03, 1.04, 0.98], add: [1, 1, 0] } as const;

const DESCRIPTION = (epoch: ImageryEpoch, date: string, seed: number, scale: SampleScale) =>
  `合成数据 SYNTHETIC imagery (合成影像), not a real image of any place: tuban sample town ${scale}, seed ${seed}, ` +
  `${epoch === 'before' ? '前时相 before' : '后时相 after'} ${date}, rendered by scripts/sample/imagery.ts`;

type RGB = readonly [number, number, number];
/** crops, stubble and tilled soil of a late-autumn field */
const FIELDS: readonly RGB[] = [
  [104, 122, 76],
  [140, 130, 96],
  [124, 108, 84],
  [92, 112, 68],
  [130, 132, 90],
  [112, 118, 80],
];
const LU = {
  farm: '耕地',
  orchard: '园地',
  forest: '林地',
  homestead: '宅基地',
  urban: '城镇住宅用地',
  commerce: '商服用地',
  industry: '工业用地',
  public: '公共管理与公共服务用地',
  green: '公园与绿地',
  road: '交通运输用地',
  water: '水域及水利设施用地',
} as const;

interface Parcel {
  ring: Position[];
  use: string;
  bbox: [number, number, number, number];
}

/** Render both epochs into `out` and write imagery.json beside them. */
export async function generateSampleImagery(opts: SampleImageryOptions): Promise<SampleImageryInfo> {
  const t0 = Date.now();
  const seed = opts.seed ?? 42;
  const scale = opts.scale ?? 'town';
  const res = opts.resolution ?? 1;
  if (!(res >= 0.5 && res <= 1)) throw new Error('resolution must be 0.5–1 m');

  // the towns, exactly as generateSample builds them (same forks of the same seed)
  const rng = new Rng(seed);
  const plan = planScale(scale, rng);
  const parcels: Parcel[] = [];
  const survey: SurveyItem[] = [];
  const avenues: Position[][] = [];
  for (const spec of plan.towns) {
    const town = generateTown(spec, rng.fork(`town:${spec.index}`), (g: Polygon, rec) => {
      const ring = g.coordinates[0];
      parcels.push({ ring, use: rec.土地用途, bbox: ringBox(ring) });
    });
    survey.push(...town.survey);
    avenues.push(town.avenue.line.coordinates);
  }
  const theta = plan.towns[0].frame.theta;
  const r = rng.fork('imagery');

  // extent: the parcels' (the whole town) plus a margin, on whole metres
  const box = parcels.reduce<[number, number, number, number]>(
    (b, p) => [Math.min(b[0], p.bbox[0]), Math.min(b[1], p.bbox[1]), Math.max(b[2], p.bbox[2]), Math.max(b[3], p.bbox[3])],
    [Infinity, Infinity, -Infinity, -Infinity],
  );
  const margin = 40;
  const minx = Math.floor(box[0] - margin);
  const maxy = Math.ceil(box[3] + margin);
  const width = Math.ceil((box[2] + margin - minx) / res);
  const height = Math.ceil((maxy - (box[1] - margin)) / res);
  const ras = new Raster(width, height, minx, maxy, res);
  const rgb = ras.rgb;
  const mask = new Uint8Array(width * height); // 0 beyond the town, 1 road, 2 roof, 3 other ground
  const tex = noiseTexture(r.fork('noise'));
  const S = NOISE_SIZE - 1;
  const N = (px: number, py: number) => tex[((py & S) << 9) | (px & S)];
  const N2 = (px: number, py: number) => tex[(((px + 217) & S) << 9) | ((py + 89) & S)];
  /** the texture at a fractional position, bilinear: for shapes larger than its cells (woods beyond the town) */
  const smoothN = (x: number, y: number) => {
    const ix = Math.floor(x);
    const iy = Math.floor(y);
    const fx = x - ix;
    const fy = y - iy;
    const a = N(ix, iy) + (N(ix + 1, iy) - N(ix, iy)) * fx;
    const b = N(ix, iy + 1) + (N(ix + 1, iy + 1) - N(ix, iy + 1)) * fx;
    return a + (b - a) * fy;
  };
  const grain = (o: number) => (Math.imul(o ^ 0x5bd1e995, 0x9e3779b1) >>> 27) - 16; // −16…15 per pixel
  const set = (o: number, c0: number, c1: number, c2: number) => {
    rgb[o] = c0;
    rgb[o + 1] = c1;
    rgb[o + 2] = c2;
  };
  const tone = (o: number, c: RGB, d: number) => set(o, c[0] + d, c[1] + d, c[2] + d);

  // survey polygons, by bounding box in a 50 m grid: no old roof may stand where one will be
  const surveyGrid = new BoxGrid(50);
  for (const it of survey) if (it.geometry) for (const ring of outerRings(it.geometry)) surveyGrid.add(ringBox(ring));

  // --- parcels -------------------------------------------------------------------------------
  const avenueNear = (x: number, y: number) => avenues.some((line) => distToLine(x, y, line) < 20);
  const buildings: { ring: Position[]; roof: RGB; height: number; gable: boolean }[] = [];
  const trees: { x: number; y: number; r: number }[] = [];
  const rp = r.fork('parcels');
  const farmCandidates: Parcel[] = [];
  for (const p of parcels) {
    const dir = ringDirection(p.ring, ras);
    const ca = Math.cos(dir);
    const sa = Math.sin(dir);
    let shade: Shader;
    switch (p.use) {
      case LU.farm: {
        const base = rp.pick(FIELDS);
        const period = rp.range(2.2, 4.5) / res;
        const amp = rp.range(3, 9);
        shade = (o, px, py) => {
          const t = (px * ca + py * sa) / period;
          tone(o, base, (t - Math.floor(t) < 0.5 ? amp : -amp) + N(px, py) * 16 + (grain(o) >> 3));
        };
        farmCandidates.push(p);
        break;
      }
      case LU.orchard: {
        const sp = rp.range(4.5, 6) / res;
        const rr = (sp * 0.36) ** 2;
        shade = (o, px, py) => {
          const u = px * ca + py * sa;
          const v = -px * sa + py * ca;
          const fu = u - Math.floor(u / sp) * sp - sp / 2;
          const fv = v - Math.floor(v / sp) * sp - sp / 2;
          const d2 = fu * fu + fv * fv;
          if (d2 < rr) tone(o, [50, 82, 44], (d2 / rr) * 14 - 6 + N2(px, py) * 8);
          else tone(o, [128, 124, 84], N(px, py) * 12 + (grain(o) >> 3));
        };
        farmCandidates.push(p);
        break;
      }
      case LU.forest:
        shade = (o, px, py) => {
          const n = N(px, py);
          const crowns = N2(px * 2, py * 2);
          tone(o, [48, 74, 44], n * 20 + crowns * 30 + (grain(o) >> 3));
        };
        break;
      case LU.water:
        shade = (o, px, py) => tone(o, [52, 78, 84], N(px, py) * 5);
        break;
      case LU.green:
        shade = (o, px, py) => tone(o, [102, 138, 72], N(px, py) * 14 + (grain(o) >> 3));
        addTrees(p, rp.int(2, 8), 2.5, 4.5);
        break;
      case LU.road: {
        const [cx, cy] = ringCentre(p.ring);
        const asphalt = avenueNear(cx, cy);
        const base: RGB = asphalt ? [84, 87, 91] : [146, 144, 137];
        shade = (o, px, py) => {
          tone(o, base, N(px, py) * 5 + (grain(o) >> 3));
          mask[o / 3] = 1;
        };
        break;
      }
      default: {
        const ground: RGB =
          p.use === LU.homestead ? [162, 152, 136] : p.use === LU.industry ? [176, 173, 166] : p.use === LU.urban ? [148, 150, 140] : [166, 161, 152];
        shade = (o, px, py) => tone(o, ground, N(px, py) * 12 + (grain(o) >> 3));
        addBuilding(p);
        if (p.use === LU.homestead && rp.chance(0.6)) addTrees(p, rp.int(1, 3), 1.8, 3.5);
        if (p.use === LU.urban && rp.chance(0.5)) addTrees(p, rp.int(1, 4), 2, 3.5);
      }
    }
    ras.fill([p.ring], (o, px, py) => {
      shade(o, px, py);
      if (!mask[o / 3]) mask[o / 3] = 3; // ground (roads set 1 themselves)
    });
  }

  function addBuilding(p: Parcel) {
    const chance = p.use === LU.homestead ? 0.85 : p.use === LU.public ? 0.7 : 0.9;
    if (!rp.chance(chance)) return;
    const k = rp.range(0.45, 0.72);
    const [cx, cy] = ringCentre(p.ring);
    const ring = p.ring.map(([x, y]) => [cx + (x - cx) * k, cy + (y - cy) * k]);
    if (surveyGrid.hits(ringBox(ring), 3)) return;
    const industry = p.use === LU.industry;
    const tall = p.use === LU.urban;
    buildings.push({
      ring,
      roof: industry ? rp.pick(INDUSTRY_ROOFS) : rp.pick(OLD_ROOFS),
      height: tall ? rp.range(15, 30) : industry ? rp.range(6, 12) : rp.range(4, 10),
      gable: !tall && rp.chance(0.6),
    });
  }
  function addTrees(p: Parcel, n: number, rmin: number, rmax: number) {
    for (let i = 0; i < n; i++) {
      const x = rp.range(p.bbox[0], p.bbox[2]);
      const y = rp.range(p.bbox[1], p.bbox[3]);
      const rad = rp.range(rmin, rmax);
      if (pointInRing(x, y, p.ring) && !surveyGrid.hits([x - rad, y - rad, x + rad, y + rad], 1)) trees.push({ x, y, r: rad });
    }
  }

  // --- countryside beyond the town (the pixels no parcel covered): fields of a warped grid turned like
  // the town's, woods by a coarse noise
  const ct = Math.cos(theta);
  const st = Math.sin(theta);
  for (let py = 0, o = 0; py < height; py++) {
    for (let px = 0; px < width; px++, o += 3) {
      if (mask[o / 3]) continue; // a parcel of the town
      const u = (px * ct - py * st) * res;
      const v = (-px * st - py * ct) * res;
      const coarse = smoothN(px * res / 8, py * res / 8);
      if (coarse > 0.18) {
        const n = N(px, py);
        tone(o, [52, 76, 46], n * 34 + N2(px, py) * 14 + (grain(o) >> 3));
        continue;
      }
      // fields of uneven size: the grid warped by the coarse noise
      const cu = Math.floor((u + coarse * 40) / 46);
      const cv = Math.floor((v - coarse * 30) / 34);
      const h = Math.imul(cu * 73856093 ^ cv * 19349663, 0x9e3779b1) >>> 0;
      const fu = (u + coarse * 40) / 46 - cu;
      const fv = (v - coarse * 30) / 34 - cv;
      if (fu < 0.025 || fv < 0.035) {
        tone(o, [122, 118, 92], N(px, py) * 8);
        continue;
      }
      const c = FIELDS[h % FIELDS.length];
      const stripe = ((u * (0.4 + (h >>> 8) % 3 * 0.1)) % 1) < 0.5 ? 4 : -4;
      tone(o, c, stripe + N(px, py) * 14 + (grain(o) >> 3));
    }
  }

  // field bunds: a faint line along every farm parcel's edge
  for (const p of farmCandidates) ras.line(p.ring, (o) => set(o, (rgb[o] + 132) / 2, (rgb[o + 1] + 126) / 2, (rgb[o + 2] + 98) / 2));

  // kerbs: a road pixel beside a non-road pixel
  for (let py = 1; py < height - 1; py++)
    for (let px = 1, i = py * width + 1; px < width - 1; px++, i++)
      if (mask[i] === 1 && (mask[i - 1] !== 1 || mask[i + 1] !== 1 || mask[i - width] !== 1 || mask[i + width] !== 1)) tone(i * 3, [172, 170, 164], grain(i * 3) >> 3);

  // the avenue's marks: a solid yellow centre line, dashed white lanes, solid white edges
  for (const line of avenues) {
    const paint = (c: RGB) => (o: number) => {
      if (mask[o / 3] === 1) set(o, (rgb[o] + c[0] * 2) / 3, (rgb[o + 1] + c[1] * 2) / 3, (rgb[o + 2] + c[2] * 2) / 3);
    };
    ras.line(line, paint([214, 190, 84]));
    for (const d of [-8, -4, 4, 8]) ras.line(offsetLine(line, d), paint([226, 226, 222]), [6 / res, 9 / res]);
    for (const d of [-12.5, 12.5]) ras.line(offsetLine(line, d), paint([226, 226, 222]));
  }

  // trees and old roofs, with their shadows (the sun in the south-south-east: shadows fall north-north-west)
  for (const t of trees) drawTree(t.x, t.y, t.r);
  for (const b of buildings) drawRoof(b.ring, b.roof, b.height, b.gable);

  function darken(o: number) {
    rgb[o] *= 0.52;
    rgb[o + 1] *= 0.54;
    rgb[o + 2] *= 0.6;
  }
  function drawTree(x: number, y: number, rad: number) {
    const rp2 = rad / res;
    ras.disc(x, y, rp2, (o) => darken(o), -0.25 * rp2, -0.7 * rp2);
    ras.disc(x, y, rp2, (o, t) => tone(o, [44, 70, 40], (1 - t) * 10 - 4 + (grain(o) >> 3)));
  }
  function drawRoof(ring: Position[], roof: RGB, h: number, gable: boolean) {
    const L = (h * 0.55) / res;
    // the shadow first, the roof over it; a shadow does not darken another roof (it would fall on its top)
    ras.fill([ring], (o) => {
      if (mask[o / 3] !== 2) darken(o);
    }, -0.3 * L, -L);
    const [cx, cy] = ringCentre(ring);
    const ccx = ras.px(cx);
    const ccy = ras.py(cy);
    const axis = ringDirection(ring, ras);
    const nx = -Math.sin(axis);
    const ny = Math.cos(axis);
    ras.fill([ring], (o, px, py) => {
      const side = gable ? ((px + 0.5 - ccx) * nx + (py + 0.5 - ccy) * ny > 0 ? 12 : -12) : 0;
      tone(o, roof, side + (grain(o) >> 3));
      mask[o / 3] = 2;
    });
  }

  // --- before ---------------------------------------------------------------------------------
  const dates = epochDates(survey);
  const info: SampleImageryInfo = {
    generator: 'tuban scripts/sample/imagery.ts',
    synthetic: true,
    seed,
    scale,
    epsg: EPSG,
    resolution: res,
    width,
    height,
    bbox: [minx, maxy - height * res, minx + width * res, maxy],
    epochs: [],
    surveyDrawn: {},
    unsurveyed: [],
    millis: { render: 0, write: 0, total: 0 },
  };
  let writeMs = 0;
  const write = async (epoch: ImageryEpoch) => {
    const tw = Date.now();
    const bytes = await writeGeoTiffRgb(join(opts.out, IMAGERY_FILES[epoch]), {
      width,
      height,
      rgb: new Uint8Array(rgb.buffer),
      originX: minx,
      originY: maxy,
      resolution: res,
      epsg: EPSG,
      citation: 'CGCS2000 / 3-degree Gauss-Kruger zone 35',
      description: DESCRIPTION(epoch, dates[epoch], seed, scale),
      date: dates[epoch],
      software: 'tuban scripts/sample/imagery.ts',
    });
    writeMs += Date.now() - tw;
    info.epochs.push({ epoch, file: IMAGERY_FILES[epoch], date: dates[epoch], bytes });
  };
  await write('before');

  // --- after: the survey's changes, then what the survey missed ---------------------------------
  const ra = r.fork('after');
  for (const it of survey) {
    if (!it.geometry) continue;
    const rings = outerRings(it.geometry);
    if (!rings.length) continue;
    info.surveyDrawn[it.changeType] = (info.surveyDrawn[it.changeType] ?? 0) + 1;
    for (const ring of rings) drawChange(ring, it.changeType, ra);
  }
  const wanted = Math.max(4, Math.round(survey.length / 75));
  const taken = new BoxGrid(50);
  for (let tries = 0; info.unsurveyed.length < wanted && tries < wanted * 50 && farmCandidates.length; tries++) {
    const p = ra.pick(farmCandidates);
    const [cx, cy] = ringCentre(p.ring);
    const dir = ringDirection(p.ring, ras);
    const w = ra.range(7, 14);
    const l = ra.range(10, 24);
    const ring = rectRing(cx, cy, l, w, -dir);
    const b = ringBox(ring);
    if (surveyGrid.hits(b, 25) || taken.hits(b, 25) || !ring.every(([x, y]) => pointInRing(x, y, p.ring))) continue;
    taken.add(b);
    drawRoof(ring, ra.pick(NEW_ROOFS), ra.range(4, 9), ra.chance(0.5));
    info.unsurveyed.push({ x: round2(cx), y: round2(cy), area: round2(w * l) });
  }
  const lut = (gain: number, add: number) => Uint8ClampedArray.from({ length: 256 }, (_, v) => v * gain + add);
  const [lr, lg, lb] = [0, 1, 2].map((b) => lut(AFTER_TINT.gain[b], AFTER_TINT.add[b]));
  for (let o = 0; o < rgb.length; o += 3) {
    rgb[o] = lr[rgb[o]];
    rgb[o + 1] = lg[rgb[o + 1]];
    rgb[o + 2] = lb[rgb[o + 2]];
  }
  await write('after');

  function drawChange(ring: Position[], changeType: string, rc: Rng) {
    const dir = ringDirection(ring, ras);
    const ca = Math.cos(dir);
    const sa = Math.sin(dir);
    switch (changeType) {
      case '推填土': {
        const base: RGB = rc.pick([
          [168, 132, 94],
          [150, 116, 86],
          [182, 150, 110],
        ]);
        ras.fill([ring], (o, px, py) => tone(o, base, N(px * 3, py * 3) * 26 + N2(px, py) * 10 + (grain(o) >> 2)));
        break;
      }
      case '硬化地面':
        ras.fill([ring], (o, px, py) => {
          const u = (px * ca + py * sa) * res;
          const v = (-px * sa + py * ca) * res;
          const joint = u - Math.floor(u / 6) * 6 < res || v - Math.floor(v / 6) * 6 < res;
          tone(o, [190, 188, 181], (joint ? -14 : 0) + N(px, py) * 6 + (grain(o) >> 3));
        });
        break;
      case '其他':
        // a plastic greenhouse: pale film in strips along its length
        ras.fill([ring], (o, px, py) => {
          const v = (-px * sa + py * ca) * res;
          tone(o, [206, 212, 206], (v - Math.floor(v / 4) * 4 < 0.8 ? -38 : 0) + (grain(o) >> 3));
        });
        break;
      default: // 新增建设用地, 疑似违法建筑
        drawRoof(ring, rc.pick(NEW_ROOFS), rc.range(3.5, 12), rc.chance(0.55));
    }
  }

  info.millis = { render: Date.now() - t0 - writeMs, write: writeMs, total: Date.now() - t0 };
  writeFileSync(join(opts.out, 'imagery.json'), JSON.stringify(info, null, 2) + '\n');
  return info;
}

/** The imagery.json of a sample directory, or null when its imagery has not been rendered. */
export function readSampleImagery(dir: string): SampleImageryInfo | null {
  try {
    return JSON.parse(readFileSync(join(dir, 'imagery.json'), 'utf8')) as SampleImageryInfo;
  } catch {
    return null;
  }
}

/** The image dates: the 前时相 / 后时相 most survey records carry, so the imagery and the records agree. */
export function epochDates(survey: readonly SurveyItem[]): Record<ImageryEpoch, string> {
  const mode = (pick: (it: SurveyItem) => string) => {
    const n = new Map<string, number>();
    for (const it of survey) n.set(pick(it), (n.get(pick(it)) ?? 0) + 1);
    return [...n.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0][0];
  };
  return { before: mode((it) => it.before), after: mode((it) => it.after) };
}

// ---------------------------------------------------------------------------------------------

class BoxGrid {
  private cells = new Map<number, [number, number, number, number][]>();
  constructor(private readonly size: number) {}
  private *keys(b: readonly number[]) {
    const s = this.size;
    for (let i = Math.floor(b[0] / s); i <= Math.floor(b[2] / s); i++)
      for (let j = Math.floor(b[1] / s); j <= Math.floor(b[3] / s); j++) yield i * 1_000_003 + j;
  }
  add(b: [number, number, number, number]) {
    for (const k of this.keys(b)) {
      let l = this.cells.get(k);
      if (!l) this.cells.set(k, (l = []));
      l.push(b);
    }
  }
  /** does any box come within `m` metres of b? */
  hits(b: readonly number[], m: number): boolean {
    const q = [b[0] - m, b[1] - m, b[2] + m, b[3] + m];
    for (const k of this.keys(q))
      for (const o of this.cells.get(k) ?? []) if (o[0] <= q[2] && o[2] >= q[0] && o[1] <= q[3] && o[3] >= q[1]) return true;
    return false;
  }
}

function outerRings(g: NonNullable<SurveyItem['geometry']>): Position[][] {
  if (g.type === 'Polygon') return g.coordinates.length ? [g.coordinates[0]] : [];
  return g.coordinates.filter((p) => p.length).map((p) => p[0]);
}

function ringBox(ring: readonly Position[]): [number, number, number, number] {
  let a = Infinity, b = Infinity, c = -Infinity, d = -Infinity;
  for (const [x, y] of ring) {
    if (x < a) a = x;
    if (y < b) b = y;
    if (x > c) c = x;
    if (y > d) d = y;
  }
  return [a, b, c, d];
}

/** mean of the vertices (the closing one left out): inside for the convex parcels and roofs drawn here */
function ringCentre(ring: readonly Position[]): [number, number] {
  let x = 0;
  let y = 0;
  const n = ring.length - 1;
  for (let i = 0; i < n; i++) {
    x += ring[i][0];
    y += ring[i][1];
  }
  return [x / n, y / n];
}

/** direction (radians, in pixel space) of the ring's longest edge */
function ringDirection(ring: readonly Position[], ras: Raster): number {
  let best = -1;
  let dir = 0;
  for (let i = 0; i + 1 < ring.length; i++) {
    const dx = ring[i + 1][0] - ring[i][0];
    const dy = ras.py(ring[i + 1][1]) - ras.py(ring[i][1]);
    const len = dx * dx + dy * dy;
    if (len > best) {
      best = len;
      dir = Math.atan2(dy, dx);
    }
  }
  return dir;
}

/** a closed rectangle ring, `l` along angle `a` (map space, radians) and `w` across */
function rectRing(cx: number, cy: number, l: number, w: number, a: number): Position[] {
  const c = Math.cos(a);
  const s = Math.sin(a);
  const pts = [
    [-l / 2, -w / 2],
    [l / 2, -w / 2],
    [l / 2, w / 2],
    [-l / 2, w / 2],
  ].map(([u, v]) => [cx + u * c - v * s, cy + u * s + v * c]);
  pts.push(pts[0]);
  return pts;
}

function distToLine(x: number, y: number, line: readonly Position[]): number {
  let best = Infinity;
  for (let i = 0; i + 1 < line.length; i++) {
    const [ax, ay] = line[i];
    const [bx, by] = line[i + 1];
    const dx = bx - ax;
    const dy = by - ay;
    const t = Math.max(0, Math.min(1, ((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy)));
    best = Math.min(best, Math.hypot(x - ax - t * dx, y - ay - t * dy));
  }
  return best;
}

/** the line moved sideways by d metres (left positive) */
function offsetLine(line: readonly Position[], d: number): Position[] {
  return line.map((p, k) => {
    const a = line[Math.max(0, k - 1)];
    const b = line[Math.min(line.length - 1, k + 1)];
    const len = Math.hypot(b[0] - a[0], b[1] - a[1]);
    return [p[0] - ((b[1] - a[1]) / len) * d, p[1] + ((b[0] - a[0]) / len) * d];
  });
}

const round2 = (x: number) => Math.round(x * 100) / 100;
