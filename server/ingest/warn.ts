/** Shape of a non-fatal remark in ReadResult.warnings (English + Chinese, same as IngestError). */
export interface Warning {
  code: string;
  message: string;
  message_zh: string;
}

export const warning = (code: string, message: string, message_zh: string): Warning => ({ code, message, message_zh });

/** Human-sized byte count for messages. */
export const mb = (n: number) => `${(n / 1048576).toFixed(n < 10485760 ? 1 : 0)} MB`;
