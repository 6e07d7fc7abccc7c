/**
 * One process per embedded data directory (issue 11 item 7: a CLI import beside a running server corrupted
 * the PGlite files — two PostgreSQL instances writing one data directory, each unaware of the other).
 *
 * A pid file created with O_EXCL (`wx`) next to the data directory: creating it is atomic, so of two
 * processes starting at once exactly one gets it. It names its holder (pid, what it is, since when), so the
 * second is refused with a message that says which process to stop. A lock whose process is gone (killed,
 * crashed) is stale: it is taken over.
 *
 * Why not proper-lockfile: it decides staleness by the lock's mtime, refreshed by a timer. PGlite runs
 * queries synchronously on the main thread (a cadastral import's GiST build blocks the event loop for tens
 * of seconds), the timer cannot fire, and after `stale` ms a second process would take over the lock of a
 * live one: exactly the corruption this exists to prevent. It also records no pid to name. A pid is
 * checked with kill(pid, 0): alive or not, whatever the event loop is doing.
 */
import { closeSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { AppError } from '../errors';
import { removeWhenDone } from './owned-file';

export interface LockOwner {
  pid: number;
  /** what holds it: 'server' (npm start), 'ingest' (npm run ingest), … */
  role: string;
  host: string;
  started: string;
}

export interface DataDirLock {
  readonly file: string;
  readonly owner: LockOwner;
  release(): void;
}

export const lockFileFor = (dataDir: string) => `${path.resolve(dataDir)}.lock`;

export function readLockOwner(file: string): LockOwner | undefined {
  try {
    const o = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockOwner>;
    return typeof o.pid === 'number' ? { pid: o.pid, role: String(o.role ?? '?'), host: String(o.host ?? ''), started: String(o.started ?? '') } : undefined;
  } catch {
    return undefined; // missing, or half-written by a process that is creating it this very moment
  }
}

/** Whether the pid is a live process (EPERM: alive, owned by another user). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A lock held by a live process, or by one on another machine (a shared folder: we cannot tell, so it holds). */
export function liveOwner(file: string): LockOwner | undefined {
  const o = readLockOwner(file);
  if (!o) return undefined;
  if (o.host && o.host !== hostname()) return o;
  return isAlive(o.pid) && o.pid !== process.pid ? o : undefined;
}

export class DataDirLocked extends AppError {
  constructor(
    readonly owner: LockOwner,
    readonly file: string,
    dataDir: string,
  ) {
    const what = owner.role === 'server' ? 'the tuban server (npm start)' : owner.role === 'ingest' ? 'an import (npm run ingest)' : `"${owner.role}"`;
    const whatZh = owner.role === 'server' ? 'tuban 服务（npm start）' : owner.role === 'ingest' ? '导入程序（npm run ingest）' : `“${owner.role}”`;
    super(
      'data_dir_locked',
      `The embedded database in ${dataDir} is in use by ${what}, process ${owner.pid}${owner.host && owner.host !== hostname() ? ` on ${owner.host}` : ''}, since ${owner.started}. ` +
        `Two processes must never open it at once (its files would be corrupted). Stop process ${owner.pid} first, or wait for it to finish. ` +
        `If no such process exists any more, delete ${file}.`,
      `嵌入式数据库（${dataDir}）正被${whatZh}使用，进程号 ${owner.pid}${owner.host && owner.host !== hostname() ? `（主机 ${owner.host}）` : ''}，自 ${owner.started} 起。` +
        `两个进程不能同时打开它（否则数据文件会损坏）。请先停止进程 ${owner.pid}，或等待其结束。如该进程已不存在，请删除 ${file}。`,
      409,
      { pid: owner.pid, role: owner.role, host: owner.host, started: owner.started, lockFile: file },
    );
  }
}

/**
 * Takes the lock of `dataDir` for this process, or throws DataDirLocked naming the holder. Released by
 * release(), and on process exit (a crash leaves a stale lock: the next process takes it over).
 */
export function lockDataDir(dataDir: string, role: string): DataDirLock {
  const file = lockFileFor(dataDir);
  mkdirSync(path.dirname(file), { recursive: true });
  const owner: LockOwner = { pid: process.pid, role, host: hostname(), started: new Date().toISOString() };
  for (let attempt = 0; attempt < 5; attempt++) {
    let fd: number;
    try {
      fd = openSync(file, 'wx', 0o644);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const held = readLockOwner(file);
      if (!held) {
        // being written right now by another process (or an empty file left by a crash mid-write): look again
        if (attempt < 4) {
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
          continue;
        }
      } else if (liveOwner(file)) throw new DataDirLocked(held, file, dataDir);
      else if (held.pid === process.pid) throw new DataDirLocked(held, file, dataDir); // opened twice in one process
      // Stale: move it aside under a name of our own (rename is atomic: of two processes doing this, one wins,
      // the other finds nothing to move and simply retries the O_EXCL create).
      const aside = `${file}.stale-${process.pid}`;
      try {
        renameSync(file, aside);
      } catch {
        continue; // someone else moved it first
      }
      // What we moved may be a live lock that a third process created after we read the stale one: put it back
      // (link fails if yet another lock is there by now) and look again.
      const moved = readLockOwner(aside);
      if (moved && moved.pid !== held?.pid && isAlive(moved.pid)) {
        try {
          linkSync(aside, file);
        } catch {
          /* a newer lock is in place: the retry sees it */
        }
      }
      unlinkSync(aside);
      continue;
    }
    try {
      writeSync(fd, JSON.stringify(owner) + '\n');
    } finally {
      closeSync(fd);
    }
    // only our own lock: never delete one a successor took over
    const release = removeWhenDone(file, () => readLockOwner(file)?.pid === process.pid);
    return { file, owner, release };
  }
  const held = readLockOwner(file);
  if (held) throw new DataDirLocked(held, file, dataDir);
  throw new Error(`could not take the lock ${file}`);
}
