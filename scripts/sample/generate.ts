/**
 * Synthetic Ji'an-like sample data in the delivery formats (zipped ESRI shapefiles, GBK, CGCS2000
 * GK zone 35 with zone prefix = EPSG:4523). See `generateSample`.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import proj4 from 'proj4';
import { ShapefileFileWriter, type DbfField, type ShapeKind, type ShpGeometry } from '../../server/shapefile/write';
import { esriWktForEpsg, proj4ForEpsg } from '../../server/shapefile/prj';
import { Rng } from './prng';
import { TOWNS, townAt } from './names';
import { generateTown, type SurveyItem, type TownResult, type TownSpec } from './town';
import { dosDateTime, writeZip, type ZipEntry } from './zip';

export type SampleScale = 'tiny' | 'town' | 'district' | 'large';

export interface GenerateSampleOptions {
  /** output directory (created) */
  out: string;
  scale?: SampleScale;
  seed?: number;
  onProgress?: (p: { stage: string; done: number; total: number }) => void;
}

export interface LayerInfo {
  key: string;
  file: string;
  layer: string;
  geometry: 'Polygon' | 'PolyLine' | 'Point';
  count: number;
  encoding: 'GBK';
  cpg: boolean;
  ldid: boolean;
  fields: { name: string; type: string; length: number; decimals: number }[];
  bbox: [number, number, number, number] | null;
}

export interface SampleManifest {
  generator: 'tuban scripts/generate-sample.ts';
  synthetic: true;
  seed: number;
  scale: SampleScale;
  epsg: 4523;
  proj4: string;
  centre: { lon: number; lat: number; x: number; y: number };
  towns: { name: string; code: string; villages: number; parcels: number; survey: number }[];
  layers: LayerInfo[];
  /** what was deliberately put into the survey layer */
  surveyDirt: Record<string, number>;
  surveyCategories: Record<string, number>;
  millis: number;
}

export const EPSG = 4523;
/** Ji'an town centre (approximate) */
export const CENTRE_LONLAT: [number, number] = [105.93, 29.4];
/** fixed time stamp of every zip entry and DBF header: the campaign's publicity phase starts 2021-04-15 */
const STAMP_ZIP = dosDateTime(2021, 4, 15, 9, 0, 0);
const STAMP_UTC = new Date(Date.UTC(2021, 3, 15, 1, 0, 0));

// ---------------------------------------------------------------------------------------------
// layers: names, fields, encoding choices (documented in the README)

interface LayerDef {
  key: string;
  file: string;
  layer: (scale: SampleScale) => string;
  shape: ShapeKind;
  cpg: boolean;
  ldid: boolean;
  fields: DbfField[];
  note: string;
}

const SURVEY_FIELDS: DbfField[] = [
  { name: '图斑编号', type: 'C', length: 20 },
  { name: '行政区代码', type: 'C', length: 12 },
  { name: '村名', type: 'C', length: 30 },
  { name: '前时相', type: 'D' },
  { name: '后时相', type: 'D' },
  { name: '变化类型', type: 'C', length: 20 },
  { name: '面积', type: 'N', length: 14, decimals: 2 },
  { name: '备注', type: 'C', length: 80 },
];

