/**
 * `npm run ingest` beside a running server (issue 11 item 7): the embedded database is the server's alone
 * (server/db/lock.ts), so the import is sent to it (server/ingest/handoff.ts) and its progress and report
 * come back as NDJSON. node:http, not fetch: an import may run for many minutes between two progress lines,
 * past undici's default body timeout.
 */
import http from 'node:http';
import { liveOwner, lockFileFor } from '../server/db/lock';
import { AppError } from '../server/errors';
import { handoffFileFor, readHandoff, type HandoffInfo, type HandoffLine, type HandoffRequest } from '../server/ingest/handoff';
import type { ImportReport, ImportRequest } from '../server/ingest/import';
import type { ImageryReport } from '../server/imagery/import';

/**
 * The server holding `pgliteDir`, once it listens for hand-offs; undefined when no live server holds it (the
 * CLI then opens the database itself). A server still starting (migrations, the sample town) is waited for.
 */
export async function findRunningServer(pgliteDir: string, opts: { waitS: number; onWait?: (pid: number, s: number) => void }): Promise<HandoffInfo | undefined> {
  const started = Date.now();
  for (;;) {
    const owner = liveOwner(lockFileFor(pgliteDir));
    if (!owner || owner.role !== 'server') return undefined;
    const info = readHandoff(handoffFileFor(pgliteDir));
    if (info && info.pid === owner.pid) return info;
    const s = (Date.now() - started) / 1000;
    if (s >= opts.waitS) {
      throw new AppError('server_not_ready',
        `The tuban server (process ${owner.pid}) holds the embedded database but did not accept imports within ${opts.waitS} s. Try again once it is running.`,
        `tuban 服务（进程号 ${owner.pid}）占用嵌入式数据库，但在 ${opts.waitS} 秒内未能接收导入。请在其启动完成后重试。`, 503);
    }
    opts.onWait?.(owner.pid, Math.round(s));
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Sends the import; resolves with the server's report, rejects with its refusal (an AppError) or failure. */
export function sendToServer(info: HandoffInfo, body: HandoffRequest, onProgress: NonNullable<ImportRequest['onProgress']>): Promise<ImportReport | ImageryReport> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1', port: info.port, path: '/import', method: 'POST',
      headers: { authorization: `Bearer ${info.token}`, 'content-type': 'application/json' },
    }, (res) => {
      res.setEncoding('utf8');
      let buf = '';
      let settled = false;
      const fail = (e: unknown) => { if (!settled) (settled = true, reject(e)); };
      if (res.statusCode !== 200) {
        res.on('data', (d: string) => (buf += d));
        res.on('end', () => {
          const e = (JSON.parse(buf || '{}') as { error?: { code: string; message: string; message_zh: string; details?: unknown } }).error;
          fail(e ? new AppError(e.code, e.message, e.message_zh, res.statusCode, e.details ?? undefined)
            : new Error(`the server answered ${res.statusCode}`));
        });
        return;
      }
      const onLine = (line: string) => {
        if (!line.trim()) return;
        const m = JSON.parse(line) as HandoffLine;
        if ('progress' in m) onProgress(m.progress);
        else if ('report' in m) { settled = true; resolve(m.report); }
        else if (m.error.code === 'database_error') {
          // the CLI's failure text names the database by this SQLSTATE (ingest-failure.ts)
          fail(Object.assign(new Error(m.error.message), { code: (m.error.details as { sqlstate?: string } | null)?.sqlstate ?? 'XX000' }));
        } else fail(new AppError(m.error.code, m.error.message, m.error.message_zh, m.error.status, m.error.details ?? undefined));
      };
      res.on('data', (d: string) => {
        buf += d;
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          onLine(buf.slice(0, i));
          buf = buf.slice(i + 1);
        }
      });
      res.on('end', () => fail(new AppError('server_gone',
        'The server closed the connection before the import finished (was it stopped?). Whether it was stored: GET /api/imports, or run the import again (a file already stored is recognised).',
        '导入完成前服务关闭了连接（是否已停止？）。是否已存储可查看 GET /api/imports，或重新导入（已存储的文件会被识别）。', 502)));
      res.on('error', fail);
    });
    req.on('error', (e) => reject(new AppError('server_unreachable',
      `The tuban server holds the embedded database but its hand-off port ${info.port} did not answer (${(e as NodeJS.ErrnoException).code ?? e.message}).`,
      `tuban 服务占用嵌入式数据库，但其移交端口 ${info.port} 无应答。`, 502)));
    req.end(JSON.stringify(body));
  });
}
