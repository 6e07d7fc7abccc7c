import type { Logger } from 'pino';
import type { Db, Queryable } from '../db/types';
import { sqlSet } from '../db/sql-file';
import { AppError } from '../errors';
import type { Principal, Role } from './guard';
import { attemptSucceeded, beginAttempt } from './limiter';
import { forgetUserSessions } from './session-cache';
import { dummyHash, generatePassword, hashPassword, needsRehash, PASSWORD_MAX, PASSWORD_MIN, verifyPassword } from './password';

/** Accounts: the one module that writes app_user (routes, CLI and first start all come through here). */
const SQL = sqlSet(new URL('./auth.sql', import.meta.url), [
  'user_by_username', 'user_by_id', 'users_list', 'user_insert', 'user_update', 'user_set_password',
  'enabled_admins', 'demo_users', 'demo_village', 'sessions_delete_user', 'user_logged_in',
  'batch_mark_sample', 'real_data_imported', 'demo_disable',
] as const);

interface UserRow {
  id: number;
  username: string;
  display_name: string;
  role: Role;
  villages: string[] | null;
  password_hash: string;
  must_change_password: boolean;
  disabled: boolean;
  is_demo: boolean;
  /** why the system disabled the account (DEMO_DISABLED_REASON), null when a person did or it is enabled */
  disabled_reason: string | null;
  created_at: Date;
  last_login_at: Date | null;
}

/** An account as the API shows it: everything but the hash. */
export type User = Omit<UserRow, 'password_hash'>;
export type UserWithHash = UserRow;

export const toUser = ({ password_hash: _h, ...u }: UserRow): User => u;
export const toPrincipal = (u: Pick<UserRow, 'id' | 'username' | 'display_name' | 'role' | 'villages'>): Principal => ({
  id: u.id,
  username: u.username,
  displayName: u.display_name,
  role: u.role,
  villages: u.villages,
});

// letters of any script (张三), digits, and . _ - inside
export const USERNAME_RE = /^[\p{L}\p{N}][\p{L}\p{N}._-]{1,39}$/u;

export function checkUsername(username: string): string {
  const u = username.normalize('NFC').trim();
  if (!USERNAME_RE.test(u)) {
    throw new AppError(
      'invalid_username',
      'Username: 2–40 letters or digits, and . _ - after the first character',
      '用户名须为 2–40 个字母或数字，首字符之后可含 . _ -',
      400,
    );
  }
  return u;
}

/** Trimmed, de-duplicated village names; null = all villages. An empty list is refused (it would see nothing). */
export function normalizeVillages(v: readonly string[] | null | undefined): string[] | null {
  if (v == null) return null;
  const out = [...new Set(v.map((s) => s.normalize('NFC').trim()).filter(Boolean))];
  if (!out.length) {
    throw new AppError('invalid_villages', 'Name at least one village, or none for all villages', '请至少指定一个村（社区），不限则留空', 400);
  }
  return out;
}

const COMMON = new Set(['12345678', '123456789', '1234567890', '87654321', '11111111', '88888888', '00000000',
  'password', 'password1', 'admin123', 'admin1234', 'qwertyui', 'qwerty123', 'abc12345', 'a1234567', '1qaz2wsx']);

export function checkPasswordPolicy(password: string, username: string) {
  const fail = (code: string, en: string, zh: string) => {
    throw new AppError(code, en, zh, 400);
  };
  if (password.length < PASSWORD_MIN) fail('password_too_short', `Password: at least ${PASSWORD_MIN} characters`, `密码至少 ${PASSWORD_MIN} 个字符`);
  if (password.length > PASSWORD_MAX) fail('password_too_long', `Password: at most ${PASSWORD_MAX} characters`, `密码最多 ${PASSWORD_MAX} 个字符`);
  if (password.toLowerCase().includes(username.toLowerCase()) || COMMON.has(password.toLowerCase())) {
    fail('password_too_weak', 'Password is too easy to guess (contains the username, or is a common one)', '密码过于简单（包含用户名或为常见密码）');
  }
}

export async function findUserByUsername(q: Queryable, username: string): Promise<UserRow | undefined> {
  return (await q.query<UserRow>(SQL.user_by_username, [username])).rows[0];
}

