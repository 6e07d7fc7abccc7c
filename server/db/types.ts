/**
 * The one database interface the rest of tuban talks to. Two implementations: embedded PGlite + PostGIS
 * (default, files under data/) and a pg.Pool on a PostgreSQL/PostGIS server (DATABASE_URL).
 * Handlers and domain code never import a driver.
 */
export interface QueryResult<T> {
  rows: T[];
  rowCount: number;
}

export interface QueryOptions {
  /**
   * Hot, fixed statements (a vector tile's): prepared once per connection and executed by name, so the
   * server skips parsing and planning on every call (PostgreSQL; the embedded database ignores it).
   */
  prepare?: boolean;
  /**
   * Client-side bound for this query (ms), in place of the default one (PostgreSQL; issue 12): a wire that
   * went dead answers nothing, and the server's statement_timeout cannot reach us. The health check asks
   * for a short one. The embedded database ignores it.
   */
  timeoutMs?: number;
}

export interface TxOptions {
  /**
   * An import: statements may run for minutes, so neither the server's statement_timeout nor the client's
   * query timeout applies inside this transaction (TCP keepalive still notices a peer that is gone).
   */
  longRunning?: boolean;
}

export interface Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[], options?: QueryOptions): Promise<QueryResult<T>>;
  /**
   * `COPY ... FROM STDIN` with text-format rows. `sql` must read from STDIN; the PGlite implementation
   * rewrites it to its /dev/blob device. Returns the number of rows copied.
   */
  copyFrom(sql: string, chunks: Iterable<string | Uint8Array>): Promise<number>;
}

export interface Db extends Queryable {
  readonly kind: 'pglite' | 'postgres';
  /** PostGIS built with protobuf (ST_AsMVT). The embedded build lacks it. */
  readonly hasMvt: boolean;
  /** Runs fn in one transaction; rolls back if it throws. */
  tx<T>(fn: (q: Queryable) => Promise<T>, options?: TxOptions): Promise<T>;
  /**
   * LISTEN on a channel: `notify` gets every payload NOTIFY sends to it after commit, `live` says whether
   * notifications can be relied on (false while the listening connection is down: a caller that caches on
   * the strength of notifications must stop trusting its cache then; true again after it reconnected, when
   * anything missed in between must be assumed changed). Returns the unsubscribe. Closed with the database.
   */
  listen(channel: string, subscriber: Subscriber): Promise<() => void>;
  close(): Promise<void>;
}

export interface Subscriber {
  notify(payload: string): void;
  live(up: boolean): void;
}
