import type { ErrorRequestHandler, RequestHandler } from 'express';
import { ZodError } from 'zod';
import { AppError } from '../errors';

/** Route handlers may be async: forward rejections to the error middleware (express 5 does it natively). */
export const notFound: RequestHandler = (req, _res, next) =>
  next(new AppError('not_found', `No route ${req.method} ${req.path}`, `没有此接口：${req.method} ${req.path}`, 404));

export function zodToAppError(e: ZodError): AppError {
  const details = e.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
  const where = details.map((d) => d.path || '(body)').join(', ');
  return new AppError('invalid_input', `Invalid input: ${where}`, `输入无效：${where}`, 400, details);
}

/** The one place that writes errors: `{error: {code, message, message_zh, details}}`. */
export const errorHandler: ErrorRequestHandler = (err, req, res, _next) => {
  let e: AppError;
  if (err instanceof AppError) e = err;
  else if (err instanceof ZodError) e = zodToAppError(err);
  else if (err?.type === 'entity.too.large' || err?.code === 'LIMIT_FILE_SIZE') {
    e = new AppError('payload_too_large', 'Upload too large', '上传内容过大', 413);
  } else if (err?.type === 'entity.parse.failed') {
    e = new AppError('invalid_json', 'Request body is not valid JSON', '请求内容不是有效的 JSON', 400);
  } else if (typeof err?.code === 'string' && err.code.startsWith('LIMIT_')) {
    e = new AppError('upload_invalid', `Upload refused: ${err.message}`, `上传被拒绝：${err.message}`, 400);
  } else {
    req.log?.error({ err }, 'unhandled error');
    e = new AppError('internal', 'Internal error', '服务器内部错误', 500);
  }
  res.status(e.status).json({ error: e.toJSON() });
};