export async function getUser(q: Queryable, id: number): Promise<UserRow | undefined> {
  return (await q.query<UserRow>(SQL.user_by_id, [id])).rows[0];
}

export async function listUsers(q: Queryable): Promise<User[]> {
  return (await q.query<UserRow>(SQL.users_list)).rows.map(toUser);
}

export interface NewUser {
  username: string;
  role: Role;
  displayName?: string;
  villages?: readonly string[] | null;
  /** omitted: a one-time password is generated (and must be changed at first login) */
  password?: string;
  mustChangePassword?: boolean;
  isDemo?: boolean;
}

/** Creates an account; returns it with the password (generated or given) to hand over once. */
export async function createUser(q: Queryable, n: NewUser): Promise<{ user: User; password: string }> {
  const username = checkUsername(n.username);
  const generated = n.password === undefined;
  const password = n.password ?? generatePassword();
  // demo passwords are published anyway (and contain the username)
  if (!generated && !n.isDemo) checkPasswordPolicy(password, username);
  const r = await q.query<UserRow>(SQL.user_insert, [
    username,
    n.displayName?.trim() || '',
    n.role,
    normalizeVillages(n.villages),
    await hashPassword(password),
    n.mustChangePassword ?? generated,
    n.isDemo ?? false,
  ]);
  if (!r.rows[0]) {
    throw new AppError('username_taken', `Username '${username}' is taken`, `用户名“${username}”已被使用`, 409);
  }
  return { user: toUser(r.rows[0]), password };
}

export interface UserPatch {
  displayName?: string;
  role?: Role;
  /** undefined = unchanged, null = all villages */
  villages?: readonly string[] | null;
  disabled?: boolean;
}

/**
 * Changes role, villages, display name or the disabled flag. Takes effect on the next request of that
 * user (sessions are looked up with the account); disabling also ends their sessions. Refuses to leave
 * the system without an enabled admin.
 */
export async function updateUser(db: Db, id: number, p: UserPatch): Promise<User> {
  try {
    return await updateUserTx(db, id, p);
  } finally {
    // after the commit (or the failure): remembered lookups of this user must not outlive the change
    forgetUserSessions(id);
  }
}

async function updateUserTx(db: Db, id: number, p: UserPatch): Promise<User> {
  return db.tx(async (q) => {
    const admins = (await q.query<{ id: number }>(SQL.enabled_admins)).rows.map((r) => r.id);
    const losesAdmin = (p.role !== undefined && p.role !== 'admin') || p.disabled === true;
    if (losesAdmin && admins.includes(id) && admins.length === 1) {
      throw new AppError('last_admin', 'This is the last enabled admin: create another admin first',
        '这是最后一个可用的管理员账号，请先创建另一个管理员', 409);
    }
    const r = await q.query<UserRow>(SQL.user_update, [
      id,
      p.displayName === undefined ? null : p.displayName.trim(),
      p.role ?? null,
      p.villages !== undefined,
      p.villages === undefined ? null : normalizeVillages(p.villages),
      p.disabled ?? null,
    ]);
    const u = r.rows[0];
    if (!u) throw new AppError('not_found', `No user ${id}`, `没有 ID 为 ${id} 的用户`, 404);
    if (p.disabled) await q.query(SQL.sessions_delete_user, [id, null]);
    return toUser(u);
  });
}

/** New one-time password (must be changed at next login); every session of the user ends. */
export async function resetPassword(db: Db, id: number): Promise<string> {
  const password = generatePassword();
  const hash = await hashPassword(password);
  await db.tx(async (q) => {
    if (!(await getUser(q, id))) throw new AppError('not_found', `No user ${id}`, `没有 ID 为 ${id} 的用户`, 404);
    await q.query(SQL.user_set_password, [id, hash, true]);
    await q.query(SQL.sessions_delete_user, [id, null]);
  });
  forgetUserSessions(id);
  return password;
}

