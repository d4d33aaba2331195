import type { Clock } from '../clock/clock.js';
import type { Logger } from '../log/logger.js';
import { SqliteDriver } from './sqlite-driver.js';
import { SqlTrialStore } from './sql-trial-store.js';
import { toStoreError } from './store-errors.js';

export interface SqliteTrialStoreOptions {
  /** Database file, created with its folder if missing; `:memory:` for a throwaway store. */
  path: string;
  /** How long a write waits for another process's lock on the file. Default 5000 ms. */
  busyTimeoutMs?: number;
  logger: Logger;
  /** Stamps schema_migrations.applied_at. Default the system clock. */
  clock?: Clock;
}

/**
 * The embedded trial store of `automat0 run`: one SQLite file in WAL mode, no server. The file
 * is opened by the constructor, which throws STORE_UNAVAILABLE when it cannot be.
 */
export class SqliteTrialStore extends SqlTrialStore {
  constructor(options: SqliteTrialStoreOptions) {
    const logger = options.logger.child({ component: 'trial-store', backend: 'sqlite' });
    let driver: SqliteDriver;
    try {
      driver = new SqliteDriver(options.path, options.busyTimeoutMs ?? 5000);
    } catch (error) {
      throw toStoreError(error, `open of ${options.path}`);
    }
    super(driver, logger, options.clock);
    logger.debug('trial store opened', { path: options.path });
  }
}
