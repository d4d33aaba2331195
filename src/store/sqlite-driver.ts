import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { SqlDriver, SqlExecutor, SqlValue } from './sql-driver.js';

/**
 * The queue every SQLite call in this process goes through. better-sqlite3 is synchronous, but a
 * transaction body awaits between its statements. Without the queue, another call on the same
 * connection could run inside (and be rolled back with) that transaction, and a call on a second
 * connection to the same file would block the event loop waiting for a lock that the first
 * connection can then never release (SQLITE_BUSY after busy_timeout). Every statement runs on
 * the main thread anyway, so one queue for all connections costs no parallelism.
 */
let processQueue: Promise<unknown> = Promise.resolve();

function queued<T>(work: () => T | Promise<T>): Promise<T> {
  const result = processQueue.then(work);
  processQueue = result.catch(() => undefined);
  return result;
}

/** One better-sqlite3 connection behind the async {@link SqlDriver} face. */
export class SqliteDriver implements SqlDriver {
  readonly name = 'sqlite';
  readonly #db: Database.Database;
  readonly #statements = new Map<string, Database.Statement>();
  readonly #direct: SqlExecutor;

  /** Opens (creating if needed) the file and its folder; throws the raw driver error. */
  constructor(path: string, busyTimeoutMs: number) {
    if (path !== ':memory:' && path !== '') mkdirSync(dirname(path), { recursive: true });
    this.#db = new Database(path, { timeout: busyTimeoutMs });
    try {
      // WAL lets readers (a CLI inspecting a run) proceed while the executor writes.
      // synchronous=NORMAL is durable against a crash of this process and, in WAL mode, can
      // lose only the last commits on a power failure, never corrupt the file.
      this.#db.pragma('journal_mode = WAL');
      this.#db.pragma('synchronous = NORMAL');
      this.#db.pragma('foreign_keys = ON');
    } catch (error) {
      this.#db.close();
      throw error;
    }
    this.#direct = {
      query: async (sql, params) => this.#all(sql, params),
      execute: async (sql, params) => this.#run(sql, params),
    };
  }

  query<Row>(sql: string, params?: readonly SqlValue[]): Promise<Row[]> {
    return queued(() => this.#all<Row>(sql, params));
  }

  execute(sql: string, params?: readonly SqlValue[]): Promise<number> {
    return queued(() => this.#run(sql, params));
  }

  transaction<T>(body: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return queued(() => this.#inTransaction(body));
  }

  /** BEGIN IMMEDIATE takes the file's write lock, which already serializes other processes. */
  migrationTransaction<T>(body: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.transaction(body);
  }

  close(): Promise<void> {
    return queued(() => {
      this.#statements.clear();
      this.#db.close();
    });
  }

  async #inTransaction<T>(body: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      const result = await body(this.#direct);
      this.#db.exec('COMMIT');
      return result;
    } catch (error) {
      if (this.#db.inTransaction) this.#db.exec('ROLLBACK');
      throw error;
    }
  }

  #all<Row>(sql: string, params: readonly SqlValue[] = []): Row[] {
    const statement = this.#prepare(sql);
    if (!statement.reader) {
      statement.run(...bind(params));
      return [];
    }
    return statement.all(...bind(params)) as Row[];
  }

  #run(sql: string, params: readonly SqlValue[] = []): number {
    return this.#prepare(sql).run(...bind(params)).changes;
  }

  #prepare(sql: string): Database.Statement {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }
}

/**
 * The one place that adapts PostgreSQL-style placeholders: SQLite parses `$1` as a parameter
 * named "1", and better-sqlite3 binds named parameters from an object keyed without the prefix.
 */
function bind(params: readonly SqlValue[]): [Record<string, SqlValue>] | [] {
  if (params.length === 0) return [];
  const named: Record<string, SqlValue> = {};
  params.forEach((value, index) => {
    named[String(index + 1)] = value;
  });
  return [named];
}