const LAYERS: LayerDef[] = [
  {
    key: 'survey',
    file: 'survey-2020.zip',
    layer: () => '2020年遥感监测图斑',
    shape: 'polygon',
    cpg: true,
    ldid: true,
    fields: SURVEY_FIELDS,
    note: '2020 remote-sensing suspect change polygons (图斑)',
  },
  {
    key: 'cadastral',
    file: 'cadastral.zip',
    layer: () => '宗地',
    shape: 'polygon',
    cpg: false,
    ldid: true,
    fields: [
      { name: '宗地代码', type: 'C', length: 19 },
      { name: '权利人', type: 'C', length: 60 },
      { name: '土地用途', type: 'C', length: 30 },
      { name: '批准面积', type: 'N', length: 12, decimals: 2 },
      { name: '行政区代码', type: 'C', length: 12 },
    ],
    note: 'cadastral parcels (宗地), tiling the area without overlaps',
  },
  {
    key: 'frontage',
    file: 'frontage.zip',
    layer: (s) => (s === 'district' || s === 'large' ? '镇区大道中心线' : '吉安大道中心线'),
    shape: 'polyline',
    cpg: true,
    ldid: true,
    fields: [
      { name: '道路名称', type: 'C', length: 30 },
      { name: '宽度', type: 'N', length: 6, decimals: 1 },
      { name: '备注', type: 'C', length: 60 },
    ],
    note: 'avenue centreline; the frontage is the band of 宽度 metres (total) around it',
  },
  {
    key: 'frontageBand',
    file: 'frontage-band.zip',
    layer: (s) => (s === 'district' || s === 'large' ? '镇区大道临街带' : '吉安大道临街带'),
    shape: 'polygon',
    cpg: true,
    ldid: false,
    fields: [
      { name: '道路名称', type: 'C', length: 30 },
      { name: '宽度', type: 'N', length: 6, decimals: 1 },
      { name: '备注', type: 'C', length: 60 },
    ],
    note: 'the same frontage delivered as a buffered polygon band (flat ends)',
  },
  {
    key: 'villages',
    file: 'villages.zip',
    layer: () => '村级行政区',
    shape: 'polygon',
    cpg: false,
    ldid: false,
    fields: [
      { name: '村名', type: 'C', length: 30 },
      { name: '行政区代码', type: 'C', length: 12 },
      { name: '乡镇', type: 'C', length: 20 },
    ],
    note: 'villages and communities (村/社区); a corner of each town is left uncovered on purpose',
  },
  {
    key: 'schools',
    file: 'schools.zip',
    layer: () => '学校',
    shape: 'polygon',
    cpg: true,
    ldid: true,
    fields: [
      { name: '学校名称', type: 'C', length: 60 },
      { name: '类型', type: 'C', length: 20 },
    ],
    note: 'school campuses (polygons)',
  },
  {
    key: 'schoolsPoint',
    file: 'schools-point.zip',
    layer: () => '学校点',
    shape: 'point',
    cpg: false,
    ldid: true,
    fields: [
      { name: '学校名称', type: 'C', length: 60 },
      { name: '类型', type: 'C', length: 20 },
    ],
    note: 'the same schools as points (campus centres)',
  },
  {
    key: 'compounds',
    file: 'compounds.zip',
    layer: () => '居住小区',
    shape: 'polygon',
    cpg: false,
    ldid: true,
    fields: [{ name: '小区名称', type: 'C', length: 40 }],
    note: 'residential compounds (小区)',
  },
  {
    key: 'green',
    file: 'green.zip',
    layer: () => '公共绿地',
    shape: 'polygon',
    cpg: true,
    ldid: true,
    fields: [
      { name: '名称', type: 'C', length: 60 },
      { name: '类型', type: 'C', length: 20 },
    ],
    note: 'public green space: parks, street green, the public green inside compounds',
  },
];

// ---------------------------------------------------------------------------------------------
// scales

export interface ScalePlan {
  towns: TownSpec[];
}

function gkCentre(): { x: number; y: number } {
  const [x, y] = proj4(proj4ForEpsg(EPSG)).forward(CENTRE_LONLAT);
  return { x, y };
}

