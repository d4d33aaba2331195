import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EpochMessage } from '../src/contracts/index.js';
import { writeSyntheticShards, type SyntheticShards } from './fixtures/worker/synthetic-shards.js';
import {
  collectUntilFinal,
  startTrial,
  tempDir,
  trainRequest,
  type RunningTrial,
} from './fixtures/worker/worker-harness.js';

describe('control.cancel_after_epoch', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let shards: SyntheticShards;
  const trials: RunningTrial[] = [];

  beforeEach(async () => {
    dir = await tempDir('worker-cancel');
    // Enough rows with small batches that the first epoch takes about a second.
    shards = await writeSyntheticShards({ dir: dir.path, trainRows: 6000 });
  });

  afterEach(async () => {
    await Promise.all(trials.splice(0).map((t) => t.close()));
    await dir.remove();
  });

  it('finishes the current epoch and its checkpoint, then reports cancelled', async () => {
    const trial = await startTrial('cancel');
    trials.push(trial);
    const checkpointDir = join(dir.path, 'checkpoints');
    await trial.channel.send(
      trainRequest(shards.manifestPath, checkpointDir, { hparams: { epochs: 20, batch_size: 8 } }),
    );

    const { heartbeats, final } = await collectUntilFinal(trial.channel, 60_000, async (h) => {
      if (h.type === 'heartbeat.hello') {
        await trial.channel.send({ type: 'control.cancel_after_epoch', reason: 'test asked' });
      }
    });
    expect(heartbeats.map((h) => h.type)).toEqual([
      'heartbeat.hello',
      'heartbeat.epoch',
      'heartbeat.checkpoint',
      'heartbeat.final',
    ]);
    const epoch = heartbeats[1] as EpochMessage;
    expect(final).toMatchObject({
      status: 'cancelled',
      epochs_completed: 1,
      best_metric: { name: 'val_accuracy', epoch: 1, value: epoch.metrics.primary },
    });
    await access(join(checkpointDir, 'epoch-1', 'weights.bin'));
    await expect(trial.worker.exited).resolves.toMatchObject({ code: 0, classification: 'clean' });
  });

  it('ends at once, with nothing trained, when the cancel comes before any train request', async () => {
    const trial = await startTrial('cancel-early');
    trials.push(trial);
    await trial.channel.send({ type: 'control.cancel_after_epoch', reason: 'changed my mind' });

    const { heartbeats, final } = await collectUntilFinal(trial.channel);
    expect(heartbeats).toHaveLength(1);
    expect(final).toMatchObject({
      status: 'cancelled',
      epochs_completed: 0,
      best_metric: { value: null, epoch: null },
    });
    await expect(trial.worker.exited).resolves.toMatchObject({ code: 0 });
  });
});
