/**
 * Daily patrol (日常巡查, issue 16 items 8–10): a patrol recorded on a phone — village, members, start, end,
 * track — and its findings, each a lead at the place it was found. The plan keeps a 违建巡查登记台账 of them
 * (实施方案 五(一)) and makes 日常巡查 a standing mechanism (六(三)).
 *
 * Offline first: the phone keeps everything and sends it when it can, possibly more than once. Every write is
 * keyed by the phone's own id (a UUID): a resend by the same user answers the stored record (200), never a
 * second row; the same id from another user is refused (409 client_id_reused).
 */
import type { Principal } from '../auth/guard';
import type { Config } from '../config';
import type { Db, Queryable } from '../db/types';
import { sqlSet } from '../db/sql-file';
import { AppError } from '../errors';
import { insertLead } from '../leads/leads';
import { createCase, linkPolygons, type Scope } from '../review/cases';
import { appendEvents } from '../review/events';
import { today } from '../review/workdays';

const SQL = sqlSet(new URL('./patrol.sql', import.meta.url), [
  'client_lock', 'finding_get', 'finding_insert', 'lead_link', 'village_names', 'patrol_insert', 'patrol_get', 'patrol_findings', 'patrol_list', 'patrol_weeks',
] as const);

export interface NewFinding {
  clientId: string;
  patrolClientId: string;
  lon: number;
  lat: number;
  accuracy?: number;
  foundAt: string;
  category: 'construction' | 'compound' | 'school' | 'other';
  note?: string;
  underConstruction: boolean;
  /** 在建: open a case with the stop order at once (the 1-working-day report clock starts on the day found) */
  openCase: boolean;
  party?: string;
  address?: string;
}

export interface FindingOut {
  client_id: string;
  patrol_client_id: string;
  category: string;
  under_construction: boolean;
  found_at: string;
  lead: { id: number; code: string; status: string; village: string | null; duplicate_of: number | null; duplicate_of_code: string | null };
  case: { id: number; number: string; report_deadline: string | null } | null;
}

const reused = (what: string) => new AppError('client_id_reused',
  `This ${what} id was already used by another account`, `该${what === 'patrol' ? '巡查' : '发现'}编号已被其他账号使用`, 409);

type FindingRow = {
  client_id: string; patrol_client_id: string; category: string; under_construction: boolean; found_at: Date | string;
  created_by: number | string; polygon_id: number | string; code: string; status: string; village: string | null;
  duplicate_of: number | string | null; duplicate_of_code: string | null; case_id: number | string | null; case_number: string | null;
  report_deadline: string | Date | null;
};

const iso = (v: Date | string) => (v instanceof Date ? v.toISOString() : new Date(v).toISOString());
const dateOnly = (v: Date | string | null) => (v === null ? null : v instanceof Date ? v.toISOString().slice(0, 10) : String(v).slice(0, 10));

function findingOut(r: FindingRow): FindingOut {
  return {
    client_id: r.client_id,
    patrol_client_id: r.patrol_client_id,
    category: r.category,
    under_construction: r.under_construction,
    found_at: iso(r.found_at),
    lead: {
      id: Number(r.polygon_id), code: r.code, status: r.status, village: r.village,
      duplicate_of: r.duplicate_of === null ? null : Number(r.duplicate_of), duplicate_of_code: r.duplicate_of_code,
    },
    case: r.case_id === null ? null : { id: Number(r.case_id), number: r.case_number!, report_deadline: dateOnly(r.report_deadline) },
  };
}

/** The day (Beijing) a finding was made: the day the plan's 1-working-day clock counts from (六(二)1). */
export const beijingDay = (instant: string) => today(new Date(instant));

/**
 * Records a finding as a lead (the code path of POST /api/leads: leads.ts insertLead), and for construction
 * in progress opens a case with its stop order and report deadline, linking the lead to it — one transaction.
 * A case the caller may not open (a village outside theirs) is not opened: the lead is kept and the answer
 * says why (`case_refused`), so the office opens it.
 */
