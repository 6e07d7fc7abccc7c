/**
 * Two database roles on PostgreSQL (issue 12 item 4; README "Database roles"):
 *   - the OWNER (DATABASE_OWNER_URL) runs the migrations, owns every table and trigger, and runs imports
 *     (they drop and rebuild indexes, create staging tables, VACUUM: DDL only an owner may do);
 *   - the RUNTIME role (DATABASE_URL) serves every request. It owns nothing and may only append to the
 *     history (roles.sql), so neither a bug nor an injected statement can rewrite it.
 * `npm start` checks which role it got and refuses one that could alter the history (checkRuntimeRole).
 */
import pg from 'pg';
import type { Logger } from 'pino';
import type { Db, Queryable } from './types';
import { sqlSet } from './sql-file';
import { splitSql } from './migrate';

const SQL = sqlSet(new URL('./roles.sql', import.meta.url), ['grants', 'role_report'] as const);

/** The role a connection runs as. */
export async function currentRole(q: Queryable): Promise<string> {
  return (await q.query<{ r: string }>('SELECT current_user AS r')).rows[0].r;
}

/**
 * As the owner: the runtime role gets exactly the privileges roles.sql lists (idempotent; run after every
 * migration). A no-op when both URLs name the same role.
 */
export async function grantRuntime(owner: Db, runtimeRole: string): Promise<void> {
  if (runtimeRole === (await currentRole(owner))) return;
  const sql = SQL.grants.replaceAll('{{runtime}}', pg.escapeIdentifier(runtimeRole));
  await owner.tx(async (q) => {
    for (const stmt of splitSql(sql)) await q.query(stmt);
  });
}

export interface RoleReport {
  role: string;
  superuser: boolean;
  /** history tables this role owns (directly or through a role it belongs to): it could ALTER / DISABLE TRIGGER */
  owns: string[];
  /** history tables it may UPDATE, DELETE or TRUNCATE */
  may_rewrite: string[];
}

export async function roleReport(q: Queryable): Promise<RoleReport> {
  return (await q.query<RoleReport>(SQL.role_report)).rows[0];
}

/** Could this role alter the history? (superuser, owner of a history table, or UPDATE/DELETE/TRUNCATE on one) */
export const canAlterHistory = (r: RoleReport) => r.superuser || r.owns.length > 0 || r.may_rewrite.length > 0;

export class UnsafeRoleError extends Error {}

/**
 * At start: the embedded database is always its own superuser (accepted, with a warning); on PostgreSQL
 * a role that could alter the history is refused unless TUBAN_ALLOW_OWNER_ROLE=1 accepts it.
 */
export async function checkRuntimeRole(db: Db, opts: { allowOwnerRole: boolean }, log: Logger): Promise<RoleReport | null> {
  if (db.kind === 'pglite') {
    log.warn('the embedded database runs as its owner: the history is append-only by trigger and checked by the integrity check at start, ' +
      'but not protected by database roles; use PostgreSQL with a runtime role for that (README "Database roles") / ' +
      '嵌入式数据库以所有者身份运行，处理记录未受数据库角色保护');
    return null;
  }
  const r = await roleReport(db);
  if (!canAlterHistory(r)) {
    log.info({ role: r.role }, 'database runtime role cannot alter the history / 数据库运行角色不能修改处理记录');
    return r;
  }
  const why = r.superuser ? 'is a superuser' : r.owns.length ? `owns ${r.owns.join(', ')}` : `may update or delete ${r.may_rewrite.join(', ')}`;
  if (!opts.allowOwnerRole) {
    throw new UnsafeRoleError(
      `DATABASE_URL's role "${r.role}" ${why}: it could rewrite the decision history. Run the server as a runtime role ` +
        `and give the owner as DATABASE_OWNER_URL (README "Database roles"), or accept the risk with TUBAN_ALLOW_OWNER_ROLE=1. / ` +
        `数据库角色“${r.role}”可以修改处理记录（${r.superuser ? '超级用户' : '表的所有者或有修改权限'}），拒绝启动：请使用运行角色，` +
        `或设置 TUBAN_ALLOW_OWNER_ROLE=1 接受此风险`,
    );
  }
  log.warn({ role: r.role, superuser: r.superuser, owns: r.owns, may_rewrite: r.may_rewrite },
    `TUBAN_ALLOW_OWNER_ROLE=1: running as "${r.role}", which ${why} and could rewrite the history / 以可修改处理记录的数据库角色运行`);
  return r;
}
