import { AppError } from '../errors';

/**
 * The database server cannot be reached or stopped answering (issue 12, item 1): a 503 the client may
 * retry, never a 500 and never a request left hanging. Raised by the PostgreSQL driver wrapper
 * (server/db/postgres.ts) in place of the driver's own connection-level errors, and by the health check.
 */
export class DatabaseUnavailableError extends AppError {
  constructor(
    readonly db: 'postgres' | 'pglite',
    readonly reason: 'connect_timeout' | 'query_timeout' | 'connection_lost' | 'refused' | 'shutting_down',
    cause?: unknown,
  ) {
    const name = db === 'postgres' ? 'PostgreSQL' : 'embedded PGlite';
    const nameZh = db === 'postgres' ? 'PostgreSQL' : '内置 PGlite';
    super(
      'database_unavailable',
      `The database (${name}) is not answering; try again shortly`,
      `数据库（${nameZh}）无响应，请稍后重试`,
      503,
      { db, reason },
    );
    this.name = 'DatabaseUnavailableError';
    // the driver's error, for the log (never sent to the client)
    if (cause !== undefined) Object.defineProperty(this, 'cause', { value: cause, enumerable: false });
  }
}

/** SQLSTATEs that mean "no usable connection", not "your statement is wrong". */
const UNAVAILABLE_SQLSTATE = /^(08...|57P0[123]|53300)$/; // connection exception; admin/crash shutdown, cannot connect now; too many connections
const UNAVAILABLE_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * node-postgres reports its own timeouts and lost connections by message only (no code), so those are
 * matched by message; they are its stable wording (pg 8: client.js, pg-pool/index.js).
 */
const DRIVER_MESSAGES: [RegExp, DatabaseUnavailableError['reason']][] = [
  [/^Query read timeout$/, 'query_timeout'],
  [/^timeout exceeded when trying to connect$/, 'connect_timeout'],
  [/^Connection terminated due to connection timeout$/, 'connect_timeout'],
  [/^Connection terminated( unexpectedly)?$/, 'connection_lost'],
  [/not queryable$/, 'connection_lost'],
];

/** The reason when `e` means the database is unreachable, else undefined (an ordinary error). */
export function unavailableReason(e: unknown): DatabaseUnavailableError['reason'] | undefined {
  if (e instanceof DatabaseUnavailableError) return e.reason;
  if (!(e instanceof Error)) return undefined;
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (UNAVAILABLE_ERRNO.has(code)) return code === 'ECONNREFUSED' ? 'refused' : 'connection_lost';
    if (UNAVAILABLE_SQLSTATE.test(code)) return code === '57P01' ? 'shutting_down' : 'connection_lost';
  }
  for (const [re, reason] of DRIVER_MESSAGES) if (re.test(e.message)) return reason;
  return undefined;
}
