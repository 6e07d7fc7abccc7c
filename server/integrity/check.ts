/**
 * The integrity check (README "Integrity check"): the history replayed against every polygon's status
 * (history.ts) and the photo store against the evidence rows (evidence-files.ts). At start, every
 * mismatch is logged; GET /api/admin/integrity answers the same report; the photo store is swept again
 * every TUBAN_EVIDENCE_SWEEP_MINUTES.
 */
import type { Logger } from 'pino';
import type { Queryable } from '../db/types';
import { checkHistory, type HistoryReport } from './history';
import { checkEvidenceFiles, type EvidenceFilesReport } from './evidence-files';

export interface IntegrityReport {
  ok: boolean;
  checked_at: string;
  seconds: number;
  history: HistoryReport;
  evidence: EvidenceFilesReport;
}

export async function checkIntegrity(q: Queryable, regionCode: string, dataDir: string): Promise<IntegrityReport> {
  const started = performance.now();
  const history = await checkHistory(q, regionCode);
  const evidence = await checkEvidenceFiles(q, dataDir);
  return {
    ok: history.mismatches.length === 0 && evidence.orphan_files.count === 0 && evidence.missing_files.count === 0,
    checked_at: new Date().toISOString(),
    seconds: Math.round(performance.now() - started) / 1000,
    history,
    evidence,
  };
}

/** Writes every finding to the log, one line each (an operator greps for them). */
export function logIntegrity(log: Logger, r: Pick<IntegrityReport, 'history' | 'evidence'> & Partial<IntegrityReport>) {
  for (const m of r.history?.mismatches ?? []) {
    log.error({ integrity: 'status_mismatch', ...m },
      `polygon ${m.code} (${m.polygon_id}): status ${m.status} but its history ${m.problem ? `is invalid: ${m.problem}` : `leads to ${m.replayed}`} / 图斑状态与处理记录不一致`);
  }
  logEvidenceFiles(log, r.evidence);
  if (r.history && r.ok !== undefined) {
    (r.ok ? log.info.bind(log) : log.warn.bind(log))(
      { polygons: r.history.polygons, events: r.history.events, mismatches: r.history.mismatches.length,
        orphan_files: r.evidence.orphan_files.count, missing_files: r.evidence.missing_files.count, seconds: r.seconds },
      r.ok ? 'integrity check: every status is the replay of its history, every photo has its file / 完整性检查通过'
        : 'integrity check found problems (see the lines above) / 完整性检查发现问题',
    );
  }
}

export function logEvidenceFiles(log: Logger, e: EvidenceFilesReport) {
  for (const o of e.orphan_files.items) {
    log.warn({ integrity: 'orphan_file', ...o }, `photo store: ${o.path} has no evidence row / 照片文件没有对应记录`);
  }
  for (const m of e.missing_files.items) {
    log.error({ integrity: 'missing_file', ...m }, `photo store: evidence ${m.evidence_ids.join(', ')} has no file ${m.path} / 照片记录缺少文件`);
  }
  for (const c of e.completed_writes) log.info({ integrity: 'completed_write', path: c }, `photo store: finished an interrupted write of ${c}`);
}
