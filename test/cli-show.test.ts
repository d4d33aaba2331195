import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from './support/cli.js';
import { DATABASE_URL } from './support/executor-harness.js';

const schema = `show_typo_${process.pid}_${Date.now().toString(36)}`;
const client = new pg.Client({ connectionString: DATABASE_URL });

afterAll(async () => {
  await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await client.end();
});

describe('automat0 show --server', () => {
  // Regression: a read ran the migrations, so a typo in AUTOMAT_DB_SCHEMA created a new schema.
  it('names a schema without tables instead of creating one', async () => {
    const env = {
      ...process.env,
      AUTOMAT_DATABASE_URL: DATABASE_URL,
      AUTOMAT_DB_SCHEMA: schema,
      AUTOMAT_LOG_LEVEL: 'error',
    };
    const shown = await cli(['show', '--server', 'some-trial'], env);

    expect(shown.code).toBe(1);
    expect(shown.stderr).toContain(
      `no Automat0 tables in schema "${schema}" of the executor's database`,
    );
    await client.connect();
    const found = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    expect(found.rowCount).toBe(0);
  });
});
