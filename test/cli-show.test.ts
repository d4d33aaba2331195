import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../src/log/logger.js';
import { createTrialStore } from '../src/store/create-trial-store.js';
import { cli } from './support/cli.js';
import { DATABASE_URL } from './support/executor-harness.js';

const schema = `show_typo_${process.pid}_${Date.now().toString(36)}`;
const stored = `show_stored_${process.pid}_${Date.now().toString(36)}`;
const client = new pg.Client({ connectionString: DATABASE_URL });

afterAll(async () => {
  await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await client.query(`DROP SCHEMA IF EXISTS "${stored}" CASCADE`);
  await client.end();
});

const envFor = (databaseSchema: string) => ({
  ...process.env,
  AUTOMAT_DATABASE_URL: DATABASE_URL,
  AUTOMAT_DB_SCHEMA: databaseSchema,
  AUTOMAT_LOG_LEVEL: 'error',
});

describe('automat0 show --server', () => {
  // Regression: a read ran the migrations, so a typo in AUTOMAT_DB_SCHEMA created a new schema.
  it('names a schema without tables instead of creating one', async () => {
    const shown = await cli(['show', '--server', 'some-trial'], envFor(schema));

    expect(shown.code).toBe(1);
    expect(shown.stderr).toContain(
      `no Automat0 tables in schema "${schema}" of the executor's database`,
    );
    await client.connect();
    const found = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    expect(found.rowCount).toBe(0);
  });

  it('says a trial handed over at shutdown waits for an executor, not that a worker runs', async () => {
    const store = createTrialStore({ url: DATABASE_URL, schema: stored, logger: silentLogger });
    const at = new Date().toISOString();
    const trialId = 'handed-over';
    try {
      await store.migrate();
      await store.createTrial(
        {
          trial_id: trialId,
          task_type: 'classification',
          tokenizer_ref: 'llama2',
          device_profile: 'cpu',
          seq_len: 32,
          embed_dim: 8,
          budget_seconds: 60,
          dataset_uri: 'data.jsonl',
          primary_metric: 'val_accuracy',
        },
        at,
      );
      for (const [from, to] of [
        [null, 'queued'],
        ['queued', 'ingesting'],
        ['ingesting', 'launching'],
        ['launching', 'running'],
      ] as const) {
        await store.recordTransition({ trialId, from, to, reason: `to ${to}`, at });
      }
      await store.recordHandover({
        trialId,
        attempt: 1,
        executor: 'exec-a',
        state: 'running',
        resumeEpoch: 2,
        reason: 'executor shutting down',
        recordedAt: at,
      });
    } finally {
      await store.close();
    }

    const shown = await cli(['show', '--server', trialId], envFor(stored));

    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(
      /why\s+handed over by exec-a at shutdown; the next executor resumes it from epoch 2/,
    );
  });
});
