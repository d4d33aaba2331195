/** A value bound to a `$n` placeholder. */
export type SqlValue = string | number | null;

/** Runs single statements written with `$1`-style placeholders. */
export interface SqlExecutor {
  /** Returns the rows a SELECT or a `RETURNING` clause produced; empty for other statements. */
  query<Row>(sql: string, params?: readonly SqlValue[]): Promise<Row[]>;
  /** Returns how many rows the statement inserted, updated or deleted. */
  execute(sql: string, params?: readonly SqlValue[]): Promise<number>;
}

/**
 * What {@link SqlTrialStore} needs from a database. Drivers throw raw driver errors; the store
 * translates them in one place (`toStoreError`).
 */
export interface SqlDriver extends SqlExecutor {
  /** Names the backend in logs and error messages. */
  readonly name: 'postgres' | 'sqlite';
  /** Runs `body` in a transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(body: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /**
   * Like {@link transaction}, but first takes a lock that serializes migrations across processes
   * and makes sure the tables' namespace exists.
   */
  migrationTransaction<T>(body: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /** Called once, by the store's own idempotent close(). */
  close(): Promise<void>;
}
