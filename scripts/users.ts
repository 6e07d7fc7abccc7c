/**
 * Account administration from the command line (the server may be running or not):
 *
 *   npm run users -- list
 *   npm run users -- create 张三 --role field --villages 吉安社区,五星村 --display 张三
 *   npm run users -- reset-password admin
 *   npm run users -- disable demo-analyst        (and: enable NAME)
 *
 * Passwords are generated and printed once; the user must change them at first login.
 * With PostgreSQL (DATABASE_URL) the server may keep running. The embedded database (PGlite) is one
 * process's files: stop the server first (this script refuses while it answers on its port).
 */
import { parseCli, usageExit } from './cli-args';
import { loadConfig } from '../server/config';
import { openDb } from '../server/db/open';
import { migrate } from '../server/db/migrate';
import type { Db } from '../server/db/types';
import { AppError } from '../server/errors';
import { ROLES, type Role } from '../server/auth/guard';
import { createUser, findUserByUsername, listUsers, resetPassword, updateUser } from '../server/auth/users';

const USAGE = `usage / 用法:
  npm run users -- list
  npm run users -- create NAME --role ${ROLES.join('|')} [--villages 吉安社区,五星村] [--display 张三]
  npm run users -- reset-password NAME
  npm run users -- disable NAME
  npm run users -- enable NAME`;

/** padEnd by display width: CJK characters take two columns in a terminal */
const pad = (s: string, n: number) => s + ' '.repeat(Math.max(1, n - [...s].reduce((w, c) => w + (c.codePointAt(0)! >= 0x2e80 ? 2 : 1), 0)));

/** Village lists are typed with ASCII or Chinese commas (，、). */
const splitVillages = (s: string) => s.split(/[,，、]/).map((v) => v.trim()).filter(Boolean);

async function byName(db: Db, name: string) {
  const u = await findUserByUsername(db, name);
  if (!u) throw new AppError('not_found', `No user '${name}'`, `没有用户“${name}”`, 404);
  return u;
}

/** Parsed before the database is opened: a misspelt option is a usage error (exit 2), not a stack trace. */
const parse = (args: string[]) =>
  parseCli(
    { args, allowPositionals: true, options: { role: { type: 'string' }, villages: { type: 'string' }, display: { type: 'string' } } },
    USAGE,
  );

async function run(db: Db, cmd: string, { values, positionals }: ReturnType<typeof parse>) {
  const name = positionals[0];
  const needName = () => {
    if (!name) throw new AppError('usage', USAGE, USAGE);
    return name;
  };
  switch (cmd) {
    case 'list': {
      const rows = await listUsers(db);
      for (const u of rows) {
        const flags = [u.disabled && 'disabled/停用', u.must_change_password && 'must-change-password/须改密', u.is_demo && 'demo/演示']
          .filter(Boolean).join(' ');
        process.stdout.write(
          `${String(u.id).padStart(4)}  ${pad(u.username, 16)}${pad(u.role, 10)}${pad(u.villages?.join('、') ?? '(all / 全部)', 24)}` +
            `${pad(u.display_name, 14)}${flags}\n`,
        );
      }
      if (!rows.length) process.stdout.write('no users / 没有用户\n');
      return;
    }
    case 'create': {
      const role = values.role as Role | undefined;
      if (!role || !ROLES.includes(role)) throw new AppError('usage', `--role must be one of ${ROLES.join(', ')}\n${USAGE}`, `--role 须为 ${ROLES.join('、')}`);
      const { user, password } = await createUser(db, {
        username: needName(),
        role,
        displayName: values.display,
        villages: values.villages ? splitVillages(values.villages) : null,
      });
      process.stdout.write(
        `created / 已创建: ${user.username} (${user.role}${user.villages ? `, ${user.villages.join('、')}` : ''})\n` +
          `one-time password / 一次性密码: ${password}\n(must be changed at first login / 首次登录后须修改)\n`,
      );
      return;
    }
    case 'reset-password': {
      const u = await byName(db, needName());
      const password = await resetPassword(db, u.id);
      process.stdout.write(
        `new one-time password for / 新的一次性密码 ${u.username}: ${password}\n` +
          `(all sessions of ${u.username} ended; must be changed at next login / 已退出所有登录，下次登录后须修改)\n`,
      );
      if (u.disabled) process.stdout.write(`note: ${u.username} is disabled; enable with / 账号已停用，启用：npm run users -- enable ${u.username}\n`);
      return;
    }
    case 'disable':
    case 'enable': {
      const u = await byName(db, needName());
      await updateUser(db, u.id, { disabled: cmd === 'disable' });
      process.stdout.write(`${u.username}: ${cmd === 'disable' ? 'disabled / 已停用' : 'enabled / 已启用'}\n`);
      return;
    }
    default:
      throw new AppError('usage', USAGE, USAGE);
  }
}

async function main() {
  const [cmd, ...args] = process.argv.slice(2);
  if (!cmd || cmd === '--help' || cmd === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (!['list', 'create', 'reset-password', 'disable', 'enable'].includes(cmd)) usageExit(USAGE, `unknown command "${cmd}" / 未知命令“${cmd}”`);
  const parsed = parse(args);
  const config = loadConfig();
  if (!config.databaseUrl && (await serverRunning(config.host, config.port))) {
    throw new Error(
      `tuban is running on port ${config.port} with the embedded database; stop it first (two processes must not open ` +
        `${config.pgliteDir})\n服务正在运行且使用内置数据库，请先停止服务再管理账号`,
    );
  }
  const db = await openDb({ databaseUrl: config.databaseUrl, pgliteDir: config.pgliteDir, role: 'users' });
  try {
    await migrate(db, { workSrid: config.workSrid });
    await run(db, cmd, parsed);
  } finally {
    await db.close();
  }
}

async function serverRunning(host: string, port: number): Promise<boolean> {
  const h = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  try {
    const r = await fetch(`http://${h.includes(':') ? `[${h}]` : h}:${port}/api/health`, { signal: AbortSignal.timeout(1500) });
    return r.ok;
  } catch {
    return false;
  }
}

main().catch((e) => {
  if (e instanceof AppError) process.stderr.write(`${e.message}${e.message_zh !== e.message ? `\n${e.message_zh}` : ''}\n`);
  else process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
