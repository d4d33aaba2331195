import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadTakeover, type TrialTakeover } from '../src/trial/trial-takeover.js';
import { TrialRunRig, type RigOptions } from './trial-run-fixture.js';

/** Rig A runs the trial to the end of epoch 2 (both checkpointed), then "dies". */
async function diedAfterTwoEpochs(options: RigOptions = {}): Promise<TrialRunRig> {
  const first = await TrialRunRig.start(options);
  await first.begin();
  await first.hello(1);
  await first.epoch(1, 1, 0.6);
  await first.checkpoint(1, 1);
  await first.epoch(1, 2, 0.8);
  await first.checkpoint(1, 2);
  return first;
}

/** What TrialRecovery would load for `rig`'s trial; seq goes on after what `rig` published. */
async function takeoverOf(rig: TrialRunRig): Promise<TrialTakeover> {
  const record = await rig.store.getTrial(rig.trialId);
  if (!record) throw new Error('trial not stored');
  const loaded = await loadTakeover(rig.store, record, { executor: 'exec-b', previous: 'exec-a' });
  return { ...loaded, nextSeq: rig.mirrored.length };
}

describe('TrialRun taking over a trial from a dead executor (scripted worker)', () => {
  const rigs: TrialRunRig[] = [];

  afterEach(async () => {
    await rigs[0]?.cleanup();
    rigs.length = 0;
  });

  it('resumes from the latest checkpoint as the next attempt and keeps the earlier epochs', async () => {
    const first = await diedAfterTwoEpochs();
    const takeover = await takeoverOf(first);
    const second = await TrialRunRig.successor(first);
    rigs.push(first, second);

    await second.post({ type: 'trial.adopt', takeover });
    await second.post({ type: 'trial.start' });
    await second.ingested();

    const train = second.worker(2).sent[0];
    expect(train).toMatchObject({ type: 'control.train' });
    expect(train?.type === 'control.train' && train.resume_from).toMatch(/1\/epoch-2$/);
    expect(second.mirrored[0]).toMatchObject({
      type: 'trial.taken_over',
      seq: first.mirrored.length,
      executor: 'exec-b',
      previous_executor: 'exec-a',
      state: 'running',
      attempt: 1,
      resume_epoch: 2,
    });
    const relaunch = second.events('trial.state_changed')[0];
    expect(relaunch).toMatchObject({ from: 'running', to: 'launching', attempt: 2 });
    expect(String(relaunch?.reason)).toContain('exec-a stopped renewing its lease');

    await second.hello(2, 3);
    for (const epoch of [3, 4, 5]) {
      await second.epoch(2, epoch, 0.7);
      await second.checkpoint(2, epoch);
    }
    await second.final(2, 'completed', { epochs_completed: 5 });
    await second.exit(2, { code: 0, signal: null, classification: 'clean' });

    // Epoch 2 of the dead executor's attempt stays the best.
    expect(second.outcomes[0]).toMatchObject({
      state: 'completed',
      attempts: 2,
      epochsCompleted: 5,
      bestMetric: { value: 0.8, epoch: 2 },
    });
    expect(second.outcomes[0]?.bestCheckpointUri).toMatch(/\/1\/epoch-2\/$/);
    const seqs = [...first.mirrored, ...second.mirrored].map((m) => m.seq);
    expect(seqs).toEqual(seqs.map((_, i) => i));
  });

  it('downloads the checkpoint when this machine does not have it', async () => {
    const first = await diedAfterTwoEpochs();
    const takeover = await takeoverOf(first);
    const local = takeover.checkpoints.at(-1);
    // The new executor runs on another machine: attempt 1's folders are not there.
    await rm(join(first.dir, 'checkpoints', first.trialId, '1'), { recursive: true, force: true });
    const second = await TrialRunRig.successor(first);
    rigs.push(first, second);

    await second.post({ type: 'trial.adopt', takeover });
    await second.post({ type: 'trial.start' });
    await second.ingested();

    const train = second.worker(2).sent[0];
    expect(local?.files).toEqual(['checkpoint.json', 'weights.bin']);
    expect(train?.type === 'control.train' && train.resume_from).toMatch(/2\/resume\/epoch-2$/);
  });

  it('counts the lost executor as a failure, and fails when max_failures allows no retry', async () => {
    const first = await diedAfterTwoEpochs({ hparams: { max_failures: 0 } });
    const takeover = await takeoverOf(first);
    const second = await TrialRunRig.successor(first, { hparams: { max_failures: 0 } });
    rigs.push(first, second);

    await second.post({ type: 'trial.adopt', takeover });
    await second.post({ type: 'trial.start' });

    expect(second.workers).toHaveLength(0);
    expect(second.outcomes[0]).toMatchObject({ state: 'failed', stopReason: 'failed' });
    expect(String(second.events('trial.state_changed')[0]?.reason)).toContain('no retries left');
    expect((await second.store.getTrial(second.trialId))?.state).toBe('failed');
  });

  it('starts a trial taken over while still queued as any other', async () => {
    const first = await TrialRunRig.start();
    await first.post({ type: 'trial.accept' });
    const takeover = await takeoverOf(first);
    const second = await TrialRunRig.successor(first);
    rigs.push(first, second);

    await second.post({ type: 'trial.adopt', takeover });
    await second.post({ type: 'trial.start' });
    await second.ingested();

    expect(takeover).toMatchObject({ state: 'queued', attempt: 1 });
    expect(second.states()).toEqual(['ingesting', 'launching']);
    expect(second.worker(1).sent[0]).not.toHaveProperty('resume_from');
  });
});
