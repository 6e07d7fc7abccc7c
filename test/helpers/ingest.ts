/** Shared bits for the ingest reader tests: default options and an "it refuses with code X" check. */
import { expect } from 'vitest';
import { IngestError } from '../../server/errors';
import type { IngestLimits, ReadOptions, ReadResult, ReadFeature } from '../../server/ingest/types';
import type { ImportSettings } from '../../server/ingest/import';
import { TEST_REGION, TEST_WORK_SRID } from './snapshot';

export const LIMITS: IngestLimits = {
  maxUploadBytes: 300 * 1024 * 1024,
  maxZipEntries: 200,
  maxUncompressedBytes: 300 * 1024 * 1024,
  maxCompressionRatio: 100,
};

/** What the import integration tests give importFile: the test region and work CRS, generous limits. */
export const IMPORT_SETTINGS: ImportSettings = {
  regionCode: TEST_REGION,
  workSrid: TEST_WORK_SRID,
  schoolDistanceM: 200,
  limits: { maxUploadBytes: 50 << 20, maxZipEntries: 100, maxUncompressedBytes: 200 << 20, maxCompressionRatio: 200 },
};

export const opts = (o: Partial<ReadOptions> = {}): ReadOptions => ({ fileName: 'upload.zip', workSrid: 4523, limits: LIMITS, ...o });

/** Awaits a promise (or runs a function) expected to throw an IngestError with `code`; returns it. */
export async function refused(p: Promise<unknown> | (() => unknown), code: string): Promise<IngestError> {
  let err: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    err = e;
  }
  expect(err, `expected IngestError ${code}`).toBeInstanceOf(IngestError);
  const e = err as IngestError;
  expect(e.code).toBe(code);
  expect(e.message.length).toBeGreaterThan(10);
  expect(e.message_zh).toMatch(/[\u4e00-\u9fff]/); // a Chinese sentence, not a copy of the English
  return e;
}

export const all = (r: ReadResult): ReadFeature[] => [...r.features()];
export const codes = (r: ReadResult) => r.warnings.map((w) => w.code);
