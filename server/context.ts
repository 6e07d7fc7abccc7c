import type { Logger } from 'pino';
import type { Config } from './config';
import type { Db } from './db/types';

/** What every route and domain service gets: no module reaches for globals or the environment. */
export interface AppContext {
  config: Config;
  db: Db;
  log: Logger;
}
