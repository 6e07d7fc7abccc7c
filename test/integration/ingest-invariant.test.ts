/**
 * Nothing lost in silence (issue 11, item 1): every record an import reads ends in exactly one place —
 * stored, repaired, or skipped with a named reason — and the database holds exactly what the report says.
 *
 * Runs over EVERY importable file under test/fixtures (walked, not listed: fixtures added later are covered).
 * A folder's expectations.json, when it has an entry for the file, gives the layer and options; otherwise
 * the file goes to the survey layer, and a file refused there for its geometry is imported again into a custom
 * flag layer (which takes any geometry). A refusal must be an IngestError and store nothing.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDb, freshDb, type TestDb } from '../helpers/db';
import { TEST_REGION, TEST_WORK_SRID } from '../helpers/snapshot';
import { importFile, type ImportReport, type ImportRequest, type ImportSettings } from '../../server/ingest/import';
import { IngestError } from '../../server/errors';

const ROOT = path.resolve('test/fixtures');
const IMPORTABLE = /\.(zip|geojson|json|shp)$/i;

function walk(dir: string): string[] {
  return readdirSync(dir).sort().flatMap((name) => {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) return walk(p);
    return IMPORTABLE.test(name) && name !== 'expectations.json' && name !== 'manifest.json' && name !== 'package.json' ? [p] : [];
  });
}

interface Plan { layer: string; options: Partial<ImportRequest> }
function planFor(file: string): Plan {
  const spec = path.join(path.dirname(file), 'expectations.json');
  const entry = existsSync(spec)
    ? (JSON.parse(readFileSync(spec, 'utf8')) as { files?: Record<string, { layer?: string; options?: Partial<ImportRequest> }> }).files?.[path.basename(file)]
    : undefined;
  return { layer: entry?.layer ?? 'survey', options: entry?.options ?? {} };
}

const FILES = walk(ROOT);
const settings: ImportSettings = {
  regionCode: TEST_REGION,
  workSrid: TEST_WORK_SRID,
  schoolDistanceM: 200,
  // the bad-input suite's limits (its zip bombs are built against them)
  limits: { maxUploadBytes: 20 * 1024 * 1024, maxZipEntries: 2000, maxUncompressedBytes: 50 * 1024 * 1024, maxCompressionRatio: 200 },
};

describeEachDb('every record read is stored, repaired or skipped with a reason', (backend) => {
  let db: TestDb;
  beforeAll(async () => {
    db = await freshDb(backend);
  });
  afterAll(async () => {
    await db?.dispose();
  });

  const batches = async () => (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM import_batch`)).rows[0].n;
  const storedRows = async (r: ImportReport) => {
    const table = r.layer === 'survey' ? 'survey_polygon' : r.layer === 'cadastral' ? 'parcel' : 'layer_feature';
    return (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE batch_id = $1`, [r.batch_id])).rows[0].n;
  };

  /** imports; checks the invariant or the refusal; returns the refusal code, if any */
  async function check(rel: string, bytes: Uint8Array, layer: string, options: Partial<ImportRequest>): Promise<string | undefined> {
    const before = await batches();
    let r: ImportReport;
    try {
      r = await importFile(db, settings, {
        ...options, bytes, fileName: path.basename(rel), layer,
        // each file is its own survey: a delivery never retires another's polygons
        ...(layer === 'survey' ? { survey: `inv/${rel}` } : {}),
      });
    } catch (e) {
      if (!(e instanceof IngestError)) throw new Error(`${rel}: not an IngestError: ${(e as Error)?.stack ?? String(e)}`);
      expect(await batches(), `${rel}: a refused import stored a batch`).toBe(before);
      return e.code;
    }
    expect(r.duplicate, rel).toBe(false);
    const reasons = Object.entries(r.skipped.reasons);
    for (const [reason, n] of reasons) {
      expect(reason, rel).toMatch(/^[a-z][a-z_]+$/);
      expect(n, `${rel}: ${reason}`).toBeGreaterThan(0);
      expect(r.skipped.examples.some((x) => x.reason === reason), `${rel}: an example of ${reason}`).toBe(true);
    }
    const skipped = reasons.reduce((a, [, n]) => a + n, 0);
    expect(r.skipped.total, rel).toBe(skipped);
    expect(r.read, `${rel}: read = stored + repaired + skipped`).toBe(r.stored + r.repaired + skipped);
    expect(await storedRows(r), `${rel}: rows in the database = stored + repaired`).toBe(r.stored + r.repaired);
    expect(await batches(), rel).toBe(before + 1);
    return undefined;
  }

  it('finds the fixtures', () => {
    expect(FILES.length).toBeGreaterThanOrEqual(70);
  });

  for (const file of FILES) {
    const rel = path.relative(ROOT, file);
    it(rel, async () => {
      const bytes = new Uint8Array(readFileSync(file));
      const plan = planFor(file);
      const refused = await check(rel, bytes, plan.layer, plan.options);
      if (refused === 'wrong_geometry_type' && plan.layer === 'survey') {
        await check(rel, bytes, 'inv_any', { ...plan.options, role: 'flag', title: 'invariant' });
      }
    });
  }
});
