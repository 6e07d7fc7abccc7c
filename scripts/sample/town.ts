/**
 * One synthetic town: a parcel grid along a bending avenue, villages, schools, compounds, green
 * space and the 2020 survey polygons. Everything is built in a local frame (u along the avenue,
 * v across it, metres) and mapped to CGCS2000 GK zone 35 through `Frame`.
 *
 * Parcels are cells of a jittered grid (rows and columns of varying size, minor roads as narrow
 * rows/columns), some cells merged into 2- or 3-cell parcels; so parcels tile the town exactly,
 * never overlap, and share vertices with their neighbours. Villages, compounds, schools and green
 * space are unions of cells, so their edges follow parcel edges too.
 */
import type { LineString, MultiPolygon, Polygon, Position } from 'geojson';
import { Frame, type FrameParams, type XY, blob, bowTie, lShape, polygonArea, rectangle, round4, traceCells } from './geometry';
import type { Rng } from './prng';
import { COMMUNITY_STEMS, COMPOUND_NAMES, PARK_NAMES, SCHOOLS, SURVEY_REMARKS, VILLAGE_STEMS, companyName, personName } from './names';

export const LAND_USES = [
  '耕地', // 0
  '园地', // 1
  '林地', // 2
  '宅基地', // 3
  '城镇住宅用地', // 4
  '商服用地', // 5
  '工业用地', // 6
  '公共管理与公共服务用地', // 7
  '公园与绿地', // 8
  '交通运输用地', // 9
  '水域及水利设施用地', // 10
] as const;
const U_FARM = 0, U_ORCHARD = 1, U_FOREST = 2, U_HOMESTEAD = 3, U_URBAN_RES = 4, U_COMMERCE = 5, U_INDUSTRY = 6, U_PUBLIC = 7, U_GREEN = 8, U_ROAD = 9, U_WATER = 10;
/** 宗地特征码 (two letters after the 12-digit cadastral-zone code) by land use */
const FEATURE_CODE = ['JD', 'JD', 'JE', 'JC', 'GB', 'GB', 'GB', 'GB', 'GB', 'GB', 'JA'];

export const CHANGE_TYPES = ['新增建设用地', '疑似违法建筑', '推填土', '硬化地面', '其他'] as const;

export interface TownSpec {
  /** position in the district (0 = 吉安镇) */
  index: number;
  name: string;
  /** 9-digit town code, e.g. 500118109 */
  code9: string;
  avenueName: string;
  frame: FrameParams;
  /** half extent of the town along / across the avenue, metres */
  umax: number;
  vmax: number;
  /** half extent of the built-up core */
  coreU: number;
  coreV: number;
  /** half length of the named avenue */
  avenueHalf: number;
  /** column widths (along u) and row heights (across) in the core and in the countryside */
  coreSize: [number, number];
  ruralSize: [number, number];
  /** chance that a countryside cell is merged with a neighbour into one parcel (others: half of it) */
  mergeRural: number;
  villages: number;
  communities: number;
  compounds: number;
  greens: number;
  schools: number;
  survey: number;
  /** corner (u > umax - gap[0], v > vmax - gap[1]) left out of every village */
  gap: [number, number];
  /** village code used for parcels in the gap (a neighbouring town's village) */
  gapCode: string;
  /** frontage band width (m) and avenue road surface width (m) */
  bandWidth: number;
  roadWidth: number;
}

export interface ParcelRecord {
  宗地代码: string;
  权利人: string;
  土地用途: string;
  批准面积: number | null;
  行政区代码: string;
}

export interface Village {
  name: string;
  code: string;
  geometry: Polygon | MultiPolygon;
}
export interface NamedArea {
  name: string;
  geometry: Polygon | MultiPolygon;
}
export interface School extends NamedArea {
  type: string;
  centre: Position;
}
export interface SurveyItem {
  /** null: delivered without geometry; empty polygon: delivered with an empty shape */
  geometry: Polygon | MultiPolygon | null;
  villageCode: string;
  villageName: string;
  before: string;
  after: string;
  changeType: string;
  deliveredArea: number;
  remark: string;
  /** sort key inside the town */
  sortKey: number;
  /** what the generator meant (for tests and the README; not written) */
  category: string;
  dirt?: 'bowtie' | 'multipart' | 'null' | 'empty' | 'duplicate' | 'wrong-village' | 'outside-villages';
}

export interface TownResult {
  spec: TownSpec;
  parcelCount: number;
  villages: Village[];
  schools: School[];
  compounds: NamedArea[];
  greens: NamedArea[];
  avenue: { name: string; width: number; line: LineString; band: Polygon };
  survey: SurveyItem[];
}

export type ParcelSink = (geometry: Polygon, record: ParcelRecord) => void;

// ---------------------------------------------------------------------------------------------
// grid

interface Axis {
  /** boundaries, ascending */
  b: number[];
  /** per interval: 0 ordinary, 1 minor road, 2 the avenue */
  road: Uint8Array;
}

function lerp(a: number, b: number, t: number) {
  return a + (b - a) * Math.max(0, Math.min(1, t));
}

/** Boundaries from `from` to `to` (ascending), sizes by position, a minor road every few intervals. */
function buildAxis(
  rng: Rng,
  from: number,
  to: number,
  sizeAt: (pos: number) => [number, number],
  roadEvery: (pos: number) => [number, number],
): { b: number[]; road: number[] } {
  const b = [from];
  const road: number[] = [];
  let pos = from;
  let untilRoad = rng.int(...roadEvery(pos));
  while (to - pos > 1e-9) {
    let size: number;
    let isRoad = 0;
    if (untilRoad <= 0) {
      size = rng.range(8, 12);
      isRoad = 1;
      untilRoad = rng.int(...roadEvery(pos));
    } else {
      const [a, c] = sizeAt(pos);
      size = rng.range(a, c);
      untilRoad--;
    }
    const [minNext] = sizeAt(pos + size);
    if (to - (pos + size) < minNext * 0.6) {
      // finish: stretch or shrink the last interval to the edge (roads are not allowed at the edge)
      size = to - pos;
      isRoad = 0;
    }
    pos += size;
    b.push(pos === to ? to : pos);
    road.push(isRoad);
  }
  b[b.length - 1] = to;
  return { b, road };
}