/** The user's own change: clears must_change_password and ends their other sessions (keepTokenHash stays). */
export async function changePassword(db: Db, u: Pick<UserRow, 'id' | 'username'>, password: string, keepTokenHash: string | null) {
  checkPasswordPolicy(password, u.username);
  const hash = await hashPassword(password);
  await db.tx(async (q) => {
    await q.query(SQL.user_set_password, [u.id, hash, false]);
    await q.query(SQL.sessions_delete_user, [u.id, keepTokenHash]);
  });
  forgetUserSessions(u.id);
}

/**
 * Checks a login under the limiter: the account, or AppError 401 invalid_credentials / 403
 * account_disabled / 429 RateLimitedError. Records last_login_at and upgrades an old-cost hash.
 */
export async function checkLogin(db: Db, username: string, password: string, ip: string): Promise<UserRow> {
  const attempt = await beginAttempt(db, username, ip);
  const u = await findUserByUsername(db, username);
  // unknown usernames cost one scrypt too: the response time does not tell which accounts exist
  const ok = await verifyPassword(password, u?.password_hash ?? (await dummyHash()));
  if (!u || !ok) throw new AppError('invalid_credentials', 'Wrong username or password', '用户名或密码错误', 401);
  await attemptSucceeded(db, attempt);
  // only after the right password: no telling a guesser which accounts are disabled
  if (u.disabled) throw new AppError('account_disabled', 'This account is disabled', '此账号已停用', 403);
  if (needsRehash(u.password_hash)) await db.query(SQL.user_set_password, [u.id, await hashPassword(password), u.must_change_password]);
  await db.query(SQL.user_logged_in, [u.id]);
  return { ...u, last_login_at: new Date() };
}

/** Re-checks the current password (password change), under the same limiter as logins. */
export async function checkOwnPassword(db: Db, u: Pick<UserRow, 'username' | 'password_hash'>, password: string, ip: string) {
  const attempt = await beginAttempt(db, u.username, ip);
  if (!(await verifyPassword(password, u.password_hash))) {
    throw new AppError('wrong_password', 'The current password is wrong', '当前密码错误', 400);
  }
  await attemptSucceeded(db, attempt);
}

type Out = { write(s: string): unknown };

/**
 * First start: when no enabled admin exists, create `admin` with a one-time password printed once to
 * stdout (never to the log). On later starts, warn while demo accounts (known passwords) are enabled.
 */
export async function ensureAdmin(db: Db, log: Logger, out: Out = process.stdout): Promise<{ created: boolean; password?: string }> {
  const demo = (await db.query<{ username: string }>(SQL.demo_users)).rows;
  if (demo.length) {
    log.warn({ accounts: demo.map((d) => d.username) },
      'demo accounts with published passwords are enabled; disable them before loading real data: npm run users -- disable <name> / 演示账号（密码公开）仍可登录，导入真实数据前请停用');
  }
  if ((await db.query(SQL.enabled_admins)).rows.length) return { created: false };
  if (await findUserByUsername(db, 'admin')) {
    log.warn('no enabled admin account, and "admin" exists but is disabled or not an admin: fix it with npm run users / 没有可用的管理员账号');
    return { created: false };
  }
  let created: { user: User; password: string };
  try {
    created = await createUser(db, { username: 'admin', role: 'admin', displayName: '管理员' });
  } catch (e) {
    // another process starting at the same moment created it first
    if (e instanceof AppError && e.code === 'username_taken') return { created: false };
    throw e;
  }
  log.info({ username: 'admin' }, 'created the first admin account (password printed to stdout once)');
  log.flush?.();
  out.write(
    [
      '',
      '──────────────────────────────────────────────────────────────',
      ' First start: administrator account created / 首次启动：已创建管理员账号',
      `   username / 用户名:  admin`,
      `   password / 密码:    ${created.password}`,
      ' Shown only this once; you must change it at first login.',
      ' 此密码仅显示这一次，首次登录后须修改。',
      ' Lost it? / 忘记密码：npm run users -- reset-password admin',
      '──────────────────────────────────────────────────────────────',
      '',
    ].join('\n'),
  );
  return { created: true, password: created.password };
}

