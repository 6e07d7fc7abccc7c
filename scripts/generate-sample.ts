/**
 * Synthetic Ji'an-like sample data (合成数据), in the delivery formats: zipped ESRI shapefiles,
 * GBK attributes, CGCS2000 GK zone 35 with zone prefix (EPSG:4523).
 *
 *   tsx scripts/generate-sample.ts [--out data/sample] [--scale tiny|town|district|large] [--seed 42] [--no-imagery]
 *
 * At the tiny and town scales it also renders the synthetic before/after imagery (合成影像, two GeoTIFFs:
 * scripts/sample/imagery.ts). The server calls both on first start (town scale).
 */
import { pathToFileURL } from 'node:url';
import { generateSample, type SampleScale } from './sample/generate';
import { generateSampleImagery } from './sample/imagery';

export { generateSample, readSampleManifest } from './sample/generate';
export type { GenerateSampleOptions, SampleManifest, SampleScale, LayerInfo } from './sample/generate';
export { generateSampleImagery, IMAGERY_FILES, readSampleImagery } from './sample/imagery';
export type { SampleImageryInfo, SampleImageryOptions, ImageryEpoch } from './sample/imagery';

const USAGE = 'usage / 用法: tsx scripts/generate-sample.ts [--out data/sample] [--scale tiny|town|district|large] [--seed 42] [--no-imagery]';

function parseArgs(argv: string[]): { out: string; scale: SampleScale; seed: number; imagery: boolean } {
  const opts = { out: 'data/sample', scale: 'town' as SampleScale, seed: 42, imagery: true };
  for (let k = 0; k < argv.length; k++) {
    const a = argv[k];
    const [key, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => {
      const v = inline ?? argv[++k];
      if (v === undefined) throw new Error(`${key} needs a value`);
      return v;
    };
    switch (key) {
      case '--out':
        opts.out = value();
        break;
      case '--scale': {
        const v = value();
        if (v !== 'tiny' && v !== 'town' && v !== 'district' && v !== 'large') throw new Error(`--scale must be tiny, town, district or large, not ${v}`);
        opts.scale = v;
        break;
      }
      case '--seed': {
        const v = Number(value());
        if (!Number.isInteger(v)) throw new Error('--seed must be an integer');
        opts.seed = v;
        break;
      }
      case '--no-imagery':
        opts.imagery = false;
        break;
      case '-h':
      case '--help':
        console.log(USAGE);
        process.exit(0);
        break;
      default:
        throw new Error(`unknown argument ${a} / 未知参数 ${a}`);
    }
  }
  return opts;
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    // a usage error: what was wrong, then the usage (exit 2, like the other scripts: cli-args.ts)
    console.error(`${(e as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  const t0 = Date.now();
  let last = '';
  const { imagery, ...sampleOpts } = opts;
  const m = generateSample({
    ...sampleOpts,
    onProgress: (p) => {
      if (p.stage !== last && process.stderr.isTTY) process.stderr.write(`\r${p.stage.padEnd(30)}`);
      last = p.stage;
    },
  });
  if (process.stderr.isTTY) process.stderr.write('\r'.padEnd(32) + '\r');
  console.log(`合成数据 / synthetic sample (${m.scale}, seed ${m.seed}) → ${opts.out} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  for (const l of m.layers) console.log(`  ${l.file.padEnd(20)} ${l.layer.padEnd(12)} ${String(l.count).padStart(8)} ${l.geometry}`);
  if (imagery && (opts.scale === 'tiny' || opts.scale === 'town')) {
    const im = await generateSampleImagery({ out: opts.out, scale: opts.scale, seed: opts.seed });
    console.log(`合成影像 / synthetic imagery ${im.width} × ${im.height} px at ${im.resolution} m in ${(im.millis.total / 1000).toFixed(1)} s`);
    for (const e of im.epochs) console.log(`  ${e.file.padEnd(36)} ${e.epoch.padEnd(6)} ${e.date} ${(e.bytes / 1e6).toFixed(1).padStart(6)} MB`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) void main();
