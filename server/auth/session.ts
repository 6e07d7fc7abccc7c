import type { RequestHandler } from 'express';
import type { AppContext } from '../context';

/**
 * PLACEHOLDER until accounts land (issue 3): no session, so every guarded route answers 401.
 * Replaced by the real session middleware.
 */
export async function authenticate(_ctx: AppContext): Promise<RequestHandler> {
  return (_req, _res, next) => next();
}
