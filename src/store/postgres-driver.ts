import { createHash } from 'node:crypto';
import pg from 'pg';
import type { Logger } from '../log/logger.js';
import type { SqlDriver, SqlExecutor, SqlValue } from './sql-driver.js';
import { toStoreError } from './store-errors.js';

export interface PostgresDriverOptions {
  connectionString: string;
  /** A validated, lower-case identifier; every connection's search_path is this schema alone. */
  schema: string;
  maxConnections: number;
  connectionTimeoutMs: number;
  logger: Logger;
}

/** A pg Pool whose connections all live in one schema. */
export class PostgresDriver implements SqlDriver {
  readonly name = 'postgres';
  readonly #pool: pg.Pool;
  readonly #schema: string;

  constructor(options: PostgresDriverOptions) {
    this.#schema = options.schema;
    this.#pool = new pg.Pool({
      connectionString: options.connectionString,
      // Sent in the startup packet, so the path is set before the first query on every
      // connection, including ones the pool opens later.
      options: `-c search_path=${options.schema}`,
      max: options.maxConnections,
      connectionTimeoutMillis: options.connectionTimeoutMs,
    });
    // A connection dropped while checked out (inside a transaction) emits 'error' on its
    // client, which the pool listens to only while the client is idle: without this listener a
    // server restart mid-transaction crashes the process. The failing query rejects anyway.
    // https://github.com/brianc/node-postgres/issues/1324
    this.#pool.on('connect', (client) => {
      client.on('error', (error) => {
        options.logger.debug('postgres connection failed while in use', {
          message: error.message,
        });
      });
    });
    // Without a listener, an idle connection dropped by the server would crash the process.
    this.#pool.on('error', (error) => {
      const storeError = toStoreError(error, 'idle connection');
      options.logger.warn('idle postgres connection failed', {
        code: storeError.code,
        message: storeError.message,
      });
    });
  }

  async query<Row>(sql: string, params: readonly SqlValue[] = []): Promise<Row[]> {
    const result = await this.#pool.query(sql, [...params]);
    return result.rows as Row[];
  }

  async execute(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    const result = await this.#pool.query(sql, [...params]);
    return result.rowCount ?? 0;
  }

  transaction<T>(body: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.#inTransaction(body);
  }

  migrationTransaction<T>(body: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.#inTransaction(async (tx) => {
      // The lock is held until the transaction ends, so a second executor migrating the same
      // schema waits here and then finds the migrations applied. Creating the schema only after
      // taking the lock avoids the unique violation two concurrent CREATE SCHEMA IF NOT EXISTS
      // can raise.
      await tx.query('SELECT pg_advisory_xact_lock($1)', [migrationLockKey(this.#schema)]);
      await tx.execute(`CREATE SCHEMA IF NOT EXISTS "${this.#schema}"`);
      return body(tx);
    });
  }

  close(): Promise<void> {
    return this.#pool.end();
  }

  async #inTransaction<T>(body: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await body(clientExecutor(client));
      await client.query('COMMIT');
      return result;
    } catch (error) {
      broken = await rollback(client);
      throw error;
    } finally {
      // A connection that could not roll back is in an unknown state: destroy it.
      client.release(broken);
    }
  }
}

function clientExecutor(client: pg.PoolClient): SqlExecutor {
  return {
    async query<Row>(sql: string, params: readonly SqlValue[] = []) {
      return (await client.query(sql, [...params])).rows as Row[];
    },
    async execute(sql: string, params: readonly SqlValue[] = []) {
      return (await client.query(sql, [...params])).rowCount ?? 0;
    },
  };
}

async function rollback(client: pg.PoolClient): Promise<Error | undefined> {
  try {
    await client.query('ROLLBACK');
    return undefined;
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

/** A stable signed 64-bit advisory lock key, as text, for migrations of one schema. */
function migrationLockKey(schema: string): string {
  const digest = createHash('sha256').update(`automat0:migrate:${schema}`).digest();
  return digest.readBigInt64BE(0).toString();
}
