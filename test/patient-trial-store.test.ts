/** PatientTrialStore over the real Postgres, reached through a proxy that a test cuts. */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../src/clock/clock.js';
import { ErrorCodes } from '../src/errors/index.js';
import { ExecutorHealth } from '../src/health/executor-health.js';
import { silentLogger } from '../src/log/logger.js';
import { PatientTrialStore } from '../src/store/patient-trial-store.js';
import { PostgresTrialStore } from '../src/store/postgres-trial-store.js';
import { T0, at, databaseUrl, spec } from './store-harness.js';
import { TcpFaultProxy } from './support/tcp-fault-proxy.js';

describe('PatientTrialStore through a database outage', () => {
  let schema: string;
  let proxy: TcpFaultProxy;
  let inner: PostgresTrialStore;
  let health: ExecutorHealth;

  const patient = (outageMs: number) =>
    new PatientTrialStore(inner, {
      clock: systemClock,
      logger: silentLogger,
      health,
      outageMs,
      firstDelayMs: 50,
    });

  beforeEach(async () => {
    schema = `patient_test_${randomUUID().slice(0, 8)}`;
    const url = new URL(databaseUrl);
    proxy = await TcpFaultProxy.start(url.hostname, Number(url.port || 5432));
    inner = new PostgresTrialStore({
      connectionString: proxy.rewrite(databaseUrl),
      schema,
      logger: silentLogger,
    });
    await inner.migrate();
    await inner.createTrial(spec('t-1'), T0);
    health = new ExecutorHealth(systemClock, silentLogger);
  });

  afterEach(async () => {
    await inner.close();
    await proxy.close();
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
  });

  it('waits for the database to come back, reporting the store degraded meanwhile', async () => {
    const store = patient(30_000);
    proxy.cut();
    const move = store.recordTransition({
      trialId: 't-1',
      from: null,
      to: 'queued',
      reason: 'accepted',
      at: at(1),
    });
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(health.snapshot().components.store.status).toBe('degraded');

    proxy.restore();
    await move;
    expect((await inner.getTrial('t-1'))?.state).toBe('queued');
    expect(health.snapshot().components.store.status).toBe('ok');
  });

  it('passes a conflict on at once', async () => {
    const store = patient(30_000);
    const started = Date.now();
    const move = store.recordTransition({
      trialId: 't-1',
      from: 'running',
      to: 'completed',
      reason: 'stale',
      at: at(1),
    });
    await expect(move).rejects.toMatchObject({ code: ErrorCodes.STORE_CONFLICT });
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('gives up with STORE_UNAVAILABLE once the outage outlasts its patience', async () => {
    const store = patient(400);
    proxy.cut();
    const started = Date.now();
    await expect(store.getTrial('t-1')).rejects.toMatchObject({
      code: ErrorCodes.STORE_UNAVAILABLE,
    });
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});
