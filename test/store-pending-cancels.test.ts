/**
 * Cancels kept for trials not received yet, against PostgreSQL and SQLite alike.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { PendingCancel, TrialStore } from '../src/store/trial-store.js';
import { STORE_BACKENDS, T0, at, spec, useMigratedStore } from './store-harness.js';

const cancel = (trialId: string, overrides: Partial<PendingCancel> = {}): PendingCancel => ({
  trialId,
  reason: 'planner: seen enough',
  commandId: 'c-1',
  requestedAt: T0,
  expiresAt: at(30),
  ...overrides,
});

describe.each(STORE_BACKENDS)('%s pending cancels', (_backend, makeHarness) => {
  const currentStore = useMigratedStore(makeHarness);
  let store: TrialStore;
  beforeEach(() => {
    store = currentStore();
  });

  it('keeps a cancel for a trial not stored, for whoever stores it later', async () => {
    expect(await store.recordPendingCancel(cancel('t-1'))).toBeNull();
    await store.createTrial(spec('t-1'), at(1));

    expect(await store.getPendingCancel('t-1', at(2))).toEqual(cancel('t-1'));
    expect(await store.getPendingCancel('t-2', at(2))).toBeUndefined();
  });

  it('answers with the stored state when the trial is already there', async () => {
    await store.createTrial(spec('t-1'), T0);
    expect(await store.recordPendingCancel(cancel('t-1'))).toBe('queued');
    expect(await store.deletePendingCancel('t-1')).toBe(true);
    expect(await store.deletePendingCancel('t-1')).toBe(false);
    expect(await store.getPendingCancel('t-1', at(1))).toBeUndefined();
  });

  it('keeps the first cancel of a trial and the later expiry when cancelled twice', async () => {
    await store.recordPendingCancel(cancel('t-1'));
    const again = cancel('t-1', { reason: 'planner: again', commandId: 'c-2', expiresAt: at(50) });
    expect(await store.recordPendingCancel(again)).toBeNull();
    await store.recordPendingCancel(cancel('t-1', { commandId: 'c-3', expiresAt: at(40) }));

    expect(await store.getPendingCancel('t-1', at(45))).toEqual(
      cancel('t-1', { expiresAt: at(50) }),
    );
  });

  it('never lets a trial stored at the same moment miss a cancel recorded as pending', async () => {
    // The planner's cancel and the intake (store the spec, then look for a cancel) at once, 50
    // times, each side after a pause of 0-4 ms so that their statements interleave every way.
    // Whenever the cancel saw no trial, the intake must have found the cancel.
    const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    const results = [];
    for (let i = 0; i < 50; i += 1) {
      const trialId = `t-race-${i}`;
      const [seen, found] = await Promise.all([
        pause(i % 5).then(() => store.recordPendingCancel(cancel(trialId))),
        pause(Math.floor(i / 5) % 5)
          .then(() => store.createTrial(spec(trialId), T0))
          .then(() => store.getPendingCancel(trialId, at(1))),
      ]);
      results.push({ seen, found });
    }
    for (const { seen, found } of results) {
      if (seen === null) expect(found).toBeDefined();
      else expect(seen).toBe('queued');
    }
    // Both outcomes happened, or the race was not run.
    expect(new Set(results.map((r) => r.seen)).size).toBe(2);
  });

  it('ignores an expired cancel and removes expired ones when another is recorded', async () => {
    await store.recordPendingCancel(cancel('t-old', { expiresAt: at(10) }));
    expect(await store.getPendingCancel('t-old', at(10))).toBeDefined();
    expect(await store.getPendingCancel('t-old', at(11))).toBeUndefined();

    await store.recordPendingCancel(cancel('t-new', { requestedAt: at(20), expiresAt: at(40) }));
    // Gone for good: deleting it finds nothing.
    expect(await store.deletePendingCancel('t-old')).toBe(false);
    expect(await store.getPendingCancel('t-new', at(21))).toBeDefined();
  });
});
