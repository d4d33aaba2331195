/** PostgreSQL-only behaviour of the trial store: failures surface as stable Automat0 codes. */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { AutomatError, ErrorCodes } from '../src/errors/index.js';
import { silentLogger } from '../src/log/logger.js';
import { PostgresTrialStore } from '../src/store/postgres-trial-store.js';
import { StoreError } from '../src/store/store-errors.js';

const databaseUrl =
  process.env.AUTOMAT_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** `databaseUrl` with its port or database replaced. */
function withUrl(change: (url: URL) => void): string {
  const url = new URL(databaseUrl);
  change(url);
  return url.toString();
}

async function caught(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail('expected a rejection'),
    (error: unknown) => error,
  );
}

describe('postgres trial store failures', () => {
  it('reports an unreachable server (port 1) as STORE_UNAVAILABLE, not a raw pg error', async () => {
    const connectionString = withUrl((u) => (u.port = '1'));
    const store = new PostgresTrialStore({ connectionString, logger: silentLogger });
    try {
      for (const attempt of [store.migrate(), store.getTrial('t-1')]) {
        const error = await caught(attempt);
        expect(error).toBeInstanceOf(StoreError);
        expect(error).toBeInstanceOf(AutomatError);
        expect(error).toMatchObject({
          name: 'StoreError',
          code: ErrorCodes.STORE_UNAVAILABLE,
          driverCode: 'ECONNREFUSED',
        });
      }
    } finally {
      await store.close();
    }
  });

  it('reports a missing database as CONFIG_INVALID', async () => {
    const connectionString = withUrl((u) => (u.pathname = `/missing_${Date.now()}`));
    const store = new PostgresTrialStore({ connectionString, logger: silentLogger });
    try {
      expect(await caught(store.migrate())).toMatchObject({
        code: ErrorCodes.CONFIG_INVALID,
        driverCode: '3D000',
      });
    } finally {
      await store.close();
    }
  });

  it('reports a server-side termination of a running query as STORE_UNAVAILABLE', async () => {
    const schema = `store_test_${randomBytes(6).toString('hex')}`;
    const applicationName = `automat_${schema}`;
    const connectionString = withUrl((u) =>
      u.searchParams.set('application_name', applicationName),
    );
    const store = new PostgresTrialStore({ connectionString, schema, logger: silentLogger });
    const admin = new pg.Client({ connectionString: databaseUrl });
    await admin.connect();
    try {
      await store.migrate();
      // A lock held from outside makes the store's next read wait on the server, where it can be
      // terminated mid-statement (SQLSTATE 57P01, admin shutdown).
      await admin.query('BEGIN');
      await admin.query(`LOCK TABLE ${schema}.trials IN ACCESS EXCLUSIVE MODE`);
      const pending = caught(store.getTrial('t-1'));
      await waitUntilBlocked(admin, applicationName);
      await admin.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
        [applicationName],
      );
      expect(await pending).toMatchObject({
        code: ErrorCodes.STORE_UNAVAILABLE,
        driverCode: '57P01',
      });
      await admin.query('ROLLBACK');

      // The pool replaces the dead connection: the store keeps working.
      expect(await store.getTrial('t-1')).toBeUndefined();
    } finally {
      await store.close();
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    }
  });

  it('rejects a schema name that is not a plain lower-case identifier', () => {
    const make = () =>
      new PostgresTrialStore({
        connectionString: databaseUrl,
        schema: 'Robert"; DROP TABLE trials',
        logger: silentLogger,
      });
    expect(make).toThrow(
      expect.objectContaining({ code: ErrorCodes.CONFIG_INVALID, field: 'store.schema' }),
    );
  });
});

async function waitUntilBlocked(admin: pg.Client, applicationName: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const { rows } = await admin.query(
      "SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'",
      [applicationName],
    );
    if (rows.length > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`no backend of ${applicationName} ever waited on a lock`);
}
