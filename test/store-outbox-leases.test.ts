/**
 * The outbox and lease half of the trial store, against PostgreSQL and SQLite alike.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { TrialStore } from '../src/store/trial-store.js';
import { STORE_BACKENDS, T0, at, spec, useMigratedStore } from './store-harness.js';

const message = (trialId: string, seq: number) => ({
  trialId,
  seq,
  type: 'trial.state_changed',
  payload: { trial_id: trialId, seq },
  recordedAt: at(seq),
});

describe.each(STORE_BACKENDS)('%s outbox and leases', (_backend, makeHarness) => {
  const currentStore = useMigratedStore(makeHarness);
  let store: TrialStore;
  beforeEach(() => {
    store = currentStore();
  });

  it('lists unpublished messages in seq order until they are marked', async () => {
    await store.createTrial(spec('t-1'), T0, { owner: 'exec-a', expiresAt: at(30) });
    for (const seq of [2, 0, 1, 3]) await store.recordMessage(message('t-1', seq));
    await store.markPublished('t-1', 1, at(5));

    const waiting = await store.listUnpublished('t-1', 10);
    expect(waiting.map((m) => m.seq)).toEqual([0, 2, 3]);
    expect((await store.listUnpublished('t-1', 2)).map((m) => m.seq)).toEqual([0, 2]);
    const listed = await store.listMessages('t-1');
    expect(listed.find((m) => m.seq === 1)?.publishedAt).toBe(at(5));
    expect(listed.find((m) => m.seq === 0)?.publishedAt).toBeUndefined();
    expect(await store.nextSeq('t-1')).toBe(4);
    expect(await store.nextSeq('t-none')).toBe(0);
  });

  it('stores a message that was published before it could be stored as published', async () => {
    await store.createTrial(spec('t-1'), T0);
    await store.recordMessage({ ...message('t-1', 0), publishedAt: at(1) });
    expect(await store.listUnpublished('t-1', 10)).toEqual([]);
  });

  it('offers an owner only the backlogs it may publish', async () => {
    await store.createTrial(spec('mine'), T0, { owner: 'exec-a', expiresAt: at(30) });
    await store.createTrial(spec('theirs'), T0, { owner: 'exec-b', expiresAt: at(30) });
    await store.createTrial(spec('expired'), T0, { owner: 'exec-b', expiresAt: at(10) });
    await store.createTrial(spec('nobody'), T0);
    for (const id of ['mine', 'theirs', 'expired', 'nobody']) {
      await store.recordMessage(message(id, 0));
    }

    expect(await store.listTrialsWithUnpublished('exec-a', at(20), 10)).toEqual([
      'expired',
      'mine',
      'nobody',
    ]);
    expect(await store.listTrialsWithUnpublished('exec-b', at(20), 10)).toEqual([
      'expired',
      'nobody',
      'theirs',
    ]);
  });

  it('lets one executor claim a trial until its lease expires', async () => {
    await store.createTrial(spec('t-1'), T0, { owner: 'exec-a', expiresAt: at(30) });

    expect(await store.claimTrial('t-1', { owner: 'exec-b', expiresAt: at(50) }, at(20))).toBe(
      false,
    );
    expect((await store.getTrial('t-1'))?.owner).toBe('exec-a');
    expect(await store.claimTrial('t-1', { owner: 'exec-a', expiresAt: at(40) }, at(20))).toBe(
      true,
    );
    expect(await store.claimTrial('t-1', { owner: 'exec-b', expiresAt: at(55) }, at(41))).toBe(
      true,
    );
    expect(await store.getTrial('t-1')).toMatchObject({ owner: 'exec-b', leaseExpiresAt: at(55) });
    expect(await store.claimTrial('missing', { owner: 'exec-b', expiresAt: at(55) }, at(41))).toBe(
      false,
    );
  });

  it('releases a lease only for its holder, leaving the trial for anyone to claim at once', async () => {
    await store.createTrial(spec('t-1'), T0, { owner: 'exec-a', expiresAt: at(30) });

    expect(await store.releaseLease('t-1', 'exec-b')).toBe(false);
    expect((await store.getTrial('t-1'))?.owner).toBe('exec-a');
    expect(await store.releaseLease('t-1', 'exec-a')).toBe(true);
    expect(await store.getTrial('t-1')).toMatchObject({ owner: null, leaseExpiresAt: null });
    expect(await store.renewLeases({ owner: 'exec-a', expiresAt: at(40) })).toEqual([]);
    expect(await store.listOrphanedTrials(at(1), 10)).toEqual(['t-1']);
    expect(await store.claimTrial('t-1', { owner: 'exec-b', expiresAt: at(31) }, at(1))).toBe(true);
  });

  it('upserts handovers by attempt and lists them in attempt order', async () => {
    await store.createTrial(spec('t-1'), T0);
    const handover = (attempt: number, resumeEpoch: number | null, reason = 'shutdown') => ({
      trialId: 't-1',
      attempt,
      executor: 'exec-a',
      state: 'running' as const,
      resumeEpoch,
      reason,
      recordedAt: at(attempt),
    });
    await store.recordHandover(handover(3, 5));
    await store.recordHandover(handover(1, null));
    await store.recordHandover(handover(3, 6, 'again'));

    expect(await store.listHandovers('t-1')).toEqual([handover(1, null), handover(3, 6, 'again')]);
    expect(await store.listHandovers('other')).toEqual([]);
  });

  it('renews unfinished trials and finished ones with a backlog, and nothing of others', async () => {
    const lease = { owner: 'exec-a', expiresAt: at(10) };
    await store.createTrial(spec('running'), T0, lease);
    await store.createTrial(spec('done'), T0, lease);
    await store.createTrial(spec('done-backlog'), T0, lease);
    await store.createTrial(spec('other'), T0, { owner: 'exec-b', expiresAt: at(10) });
    for (const id of ['done', 'done-backlog']) {
      await store.recordTransition({ trialId: id, from: null, to: 'queued', reason: 'a', at: T0 });
      await store.recordTransition({
        trialId: id,
        from: 'queued',
        to: 'failed',
        reason: 'b',
        at: T0,
      });
    }
    await store.recordMessage(message('done-backlog', 0));

    expect(await store.renewLeases({ owner: 'exec-a', expiresAt: at(40) })).toEqual([
      'done-backlog',
      'running',
    ]);
    expect((await store.getTrial('running'))?.leaseExpiresAt).toBe(at(40));
    expect((await store.getTrial('done'))?.leaseExpiresAt).toBe(at(10));
    expect((await store.getTrial('other'))?.leaseExpiresAt).toBe(at(10));
  });

  it('lists unfinished trials nobody holds or whose lease expired, oldest first', async () => {
    await store.createTrial(spec('held'), T0, { owner: 'exec-a', expiresAt: at(30) });
    await store.createTrial(spec('lapsed'), at(1), { owner: 'exec-a', expiresAt: at(10) });
    await store.createTrial(spec('unowned'), at(2));
    await store.createTrial(spec('finished'), at(3), { owner: 'exec-a', expiresAt: at(10) });
    await store.recordTransition({
      trialId: 'finished',
      from: null,
      to: 'queued',
      reason: 'a',
      at: T0,
    });
    await store.recordTransition({
      trialId: 'finished',
      from: 'queued',
      to: 'cancelled',
      reason: 'b',
      at: T0,
    });

    expect(await store.listOrphanedTrials(at(20), 10)).toEqual(['lapsed', 'unowned']);
    expect(await store.listOrphanedTrials(at(20), 1)).toEqual(['lapsed']);
  });

  it('keeps the files of a checkpoint', async () => {
    await store.createTrial(spec('t-1'), T0);
    const files = ['model.json', 'weights/part-0.bin'];
    await store.recordCheckpoint({
      trialId: 't-1',
      attempt: 1,
      epoch: 2,
      uri: 's3://b/t-1/1/epoch-2/',
      bytes: 10,
      files,
      recordedAt: at(1),
    });
    expect((await store.listCheckpoints('t-1'))[0]?.files).toEqual(files);
  });
});
