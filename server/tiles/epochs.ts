import type { Db } from '../db/types';
import { META } from './queries';

export type Epochs = Record<string, number>;

/** the channel migration 019 NOTIFYs on every tile_epoch bump */
export const EPOCH_CHANNEL = 'tuban_tile_epoch';

/**
 * Longest a remembered value is used. A listening connection that died without a word (a half-open TCP
 * connection is noticed only by keepalive, ~1 min) misses notifications; this bounds how stale a tile of
 * another process's write can be then, at the price of one tiny query per interval.
 */
const MAX_AGE_MS = 5000;

/**
 * The data versions (tile_epoch) every tile's key and ETag hold, kept in memory while they can be trusted
 * (issue 17 item 4: the round trip to read them was most of a cached tile's time).
 *
 * A remembered value is used only when all of these hold, else they are read again:
 * - the LISTEN connection is up (db.listen `live`): any commit that bumps a version NOTIFYs, so a write by
 *   another process (an import, a second server on PostgreSQL) makes us read again;
 * - it is younger than MAX_AGE_MS;
 * - nothing changed since it was read: a notification, a reconnect or a local write moves `generation`, and a
 *   read whose generation moved while it ran is used once but not remembered;
 * - no write request of this process is in flight (`localWrite`): its answer can reach the browser before the
 *   notification of its commit reaches us, and the browser's next tile must show the write (read your writes).
 * The version is therefore never newer than the data it labels, as before: remembered values are only ever
 * older-or-equal, and any doubt reads them from the database.
 */
export class EpochCache {
  private value?: { generation: number; epochs: Epochs; at: number };
  private generation = 0;
  private live = false;
  private writes = 0;
  private subscribing?: Promise<unknown>;

  constructor(
    private readonly db: Db,
    private readonly read: () => Promise<Epochs>,
  ) {}

  /**
   * `fresh`: read from the database even if a remembered value is trusted — for an answer that would otherwise
   * refuse (an unknown layer): another process's write can commit before its NOTIFY reaches us.
   */
  async get(fresh = false): Promise<Epochs> {
    this.subscribing ??= this.db
      .listen(EPOCH_CHANNEL, {
        notify: () => this.changed(),
        live: (up) => {
          this.live = up;
          this.changed();
        },
      })
      .catch(() => undefined); // no LISTEN (database down at first use): every read goes to the database
    const v = this.value;
    if (!fresh && v && this.trusted() && v.generation === this.generation && performance.now() - v.at < MAX_AGE_MS) return v.epochs;
    const generation = this.generation;
    const at = performance.now();
    const epochs = await this.read();
    if (this.trusted() && generation === this.generation) this.value = { generation, epochs, at };
    return epochs;
  }

  /** A write request of this process begins; call the returned function when its answer has gone out. */
  localWrite(): () => void {
    this.writes++;
    this.changed();
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.writes--;
      this.changed();
    };
  }

  private trusted() {
    return this.live && this.writes === 0;
  }

  private changed() {
    this.generation++;
    this.value = undefined;
  }
}

const perDb = new WeakMap<Db, EpochCache>();

/**
 * The one EpochCache of a database, shared by everything in this process that keys on the data versions
 * (tiles, the OGC catalog), so one write guard (app.ts) and one LISTEN serve them all.
 */
export function epochsOf(db: Db): EpochCache {
  let c = perDb.get(db);
  if (!c) {
    c = new EpochCache(db, async () => {
      // prepared: with the caches, often the only query a repeat request makes
      const r = await db.query<{ key: string; n: number }>(META.epochs, [], { prepare: true });
      return Object.fromEntries(r.rows.map((x) => [x.key, Number(x.n)]));
    });
    perDb.set(db, c);
  }
  return c;
}