/** Demo accounts of the synthetic sample town: published passwords, flagged is_demo. */
export const DEMO_USERS = [
  { username: 'demo-analyst', role: 'analyst', displayName: '演示分析员', password: 'demo-analyst-2020' },
  { username: 'demo-field', role: 'field', displayName: '演示外业人员', password: 'demo-field-2020' },
  { username: 'demo-reviewer', role: 'reviewer', displayName: '演示审核员', password: 'demo-reviewer-2020' },
] as const;

/**
 * Call right after the synthetic sample town is loaded, never otherwise: demo accounts exist only with
 * demo data. The field account is limited to one village (吉安社区 when the sample has it). Idempotent.
 */
export async function ensureDemoUsers(db: Db, out: Out = process.stdout) {
  const village = (await db.query<{ name: string }>(SQL.demo_village)).rows[0]?.name ?? '吉安社区';
  const created: { username: string; role: Role; password: string; villages: string[] | null }[] = [];
  for (const d of DEMO_USERS) {
    const villages = d.role === 'field' ? [village] : null;
    if (await findUserByUsername(db, d.username)) continue;
    try {
      await createUser(db, { ...d, villages, mustChangePassword: false, isDemo: true });
      created.push({ username: d.username, role: d.role, password: d.password, villages });
    } catch (e) {
      if (!(e instanceof AppError && e.code === 'username_taken')) throw e;
    }
  }
  if (created.length) {
    out.write(
      [
        '',
        'Demo accounts for the SYNTHETIC sample town — published passwords, do not keep them with real data:',
        '演示账号（仅用于合成示例数据，密码公开，勿在真实数据中保留）：',
        ...created.map((c) =>
          `   ${c.username.padEnd(14)} ${c.role.padEnd(9)} password / 密码: ${c.password}` +
          (c.villages ? `   (${c.villages.join('、')} only / 仅限)` : '')),
        ' Disable / 停用:  npm run users -- disable demo-analyst',
        '',
      ].join('\n'),
    );
  }
  return created;
}

/** disabled_reason of demo accounts disabled because real data was imported */
export const DEMO_DISABLED_REASON = 'real_data_imported';

export const DEMO_DISABLED_NOTICE = {
  code: 'demo_accounts_disabled',
  message: 'Real data has been imported: the demo accounts of the synthetic sample town (published passwords) were disabled automatically.',
  message_zh: '已导入真实数据：合成示例数据的演示账号（密码公开）已自动停用。',
} as const;

/**
 * Called by every import, in its transaction (server/ingest/import.ts): an import of the synthetic sample
 * town is marked as such; any other import is real data, and the demo accounts — whose passwords are
 * published in the README — are disabled in the same transaction, so real data and a known password never
 * coexist, not even for a moment. Returns the accounts disabled (call forgetDemoSessions after the commit).
 */
export async function demoAccountsAfterImport(q: Queryable, batchId: number, sample: boolean): Promise<{ id: number; username: string }[]> {
  if (sample) {
    await q.query(SQL.batch_mark_sample, [batchId]);
    return [];
  }
  return (await q.query<{ id: number; username: string }>(SQL.demo_disable, [DEMO_DISABLED_REASON])).rows;
}

/** After the commit that disabled them: sessions remembered in this process end too. */
export function forgetDemoSessions(users: readonly { id: number }[]) {
  for (const u of users) forgetUserSessions(u.id);
}

/**
 * At start: real data imported before this rule existed (or by another process) still disables the demo
 * accounts. Logs what it did; returns the usernames.
 */
export async function disableDemoUsersIfRealData(db: Db, log: Logger): Promise<string[]> {
  if (!(await db.query<{ real: boolean }>(SQL.real_data_imported)).rows[0].real) return [];
  const off = await db.tx((q) => q.query<{ id: number; username: string }>(SQL.demo_disable, [DEMO_DISABLED_REASON]));
  forgetDemoSessions(off.rows);
  const names = off.rows.map((u) => u.username);
  if (names.length) logDemoDisabled(log, names);
  return names;
}

export function logDemoDisabled(log: Logger, usernames: readonly string[]) {
  log.warn({ accounts: usernames, reason: DEMO_DISABLED_REASON },
    `real data imported: demo accounts disabled (${usernames.join(', ')}) / 已导入真实数据，演示账号已停用`);
}
