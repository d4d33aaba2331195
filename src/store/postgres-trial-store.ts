import type { Clock } from '../clock/clock.js';
import { ErrorCodes, ValidationError } from '../errors/index.js';
import type { Logger } from '../log/logger.js';
import { PostgresDriver } from './postgres-driver.js';
import { SqlTrialStore } from './sql-trial-store.js';

export interface PostgresTrialStoreOptions {
  /** `postgres://user@host:port/database`. */
  connectionString: string;
  /**
   * Schema holding the tables, created by migrate() if missing and the only entry of every
   * connection's search_path. Lower-case letters, digits and `_`. Default `automat`.
   */
  schema?: string;
  /** Most connections the pool opens. Default 10. */
  maxConnections?: number;
  /** How long to wait for a connection before failing with STORE_UNAVAILABLE. Default 10000. */
  connectionTimeoutMs?: number;
  logger: Logger;
  /** Stamps schema_migrations.applied_at. Default the system clock. */
  clock?: Clock;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** The trial store of the long-running executor, on PostgreSQL through a pg Pool. */
export class PostgresTrialStore extends SqlTrialStore {
  constructor(options: PostgresTrialStoreOptions) {
    const schema = options.schema ?? 'automat';
    if (!SCHEMA_NAME.test(schema)) {
      throw new ValidationError(
        'store.schema',
        [
          'store.schema must be 1-63 lower-case letters, digits or "_", not starting with a ' +
            `digit, got ${JSON.stringify(schema)}`,
        ],
        ErrorCodes.CONFIG_INVALID,
      );
    }
    const logger = options.logger.child({ component: 'trial-store', backend: 'postgres', schema });
    const driver = new PostgresDriver({
      connectionString: options.connectionString,
      schema,
      maxConnections: options.maxConnections ?? 10,
      connectionTimeoutMs: options.connectionTimeoutMs ?? 10_000,
      logger,
    });
    super(driver, logger, options.clock);
  }
}
