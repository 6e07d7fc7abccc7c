import { isAppError } from '../server/errors';

/**
 * What a failure outside a refusal tells the user: a database error (it carries an SQLSTATE) names the
 * database and its message, anything else its message; never a stack trace.
 */
export function failureText(e: unknown): string {
  if (isAppError(e)) return `\ningest failed / 导入失败 [${e.code}]\n  ${e.message}\n  ${e.message_zh}\n`;
  const msg = e instanceof Error ? e.message : String(e);
  const sqlstate = (e as { code?: unknown } | null)?.code;
  if (typeof sqlstate === 'string' && /^[0-9A-Z]{5}$/.test(sqlstate)) {
    return `\ningest failed: the database stopped the import; nothing was stored / 导入失败：数据库中止了导入，未存储任何内容\n` +
      `  database error 数据库错误 [${sqlstate}]: ${msg.split('\n')[0]}\n` +
      `  Please report this with the file you imported. / 请将此信息连同导入的文件一并报告。\n`;
  }
  return `\ningest failed / 导入失败: ${msg.split('\n')[0]}\n`;
}