// ---------------------------------------------------------------------------------------------

export function generateTown(spec: TownSpec, rngRoot: Rng, parcelSink: ParcelSink): TownResult {
  const frame = new Frame(spec.frame);
  const { umax, vmax, coreU, coreV } = spec;
  const half = spec.roadWidth / 2;

  // --- axes -----------------------------------------------------------------------------------
  const rAxis = rngRoot.fork('axes');
  const coreness = (u: number, v: number) => {
    const d = Math.hypot(u / coreU, v / coreV);
    return d <= 1 ? 1 : Math.max(0, 1 - (d - 1) * 2);
  };
  const colSize = (u: number): [number, number] => {
    const t = Math.max(0, Math.min(1, (Math.abs(u) - coreU) / (coreU * 0.8)));
    return [lerp(spec.coreSize[0], spec.ruralSize[0], t), lerp(spec.coreSize[1], spec.ruralSize[1], t)];
  };
  const rowSize = (v: number): [number, number] => {
    const a = Math.abs(v);
    if (a < half + 60) return [spec.coreSize[0] + 2, spec.coreSize[0] + 16]; // frontage lots
    const t = Math.max(0, Math.min(1, (a - coreV) / (coreV * 0.8)));
    return [lerp(spec.coreSize[0], spec.ruralSize[0], t), lerp(spec.coreSize[1], spec.ruralSize[1], t)];
  };
  const roadEveryU = (u: number): [number, number] => (Math.abs(u) < coreU ? [7, 11] : [11, 18]);
  const roadEveryV = (v: number): [number, number] => (Math.abs(v) < coreV ? [6, 10] : [10, 16]);
  const cols = buildAxis(rAxis.fork('cols'), -umax, umax, colSize, roadEveryU);
  const up = buildAxis(rAxis.fork('up'), half, vmax, rowSize, roadEveryV);
  const down = buildAxis(rAxis.fork('down'), half, vmax, rowSize, roadEveryV);
  const U: Axis = { b: cols.b, road: Uint8Array.from(cols.road) };
  const V: Axis = {
    b: [...down.b.slice().reverse().map((x) => -x), ...up.b],
    road: Uint8Array.from([...down.road.slice().reverse(), 2, ...up.road]),
  };
  const nc = U.b.length - 1;
  const nr = V.b.length - 1;
  const nCells = nc * nr;
  const avenueRow = down.road.length;
  const uc = new Float64Array(nc);
  const vc = new Float64Array(nr);
  for (let i = 0; i < nc; i++) uc[i] = (U.b[i] + U.b[i + 1]) / 2;
  for (let j = 0; j < nr; j++) vc[j] = (V.b[j] + V.b[j + 1]) / 2;
  const cw = (i: number) => U.b[i + 1] - U.b[i];
  const rh = (j: number) => V.b[j + 1] - V.b[j];
  const cellArea = (c: number) => cw(c % nc) * rh(Math.floor(c / nc));
  const colAt = (u: number) => bsearch(U.b, u);
  const rowAt = (v: number) => bsearch(V.b, v);
  const isRoad = (c: number) => U.road[c % nc] !== 0 || V.road[Math.floor(c / nc)] !== 0;

  // --- vertices: jitter, then to world --------------------------------------------------------
  const rJit = rngRoot.fork('jitter');
  const nv = nc + 1;
  const vx = new Float64Array(nv * (nr + 1));
  const vy = new Float64Array(nv * (nr + 1));
  for (let j = 0; j <= nr; j++) {
    for (let i = 0; i <= nc; i++) {
      let du = 0;
      let dv = 0;
      const edgeI = i === 0 || i === nc || U.road[i - 1] !== 0 || U.road[i] !== 0;
      const edgeJ = j === 0 || j === nr || V.road[j - 1] !== 0 || V.road[j] !== 0;
      if (!edgeI) du = rJit.range(-0.2, 0.2) * Math.min(cw(i - 1), cw(i));
      else rJit.next();
      if (!edgeJ) dv = rJit.range(-0.2, 0.2) * Math.min(rh(j - 1), rh(j));
      else rJit.next();
      const [x, y] = frame.toWorld(U.b[i] + du, V.b[j] + dv);
      vx[j * nv + i] = x;
      vy[j * nv + i] = y;
    }
  }
  const vertex = (vid: number): Position => [vx[vid], vy[vid]];
  const ringOf = (vids: number[]): Position[] => {
    const r = vids.map(vertex);
    r.push(r[0]);
    return r;
  };
  const cellsToGeometry = (cells: Iterable<number>): Polygon | MultiPolygon => {
    const polys = traceCells(cells, nc).map((rings) => rings.map(ringOf));
    return polys.length === 1 ? { type: 'Polygon', coordinates: polys[0] } : { type: 'MultiPolygon', coordinates: polys };
  };

  // --- villages (Voronoi of seeds over cell centres) ------------------------------------------
  const rV = rngRoot.fork('villages');
  const seeds: { u: number; v: number; community: boolean }[] = [{ u: rV.range(-0.15, 0.15) * coreU, v: rV.range(-0.2, 0.2) * coreV, community: true }];
  const minDist = Math.sqrt((4 * umax * vmax) / spec.villages) * 0.7;
  for (let tries = 0; seeds.length < spec.villages && tries < 5000; tries++) {
    const community = seeds.length < spec.communities;
    const u = community ? rV.range(-coreU * 1.2, coreU * 1.2) : rV.range(-umax * 0.92, umax * 0.92);
    const v = community ? rV.range(-coreV * 1.2, coreV * 1.2) : rV.range(-vmax * 0.92, vmax * 0.92);
    const need = community ? minDist * 0.45 : tries > 3000 ? minDist * 0.5 : minDist;
    if (seeds.every((s) => Math.hypot(s.u - u, s.v - v) >= need)) seeds.push({ u, v, community });
  }
  const usedStems = new Set<string>();
  const villageMeta = seeds.map((s, k) => {
    const stems = s.community ? COMMUNITY_STEMS : VILLAGE_STEMS;
    let stem = spec.index === 0 ? stems[(s.community ? k : k - spec.communities) % stems.length] : rV.pick(stems);
    for (let t = 0; usedStems.has(stem) && t < 50; t++) stem = rV.pick(stems);
    if (usedStems.has(stem)) stem = `${stem}${k}`;
    usedStems.add(stem);
    const nth = s.community ? k + 1 : 200 + (k - spec.communities) + 1;
    return {
      name: `${stem}${s.community ? '社区' : '村'}`,
      code: `${spec.code9}${String(nth).padStart(3, '0')}`,
      before: rV.pick(['2019-10-12', '2019-11-03', '2019-11-27', '2019-12-18', '2019-09-21']),
      after: rV.pick(['2020-09-26', '2020-10-15', '2020-11-08', '2020-10-30', '2020-08-19']),
    };
  });
  const village = new Int16Array(nCells);
  const su = Float64Array.from(seeds, (s) => s.u);
  const sv = Float64Array.from(seeds, (s) => s.v);
  const sw = Float64Array.from(seeds, (s) => (s.community ? 1.3 : 1));
  const ns = seeds.length;
  for (let j = 0; j < nr; j++) {
    const v = vc[j];
    for (let i = 0; i < nc; i++) {
      const c = j * nc + i;
      const u = uc[i];
      if (u > umax - spec.gap[0] && v > vmax - spec.gap[1]) {
        village[c] = -1;
        continue;
      }
      let best = 0;
      let bestD = Infinity;
      for (let k = 0; k < ns; k++) {
        const du = su[k] - u;
        const dv = sv[k] - v;
        const d = du * du + dv * dv * sw[k];
        if (d < bestD) {
          bestD = d;
          best = k;
        }
      }
      village[c] = best;
    }
  }

  // --- land use ---------------------------------------------------------------------------------
  const use = new Uint8Array(nCells).fill(255);
  const compoundOf = new Int16Array(nCells).fill(-1);
  const greenOf = new Int16Array(nCells).fill(-1);
  const schoolOf = new Int16Array(nCells).fill(-1);
  for (let c = 0; c < nCells; c++) if (isRoad(c)) use[c] = U_ROAD;

  /** cell block [i0, i1) × [j0, j1) for a (u, v) box; null if it touches a road, the edge or a taken cell */
  const blockAt = (u0: number, v0: number, du: number, dv: number, free: (c: number) => boolean) => {
    const i0 = colAt(u0);
    const j0 = rowAt(v0);
    const i1 = colAt(u0 + du) + 1;
    const j1 = rowAt(v0 + dv) + 1;
    if (i0 < 1 || j0 < 1 || i1 > nc - 1 || j1 > nr - 1) return null;
    const cells: number[] = [];
    for (let j = j0; j < j1; j++)
      for (let i = i0; i < i1; i++) {
        const c = j * nc + i;
        if (isRoad(c) || !free(c)) return null;
        cells.push(c);
      }
    return { i0, i1, j0, j1, cells };
  };
  const sideV = (r: Rng, lo: number, hi: number) => (r.chance(0.5) ? 1 : -1) * r.range(lo, hi);

  // compounds (小区) in the core
  const rF = rngRoot.fork('features');
  const compounds: { name: string; cells: number[]; box: [number, number, number, number] }[] = [];
  for (let t = 0; compounds.length < spec.compounds && t < 4000; t++) {
    const du = rF.range(90, 200);
    const dv = rF.range(70, 160);
    const u0 = rF.range(-coreU * 1.1, coreU * 1.1 - du);
    const v0 = sideV(rF, half + 45, coreV * 1.1);
    const vv = v0 > 0 ? v0 : v0 - dv;
    const blk = blockAt(u0, vv, du, dv, (c) => use[c] === 255);
    if (!blk) continue;
    const k = compounds.length;
    for (const c of blk.cells) {
      use[c] = U_URBAN_RES;
      compoundOf[c] = k;
    }
    compounds.push({ name: '', cells: blk.cells, box: [U.b[blk.i0], V.b[blk.j0], U.b[blk.i1], V.b[blk.j1]] });
  }
  const compoundNames = rF.shuffle([...COMPOUND_NAMES]);
  compounds.forEach((cp, k) => (cp.name = spec.index === 0 ? compoundNames[k % compoundNames.length] : `${spec.name.slice(0, 2)}${compoundNames[k % compoundNames.length]}`));

  // schools: a couple in the core, the rest in the countryside
  const schools: { name: string; type: string; cells: number[]; box: [number, number, number, number] }[] = [];
  const schoolList = spec.index === 0 ? SCHOOLS : SCHOOLS.map(([n, ty]) => [n.replace('吉安镇', spec.name).replace('吉安', spec.name.slice(0, 2)), ty] as const);
  for (let t = 0; schools.length < spec.schools && t < 4000; t++) {
    const inCore = schools.length < 2;
    const du = rF.range(inCore ? 100 : 60, inCore ? 170 : 110);
    const dv = rF.range(inCore ? 80 : 50, inCore ? 140 : 90);
    const u0 = inCore ? rF.range(-coreU, coreU - du) : rF.range(-umax * 0.85, umax * 0.85 - du);
    const v0 = inCore ? sideV(rF, half + 40, coreV) : sideV(rF, coreV * 0.6, vmax * 0.85);
    const vv = v0 > 0 ? v0 : v0 - dv;
    const blk = blockAt(u0, vv, du, dv, (c) => use[c] === 255 && village[c] >= 0);
    if (!blk) continue;
    const k = schools.length;
    for (const c of blk.cells) {
      use[c] = U_PUBLIC;
      schoolOf[c] = k;
    }
    const [name, type] = schoolList[k % schoolList.length];
    schools.push({ name, type, cells: blk.cells, box: [U.b[blk.i0], V.b[blk.j0], U.b[blk.i1], V.b[blk.j1]] });
  }

  // green space: some inside compounds (public green of the compound), the rest parks and street green
  const greens: { name: string; cells: number[]; box: [number, number, number, number] }[] = [];
  const inCompound = Math.min(compounds.length, Math.round(spec.greens * 0.4));
  for (let k = 0; k < inCompound; k++) {
    const cp = compounds[k];
    // an interior cell (not on the compound's edge), plus maybe its right neighbour
    const set = new Set(cp.cells);
    const interior = cp.cells.filter((c) => set.has(c - 1) && set.has(c + 1) && set.has(c - nc) && set.has(c + nc));
    const pick = interior.length ? rF.pick(interior) : rF.pick(cp.cells);
    const cells = [pick];
    if (set.has(pick + 1) && interior.includes(pick + 1) && rF.chance(0.6)) cells.push(pick + 1);
    for (const c of cells) greenOf[c] = greens.length;
    greens.push({ name: `${cp.name}中心绿地`, cells, box: boxOfCells(cells) });
  }
  const parkNames = [...PARK_NAMES];
  let streetGreen = 0;
  for (let t = 0; greens.length < spec.greens && t < 4000; t++) {
    const street = rF.chance(0.35);
    let blk;
    if (street) {
      // street green in the first row along the avenue
      const du = rF.range(30, 90);
      const u0 = rF.range(-spec.avenueHalf * 0.9, spec.avenueHalf * 0.9 - du);
      const j = rF.chance(0.5) ? avenueRow + 1 : avenueRow - 1;
      blk = blockAt(u0, vc[j], du, 0.1, (c) => use[c] === 255);
    } else {
      const du = rF.range(40, 140);
      const dv = rF.range(35, 110);
      const u0 = rF.range(-coreU * 1.3, coreU * 1.3 - du);
      const v0 = sideV(rF, half + 40, coreV * 1.3);
      blk = blockAt(u0, v0 > 0 ? v0 : v0 - dv, du, dv, (c) => use[c] === 255);
    }
    if (!blk) continue;
    const k = greens.length;
    for (const c of blk.cells) {
      use[c] = U_GREEN;
      greenOf[c] = k;
    }
    const name = street ? `${spec.avenueName}街头绿地${++streetGreen}号` : parkNames.length ? parkNames.splice(rF.int(0, parkNames.length - 1), 1)[0] : `${spec.name.slice(0, 2)}游园${k}`;
    greens.push({ name: street ? name : spec.index === 0 ? name : `${spec.name.slice(0, 2)}${name}`, cells: blk.cells, box: boxOfCells(blk.cells) });
  }
  function boxOfCells(cells: number[]): [number, number, number, number] {
    let i0 = Infinity, i1 = -Infinity, j0 = Infinity, j1 = -Infinity;
    for (const c of cells) {
      const i = c % nc;
      const j = Math.floor(c / nc);
      i0 = Math.min(i0, i);
      i1 = Math.max(i1, i + 1);
      j0 = Math.min(j0, j);
      j1 = Math.max(j1, j + 1);
    }
    return [U.b[i0], V.b[j0], U.b[i1], V.b[j1]];
  }

  // industrial zone on one side of the avenue, toward one end
  const indSide = rF.chance(0.5) ? 1 : -1;
  const indU: [number, number] = indSide > 0 ? [umax * 0.45, umax * 0.85] : [-umax * 0.85, -umax * 0.45];
  const indV: [number, number] = [half + 100, Math.max(half + 250, vmax * 0.38)];
  const indSign = rF.chance(0.5) ? 1 : -1;
  const inIndustry = (u: number, v: number) => u >= indU[0] && u <= indU[1] && v * indSign >= indV[0] && v * indSign <= indV[1];

  // settlement clusters (院落) of each village
  const rS = rngRoot.fork('settlements');
  const clusters: { u: number; v: number; r: number; village: number }[] = [];
  const byVillage: number[][] = seeds.map(() => []);
  for (let c = 0; c < nCells; c++) if (village[c] >= 0) byVillage[village[c]].push(c);
  seeds.forEach((s, k) => {
    const n = s.community ? 1 : rS.int(3, 7);
    const cells = byVillage[k];
    for (let t = 0; t < n && cells.length; t++) {
      const c = rS.pick(cells);
      const u = uc[c % nc];
      const v = vc[Math.floor(c / nc)];
      if (coreness(u, v) > 0.3 || inIndustry(u, v)) continue;
      clusters.push({ u, v, r: rS.range(45, 110), village: k });
    }
  });
  // a cluster in the gap corner too, so some survey polygons fall outside every village
  const gapCentre = { u: umax - spec.gap[0] / 2, v: vmax - spec.gap[1] / 2 };

  const inCluster = new Uint8Array(nCells);
  const markDisc = (u: number, v: number, r: number) => {
    for (let j = rowAt(v - r); j <= rowAt(v + r); j++)
      for (let i = colAt(u - r); i <= colAt(u + r); i++) if ((uc[i] - u) ** 2 + (vc[j] - v) ** 2 < r * r) inCluster[j * nc + i] = 1;
  };
  for (const cl of clusters) markDisc(cl.u, cl.v, cl.r);
  markDisc(gapCentre.u, gapCentre.v, 60);

  const rU = rngRoot.fork('landuse');
  const p1 = rU.range(0, 6.28), p2 = rU.range(0, 6.28), p3 = rU.range(0, 6.28);
  const hill = (u: number, v: number) => (Math.sin(u / 610 + p1) + Math.sin(v / 470 + p2) + Math.sin((u + v) / 830 + p3)) / 3;
  for (let j = 0; j < nr; j++) {
    for (let i = 0; i < nc; i++) {
      const c = j * nc + i;
      if (use[c] !== 255) continue;
      const u = uc[i];
      const v = vc[j];
      const frontRow = Math.abs(j - avenueRow) <= 2 && Math.abs(u) < spec.avenueHalf;
      let lu: number;
      if (inIndustry(u, v)) lu = rU.chance(0.9) ? U_INDUSTRY : U_COMMERCE;
      else if (frontRow) lu = rU.weighted([[U_COMMERCE, 55], [U_URBAN_RES, 25], [U_HOMESTEAD, 20]]);
      else if (coreness(u, v) >= 1) lu = rU.weighted([[U_URBAN_RES, 50], [U_HOMESTEAD, 25], [U_COMMERCE, 17], [U_PUBLIC, 5], [U_GREEN, 3]]);
      else if (coreness(u, v) > 0 && rU.chance(coreness(u, v))) lu = rU.weighted([[U_HOMESTEAD, 60], [U_URBAN_RES, 20], [U_COMMERCE, 10], [U_FARM, 10]]);
      else {
        if (inCluster[c]) lu = rU.chance(0.8) ? U_HOMESTEAD : U_FARM;
        else {
          const h = hill(u, v) + rU.range(-0.12, 0.12);
          lu = h > 0.22 ? U_FOREST : h > 0.08 ? (rU.chance(0.5) ? U_ORCHARD : U_FARM) : rU.chance(0.004) ? U_WATER : U_FARM;
        }
      }
      use[c] = lu;
    }
  }

  // --- parcels (merge some neighbouring cells) -----------------------------------------------
  const rP = rngRoot.fork('parcels');
  const parcelOf = new Int32Array(nCells).fill(-1);
  const multi = new Map<number, number[]>();
  const first: number[] = [];
  const sameKind = (a: number, b: number) =>
    use[a] === use[b] && village[a] === village[b] && compoundOf[a] === compoundOf[b] && greenOf[a] === greenOf[b] && schoolOf[a] === schoolOf[b];
  const MAX_AREA = 3000;
  for (let j = 0; j < nr; j++) {
    for (let i = 0; i < nc; i++) {
      const c = j * nc + i;
      if (parcelOf[c] >= 0) continue;
      const pid = first.length;
      first.push(c);
      parcelOf[c] = pid;
      const group = [c];
      if (V.road[j] !== 0) {
        // road rows: runs along the row
        const target = rP.range(500, 2200);
        let area = cellArea(c);
        for (let k = i + 1; k < nc && area < target; k++) {
          const n = j * nc + k;
          if (parcelOf[n] >= 0 || village[n] !== village[c] || area + cellArea(n) > MAX_AREA) break;
          parcelOf[n] = pid;
          group.push(n);
          area += cellArea(n);
        }
      } else if (U.road[i] !== 0) {
        // road columns: runs up the column, stopping at road rows
        const target = rP.range(400, 1500);
        let area = cellArea(c);
        for (let k = j + 1; k < nr && area < target && V.road[k] === 0; k++) {
          const n = k * nc + i;
          if (parcelOf[n] >= 0 || village[n] !== village[c] || area + cellArea(n) > MAX_AREA) break;
          parcelOf[n] = pid;
          group.push(n);
          area += cellArea(n);
        }
      } else {
        const rural = use[c] === U_FARM || use[c] === U_FOREST || use[c] === U_ORCHARD;
        if (rP.chance(rural ? spec.mergeRural : spec.mergeRural / 2)) {
          const shapes: number[][] = [];
          const right = i + 1 < nc ? c + 1 : -1;
          const upc = j + 1 < nr ? c + nc : -1;
          const upRight = right >= 0 && upc >= 0 ? c + nc + 1 : -1;
          shapes.push([right], [upc], [right, upc], [right, upRight]);
          const shape = rP.weighted([
            [0, 45],
            [1, 35],
            [2, 10],
            [3, 10],
          ]);
          const cand = shapes[shape];
          let ok = cand.every((n) => n >= 0 && parcelOf[n] < 0 && !isRoad(n) && sameKind(c, n));
          if (ok) {
            const area = cand.reduce((a, n) => a + cellArea(n), cellArea(c));
            ok = area <= MAX_AREA;
          }
          if (ok)
            for (const n of cand) {
              parcelOf[n] = pid;
              group.push(n);
            }
        }
      }
      if (group.length > 1) multi.set(pid, group);
    }
  }

  // emit parcels
  const rO = rngRoot.fork('owners');
  const seqByVillage = new Map<string, number>();
  const collectiveName = (k: number) => (k >= 0 ? `${villageMeta[k].name}${rO.pick(['第一', '第二', '第三', '第四', '第五', '第六'])}村民小组` : '农民集体');
  for (let pid = 0; pid < first.length; pid++) {
    const c = first[pid];
    const cells = multi.get(pid);
    let geom: Polygon;
    if (!cells) {
      const i = c % nc;
      const j = (c - i) / nc;
      const v00 = j * nv + i;
      geom = { type: 'Polygon', coordinates: [ringOf([v00, v00 + 1, v00 + nv + 1, v00 + nv])] };
    } else {
      const g = cellsToGeometry(cells);
      if (g.type !== 'Polygon') throw new Error('parcel traced to a multipolygon');
      geom = g;
    }
    const k = village[c];
    const lu = use[c];
    const vcode = k >= 0 ? villageMeta[k].code : spec.gapCode;
    const seq = (seqByVillage.get(vcode) ?? 0) + 1;
    seqByVillage.set(vcode, seq);
    let owner: string;
    switch (lu) {
      case U_HOMESTEAD:
        owner = personName(rO);
        break;
      case U_FARM:
      case U_ORCHARD:
        owner = rO.chance(0.8) ? personName(rO) : collectiveName(k);
        break;
      case U_FOREST:
      case U_WATER:
        owner = rO.chance(0.35) ? personName(rO) : `${k >= 0 ? villageMeta[k].name : ''}农民集体`;
        break;
      case U_URBAN_RES:
        owner = compoundOf[c] >= 0 || rO.chance(0.3) ? companyName(rO) : personName(rO);
        break;
      case U_COMMERCE:
        owner = rO.chance(0.55) ? personName(rO) : companyName(rO);
        break;
      case U_INDUSTRY:
        owner = companyName(rO);
        break;
      case U_PUBLIC:
        owner = schoolOf[c] >= 0 ? schools[schoolOf[c]].name : `永川区${spec.name}人民政府`;
        break;
      case U_GREEN:
        owner = greenOf[c] >= 0 && compoundOf[c] >= 0 ? `${compounds[compoundOf[c]].name}全体业主` : `永川区${spec.name}人民政府`;
        break;
      default:
        owner = '永川区交通运输委员会';
    }
    const area = polygonArea(geom.coordinates);
    const approved = rO.chance(0.03) ? null : Math.round(area * (1 + rO.normal(0, lu === U_HOMESTEAD ? 0.04 : 0.015)) * 100) / 100;
    parcelSink(geom, {
      宗地代码: `${vcode}${FEATURE_CODE[lu]}${String(seq).padStart(5, '0')}`,
      权利人: owner,
      土地用途: LAND_USES[lu],
      批准面积: approved,
      行政区代码: vcode,
    });
  }

  // --- villages, features, avenue ---------------------------------------------------------------
  const villages: Village[] = villageMeta.map((m, k) => ({ name: m.name, code: m.code, geometry: cellsToGeometry(byVillage[k]) }));
  const schoolOut: School[] = schools.map((s) => {
    const geometry = cellsToGeometry(s.cells);
    const [u0, v0, u1, v1] = s.box;
    return { name: s.name, type: s.type, geometry, centre: frame.toWorld((u0 + u1) / 2, (v0 + v1) / 2) };
  });
  const compoundOut: NamedArea[] = compounds.map((c) => ({ name: c.name, geometry: cellsToGeometry(c.cells) }));
  const greenOut: NamedArea[] = greens.map((g) => ({ name: g.name, geometry: cellsToGeometry(g.cells) }));

  const line: Position[] = [];
  const nSeg = Math.max(8, Math.round((2 * spec.avenueHalf) / 25));
  for (let k = 0; k <= nSeg; k++) line.push(frame.toWorld(-spec.avenueHalf + (2 * spec.avenueHalf * k) / nSeg, 0));
  const band = offsetBand(line, spec.bandWidth / 2);

  // --- survey polygons ---------------------------------------------------------------------------
  const survey = generateSurvey({
    spec,
    rng: rngRoot.fork('survey'),
    frame,
    cellAt: (u, v) => {
      const i = colAt(u);
      const j = rowAt(v);
      return isRoad(j * nc + i) ? null : [U.b[i], V.b[j], U.b[i + 1], V.b[j + 1]];
    },
    villageAt: (u, v) => {
      const i = colAt(u);
      const j = rowAt(v);
      if (i < 0 || j < 0 || i >= nc || j >= nr) return -1;
      return village[j * nc + i];
    },
    villageMeta,
    clusters,
    compounds: compounds.map((c) => c.box),
    greens: greens.map((g) => g.box),
    schools: schools.map((s) => s.box),
    industry: { u: indU, v: indSign > 0 ? indV : [-indV[1], -indV[0]] },
    gapCentre,
  });

  return {
    spec,
    parcelCount: first.length,
    villages,
    schools: schoolOut,
    compounds: compoundOut,
    greens: greenOut,
    avenue: { name: spec.avenueName, width: spec.bandWidth, line: { type: 'LineString', coordinates: line }, band },
    survey,
  };
}

