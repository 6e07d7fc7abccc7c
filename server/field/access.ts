/**
 * Who may see which polygons on the field routes: a logged-in user sees the villages of their account
 * (null = all), a signed-link holder sees exactly the polygons of the link. Both become two SQL parameters
 * (villages text[], ids bigint[]; NULL = no restriction) that every field query applies.
 */
import type { Request } from 'express';
import type { Principal } from '../auth/guard';
import { AppError } from '../errors';

/** A signed field link, as the link middleware (link-auth.ts) attaches it to the request. */
export interface FieldLinkGrant {
  id: number;
  polygonIds: number[];
  label: string | null;
  expiresAt: Date;
  createdByName: string;
}

declare module 'express-serve-static-core' {
  interface Request {
    /** set only for requests made with a signed field link (then req.principal is its pseudo-principal) */
    fieldLink?: FieldLinkGrant;
  }
}

export interface Access {
  villages: string[] | null;
  polygonIds: number[] | null;
  link: FieldLinkGrant | null;
}

export function accessOf(req: Request): Access {
  if (req.fieldLink) return { villages: null, polygonIds: req.fieldLink.polygonIds, link: req.fieldLink };
  return { villages: req.principal?.villages ?? null, polygonIds: null, link: null };
}

/** The SQL parameters of an access: [$villages, $ids]. */
export const accessParams = (a: Access): [string[] | null, number[] | null] => [a.villages, a.polygonIds];

/** Who recorded something: a user, or a link holder (user id 0, named after the link). */
export function actorOf(req: Request): { id: number; username: string; linkId: number | null } {
  const p = req.principal as Principal;
  return { id: p.id, username: p.username, linkId: req.fieldLink?.id ?? null };
}

export const polygonNotFound = (id: number | string) =>
  new AppError('not_found', `No polygon ${id}`, `没有图斑 ${id}`, 404);
