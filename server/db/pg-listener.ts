import pg from 'pg';
import type { Subscriber } from './types';

const RETRY_FIRST_MS = 500;
const RETRY_MAX_MS = 30_000;

/**
 * One dedicated connection per database for LISTEN (a pooled connection cannot listen: it is handed to
 * someone else between queries). Opened on the first subscription; when it fails (server restart, network,
 * pg_terminate_backend) every subscriber is told `live(false)` at once and it reconnects with backoff, then
 * LISTENs again and tells them `live(true)` — they must assume they missed notifications in between.
 */
export class PgListener {
  private readonly subs = new Map<string, Set<Subscriber>>();
  private client?: pg.Client;
  private connecting?: Promise<void>;
  private up = false;
  private closed = false;
  private retryMs = RETRY_FIRST_MS;
  private retryTimer?: NodeJS.Timeout;

  constructor(private readonly config: pg.ClientConfig) {}

  async listen(channel: string, s: Subscriber): Promise<() => void> {
    if (this.closed) throw new Error('database closed');
    let set = this.subs.get(channel);
    const fresh = !set;
    if (!set) this.subs.set(channel, (set = new Set()));
    set.add(s);
    if (this.client && this.up && fresh) {
      try {
        await this.client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
      } catch {
        // the connection failed under us: 'error'/'end' reconnects and LISTENs on every channel
      }
    } else if (!this.client) {
      await this.connect();
    }
    if (this.up) s.live(true);
    return () => {
      set.delete(s);
    };
  }

  private connect(): Promise<void> {
    this.connecting ??= (async () => {
      const c = new pg.Client(this.config);
      this.client = c;
      const lost = () => this.lost(c);
      c.on('error', lost);
      c.on('end', lost);
      c.on('notification', (n) => {
        for (const s of this.subs.get(n.channel) ?? []) s.notify(n.payload ?? '');
      });
      try {
        await c.connect();
        for (const ch of this.subs.keys()) await c.query(`LISTEN ${pg.escapeIdentifier(ch)}`);
      } catch {
        this.lost(c);
        return;
      }
      if (this.client !== c || this.closed) return;
      this.up = true;
      this.retryMs = RETRY_FIRST_MS;
      for (const set of this.subs.values()) for (const s of set) s.live(true);
    })().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private lost(c: pg.Client) {
    if (this.client !== c) return;
    this.client = undefined;
    const wasUp = this.up;
    this.up = false;
    c.removeAllListeners('notification');
    c.end().catch(() => undefined);
    if (wasUp) for (const set of this.subs.values()) for (const s of set) s.live(false);
    if (this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.connect();
    }, this.retryMs);
    this.retryTimer.unref();
    this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
  }

  async close() {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const c = this.client;
    this.client = undefined;
    this.up = false;
    if (c) await c.end().catch(() => undefined);
  }
}
