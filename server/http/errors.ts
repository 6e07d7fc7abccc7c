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

type Bilingual = readonly [code: string, message: string, message_zh: string];

/**
 * Errors of the HTTP plumbing that carry a 4xx status of their own (body-parser's `type`, express's URIError
 * for a path that is not valid percent-encoding, zlib's codes for a corrupt compressed body): the caller's
 * mistake, answered with that status and a stable code.
 */
const PLUMBING: Record<string, Bilingual> = {
  'encoding.unsupported': ['unsupported_encoding', 'Content-Encoding not supported: send the body plain, or gzip/deflate/br', '不支持该内容编码（Content-Encoding），请发送未压缩或 gzip/deflate/br 压缩的内容'],
  'charset.unsupported': ['unsupported_charset', 'Request body charset not supported: send UTF-8', '不支持该请求字符集，请使用 UTF-8'],
  'entity.parse.failed': ['invalid_json', 'Request body is not valid JSON', '请求内容不是有效的 JSON'],
  'entity.too.large': ['payload_too_large', 'Upload too large', '上传内容过大'],
  'request.aborted': ['request_aborted', 'The request body was cut short', '请求内容不完整（传输中断）'],
  'request.size.invalid': ['request_size_invalid', 'The request body does not match its Content-Length', '请求内容长度与 Content-Length 不符'],
  'parameters.too.many': ['too_many_parameters', 'Too many parameters', '参数过多'],
  URIError: ['invalid_path', 'The path is not valid percent-encoding', '请求路径的编码无效'],
  zlib: ['invalid_body_encoding', 'The compressed request body is corrupt', '请求内容的压缩数据已损坏'],
  other: ['bad_request', 'Bad request', '请求无效'],
};

/** SQLSTATE class 22 (data exception: 22021 NUL byte, 22003 out of range, 22008 bad date…) */
const isDataException = (err: { code?: unknown; severity?: unknown }) =>
  typeof err.code === 'string' && /^22[0-9A-Z]{3}$/.test(err.code) && typeof err.severity === 'string';

/** Any error the app did not make itself, as an AppError (internal = 500 unless recognised). */
export function toAppError(err: any): AppError | undefined {
  if (err instanceof AppError) return err;
  if (err instanceof ZodError) return zodToAppError(err);
  if (err?.type === 'entity.too.large' || err?.code === 'LIMIT_FILE_SIZE') {
    return new AppError('payload_too_large', 'Upload too large', '上传内容过大', 413);
  }
  if (typeof err?.code === 'string' && err.code.startsWith('LIMIT_')) {
    return new AppError('upload_invalid', `Upload refused: ${err.message}`, `上传被拒绝：${err.field ? `字段“${err.field}”` : ''}超出限制`, 400,
      { limit: err.code, field: err.field ?? null });
  }
  // a value PostgreSQL refuses as data (NUL in text, an integer past int4, year 0…): the request's fault.
  // Schemas refuse these up front (server/http/schemas.ts); this is the net under them.
  if (err && isDataException(err)) {
    return new AppError('invalid_value', 'A value in the request is out of range or not allowed', '请求中的某个值超出范围或不被允许', 400,
      { sqlstate: err.code });
  }
  const status = Number(err?.status ?? err?.statusCode);
  if (Number.isInteger(status) && status >= 400 && status < 500) {
    const [code, message, message_zh] = PLUMBING[err.type] ?? (err instanceof URIError ? PLUMBING.URIError
      : typeof err.code === 'string' && err.code.startsWith('Z_') ? PLUMBING.zlib : PLUMBING.other);
    return new AppError(code, message, message_zh, status);
  }
  return undefined;
}

/** The one place that writes errors: `{error: {code, message, message_zh, details}}`. */
export const errorHandler: ErrorRequestHandler = (err, req, res, _next) => {
  let e = toAppError(err);
  if (!e) {
    req.log?.error({ err }, 'unhandled error');
    e = new AppError('internal', 'Internal error', '服务器内部错误', 500);
  } else if (!(err instanceof AppError) && !(err instanceof ZodError)) {
    // what the caller sent that the plumbing or the database refused: worth a line when hunting a client bug
    req.log?.info({ err: { message: err?.message, code: err?.code, type: err?.type }, code: e.code }, 'request refused');
  }
  if (res.headersSent) return void res.destroy();
  res.status(e.status).json({ error: e.toJSON() });
};