/** index of the interval of sorted boundaries `b` holding x (clamped) */
function bsearch(b: number[], x: number): number {
  let lo = 0;
  let hi = b.length - 2;
  if (x <= b[0]) return 0;
  if (x >= b[b.length - 1]) return b.length - 2;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (b[mid] <= x) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Polygon band of half-width d around a polyline (mitred joints, flat ends). */
export function offsetBand(line: Position[], d: number): Polygon {
  const n = line.length;
  const normals: XY[] = [];
  for (let k = 0; k < n; k++) {
    const a = line[Math.max(0, k - 1)];
    const b = line[Math.min(n - 1, k + 1)];
    const tx = b[0] - a[0];
    const ty = b[1] - a[1];
    const len = Math.hypot(tx, ty);
    normals.push([-ty / len, tx / len]);
  }
  // mitre: scale the averaged normal so the offset is d from both adjacent segments
  const seg = (k: number): XY => {
    const tx = line[k + 1][0] - line[k][0];
    const ty = line[k + 1][1] - line[k][1];
    const len = Math.hypot(tx, ty);
    return [-ty / len, tx / len];
  };
  const left: Position[] = [];
  const right: Position[] = [];
  for (let k = 0; k < n; k++) {
    let nx = normals[k][0];
    let ny = normals[k][1];
    if (k > 0 && k < n - 1) {
      const s = seg(k);
      const cos = nx * s[0] + ny * s[1];
      nx /= cos;
      ny /= cos;
    }
    left.push([round4(line[k][0] + nx * d), round4(line[k][1] + ny * d)]);
    right.push([round4(line[k][0] - nx * d), round4(line[k][1] - ny * d)]);
  }
  const ring = [...right, ...left.reverse()];
  ring.push(ring[0]);
  return { type: 'Polygon', coordinates: [ring] };
}

// ---------------------------------------------------------------------------------------------
// survey polygons

interface SurveyContext {
  spec: TownSpec;
  rng: Rng;
  frame: Frame;
  villageAt: (u: number, v: number) => number;
  /** the (unjittered) cell box at (u, v), null on roads */
  cellAt: (u: number, v: number) => [number, number, number, number] | null;
  villageMeta: { name: string; code: string; before: string; after: string }[];
  clusters: { u: number; v: number; r: number; village: number }[];
  compounds: [number, number, number, number][];
  greens: [number, number, number, number][];
  schools: [number, number, number, number][];
  industry: { u: [number, number]; v: [number, number] };
  gapCentre: { u: number; v: number };
}

class CircleHash {
  private cells = new Map<number, number[]>();
  private circles: number[] = []; // u, v, r triples
  constructor(private readonly size = 60) {}
  private key(a: number, b: number) {
    return (a + 10000) * 20011 + (b + 10000);
  }
  free(u: number, v: number, r: number): boolean {
    const s = this.size;
    for (let a = Math.floor((u - r) / s) - 1; a <= Math.floor((u + r) / s) + 1; a++)
      for (let b = Math.floor((v - r) / s) - 1; b <= Math.floor((v + r) / s) + 1; b++) {
        const l = this.cells.get(this.key(a, b));
        if (!l) continue;
        for (const k of l) {
          const cu = this.circles[k];
          const cv = this.circles[k + 1];
          const cr = this.circles[k + 2];
          if ((cu - u) ** 2 + (cv - v) ** 2 < (cr + r + 1.5) ** 2) return false;
        }
      }
    return true;
  }
  add(u: number, v: number, r: number): void {
    const k = this.circles.length;
    this.circles.push(u, v, r);
    const s = this.size;
    for (let a = Math.floor((u - r) / s); a <= Math.floor((u + r) / s); a++)
      for (let b = Math.floor((v - r) / s); b <= Math.floor((v + r) / s); b++) {
        const key = this.key(a, b);
        let l = this.cells.get(key);
        if (!l) this.cells.set(key, (l = []));
        l.push(k);
      }
  }
}

function generateSurvey(ctx: SurveyContext): SurveyItem[] {
  const { spec, rng, frame } = ctx;
  const { umax, vmax, coreU, coreV } = spec;
  const half = spec.roadWidth / 2;
  const hash = new CircleHash();
  const items: SurveyItem[] = [];
  const nGap = Math.max(3, Math.round(spec.survey * 0.004));
  const categories: [string, number][] = [
    ['avenue', 26],
    ['village', 30],
    ['core', 9],
    ['compound', ctx.compounds.length ? 8 : 0],
    ['green', ctx.greens.length ? 4 : 0],
    ['school', ctx.schools.length ? 5 : 0],
    ['industry', 8],
    ['farmland', 7],
  ];
  const inBox = (b: [number, number, number, number], m = 3): [number, number] => [rng.range(b[0] + m, b[2] - m), rng.range(b[1] + m, b[3] - m)];

  let attempts = 0;
  while (items.length < spec.survey && attempts < spec.survey * 60) {
    attempts++;
    const category = items.length < nGap ? 'gap' : rng.weighted(categories);
    // anchor
    let u = 0;
    let v = 0;
    let angle = rng.chance(0.75) ? (rng.chance(0.5) ? 0 : Math.PI / 2) + rng.normal(0, 0.06) : rng.range(0, Math.PI);
    let areaRange: [number, number] = [80, 1200];
    let shapeKind = rng.weighted([
      ['rect', 70],
      ['L', 20],
      ['blob', 10],
    ] as const);
    switch (category) {
      case 'avenue': {
        u = rng.range(-spec.avenueHalf * 0.97, spec.avenueHalf * 0.97);
        areaRange = [80, 900];
        break;
      }
      case 'village': {
        if (!ctx.clusters.length) continue;
        const cl = rng.pick(ctx.clusters);
        u = cl.u + rng.normal(0, cl.r * 0.6);
        v = cl.v + rng.normal(0, cl.r * 0.6);
        areaRange = [80, 600];
        break;
      }
      case 'core':
        u = rng.range(-coreU, coreU);
        v = (rng.chance(0.5) ? 1 : -1) * rng.range(half + 40, coreV);
        break;
      case 'compound':
        [u, v] = inBox(rng.pick(ctx.compounds), 6);
        areaRange = [80, 400];
        break;
      case 'green':
        [u, v] = inBox(rng.pick(ctx.greens), 2);
        areaRange = [80, 300];
        break;
      case 'school': {
        const b = rng.pick(ctx.schools);
        const cu = (b[0] + b[2]) / 2;
        const cv = (b[1] + b[3]) / 2;
        const t = rng.range(0, Math.PI * 2);
        const d = Math.max(b[2] - b[0], b[3] - b[1]) / 2 + rng.range(-10, 180);
        u = cu + d * Math.cos(t);
        v = cv + d * Math.sin(t);
        areaRange = [80, 500];
        break;
      }
      case 'industry':
        u = rng.range(ctx.industry.u[0], ctx.industry.u[1]);
        v = rng.range(ctx.industry.v[0], ctx.industry.v[1]);
        areaRange = [300, 2000];
        if (shapeKind === 'blob') shapeKind = 'rect';
        break;
      case 'farmland':
        u = rng.range(-umax * 0.95, umax * 0.95);
        v = rng.range(-vmax * 0.95, vmax * 0.95);
        areaRange = [200, 2000];
        shapeKind = rng.chance(0.6) ? 'blob' : 'rect';
        break;
      default: // gap
        u = ctx.gapCentre.u + rng.normal(0, 40);
        v = ctx.gapCentre.v + rng.normal(0, 50);
        areaRange = [80, 400];
        shapeKind = 'rect';
    }
    // size (blobs come out up to ~40 % smaller than asked: ask for more)
    if (shapeKind === 'blob') areaRange = [Math.max(areaRange[0], 150), areaRange[1]];
    const area = rng.logRange(areaRange[0], areaRange[1]);
    const aspect = rng.range(1, 2.6);
    let w = Math.sqrt(area * aspect);
    let h = area / w;
    if (category === 'avenue') {
      // first row: the front edge near the road edge (some a few metres onto the road, most behind it)
      angle = rng.normal(0, 0.04);
      const side = rng.chance(0.5) ? 1 : -1;
      const front = half + rng.range(-3, 45);
      v = side * (front + h / 2);
    }
    if (Math.abs(u) > umax - 5 || Math.abs(v) > vmax - 5) continue;
    // most buildings stand inside their own parcel: fit into the cell (jitter moves cell edges by
    // up to 20 % of the cell size, so keep within the middle 55 %)
    const fit = shapeKind !== 'blob' && category !== 'farmland' && rng.chance(category === 'industry' ? 0.3 : 0.6) ? ctx.cellAt(u, v) : null;
    if (fit) {
      const cw = fit[2] - fit[0];
      const ch = fit[3] - fit[1];
      const maxW = cw * 0.55;
      const maxH = ch * 0.55;
      if (maxW * maxH >= 80) {
        angle = rng.normal(0, 0.02);
        w = Math.min(w, maxW);
        h = Math.min(h, maxH);
        if (w * h < 80) {
          const k = Math.sqrt(80 / (w * h));
          w = Math.min(maxW, w * k);
          h = Math.min(maxH, h * k);
        }
        u = (fit[0] + fit[2]) / 2 + rng.range(-1, 1) * (maxW - w) * 0.5;
        v = (fit[1] + fit[3]) / 2 + rng.range(-1, 1) * (maxH - h) * 0.5;
      }
    }
    if (shapeKind === 'L' && w * h * 0.64 < areaRange[0]) shapeKind = 'rect'; // the notch would leave too little
    let pts: XY[];
    if (shapeKind === 'blob') {
      const r = Math.sqrt(area / Math.PI);
      pts = blob(u, v, r, rng.int(7, 12), rng);
      w = h = 2 * r * 1.25;
    } else if (shapeKind === 'L') {
      pts = lShape(u, v, w, h, w * rng.range(0.3, 0.6), h * rng.range(0.3, 0.6), angle);
    } else {
      pts = rectangle(u, v, w, h, angle);
    }
    const radius = Math.hypot(w, h) / 2;
    if (!hash.free(u, v, radius)) continue;
    const parts: XY[][] = [pts];
    let dirt: SurveyItem['dirt'];
    if (shapeKind === 'rect' && category !== 'gap' && rng.chance(0.016)) {
      parts[0] = bowTie(pts);
      dirt = 'bowtie';
    } else if (shapeKind === 'rect' && rng.chance(0.006)) {
      // a second building a few metres away, delivered as one multipart record
      const du = w + rng.range(4, 10);
      const second = rectangle(u + du * Math.cos(angle), v + du * Math.sin(angle), w * 0.6, h * 0.8, angle);
      if (hash.free(u + du * Math.cos(angle), v + du * Math.sin(angle), radius)) {
        parts.push(second);
        hash.add(u + du * Math.cos(angle), v + du * Math.sin(angle), radius);
        dirt = 'multipart';
      }
    }
    hash.add(u, v, radius);

    const world = parts.map((p) => frame.ring(p));
    const geometry: Polygon | MultiPolygon =
      world.length === 1 ? { type: 'Polygon', coordinates: [world[0]] } : { type: 'MultiPolygon', coordinates: world.map((r) => [r]) };
    const trueArea = world.reduce((a, r) => a + Math.abs(polygonAreaSigned(r)), 0);
    const vk = ctx.villageAt(u, v);
    let meta = vk >= 0 ? ctx.villageMeta[vk] : null;
    if (vk < 0) dirt = 'outside-villages';
    else if (!dirt && rng.chance(0.01) && ctx.villageMeta.length > 1) {
      meta = ctx.villageMeta[(vk + 1) % ctx.villageMeta.length];
      dirt = 'wrong-village';
    }
    const changeType =
      shapeKind === 'blob'
        ? rng.weighted([
            ['推填土', 55],
            ['硬化地面', 40],
            ['其他', 5],
          ])
        : category === 'industry'
          ? rng.weighted([
              ['新增建设用地', 75],
              ['疑似违法建筑', 15],
              ['硬化地面', 10],
            ])
          : rng.weighted([
              ['新增建设用地', 50],
              ['疑似违法建筑', 38],
              ['硬化地面', 8],
              ['其他', 4],
            ]);
    const before = meta && rng.chance(0.95) ? meta.before : rng.pick(['2019-10-12', '2019-12-18']);
    const after = meta && rng.chance(0.95) ? meta.after : rng.pick(['2020-09-26', '2020-11-08']);
    items.push({
      geometry,
      villageCode: meta?.code ?? '',
      villageName: meta?.name ?? '',
      before,
      after,
      changeType,
      deliveredArea: Math.round(trueArea * (1 + rng.normal(0, 0.012)) * 100) / 100,
      remark: rng.pick(SURVEY_REMARKS),
      sortKey: u,
      category,
      dirt,
    });
  }

  // null and empty records (delivered with attributes but no shape)
  const nullAt = (k: number, kind: 'null' | 'empty') => {
    const base = items[k];
    items[k] = {
      ...base,
      geometry: kind === 'null' ? null : { type: 'Polygon', coordinates: [] },
      dirt: kind,
    };
  };
  if (items.length > 10) {
    nullAt(Math.floor(items.length * 0.31), 'null');
    nullAt(Math.floor(items.length * 0.67), 'null');
    nullAt(Math.floor(items.length * 0.83), 'empty');
  }
  return items;
}

function polygonAreaSigned(ring: Position[]): number {
  const x0 = ring[0][0];
  const y0 = ring[0][1];
  let s = 0;
  for (let i = 1; i < ring.length - 1; i++) s += (ring[i][0] - x0) * (ring[i + 1][1] - y0) - (ring[i + 1][0] - x0) * (ring[i][1] - y0);
  return s / 2;
}
