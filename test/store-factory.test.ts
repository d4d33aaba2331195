/** createTrialStore picks the backend from the URL it is given. */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../src/errors/index.js';
import { silentLogger } from '../src/log/logger.js';
import { createTrialStore } from '../src/store/create-trial-store.js';
import { PostgresTrialStore } from '../src/store/postgres-trial-store.js';
import { SqliteTrialStore } from '../src/store/sqlite-trial-store.js';
import type { TrialStore } from '../src/store/trial-store.js';

const databaseUrl =
  process.env.AUTOMAT_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

describe('createTrialStore', () => {
  let dir: string;
  const opened: TrialStore[] = [];
  const open = (url: string, schema?: string): TrialStore => {
    const store = createTrialStore({ url, schema, logger: silentLogger });
    opened.push(store);
    return store;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'automat-store-factory-'));
  });

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('opens PostgreSQL for postgres:// and postgresql:// URLs', () => {
    expect(open(databaseUrl)).toBeInstanceOf(PostgresTrialStore);
    expect(open(databaseUrl.replace(/^postgres:/, 'postgresql:'), 'other')).toBeInstanceOf(
      PostgresTrialStore,
    );
  });

  it.each([
    ['sqlite:<path>', (path: string) => `sqlite:${path}`],
    ['sqlite://<absolute path>', (path: string) => `sqlite://${path}`],
    ['a plain path', (path: string) => path],
  ])('opens SQLite for %s', async (_form, toUrl) => {
    const path = join(dir, 'trials.db');
    const store = open(toUrl(path));
    await store.migrate();

    expect(store).toBeInstanceOf(SqliteTrialStore);
    expect(existsSync(path)).toBe(true);
  });

  it.each(['', 'sqlite:', 'mysql://root:hunter2@db/automat', 'https://example.com/trials.db'])(
    'rejects %j as CONFIG_INVALID without echoing a password',
    (url) => {
      let thrown: unknown;
      try {
        open(url);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toMatchObject({ code: ErrorCodes.CONFIG_INVALID, field: 'store.url' });
      expect((thrown as Error).message).not.toContain('hunter2');
    },
  );
});
