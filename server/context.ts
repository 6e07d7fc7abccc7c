import type { Logger } from 'pino';
import type { Config } from './config';
import type { Db } from './db/types';

/** What every route and domain service gets: no module reaches for globals or the environment. */
export interface AppContext {
  config: Config;
  db: Db;
  log: Logger;
  /**
   * Imports run here: on PostgreSQL the owner's connection (DATABASE_OWNER_URL), because an import does DDL
   * (staging tables, index rebuilds, VACUUM) the runtime role may not. Absent: `db`.
   */
  importDb?: Db;
}
