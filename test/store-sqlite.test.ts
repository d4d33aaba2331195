/** SQLite-only behaviour of the embedded trial store used by `automat0 run`. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../src/errors/index.js';
import { silentLogger } from '../src/log/logger.js';
import { SqliteTrialStore } from '../src/store/sqlite-trial-store.js';

describe('sqlite trial store', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'automat-store-sqlite-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates missing folders and keeps the file in WAL mode', async () => {
    const path = join(dir, 'a', 'b', 'trials.db');
    const store = new SqliteTrialStore({ path, logger: silentLogger });
    await store.migrate();
    await store.close();

    const db = new Database(path, { readonly: true });
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      db.close();
    }
  });

  it('works in memory', async () => {
    const store = new SqliteTrialStore({ path: ':memory:', logger: silentLogger });
    await store.migrate();
    expect(await store.listMessages('t-1')).toEqual([]);
    await store.close();
  });

  it('reports a file that is not a database as STORE_UNAVAILABLE', async () => {
    const path = join(dir, 'not-a-db');
    writeFileSync(
      path,
      'this is plain text, long enough to fill a header of one hundred bytes '.repeat(3),
    );

    const open = async () => {
      const store = new SqliteTrialStore({ path, logger: silentLogger });
      try {
        await store.migrate();
      } finally {
        await store.close();
      }
    };
    await expect(open()).rejects.toMatchObject({ code: ErrorCodes.STORE_UNAVAILABLE });
  });

  it('reports a path it cannot create as STORE_UNAVAILABLE', () => {
    const file = join(dir, 'plain-file');
    writeFileSync(file, '');
    const make = () =>
      new SqliteTrialStore({ path: join(file, 'sub', 'trials.db'), logger: silentLogger });

    expect(make).toThrow(expect.objectContaining({ code: ErrorCodes.STORE_UNAVAILABLE }));
  });

  it('rejects a statement before migrate with a hint to migrate', async () => {
    const store = new SqliteTrialStore({ path: join(dir, 'fresh.db'), logger: silentLogger });
    try {
      await expect(store.getTrial('t-1')).rejects.toMatchObject({
        code: ErrorCodes.STORE_NOT_MIGRATED,
        message: expect.stringContaining('run migrate first'),
      });
    } finally {
      await store.close();
    }
  });
});