export async function recordFinding(owner: Db, config: Config, p: Principal, scope: Scope, f: NewFinding) {
  const region = config.regionCode;
  const prior = await getFinding(owner, region, f.clientId, p);
  if (prior) return { replayed: true, finding: prior, case_refused: null };
  let refused: AppError | null = null;
  const out = await owner.tx(async (q) => {
    await q.query(SQL.client_lock, [f.clientId]);
    const again = await getFinding(q, region, f.clientId, p);
    if (again) return { replayed: true, finding: again };
    const lead = await insertLead(q, config, {
      source: 'patrol', lon: f.lon, lat: f.lat,
      attrs: {
        note: f.note ?? null, category: f.category, under_construction: f.underConstruction, recorded_by: p.username,
        patrol: f.patrolClientId, found_at: f.foundAt, accuracy_m: f.accuracy ?? null,
      },
    });
    let caseId: number | null = null;
    if (f.underConstruction && f.openCase) {
      const day = beijingDay(f.foundAt) > today() ? today() : beijingDay(f.foundAt);
      const actor = { id: p.id, username: p.username };
      // savepoint: a refused case (scope) must not take the lead with it
      await q.query('SAVEPOINT patrol_case');
      try {
        const c = await createCase(q, region, actor, {
          party: f.party ?? '待查明',
          address: f.address ?? `${lead.village ?? ''} 巡查发现位置 ${f.lon.toFixed(6)}, ${f.lat.toFixed(6)}`.trim(),
          kind: 'under_construction', discovered_on: day,
          note: `巡查发现（${lead.code}）${f.note ? `：${f.note}` : ''}`.slice(0, 2000),
        }, scope, lead.village);
        const linked = (await q.query<{ id: number | string; version: number }>(SQL.lead_link, [region, lead.id])).rows[0];
        if (linked) {
          await linkPolygons(q, region, c.id, [lead.id], actor);
          await appendEvents(q, region, {
            items: [{ id: lead.id, from: 'pending', to: 'linked' }], actor, action: 'link', caseId: c.id,
            note: '巡查发现在建，当场立案并责令停止建设 / construction in progress found on patrol: case opened on site',
            payload: { new_case: true, via: 'patrol' },
          });
        }
        caseId = c.id;
        await q.query('RELEASE SAVEPOINT patrol_case');
      } catch (e) {
        if (!(e instanceof AppError) || e.status !== 403) throw e;
        await q.query('ROLLBACK TO SAVEPOINT patrol_case');
        refused = e;
      }
    }
    await q.query(SQL.finding_insert, [
      region, f.clientId, f.patrolClientId, lead.id, f.category, f.underConstruction, caseId, f.foundAt, p.id, p.username,
    ]);
    return { replayed: false, finding: (await getFinding(q, region, f.clientId, p))! };
  });
  const r = refused as AppError | null;
  return { ...out, case_refused: r ? { code: r.code, message: r.message, message_zh: r.message_zh } : null };
}

async function getFinding(q: Queryable, region: string, clientId: string, p: Principal): Promise<FindingOut | null> {
  const row = (await q.query<FindingRow>(SQL.finding_get, [region, clientId])).rows[0];
  if (!row) return null;
  if (Number(row.created_by) !== p.id) throw reused('finding');
  return findingOut(row);
}

export async function villageNames(db: Queryable, region: string, scope: Scope): Promise<string[]> {
  return (await db.query<{ name: string }>(SQL.village_names, [region, scope ?? null])).rows.map((r) => r.name);
}

export interface NewPatrol {
  clientId: string;
  village: string;
  members: string[];
  startedAt: string;
  endedAt: string;
  /** [lon, lat] pairs, WGS84, in the order recorded */
  track: [number, number][];
  note?: string;
}

/** Stores a patrol once; a resend answers the stored record. */
export async function savePatrol(db: Db, config: Config, p: Principal, scope: Scope, b: NewPatrol) {
  const region = config.regionCode;
  const prior = await getPatrol(db, region, b.clientId, scope, p);
  if (prior) return { replayed: true, patrol: prior };
  const villages = await villageNames(db, region, undefined);
  if (!villages.includes(b.village)) {
    throw new AppError('unknown_village', `No village named ${b.village}`, `没有名为“${b.village}”的村（居）`, 400, [{ path: 'village', message: 'unknown village' }]);
  }
  if (scope && !scope.includes(b.village)) {
    throw new AppError('village_out_of_scope', `You may only record patrols of your villages (${scope.join(', ')})`,
      `您只能登记负责的村（居）的巡查：${scope.join('、')}`, 403);
  }
  // consecutive repeats (a phone standing still) add nothing to a line
  const pts = b.track.filter((x, i, a) => i === 0 || x[0] !== a[i - 1][0] || x[1] !== a[i - 1][1]);
  const line = pts.length >= 2 ? JSON.stringify({ type: 'LineString', coordinates: pts }) : null;
  await db.tx(async (q) => {
    await q.query(SQL.client_lock, [b.clientId]);
    await q.query(SQL.patrol_insert, [
      region, b.clientId, b.village, b.members, b.startedAt, b.endedAt, line, b.track.length, b.note ?? null, p.id, p.username, config.workSrid,
    ]);
  });
  const stored = await getPatrol(db, region, b.clientId, undefined, p);
  return { replayed: false, patrol: stored! };
}