/** The towns of a scale; `generateSampleImagery` rebuilds the same towns from the same seed through it. */
export function planScale(scale: SampleScale, rng: Rng): ScalePlan {
  const c = gkCentre();
  const r = rng.fork('plan');
  const base = (index: number, count = TOWNS.length): Pick<TownSpec, 'index' | 'name' | 'code9' | 'avenueName' | 'gapCode' | 'bandWidth' | 'roadWidth'> => {
    const [name, code9, avenueName] = townAt(index);
    const neighbour = townAt((index + 1) % count)[1];
    return { index, name, code9, avenueName, gapCode: `${neighbour}230`, bandWidth: 60, roadWidth: 30 };
  };
  if (scale === 'tiny') {
    return {
      towns: [
        {
          ...base(0),
          frame: { ox: c.x, oy: c.y, theta: 0.45, amp: 25, wavelength: 1400, phase: r.range(0, 6.28), taper: 300 },
          umax: 450,
          vmax: 300,
          coreU: 220,
          coreV: 150,
          avenueHalf: 400,
          coreSize: [16, 30],
          ruralSize: [30, 52],
          mergeRural: 0.3,
          villages: 3,
          communities: 1,
          compounds: 2,
          greens: 3,
          schools: 1,
          survey: 50,
          gap: [110, 90],
        },
      ],
    };
  }
  if (scale === 'town') {
    return {
      towns: [
        {
          ...base(0),
          frame: { ox: c.x, oy: c.y, theta: 0.45, amp: 120, wavelength: 4200, phase: r.range(0, 6.28), taper: 2500 },
          umax: 3000,
          vmax: 2500,
          coreU: 1000,
          coreV: 650,
          avenueHalf: 2600,
          coreSize: [14, 28],
          ruralSize: [26, 52],
          mergeRural: 0.3,
          villages: 10,
          communities: 2,
          compounds: 15,
          greens: 20,
          schools: 6,
          survey: 1500,
          gap: [260, 380],
        },
      ],
    };
  }
  // district: 4 × 4 towns of 7.2 km × 7.2 km, 吉安镇 at tile (1, 1) centred on the real centre.
  // large (the scale curve, issue 17 item 2): ten districts' worth, 16 × 10 towns (115 km × 72 km, inside
  // the GK zone), the same per-town density, so every phase should grow linearly with the town count.
  const [cols, rows] = scale === 'large' ? [16, 10] : [4, 4];
  const tile = 7200;
  const towns: TownSpec[] = [];
  const order: [number, number][] = [];
  for (let row = 0; row < rows; row++) for (let col = 0; col < cols; col++) order.push([col, row]);
  // 吉安镇 first
  order.sort((a, b) => (a[0] === 1 && a[1] === 1 ? -1 : b[0] === 1 && b[1] === 1 ? 1 : 0));
  order.forEach(([col, row], index) => {
    const tr = r.fork(`town${index}`);
    towns.push({
      ...base(index, cols * rows),
      frame: {
        ox: c.x + (col - 1) * tile,
        oy: c.y + (row - 1) * tile,
        // square tiles: a quarter turn keeps the tile edges on the axes
        theta: (col + row) % 2 ? Math.PI / 2 : 0,
        amp: tr.range(60, 160),
        wavelength: tr.range(3500, 6000),
        phase: tr.range(0, 6.28),
        taper: tile / 2,
      },
      umax: tile / 2,
      vmax: tile / 2,
      coreU: tr.range(700, 1000),
      coreV: tr.range(450, 650),
      avenueHalf: tile / 2 - 300,
      coreSize: [16, 31],
      ruralSize: [35, 56],
      mergeRural: 0.7,
      villages: tr.int(9, 11),
      communities: tr.int(1, 2),
      compounds: 6,
      greens: 8,
      schools: 4,
      survey: 3125,
      gap: [300, 400],
    });
  });
  return { towns };
}

// ---------------------------------------------------------------------------------------------

const SYNTHETIC_TXT = (seed: number, scale: SampleScale, file: string, layer: string) =>
  [
    '合成数据 / SYNTHETIC DATA',
    '',
    `本压缩包由 tuban 的 scripts/generate-sample.ts 随机生成（种子 ${seed}，规模 ${scale}），`,
    '仿照永川区吉安镇的交付格式，不是吉安镇或任何真实地区的真实数据；人名、单位名、编码均为虚构。',
    '',
    `Generated by tuban scripts/generate-sample.ts (seed ${seed}, scale ${scale}) in the delivery formats of`,
    "Ji'an town, Yongchuan district, Chongqing. It is NOT real data of Ji'an or of any place: people,",
    'organisations and codes are invented.',
    '',
    `文件 / file: ${file}    图层 / layer: ${layer}`,
    '坐标系 / CRS: CGCS2000 3-degree Gauss-Kruger zone 35 with zone prefix (EPSG:4523), .prj = ESRI WKT',
    '',
  ].join('\r\n');

interface LayerWriter {
  def: LayerDef;
  layerName: string;
  base: string;
  writer: ShapefileFileWriter;
}

/**
 * Generate the sample into `out`. Deterministic for a seed: the same seed and scale give
 * byte-identical zips. Town scale takes a few seconds; district a minute or less.
 */
