import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../src/errors/index.js';
import { WorkerExitCode } from '../src/worker-protocol/worker-exit.js';
import { writeSyntheticShards } from './fixtures/worker/synthetic-shards.js';
import {
  collectUntilFinal,
  startTrial,
  tempDir,
  trainRequest,
  type RunningTrial,
} from './fixtures/worker/worker-harness.js';

describe('training worker failures', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  const trials: RunningTrial[] = [];

  beforeEach(async () => {
    dir = await tempDir('worker-failure');
  });

  afterEach(async () => {
    await Promise.all(trials.splice(0).map((t) => t.close()));
    await dir.remove();
  });

  it('reports a bad manifest path as failed with DATASET_NOT_FOUND and exits non-zero', async () => {
    const trial = await startTrial('bad-manifest');
    trials.push(trial);
    const missing = join(dir.path, 'no-such-folder', 'manifest.json');
    await trial.channel.send(trainRequest(missing, join(dir.path, 'checkpoints')));

    const { heartbeats, final } = await collectUntilFinal(trial.channel);
    expect(heartbeats).toHaveLength(1);
    expect(final).toMatchObject({
      status: 'failed',
      epochs_completed: 0,
      best_metric: { name: 'val_accuracy', value: null, epoch: null },
      error: { name: 'AutomatError', code: ErrorCodes.DATASET_NOT_FOUND },
    });
    expect(final.error?.message).toContain(missing);
    await expect(trial.worker.exited).resolves.toMatchObject({
      code: WorkerExitCode.failed,
      classification: 'crashed',
    });
  });

  it('rejects shards that do not fit the model before training', async () => {
    const shards = await writeSyntheticShards({ dir: dir.path });
    const trial = await startTrial('bad-vocab');
    trials.push(trial);
    await trial.channel.send(
      trainRequest(shards.manifestPath, join(dir.path, 'checkpoints'), {
        model: { vocab_size: 50 },
      }),
    );

    const { final } = await collectUntilFinal(trial.channel);
    expect(final.status).toBe('failed');
    expect(final.error?.code).toBe(ErrorCodes.DATASET_INVALID);
    expect(final.error?.message).toMatch(/token ids must lie in \[0, 50\)/);
  });

  it('fails with WORKER_TIMEOUT when no train request arrives in time', async () => {
    const trial = await startTrial('no-train', { trainTimeoutMs: 300 });
    trials.push(trial);

    const { final } = await collectUntilFinal(trial.channel);
    expect(final).toMatchObject({ status: 'failed', error: { code: ErrorCodes.WORKER_TIMEOUT } });
    await expect(trial.worker.exited).resolves.toMatchObject({ code: WorkerExitCode.failed });
  });
});
