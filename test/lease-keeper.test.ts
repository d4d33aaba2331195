import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock/clock.js';
import { LeaseKeeper } from '../src/executor/lease-keeper.js';
import { ExecutorHealth } from '../src/health/executor-health.js';
import { silentLogger } from '../src/log/logger.js';
import { SqliteTrialStore } from '../src/store/sqlite-trial-store.js';
import { spec } from './store-harness.js';

const START = Date.parse('2026-06-01T00:00:00.000Z');

describe('LeaseKeeper (SQLite store, manual clock)', () => {
  let store: SqliteTrialStore;
  let clock: ManualClock;
  let health: ExecutorHealth;
  let lost: string[];
  let running: string[];
  let keeper: LeaseKeeper;

  beforeEach(async () => {
    store = new SqliteTrialStore({ path: ':memory:', logger: silentLogger });
    await store.migrate();
    clock = new ManualClock(START);
    health = new ExecutorHealth(clock, silentLogger);
    lost = [];
    running = [];
    keeper = new LeaseKeeper({
      owner: 'exec-a',
      store,
      clock,
      logger: silentLogger,
      health,
      ttlMs: 30_000,
      running: () => running,
      onLost: (trialId) => lost.push(trialId),
    });
  });

  afterEach(async () => {
    keeper.stop();
    await store.close();
  });

  const iso = (ms: number) => new Date(ms).toISOString();

  it('extends its leases every third of a lease, so they never lapse', async () => {
    await store.createTrial(spec('t-1'), iso(START), keeper.lease());
    running.push('t-1');
    keeper.start();

    for (let i = 0; i < 6; i += 1) {
      clock.advance(10_000);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await new Promise((resolve) => setTimeout(resolve, 20));

    const record = await store.getTrial('t-1');
    expect(Date.parse(String(record?.leaseExpiresAt))).toBeGreaterThan(clock.now());
    expect(await store.listOrphanedTrials(iso(clock.now()), 10)).toEqual([]);
    expect(lost).toEqual([]);
  });

  it('reports a running trial that another executor claimed, and only that one', async () => {
    await store.createTrial(spec('t-kept'), iso(START), keeper.lease());
    await store.createTrial(spec('t-taken'), iso(START), keeper.lease());
    await store.createTrial(spec('t-ended'), iso(START), keeper.lease());
    for (const id of ['t-ended']) {
      await store.recordTransition({
        trialId: id,
        from: null,
        to: 'queued',
        reason: 'a',
        at: iso(START),
      });
      await store.recordTransition({
        trialId: id,
        from: 'queued',
        to: 'cancelled',
        reason: 'b',
        at: iso(START),
      });
    }
    running.push('t-kept', 't-taken', 't-ended');
    const later = START + 31_000;
    expect(
      await store.claimTrial(
        't-taken',
        { owner: 'exec-b', expiresAt: iso(later + 30_000) },
        iso(later),
      ),
    ).toBe(true);
    clock.advance(31_000);

    expect(await keeper.renew()).toEqual(['t-kept']);
    expect(lost).toEqual(['t-taken']);
  });

  it('reports the store degraded when it cannot renew, and counts nothing as lost', async () => {
    await store.createTrial(spec('t-1'), iso(START), keeper.lease());
    running.push('t-1');
    await store.close();

    expect(await keeper.renew()).toEqual([]);
    expect(lost).toEqual([]);
    expect(health.snapshot().components.store).toMatchObject({
      status: 'degraded',
      problems: { leases: 'trial leases could not be renewed' },
    });
  });
});
