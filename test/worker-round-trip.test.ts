import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CheckpointMessage, EpochMessage, HelloMessage } from '../src/contracts/index.js';
import { writeSyntheticShards, type SyntheticShards } from './fixtures/worker/synthetic-shards.js';
import {
  collectUntilFinal,
  startTrial,
  tempDir,
  trainRequest,
  type RunningTrial,
} from './fixtures/worker/worker-harness.js';

/** Epoch metrics beyond the four the contract names travel as extra properties. */
function metric(epoch: EpochMessage, name: string): number | null | undefined {
  return (epoch.metrics as Record<string, number | null>)[name];
}

describe('training worker round trip', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let shards: SyntheticShards;
  const trials: RunningTrial[] = [];

  beforeEach(async () => {
    dir = await tempDir('worker-round-trip');
    shards = await writeSyntheticShards({ dir: dir.path });
  });

  afterEach(async () => {
    await Promise.all(trials.splice(0).map((t) => t.close()));
    await dir.remove();
  });

  it('says hello, reports improving epochs with checkpoints on disk, and completes', async () => {
    const trial = await startTrial('round-trip');
    trials.push(trial);
    const checkpointDir = join(dir.path, 'checkpoints');
    const sent = await trial.channel.send(
      trainRequest(shards.manifestPath, checkpointDir, { hparams: { epochs: 4 } }),
    );
    expect(sent).toMatchObject({ trial_id: trial.trialId, attempt: 1, seq: 0 });

    const { heartbeats, final } = await collectUntilFinal(trial.channel);
    expect(heartbeats.map((h) => h.type)).toEqual([
      'heartbeat.hello',
      ...Array.from({ length: 4 }, () => ['heartbeat.epoch', 'heartbeat.checkpoint']).flat(),
      'heartbeat.final',
    ]);
    expect(heartbeats.map((h) => h.seq)).toEqual(heartbeats.map((_, i) => i));

    const hello = heartbeats[0] as HelloMessage;
    expect(hello).toMatchObject({
      actual_batch: 16,
      tokenizer_ref: 'synthetic-ids',
      pid: trial.worker.pid,
      start_epoch: 1,
    });

    const epochs = heartbeats.filter((h): h is EpochMessage => h.type === 'heartbeat.epoch');
    const accuracy = epochs.map((e) => metric(e, 'val_accuracy') as number);
    const trainLoss = epochs.map((e) => e.metrics.train_loss as number);
    expect(epochs.map((e) => e.epoch)).toEqual([1, 2, 3, 4]);
    expect(accuracy.at(-1)).toBeGreaterThan(0.9);
    expect(accuracy.at(-1)).toBeGreaterThan(accuracy[0] as number);
    expect(trainLoss.at(-1)).toBeLessThan((trainLoss[0] as number) / 2);
    for (const epoch of epochs) {
      expect(epoch.metrics.primary).toBe(metric(epoch, 'val_accuracy'));
      expect(epoch.metrics.tokens_per_s).toBeGreaterThan(0);
    }

    const checkpoints = heartbeats.filter(
      (h): h is CheckpointMessage => h.type === 'heartbeat.checkpoint',
    );
    for (const checkpoint of checkpoints) {
      expect(checkpoint.path).toBe(join(checkpointDir, `epoch-${checkpoint.epoch}`));
      const files = await readdir(checkpoint.path);
      expect(files.sort()).toEqual(['checkpoint.json', 'optimizer.bin', 'weights.bin']);
      const sizes = await Promise.all(files.map((f) => stat(join(checkpoint.path, f))));
      expect(sizes.reduce((sum, s) => sum + s.size, 0)).toBe(checkpoint.bytes);
      const header = JSON.parse(await readFile(join(checkpoint.path, 'checkpoint.json'), 'utf8'));
      expect(header).toMatchObject({ format: 'automat0.checkpoint/v1', epoch: checkpoint.epoch });
    }
    // weights.bin holds embedding (200×16) + dense kernel (16×2) + bias (2) as float32.
    const weights = await stat(join(checkpointDir, 'epoch-4', 'weights.bin'));
    expect(weights.size).toBe((200 * 16 + 16 * 2 + 2) * 4);

    const bestEpoch = accuracy.indexOf(Math.max(...accuracy)) + 1;
    expect(final).toMatchObject({
      status: 'completed',
      epochs_completed: 4,
      best_metric: { name: 'val_accuracy', value: Math.max(...accuracy), epoch: bestEpoch },
    });
    expect(final.error).toBeUndefined();
    await expect(trial.worker.exited).resolves.toMatchObject({ code: 0, classification: 'clean' });
  });

  it('resumes from a checkpoint with its weights, continuing at the next epoch', async () => {
    const first = await startTrial('resume');
    trials.push(first);
    const checkpointDir = join(dir.path, 'checkpoints');
    await first.channel.send(
      trainRequest(shards.manifestPath, checkpointDir, { hparams: { epochs: 2 } }),
    );
    const before = await collectUntilFinal(first.channel);
    const lastEpoch = before.heartbeats
      .filter((h) => h.type === 'heartbeat.epoch')
      .at(-1) as EpochMessage;

    const second = await startTrial('resume', { attempt: 2 });
    trials.push(second);
    await second.channel.send(
      trainRequest(shards.manifestPath, checkpointDir, {
        resume_from: join(checkpointDir, 'epoch-2'),
        hparams: { epochs: 3 },
      }),
    );
    const after = await collectUntilFinal(second.channel);
    expect(after.heartbeats[0]).toMatchObject({
      type: 'heartbeat.hello',
      start_epoch: 3,
      attempt: 2,
    });
    const resumed = after.heartbeats.find((h) => h.type === 'heartbeat.epoch') as EpochMessage;
    expect(resumed.epoch).toBe(3);
    // Restored weights and Adam state keep training where it was, not from a fresh start.
    expect(resumed.metrics.train_loss as number).toBeLessThan(
      lastEpoch.metrics.train_loss as number,
    );
    expect(after.final).toMatchObject({ status: 'completed', epochs_completed: 3 });
  });
});