export function generateSample(opts: GenerateSampleOptions): SampleManifest {
  const t0 = Date.now();
  const scale = opts.scale ?? 'town';
  const seed = opts.seed ?? 42;
  const progress = opts.onProgress ?? (() => {});
  const rng = new Rng(seed);
  const plan = planScale(scale, rng);
  mkdirSync(opts.out, { recursive: true });
  const tmp = join(opts.out, `.tmp-generate-${process.pid}-${Date.now()}`);
  mkdirSync(tmp, { recursive: true });
  const prj = esriWktForEpsg(EPSG);

  try {
    const writers = new Map<string, LayerWriter>();
    for (const def of LAYERS) {
      const layerName = def.layer(scale);
      const base = join(tmp, def.key, layerName);
      mkdirSync(join(tmp, def.key), { recursive: true });
      writers.set(def.key, {
        def,
        layerName,
        base,
        writer: new ShapefileFileWriter(base, {
          shapeType: def.shape,
          fields: def.fields,
          encoding: 'gbk',
          ldid: def.ldid,
          cpg: def.cpg,
          prj,
          date: STAMP_UTC,
        }),
      });
    }
    const add = (key: string, g: ShpGeometry | null, rec: Record<string, unknown>) => writers.get(key)!.writer.add(g, rec);

    const townsOut: SampleManifest['towns'] = [];
    const surveyDirt: Record<string, number> = {};
    const surveyCategories: Record<string, number> = {};
    let surveySeq = 0;
    plan.towns.forEach((spec, t) => {
      progress({ stage: `town ${spec.name}`, done: t, total: plan.towns.length });
      const townRng = rng.fork(`town:${spec.index}`);
      const res = generateTown(spec, townRng, (g, rec) => add('cadastral', g, rec as unknown as Record<string, unknown>));
      writeTownLayers(res, add);
      // survey: order by village then along the avenue, number, add duplicates
      const items = res.survey.slice().sort((a, b) => (a.villageCode < b.villageCode ? -1 : a.villageCode > b.villageCode ? 1 : a.sortKey - b.sortKey));
      const coded = items.map((it) => ({ it, code: `500118-2020-${String(++surveySeq).padStart(6, '0')}` }));
      const dupRng = townRng.fork('duplicates');
      const candidates = coded.filter((c) => c.it.geometry && c.it.geometry.coordinates.length && !c.it.dirt);
      if (candidates.length >= 2) {
        const a = candidates[dupRng.int(0, Math.floor(candidates.length / 2) - 1)];
        const b = candidates[dupRng.int(Math.floor(candidates.length / 2), candidates.length - 1)];
        coded.splice(coded.indexOf(a) + 1, 0, { it: { ...a.it, dirt: 'duplicate' }, code: a.code });
        coded.push({ it: { ...b.it, dirt: 'duplicate' }, code: b.code });
      }
      for (const { it, code } of coded) {
        add('survey', it.geometry, surveyRecord(it, code));
        if (it.dirt) surveyDirt[it.dirt] = (surveyDirt[it.dirt] ?? 0) + 1;
        surveyCategories[it.category] = (surveyCategories[it.category] ?? 0) + 1;
      }
      townsOut.push({ name: spec.name, code: spec.code9, villages: res.villages.length, parcels: res.parcelCount, survey: coded.length });
    });

    // close, zip
    progress({ stage: 'zip', done: 0, total: writers.size });
    const layers: LayerInfo[] = [];
    let z = 0;
    for (const w of writers.values()) {
      const closed = w.writer.close();
      const entries: ZipEntry[] = closed.files.map((f) => ({ name: basename(f), path: f }));
      // conventional order: .shp .shx .dbf .prj .cpg, then the label
      const rank = (n: string) => ['.shp', '.shx', '.dbf', '.prj', '.cpg'].indexOf(n.slice(n.lastIndexOf('.')));
      entries.sort((a, b) => rank(a.name) - rank(b.name));
      entries.push({ name: 'SYNTHETIC.txt', data: new TextEncoder().encode(SYNTHETIC_TXT(seed, scale, w.def.file, w.layerName)) });
      writeZip(join(opts.out, w.def.file), entries, STAMP_ZIP, scale === 'district' || scale === 'large' ? 4 : 6);
      layers.push({
        key: w.def.key,
        file: w.def.file,
        layer: w.layerName,
        geometry: w.def.shape === 'polygon' ? 'Polygon' : w.def.shape === 'polyline' ? 'PolyLine' : 'Point',
        count: closed.count,
        encoding: 'GBK',
        cpg: w.def.cpg,
        ldid: w.def.ldid,
        fields: closed.fields.map(({ name, type, length, decimals }) => ({ name, type, length, decimals })),
        bbox: closed.bbox,
      });
      progress({ stage: 'zip', done: ++z, total: writers.size });
    }

    const c = gkCentre();
    const manifest: SampleManifest = {
      generator: 'tuban scripts/generate-sample.ts',
      synthetic: true,
      seed,
      scale,
      epsg: EPSG,
      proj4: proj4ForEpsg(EPSG),
      centre: { lon: CENTRE_LONLAT[0], lat: CENTRE_LONLAT[1], x: Math.round(c.x * 1000) / 1000, y: Math.round(c.y * 1000) / 1000 },
      towns: townsOut,
      layers,
      surveyDirt,
      surveyCategories,
      millis: 0,
    };
    writeFileSync(join(opts.out, 'README.md'), readme(manifest));
    manifest.millis = Date.now() - t0;
    writeFileSync(join(opts.out, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
    progress({ stage: 'done', done: 1, total: 1 });
    return manifest;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

function surveyRecord(it: SurveyItem, code: string): Record<string, unknown> {
  return {
    图斑编号: code,
    行政区代码: it.villageCode,
    村名: it.villageName,
    前时相: it.before,
    后时相: it.after,
    变化类型: it.changeType,
    面积: it.deliveredArea,
    备注: it.remark,
  };
}

function writeTownLayers(res: TownResult, add: (key: string, g: ShpGeometry | null, rec: Record<string, unknown>) => void) {
  const { spec } = res;
  for (const v of res.villages) add('villages', v.geometry, { 村名: v.name, 行政区代码: v.code, 乡镇: spec.name });
  for (const s of res.schools) {
    add('schools', s.geometry, { 学校名称: s.name, 类型: s.type });
    add('schoolsPoint', { type: 'Point', coordinates: s.centre }, { 学校名称: s.name, 类型: s.type });
  }
  for (const c of res.compounds) add('compounds', c.geometry, { 小区名称: c.name });
  for (const g of res.greens)
    add('green', g.geometry, {
      名称: g.name,
      类型: g.name.endsWith('中心绿地') ? '小区公共绿地' : g.name.includes('街头绿地') ? '街头绿地' : '公园广场',
    });
  add('frontage', res.avenue.line, { 道路名称: res.avenue.name, 宽度: res.avenue.width, 备注: '合成数据 两侧临街第一排建筑' });
  add('frontageBand', res.avenue.band, { 道路名称: res.avenue.name, 宽度: res.avenue.width, 备注: '合成数据 中心线两侧各30米' });
}

// ---------------------------------------------------------------------------------------------

const IMAGERY_README = `
## Imagery: 合成影像 — synthetic, not a real image

\`imagery-before-2019-synthetic.tif\` (前时相) and \`imagery-after-2020-synthetic.tif\` (后时相) are **synthetic**
images rendered by \`scripts/sample/imagery.ts\` from this town's own layers (same seed; \`imagery.json\` lists
what was drawn): 8-bit RGB GeoTIFFs in EPSG:4523 at 1 m, 256 × 256 tiles, deflate, the town's extent plus 40 m.
Fields, orchards, woods, roads with kerbs and the avenue's lane marks, yards and roofs come from the parcels
(宗地, by 土地用途) and the avenue; the after image adds every survey polygon's change (a new roof for 新增建设用地
and 疑似违法建筑, bare earth for 推填土, concrete for 硬化地面, a greenhouse for 其他) and a few new roofs that no
survey record has (\`unsurveyed\` in imagery.json: what an analyst should find that the survey missed). The dates
(TIFF DateTime) are the 前时相/后时相 most survey records carry. The TIFF ImageDescription says 合成数据 / SYNTHETIC.
Not rendered at the district and large scales (1.3 Gpixel and more per epoch).
`;

function readme(m: SampleManifest): string {
  const layerRows = m.layers
    .map((l) => {
      const enc = `GBK, ${l.cpg ? '.cpg `GBK`' : 'no .cpg'}, ${l.ldid ? 'LDID 0x4D' : 'no LDID (byte 29 = 0)'}`;
      return `| \`${l.file}\` | \`${l.layer}\` | ${l.geometry} | ${l.count.toLocaleString('en-US')} | ${enc} | ${l.fields.map((f) => `${f.name} (${f.type}${f.length}${f.decimals ? `.${f.decimals}` : ''})`).join(', ')} |`;
    })
    .join('\n');
  const dirt = Object.entries(m.surveyDirt)
    .map(([k, n]) => `${k}: ${n}`)
    .join(', ');
  const towns = m.towns.map((t) => `${t.name} (${t.code}): ${t.villages} villages, ${t.parcels.toLocaleString('en-US')} parcels, ${t.survey.toLocaleString('en-US')} survey records`).join('; ');
  return `# 合成样例数据 / synthetic sample data

**合成数据 — 不是吉安镇的真实数据。/ SYNTHETIC — not real Ji'an data.** Every person, company, school,
compound, village name and code in these files is generated by \`scripts/generate-sample.ts\`
(seed ${m.seed}, scale \`${m.scale}\`); each zip also carries a \`SYNTHETIC.txt\`. This README is written by
the generator; regenerate with \`npx tsx scripts/generate-sample.ts --out <dir> --scale ${m.scale} --seed ${m.seed}\`.
The same seed and scale give byte-identical zips.

- CRS: CGCS2000 3-degree Gauss-Krüger **zone 35 with the zone prefix** (EPSG:4523, eastings like 35 590 000,
  x_0 = 35 500 000, central meridian 105°E). Every zip has an ESRI WKT \`.prj\`
  (\`PROJCS["CGCS2000_3_Degree_GK_Zone_35",…PROJECTION["Gauss_Kruger"]…]\`).
- Centre: ${m.centre.lon}°E ${m.centre.lat}°N = (${m.centre.x}, ${m.centre.y}).
- Towns: ${towns}.
- Attributes: GBK. Which files say so and how differs on purpose, to exercise encoding detection:
  some zips have a \`.cpg\`, some do not; of those without, \`cadastral.zip\` and \`compounds.zip\`
  and \`schools-point.zip\` set the DBF language-driver byte (0x4D = GBK), \`villages.zip\` does not
  (a reader must detect GBK from the bytes). \`frontage-band.zip\` has a \`.cpg\` but no LDID.
- Zip entry names are UTF-8 (language-encoding flag set); entry time stamps are fixed (2021-04-15).

| file | layer | geometry | records | encoding | fields |
|---|---|---|---|---|---|
${layerRows}

## What the data is like

- Parcels (宗地) are cells of a jittered grid laid along the avenue (rows and columns of 14–55 m, minor
  roads as narrow rows/columns, some cells merged into 2–3-cell parcels): they tile each town exactly, never
  overlap, and share vertices. 宗地代码 = 12-digit village code + 宗地特征码 (JC 宅基地, JD 耕地/园地,
  JE 林地, JA 水域, GB 国有建设用地) + 5-digit number. About 3 % have no 批准面积.
- Villages (村/社区) are unions of parcel cells (their edges follow parcel edges). In each town a corner
  of about ${m.scale === 'town' ? '260 × 380' : m.scale === 'tiny' ? '140 × 120' : '300 × 400'} m belongs to no village; its parcels carry a neighbouring town's code and a few
  survey polygons lie there (村名 and 行政区代码 blank) — for the "no village → flagged" case.
- The frontage: \`frontage.zip\` holds the avenue centreline with 宽度 = 60 (m, total band width);
  \`frontage-band.zip\` the same as a polygon (30 m each side, flat ends). The avenue road surface is the
  30 m parcel row along the centreline; the first row of lots starts 15 m from it, so the band covers the road and
  the front 15 m of the first row.
- Schools are campuses (polygons, and centres in \`schools-point.zip\`), compounds (小区) and green space
  are blocks of parcels; some public green lies inside compounds.
- Survey polygons (图斑) are building-like rectangles and L-shapes (80–2,000 m², mostly aligned with
  the parcel grid, some rotated) and irregular fill/hardening patches, clustered along the avenue, in village
  settlements, in the core, in compounds and green space, near schools and in the industrial zone; they do not
  overlap one another and most overlap 1–3 parcels. 图斑编号 = \`500118-2020-NNNNNN\`, numbered by
  village; 面积 is the delivered area (about ±1.2 % from the true area); 前时相/后时相 are DBF dates.
  Categories placed: ${Object.entries(m.surveyCategories)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ')}.
- Deliberate dirt in the survey layer: ${dirt}. That is: self-intersecting bow-tie rings (~1 %), multipart
  records (two buildings, one record), null shapes and one empty polygon per town (written as null shapes,
  attributes present), exact duplicate records (same geometry and attributes, same 图斑编号: 2 per town),
  ~1 % attributed to a neighbouring village, and polygons outside every village.
- Not included: Z/M values, a missing .prj, a GB18030-only character, GeoJSON. Add them to tests by hand.
${m.scale === 'tiny' || m.scale === 'town' ? IMAGERY_README : ''}`;
}

/** Read the manifest of a generated sample, or null when there is none. */
export function readSampleManifest(dir: string): SampleManifest | null {
  try {
    return JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as SampleManifest;
  } catch {
    return null;
  }
}

