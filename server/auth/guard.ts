import type { NextFunction, Request, Response } from 'express';
import { AppError } from '../errors';

export const ROLES = ['admin', 'analyst', 'field', 'reviewer'] as const;
export type Role = (typeof ROLES)[number];

/** Who is calling, set by the session middleware (auth/session.ts). */
export interface Principal {
  id: number;
  username: string;
  displayName: string;
  role: Role;
  /** villages this user is limited to; null = all villages */
  villages: string[] | null;
}

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
  }
}

/** Every route names the roles it admits. No principal → 401; wrong role → 403. */
export function requireRole(...roles: Role[]) {
  return (req: Request, _res: Response, next: NextFunction) => {
    const p = req.principal;
    if (!p) return next(new AppError('unauthenticated', 'Log in first', '请先登录', 401));
    if (!roles.includes(p.role)) {
      return next(new AppError('forbidden', `Your role (${p.role}) may not do this`, `您的角色（${p.role}）无权执行此操作`, 403));
    }
    next();
  };
}

/** Village scope of the caller for queries: undefined = no restriction. */
export const villageScope = (req: Request): string[] | undefined => req.principal?.villages ?? undefined;
