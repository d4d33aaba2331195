import { rm } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { contracts } from '../src/contracts/index.js';
import { TrialRunRig } from './trial-run-fixture.js';

describe('TrialRun retries (scripted worker, manual clock)', () => {
  let rig: TrialRunRig;

  afterEach(async () => {
    await rig?.cleanup();
  });

  it('retries a killed worker from its last checkpoint after the back-off and completes', async () => {
    rig = await TrialRunRig.start({ settings: { retryBaseDelayMs: 1_000 } });
    await rig.begin();
    await rig.hello(1);
    await rig.epoch(1, 1, 0.6);
    const path = await rig.checkpoint(1, 1);
    await rig.epoch(1, 2, 0.7); // trained, but its checkpoint never arrives
    await rig.exit(1, { code: null, signal: 'SIGKILL', classification: 'killed' });

    expect(rig.run.state).toBe('launching');
    expect(rig.workers).toHaveLength(1);
    await rig.advance(999);
    expect(rig.workers).toHaveLength(1);
    await rig.advance(1);
    const second = rig.worker(2);
    const train = second.sent[0];
    expect(train).toMatchObject({ type: 'control.train', resume_from: path });
    expect(train?.type === 'control.train' && train.hparams.batch_size).toBe(32);

    await rig.hello(2, 2);
    for (const epoch of [2, 3, 4, 5]) {
      await rig.epoch(2, epoch, 0.6 + epoch / 100);
      await rig.checkpoint(2, epoch);
    }
    await rig.final(2, 'completed', { epochs_completed: 5 });
    await rig.exit(2, { code: 0, signal: null, classification: 'clean' });

    expect(rig.outcomes).toHaveLength(1);
    expect(rig.outcomes[0]).toMatchObject({
      state: 'completed',
      stopReason: 'completed',
      attempts: 2,
      epochsCompleted: 5,
      bestMetric: { value: 0.65, epoch: 5 },
    });
    expect(rig.outcomes[0]?.bestCheckpointUri).toMatch(/\/2\/epoch-5\/$/);
    expect(rig.states()).toEqual([
      'queued',
      'ingesting',
      'launching',
      'running',
      'launching',
      'running',
      'completed',
    ]);
    const retry = rig.events('trial.state_changed')[4];
    expect(retry).toMatchObject({ from: 'running', to: 'launching', attempt: 2 });
    expect(String(retry?.reason)).toContain('retry 1 of 2');
    const stored = await rig.store.getTrial(rig.trialId);
    expect(stored?.attempt).toBe(2);
    for (const message of rig.mirrored) {
      const contract = String(message.type).startsWith('heartbeat.')
        ? contracts.heartbeat
        : contracts.trialEvent;
      expect(contract.is(message)).toBe(true);
    }
  });

  it('drops a late heartbeat from a previous attempt without effect', async () => {
    rig = await TrialRunRig.start({ settings: { retryBaseDelayMs: 0 } });
    await rig.begin();
    await rig.hello(1);
    await rig.epoch(1, 1, 0.5);
    await rig.exit(1);
    await rig.advance(0);
    await rig.hello(2);
    const before = rig.mirrored.length;

    // A frame attempt 1 sent before it died arrives now: an epoch far better than any.
    await rig.emit(1, {
      type: 'heartbeat.epoch',
      epoch: 1,
      duration_ms: 5,
      metrics: { primary: 0.99, tokens_per_s: 1, train_loss: 0, val_loss: 0 },
    });
    await rig.final(1, 'failed');
    await rig.exit(1);

    expect(rig.mirrored.length).toBe(before);
    expect(rig.run.state).toBe('running');
    await rig.epoch(2, 1, 0.4);
    await rig.final(2, 'cancelled');
    expect(rig.run.state).toBe('cancelled');
    await rig.exit(2, { code: 0, signal: null, classification: 'clean' });
    expect(rig.outcomes[0]?.bestMetric.value).toBe(0.4);
  });

  it('halves the batch after out of memory, records each back-off, and ends at the floor', async () => {
    rig = await TrialRunRig.start({ hparams: { batch_size: 32, min_batch_size: 8 } });
    await rig.begin();
    const oom = { code: 3, signal: null, classification: 'oom' as const };
    const batches: unknown[] = [];
    for (const attempt of [1, 2, 3]) {
      await rig.hello(attempt);
      const train = rig.worker(attempt).sent[0];
      batches.push(train?.type === 'control.train' ? train.hparams.batch_size : undefined);
      await rig.final(attempt, 'failed', {
        error: { name: 'RangeError', code: 'AUTOMAT_E_TRAINING_FAILED', message: 'Out of memory' },
      });
      await rig.exit(attempt, oom);
      await rig.advance(0);
    }
    expect(batches).toEqual([32, 16, 8]);
    expect(rig.outcomes[0]).toMatchObject({
      state: 'failed',
      stopReason: 'oom_exhausted',
      attempts: 3,
      batchSize: 8,
    });
    const backoffs = await rig.store.listBatchBackoffs(rig.trialId);
    expect(backoffs.map((b) => [b.attempt, b.nextAttempt, b.batchBefore, b.batchAfter])).toEqual([
      [1, 2, 32, 16],
      [2, 3, 16, 8],
    ]);
    expect(rig.events('trial.batch_backoff')).toHaveLength(2);
    expect(rig.events('trial.batch_backoff')[0]).toMatchObject({
      attempt: 1,
      next_attempt: 2,
      batch_before: 32,
      batch_after: 16,
      min_batch_size: 8,
    });
  });

  // Regression: with batch_size 65536 and a 320-row split, the worker trained at 320 while the
  // back-off halved 65536, 32768, … and every attempt failed at 320 again.
  it('halves the batch the worker really used when it trained with less than asked', async () => {
    rig = await TrialRunRig.start({ hparams: { batch_size: 1024, min_batch_size: 8 } });
    await rig.begin();
    await rig.hello(1, 1, 40);
    await rig.final(1, 'failed', {
      error: { name: 'RangeError', code: 'AUTOMAT_E_TRAINING_FAILED', message: 'Out of memory' },
    });
    await rig.exit(1, { code: 3, signal: null, classification: 'oom' });
    await rig.advance(0);

    const train = rig.worker(2).sent[0];
    expect(train?.type === 'control.train' && train.hparams.batch_size).toBe(20);
    const backoffs = await rig.store.listBatchBackoffs(rig.trialId);
    expect(backoffs.map((b) => [b.batchBefore, b.batchAfter])).toEqual([[40, 20]]);
  });

  it('fails at once when the worker reports a bad dataset', async () => {
    rig = await TrialRunRig.start();
    await rig.begin();
    await rig.final(1, 'failed', {
      error: { name: 'AutomatError', code: 'AUTOMAT_E_DATASET_INVALID', message: 'label 7 >= 2' },
    });
    await rig.exit(1, { code: 1, signal: null, classification: 'crashed' });
    expect(rig.outcomes[0]).toMatchObject({
      state: 'failed',
      attempts: 1,
      error: { code: 'AUTOMAT_E_DATASET_INVALID' },
    });
    expect(rig.workers).toHaveLength(1);
  });

  it('fails once max_failures is used up, with the pause doubling', async () => {
    rig = await TrialRunRig.start({
      hparams: { max_failures: 2 },
      settings: { retryBaseDelayMs: 100 },
    });
    await rig.begin();
    await rig.exit(1);
    await rig.advance(100);
    await rig.exit(2);
    await rig.advance(199);
    expect(rig.workers).toHaveLength(2);
    await rig.advance(1);
    await rig.exit(3);
    expect(rig.outcomes[0]).toMatchObject({ state: 'failed', stopReason: 'failed', attempts: 3 });
    expect(rig.outcomes[0]?.error?.message).toContain(
      'failure 3, after the 2 retries max_failures allows',
    );
  });

  it('ends cancelled without a new worker when cancelled during the back-off', async () => {
    rig = await TrialRunRig.start({ settings: { retryBaseDelayMs: 5_000 } });
    await rig.begin();
    await rig.exit(1);
    await rig.post({ type: 'trial.cancel', reason: 'planner changed its mind' });
    await rig.advance(10_000);
    expect(rig.workers).toHaveLength(1);
    expect(rig.outcomes[0]).toMatchObject({ state: 'cancelled', stopReason: 'cancelled' });
  });

  it('downloads the checkpoint when the local folder is gone', async () => {
    rig = await TrialRunRig.start({ settings: { retryBaseDelayMs: 0 } });
    await rig.begin();
    await rig.hello(1);
    await rig.epoch(1, 1, 0.6);
    const local = await rig.checkpoint(1, 1);
    await rig.exit(1);
    await rm(local, { recursive: true });
    await rig.advance(0);
    const train = rig.worker(2).sent[0];
    const resumeFrom = train?.type === 'control.train' ? train.resume_from : undefined;
    expect(resumeFrom).toMatch(/\/2\/resume\/epoch-1$/);
    expect(resumeFrom).not.toBe(local);
  });
});
