import type { RequestHandler } from 'express';
import { AppError } from '../errors';
import { nulAt, nulError } from './schemas';

/**
 * A multer middleware whose parse failures are the caller's: busboy reports a body that is not the
 * multipart it claims (no boundary, cut short, a malformed part header) as a plain Error, which would end
 * as a 500. Multer's own limit errors (LIMIT_*) and AppErrors pass through to the error handler as they are.
 * The text fields are held to the same rule as JSON bodies: no NUL character (http/schemas.ts refuseNul).
 */
export function multipart(upload: RequestHandler): RequestHandler {
  return (req, res, next) =>
    upload(req, res, (err?: unknown) => {
      const code = (err as { code?: unknown } | undefined)?.code;
      if (!err) {
        const at = nulAt(req.body);
        return next(at ? nulError(at) : undefined);
      }
      if (err instanceof AppError || (typeof code === 'string' && code.startsWith('LIMIT_'))) return next(err);
      next(new AppError('upload_invalid', `The multipart body cannot be read: ${(err as Error).message ?? err}`,
        '上传的表单内容无法解析（格式错误或不完整）', 400));
    });
}