type PatrolRow = Record<string, unknown> & { client_id: string; village: string; created_by: number | string };

/** A patrol with its findings; null when none (or outside the caller's villages: not told apart). */
export async function getPatrol(q: Queryable, region: string, clientId: string, scope: Scope, writer?: Principal) {
  const row = (await q.query<PatrolRow>(SQL.patrol_get, [region, clientId])).rows[0];
  if (!row) return null;
  if (writer && Number(row.created_by) !== writer.id) throw reused('patrol');
  if (scope && !scope.includes(row.village)) return null;
  const findings = (await q.query(SQL.patrol_findings, [region, [clientId]])).rows;
  const { created_by: _by, ...rest } = row;
  return { ...rest, findings };
}

export interface PatrolFilter {
  scope: Scope;
  village?: string[];
  from?: string;
  to?: string;
}

/** Patrols, a page at a time, each with its findings (the list and the 巡查登记台账 export). */
export async function listPatrols(q: Queryable, region: string, f: PatrolFilter, limit: number, offset: number) {
  const rows = (await q.query<PatrolRow & { total: number }>(SQL.patrol_list, [
    region, f.scope ?? null, f.village?.length ? f.village : null, f.from ?? null, f.to ?? null, limit, offset,
  ])).rows;
  const ids = rows.map((r) => r.client_id);
  const findings = ids.length ? (await q.query<Record<string, unknown> & { patrol_client_id: string }>(SQL.patrol_findings, [region, ids])).rows : [];
  const byPatrol = new Map<string, typeof findings>();
  for (const x of findings) {
    if (!byPatrol.has(x.patrol_client_id)) byPatrol.set(x.patrol_client_id, []);
    byPatrol.get(x.patrol_client_id)!.push(x);
  }
  return {
    total: rows[0]?.total ?? 0,
    items: rows.map(({ total: _t, ...r }) => ({ ...r, findings: byPatrol.get(r.client_id) ?? [] })),
  };
}

export interface PatrolWeek {
  village: string | null;
  week: string;
  monday: string;
  patrols: number;
  patrol_days: number;
  km: number;
  findings: number;
  leads: { survey: number; patrol: number; report: number };
  reports: number;
  responded: number;
  response_h_median: number | null;
  response_h_max: number | null;
}

/**
 * The dashboard's figures per village and week (definitions in patrol.sql patrol_weeks), and their sums.
 * Leads are counted as the coverage counts items, so all weeks' leads add up to its by_source.
 */
export async function patrolWeeks(q: Queryable, region: string, f: PatrolFilter) {
  const rows = (await q.query<Omit<PatrolWeek, 'leads'> & { survey: number; patrol: number; report: number }>(SQL.patrol_weeks, [
    region, f.scope ?? null, f.village?.length ? f.village : null, f.from ?? null, f.to ?? null,
  ])).rows;
  const weeks: PatrolWeek[] = rows.map(({ survey, patrol, report, ...r }) => ({ ...r, km: Number(r.km), leads: { survey, patrol, report } }));
  const sum = (fn: (w: PatrolWeek) => number) => weeks.reduce((a, w) => a + fn(w), 0);
  return {
    weeks,
    totals: {
      patrols: sum((w) => w.patrols), patrol_days: sum((w) => w.patrol_days), km: Number(sum((w) => w.km).toFixed(3)),
      findings: sum((w) => w.findings),
      leads: { survey: sum((w) => w.leads.survey), patrol: sum((w) => w.leads.patrol), report: sum((w) => w.leads.report) },
      reports: sum((w) => w.reports), responded: sum((w) => w.responded),
    },
  };
}
