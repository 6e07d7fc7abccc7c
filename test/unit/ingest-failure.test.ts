/** The CLI's words for a failure that is not a refusal: a database error is a message, never a stack trace. */
import { PGlite } from '@electric-sql/pglite';
import { describe, expect, it } from 'vitest';
import { failureText } from '../../scripts/ingest-failure';
import { AppError } from '../../server/errors';

describe('failureText', () => {
  it('names a database error by its SQLSTATE and message, without a stack', async () => {
    const db = new PGlite();
    const e = await db.query('SELECT 1/0').then(() => undefined, (x: unknown) => x);
    await db.close();
    const text = failureText(e);
    expect(text).toContain('database error 数据库错误 [22012]: division by zero');
    expect(text).toContain('nothing was stored');
    expect(text).not.toMatch(/\n\s+at /);
  });

  it('gives any other error its first line only, and a refusal its code in both languages', () => {
    const e = new Error('boom\nsecond line');
    expect(failureText(e)).toBe('\ningest failed / 导入失败: boom\n');
    expect(failureText(new AppError('x_y', 'English', '中文', 409))).toContain('[x_y]\n  English\n  中文');
  });
});
