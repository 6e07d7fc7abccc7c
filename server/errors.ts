/**
 * One error type for everything a person may see. `code` is stable (clients and tests match on it),
 * `message` is English, `message_zh` Simplified Chinese. The HTTP layer turns it into
 * `{error: {code, message, message_zh, details}}` with `status`.
 */
export class AppError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly message_zh: string,
    readonly status = 400,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'AppError';
  }
  toJSON() {
    return { code: this.code, message: this.message, message_zh: this.message_zh, details: this.details ?? null };
  }
}

/** Bad input file: refused before anything is stored. */
export class IngestError extends AppError {
  constructor(code: string, message: string, message_zh: string, details?: unknown) {
    super(code, message, message_zh, 422, details);
    this.name = 'IngestError';
  }
}

export const isAppError = (e: unknown): e is AppError => e instanceof AppError;
