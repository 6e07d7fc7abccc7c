/**
 * Signed field links (/f/<token>): an analyst names some polygons; whoever holds the link may view them
 * and report findings on them, without an account, until it expires (default 7 days) or is revoked.
 * The token is 256 random bits; the database keeps only its SHA-256 (like sessions).
 */
import { randomBytes } from 'node:crypto';
import type { Principal } from '../auth/guard';
import { hashToken } from '../auth/session';
import type { Queryable } from '../db/types';
import { sqlSet } from '../db/sql-file';
import { AppError } from '../errors';
import type { FieldLinkGrant } from './access';

const SQL = sqlSet(new URL('./field.sql', import.meta.url), [
  'polygons_for_link', 'link_insert', 'link_by_hash', 'link_get', 'links_list', 'link_revoke',
] as const);

export const LINK_TOKEN_RE = /^[A-Za-z0-9_-]{43}$/;
export const DEFAULT_LINK_DAYS = 7;
export const MAX_LINK_DAYS = 90;
export const MAX_LINK_POLYGONS = 500;

/** 2021-07-21 10:30 (China time), for messages */
export const chinaTime = (d: Date | string) =>
  new Date(new Date(d).getTime() + 8 * 3600_000).toISOString().slice(0, 16).replace('T', ' ');

interface LinkRow {
  id: number;
  polygon_ids: (number | string)[];
  label: string | null;
  created_by: number;
  created_by_name: string;
  created_at: Date;
  expires_at: Date;
  revoked_at: Date | null;
  revoked_by_name: string | null;
  expired: boolean;
  codes?: string[] | null;
}

export function linkOut(r: LinkRow) {
  return {
    id: Number(r.id),
    polygon_ids: r.polygon_ids.map(Number),
    codes: r.codes ?? undefined,
    label: r.label,
    created_by: r.created_by_name,
    created_at: new Date(r.created_at).toISOString(),
    expires_at: new Date(r.expires_at).toISOString(),
    revoked_at: r.revoked_at ? new Date(r.revoked_at).toISOString() : null,
    revoked_by: r.revoked_by_name,
    state: r.revoked_at ? ('revoked' as const) : r.expired ? ('expired' as const) : ('active' as const),
  };
}
export type LinkOut = ReturnType<typeof linkOut>;

export async function createLink(
  q: Queryable,
  regionCode: string,
  p: Principal,
  b: { polygon_ids: number[]; label?: string; expires_in_days?: number },
) {
  const ids = [...new Set(b.polygon_ids)];
  const found = (await q.query<{ id: number; code: string }>(SQL.polygons_for_link, [regionCode, ids, p.villages])).rows;
  const seen = new Set(found.map((r) => Number(r.id)));
  const missing = ids.filter((id) => !seen.has(id));
  if (missing.length) {
    throw new AppError('not_found', `No polygon ${missing.join(', ')}`, `没有图斑 ${missing.join('、')}`, 404, { missing });
  }
  const token = randomBytes(32).toString('base64url');
  const days = b.expires_in_days ?? DEFAULT_LINK_DAYS;
  const r = await q.query<LinkRow>(SQL.link_insert, [
    regionCode, hashToken(token), ids, b.label?.trim() || null, p.id, p.username, Math.round(days * 86400),
  ]);
  return { token, link: linkOut({ ...r.rows[0], expired: false, codes: found.map((x) => x.code).sort() }) };
}

export async function listLinks(q: Queryable, regionCode: string, p: Principal, o: { active: boolean; limit: number }) {
  // a village-limited analyst sees the links they issued; admins and unrestricted analysts see all
  const mine = p.role !== 'admin' && p.villages ? p.id : null;
  const r = await q.query<LinkRow>(SQL.links_list, [regionCode, mine, o.active, o.limit]);
  return r.rows.map(linkOut);
}

export async function revokeLink(q: Queryable, regionCode: string, p: Principal, id: number) {
  const cur = (await q.query<LinkRow>(SQL.link_get, [regionCode, id])).rows[0];
  if (!cur || (p.role !== 'admin' && p.villages && cur.created_by !== p.id)) {
    throw new AppError('not_found', `No field link ${id}`, `没有外业链接 ${id}`, 404);
  }
  const r = await q.query<LinkRow>(SQL.link_revoke, [regionCode, id, p.username]);
  return linkOut(r.rows[0]);
}

export type LinkCheck =
  | { ok: true; grant: FieldLinkGrant }
  | { ok: false; error: AppError };

const renew = { en: 'ask the town office for a new link', zh: '请向镇综合行政执法办索取新链接' };

/** What a token is worth now: the grant, or the clear refusal (401 unknown, 410 revoked/expired). */
export async function checkToken(q: Queryable, regionCode: string, token: string): Promise<LinkCheck> {
  const row = LINK_TOKEN_RE.test(token)
    ? (await q.query<LinkRow & { region_code: string }>(SQL.link_by_hash, [hashToken(token)])).rows[0]
    : undefined;
  if (!row || row.region_code !== regionCode) {
    return {
      ok: false,
      error: new AppError(
        'field_link_invalid',
        'This field link is not valid: it may be mistyped or cut short; ' + renew.en,
        '此外业链接无效：可能复制不完整或输入有误，' + renew.zh,
        401,
      ),
    };
  }
  if (row.revoked_at) {
    const at = chinaTime(row.revoked_at);
    return {
      ok: false,
      error: new AppError('field_link_revoked', `This field link was withdrawn on ${at}; ${renew.en}`, `此外业链接已于 ${at} 被撤销，${renew.zh}`, 410, {
        revoked_at: new Date(row.revoked_at).toISOString(),
      }),
    };
  }
  if (row.expired) {
    const at = chinaTime(row.expires_at);
    return {
      ok: false,
      error: new AppError('field_link_expired', `This field link expired on ${at}; ${renew.en}`, `此外业链接已于 ${at} 过期，${renew.zh}`, 410, {
        expires_at: new Date(row.expires_at).toISOString(),
      }),
    };
  }
  return {
    ok: true,
    grant: {
      id: Number(row.id),
      polygonIds: row.polygon_ids.map(Number),
      label: row.label,
      expiresAt: new Date(row.expires_at),
      createdByName: row.created_by_name,
    },
  };
}
