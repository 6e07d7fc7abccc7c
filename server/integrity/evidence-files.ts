/**
 * The photo store against the evidence table (issue 12 item 5): files without a row (orphans: an upload
 * that failed before this was fixed, a file copied in by hand, an interrupted write) and rows without a
 * file (the proof is gone: restore it from a backup). Run at start, every TUBAN_EVIDENCE_SWEEP_MINUTES,
 * and by GET /api/admin/integrity. It only lists: nothing is deleted, a person decides.
 *
 * One repair it does make: a row whose file is still under its temporary name (the server stopped between
 * the row's commit and the file's rename, server/field/evidence.ts) gets its file renamed into place, once
 * the bytes are checked against the row's SHA-256.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, rename, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Queryable } from '../db/types';
import { sqlSet } from '../db/sql-file';
import { evidenceDir, IMAGE_TYPES, originalPath, TMP_SUFFIX, type ImageMime } from '../field/evidence';

const SQL = sqlSet(new URL('./integrity.sql', import.meta.url), ['evidence_files'] as const);

/** At most this many paths listed per kind (the counts are always complete). */
const LIST_MAX = 1000;

export interface OrphanFile {
  /** relative to the data directory */
  path: string;
  bytes: number;
  modified: string;
  kind: 'original' | 'thumbnail' | 'captioned' | 'temporary' | 'unknown';
}

export interface MissingFile {
  sha256: string;
  mime: string;
  evidence_ids: number[];
  path: string;
}

export interface EvidenceFilesReport {
  rows: number;
  files: number;
  orphan_files: { count: number; items: OrphanFile[] };
  missing_files: { count: number; items: MissingFile[] };
  /** rows whose file was still under its temporary name and was renamed into place by this sweep */
  completed_writes: string[];
}

async function walk(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const d of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, d.name);
    if (d.isDirectory()) out.push(...(await walk(p)));
    else if (d.isFile()) out.push(p);
  }
  return out;
}

const SHA_FILE = /^([0-9a-f]{64})(?:-\d+)?\.([a-z]+)$/;

export async function checkEvidenceFiles(q: Queryable, dataDir: string): Promise<EvidenceFilesReport> {
  const rows = (await q.query<{ sha256: string; mime: ImageMime; ids: (number | string)[] }>(SQL.evidence_files)).rows;
  const known = new Set(rows.map((r) => r.sha256));
  const root = evidenceDir(dataDir);
  const files = await walk(root);
  const orphans: OrphanFile[] = [];
  const tmps = new Map<string, string>(); // final path -> a temporary file for it
  for (const f of files) {
    const rel = path.relative(root, f);
    const top = rel.split(path.sep)[0];
    const base = path.basename(f);
    let kind: OrphanFile['kind'];
    let owned = false;
    if (base.endsWith(TMP_SUFFIX)) {
      kind = 'temporary';
      // <final>.<random>.tmp
      const final = f.slice(0, -TMP_SUFFIX.length).replace(/\.[0-9a-f]+$/, '');
      tmps.set(final, f);
    } else {
      const m = SHA_FILE.exec(base);
      kind = !m ? 'unknown' : top === 'thumb' ? 'thumbnail' : top === 'captioned' ? 'captioned' : 'original';
      if (m && known.has(m[1])) {
        // an original must carry its row's extension; derived images are always .jpg
        owned = kind !== 'original' || rows.some((r) => r.sha256 === m[1] && IMAGE_TYPES[r.mime] === m[2]);
      }
    }
    if (!owned) {
      const s = await stat(f);
      orphans.push({ path: path.relative(dataDir, f), bytes: s.size, modified: s.mtime.toISOString(), kind });
    }
  }

  const missing: MissingFile[] = [];
  const completed: string[] = [];
  for (const r of rows) {
    const file = originalPath(dataDir, r.sha256, r.mime);
    if (existsSync(file)) continue;
    const tmp = tmps.get(file);
    if (tmp && createHash('sha256').update(await readFile(tmp)).digest('hex') === r.sha256) {
      await rename(tmp, file);
      completed.push(path.relative(dataDir, file));
      const i = orphans.findIndex((o) => o.path === path.relative(dataDir, tmp));
      if (i >= 0) orphans.splice(i, 1);
      continue;
    }
    missing.push({ sha256: r.sha256, mime: r.mime, evidence_ids: r.ids.map(Number), path: path.relative(dataDir, file) });
  }
  return {
    rows: rows.reduce((n, r) => n + r.ids.length, 0),
    files: files.length,
    orphan_files: { count: orphans.length, items: orphans.slice(0, LIST_MAX) },
    missing_files: { count: missing.length, items: missing.slice(0, LIST_MAX) },
    completed_writes: completed,
  };
}
