/**
 * What a field visit found on site. A finding is a row of field_finding (idempotent by the phone's
 * client_id) and a `field_finding` event in the polygon's history with its photos — an event that keeps
 * the polygon's status: the analyst decides, with the finding in front of them.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { int4Positive, isoInstant } from '../http/schemas';
import type { Db, Queryable } from '../db/types';
import { sqlSet } from '../db/sql-file';
import { AppError } from '../errors';
import { appendEvents, describeEvent } from '../review/events';
import { inTx } from '../review/tx';
import type { Status } from '../review/transitions';
import { accessParams, polygonNotFound, type Access } from './access';
import { distanceTo, evidenceOut, photoSummary, type EvidenceRow } from './evidence';

const SQL = sqlSet(new URL('./field.sql', import.meta.url), [
  'lock_polygon', 'finding_by_client', 'finding_insert', 'findings_of_polygon', 'evidence_by_ids',
] as const);

export const FINDINGS = ['under_construction', 'completed', 'demolished', 'legal_with_permit', 'nothing_found', 'other'] as const;
export type Finding = (typeof FINDINGS)[number];

export const FINDING_LABELS: Record<Finding, { zh: string; en: string }> = {
  under_construction: { zh: '在建', en: 'Under construction' },
  completed: { zh: '已建成', en: 'Completed' },
  demolished: { zh: '已拆除', en: 'Demolished' },
  legal_with_permit: { zh: '有合法手续', en: 'Legal, with permit' },
  nothing_found: { zh: '未发现', en: 'Nothing found' },
  other: { zh: '其他', en: 'Other' },
};

export const Position = z.object({
  lat: z.number().min(-90).max(90),
  lon: z.number().min(-180).max(180),
  accuracy: z.number().min(0).max(100_000).nullish(),
});

export const FindingBody = z
  .object({
    finding: z.enum(FINDINGS),
    note: z.string().trim().max(2000).nullish(),
    photos: z.array(int4Positive()).max(20).default([]),
    client_id: z.uuid().describe('generated on the phone: sending the same finding again records it once'),
    position: Position.nullish().describe('the phone position when the finding was recorded (WGS84)'),
    captured_at: isoInstant().nullish().describe('phone clock when the finding was recorded'),
  })
  .refine((b) => b.finding !== 'other' || !!b.note?.trim(), { message: "finding 'other' needs a note", path: ['note'] });
export type FindingBody = z.infer<typeof FindingBody>;

interface FindingRow {
  id: number | string;
  polygon_id: number | string;
  client_id: string;
  fingerprint: string;
  finding: Finding;
  note: string | null;
  photo_ids: (number | string)[];
  lat: number | null;
  lon: number | null;
  accuracy_m: number | null;
  distance_m: number | null;
  captured_at: Date | null;
  received_at: Date;
  user_id: number;
  username: string;
  field_link_id: number | string | null;
  event_id: number | string;
}

export function findingOut(f: FindingRow) {
  return {
    id: Number(f.id),
    polygon_id: Number(f.polygon_id),
    client_id: f.client_id,
    finding: f.finding,
    finding_label: FINDING_LABELS[f.finding],
    note: f.note,
    photos: f.photo_ids.map(Number),
    position: f.lat !== null ? { lat: f.lat, lon: f.lon!, accuracy: f.accuracy_m } : null,
    distance_m: f.distance_m,
    captured_at: f.captured_at ? new Date(f.captured_at).toISOString() : null,
    received_at: new Date(f.received_at).toISOString(),
    reported_by: f.username,
    field_link_id: f.field_link_id === null ? null : Number(f.field_link_id),
    event_id: Number(f.event_id),
  };
}
export type FindingOut = ReturnType<typeof findingOut>;

function fingerprint(polygonId: number, b: FindingBody): string {
  const { client_id: _c, photos, ...rest } = b;
  return createHash('sha256').update(JSON.stringify([polygonId, rest, [...photos].sort((x, y) => x - y)])).digest('hex');
}

/** POST /api/polygons/:id/findings: 201 recorded, or 200 replayed (the same client_id sent again). */
export async function recordFinding(
  db: Db,
  regionCode: string,
  access: Access,
  who: { id: number; username: string; linkId: number | null },
  polygonId: number,
  b: FindingBody,
) {
  const fp = fingerprint(polygonId, b);
  const [villages, ids] = accessParams(access);
  return inTx(db, async (q) => {
    const lock = (await q.query<{ id: number; code: string; status: Status }>(SQL.lock_polygon, [regionCode, polygonId, villages, ids])).rows[0];
    if (!lock) throw polygonNotFound(polygonId);
    const prior = (await q.query<FindingRow>(SQL.finding_by_client, [regionCode, b.client_id])).rows[0];
    if (prior) {
      if (prior.fingerprint !== fp) {
        throw new AppError('client_id_reused', 'This client_id was already used for a different finding', '此 client_id 已用于另一条核查结果', 422);
      }
      return { replayed: true, finding: findingOut(prior) };
    }
    const photoIds = [...new Set(b.photos)];
    const photos = photoIds.length
      ? (await q.query<EvidenceRow>(SQL.evidence_by_ids, [regionCode, polygonId, photoIds])).rows.map(evidenceOut)
      : [];
    const unknown = photoIds.filter((id) => !photos.some((p) => p.id === id));
    if (unknown.length) {
      throw new AppError('photo_unknown', `Not photos of this polygon: ${unknown.join(', ')}`, `以下照片不属于此图斑：${unknown.join('、')}`, 422, { photos: unknown });
    }
    photos.sort((a, c) => photoIds.indexOf(a.id) - photoIds.indexOf(c.id));
    const distance = b.position ? await distanceTo(q, regionCode, polygonId, b.position.lon, b.position.lat) : null;
    const [ev] = await appendEvents(q, regionCode, {
      items: [{ id: polygonId, from: lock.status, to: lock.status }],
      actor: { id: who.id, username: who.username },
      action: 'field_finding',
      note: b.note?.trim() || null,
      requestId: b.client_id,
      payload: {
        finding: b.finding,
        finding_label: FINDING_LABELS[b.finding],
        photos: photos.map(photoSummary),
        position: b.position ?? null,
        distance_m: distance,
        captured_at: b.captured_at ?? null,
        client_id: b.client_id,
        ...(who.linkId ? { field_link_id: who.linkId } : {}),
      },
    });
    const row = (await q.query<FindingRow>(SQL.finding_insert, [
      regionCode, polygonId, b.client_id, fp, b.finding, b.note?.trim() || null, photoIds,
      b.position?.lat ?? null, b.position?.lon ?? null, b.position?.accuracy ?? null, distance, b.captured_at ?? null,
      who.id, who.username, who.linkId, ev.id,
    ])).rows[0];
    return { replayed: false, finding: findingOut(row), event: describeEvent(ev) };
  });
}

export async function polygonFindings(q: Queryable, regionCode: string, polygonId: number) {
  return (await q.query<FindingRow>(SQL.findings_of_polygon, [regionCode, polygonId])).rows.map(findingOut);
}
