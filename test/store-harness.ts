/**
 * Where the trial store tests keep their data: PostgreSQL (each test in its own schema, dropped
 * afterwards) or SQLite (each test in its own file under a temp folder).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterEach, beforeEach } from 'vitest';
import type { TrialSpec } from '../src/contracts/index.js';
import { silentLogger } from '../src/log/logger.js';
import { PostgresTrialStore } from '../src/store/postgres-trial-store.js';
import { SqliteTrialStore } from '../src/store/sqlite-trial-store.js';
import type { TrialStore } from '../src/store/trial-store.js';

export const databaseUrl =
  process.env.AUTOMAT_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A place to keep one test's data: opens stores on it, inspects it and removes it. */
export interface Harness {
  open(): TrialStore;
  appliedMigrations(): Promise<number>;
  destroy(): Promise<void>;
}

export function postgresHarness(): Harness {
  const schema = `store_test_${randomBytes(6).toString('hex')}`;
  const admin = async <T>(sql: string): Promise<T[]> => {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      return (await client.query(sql)).rows as T[];
    } finally {
      await client.end();
    }
  };
  return {
    open: () =>
      new PostgresTrialStore({ connectionString: databaseUrl, schema, logger: silentLogger }),
    appliedMigrations: async () => {
      const rows = await admin<{ n: string }>(
        `SELECT count(*) AS n FROM ${schema}.schema_migrations`,
      );
      return Number(rows[0]?.n);
    },
    destroy: async () => {
      await admin(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    },
  };
}

export function sqliteHarness(): Harness {
  const dir = mkdtempSync(join(tmpdir(), 'automat-store-'));
  const path = join(dir, 'nested', 'trials.db');
  return {
    open: () => new SqliteTrialStore({ path, logger: silentLogger }),
    appliedMigrations: async () => {
      const db = new Database(path, { readonly: true });
      try {
        return (db.prepare('SELECT count(*) AS n FROM schema_migrations').get() as { n: number }).n;
      } finally {
        db.close();
      }
    },
    destroy: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

export function spec(trialId: string, overrides: Partial<TrialSpec> = {}): TrialSpec {
  return {
    trial_id: trialId,
    task_type: 'classification',
    tokenizer_ref: 'bert-base-uncased',
    device_profile: 'cpu',
    seq_len: 128,
    embed_dim: 64,
    budget_seconds: 600,
    dataset_uri: 's3://datasets/spam.jsonl',
    primary_metric: 'val_accuracy',
    hparams: { epochs: 5, learning_rate: 0.001, seed: 7 },
    ...overrides,
  };
}

export const T0 = '2026-01-31T12:00:00.000Z';
export const at = (second: number) => `2026-01-31T12:00:${String(second).padStart(2, '0')}.000Z`;

/** Both backends, for `describe.each`. */
export const STORE_BACKENDS = [
  ['postgres', postgresHarness],
  ['sqlite', sqliteHarness],
] as const;

/**
 * Gives each test of the enclosing `describe` a migrated store on fresh data, closed and removed
 * afterwards; call the returned function inside a test for that test's store.
 */
export function useMigratedStore(makeHarness: () => Harness): () => TrialStore {
  let harness: Harness;
  let store: TrialStore;
  beforeEach(async () => {
    harness = makeHarness();
    store = harness.open();
    await store.migrate();
  });
  afterEach(async () => {
    await store.close();
    await harness.destroy();
  });
  return () => store;
}
