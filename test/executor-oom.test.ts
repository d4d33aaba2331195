import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contracts } from '../src/contracts/index.js';
import { WORKER_FAULTS_ENV } from '../src/training-worker/worker-faults.js';
import { resolveTrialSpec } from '../src/trial/resolve-trial-spec.js';
import {
  startExecutorHarness,
  syntheticSpec,
  type ExecutorHarness,
} from './support/executor-harness.js';
import { writeSyntheticDataset } from './support/synthetic-dataset.js';

/**
 * A real worker with a 96 MiB V8 heap, told (through the test-only fault hook) to hold
 * 1.5 MiB of heap per batch row from epoch 2 on, as activations would: batch 128 and 64 run out
 * of heap and die of it; batch 32 fits.
 */
const HEAP_MIB = 96;
const BYTES_PER_ROW = 1.5 * 1024 * 1024;

describe('out-of-memory batch back-off with a real worker', () => {
  let h: ExecutorHarness;
  let dataset: string;
  const received: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    h = await startExecutorHarness({ policy: { workerMemoryMiB: HEAP_MIB } });
    dataset = join(h.workDir, 'small.jsonl');
    await writeSyntheticDataset(dataset, { rows: 400 });
    await h.bus.subscribe('automat.#', (_key, message) =>
      received.push(message as Record<string, unknown>),
    );
  });

  afterAll(async () => {
    delete process.env[WORKER_FAULTS_ENV];
    await h?.cleanup();
  });

  it('halves the batch on heap exhaustion, resumes from the checkpoint, completes at 32', async () => {
    const trialId = `${h.id}-oom`;
    const ballast = { bytes_per_row: BYTES_PER_ROW, from_epoch: 2 };
    // Workers inherit this process's environment; the fault names this trial only.
    process.env[WORKER_FAULTS_ENV] = JSON.stringify({ [trialId]: { heap_ballast: ballast } });
    const spec = contracts.trialSpec.parse(
      syntheticSpec(trialId, dataset, {
        hparams: { epochs: 3, batch_size: 128, min_batch_size: 8, learning_rate: 0.05 },
      }),
    );
    await h.store.createTrial(spec, new Date().toISOString());
    const started = Date.now();
    const outcome = await h.executor.submit(resolveTrialSpec(spec));
    console.log(`oom back-off trial took ${Date.now() - started} ms`);

    expect(outcome).toMatchObject({ state: 'completed', attempts: 3, batchSize: 32 });
    expect(outcome.bestMetric.value).not.toBeNull();
    const backoffs = await h.store.listBatchBackoffs(trialId);
    expect(backoffs.map((b) => [b.attempt, b.batchBefore, b.batchAfter])).toEqual([
      [1, 128, 64],
      [2, 64, 32],
    ]);
    expect(backoffs[0]?.reason).toMatch(/out of memory/);
    console.log(`back-off reasons: ${backoffs.map((b) => b.reason).join(' / ')}`);

    await h.executor.flushMirror();
    const mine = received.filter((m) => m.trial_id === trialId);
    const hellos = mine.filter((m) => m.type === 'heartbeat.hello');
    expect(hellos.map((m) => [m.attempt, m.actual_batch, m.start_epoch])).toEqual([
      [1, 128, 1],
      [2, 64, 2],
      [3, 32, 2],
    ]);
    expect(mine.filter((m) => m.type === 'trial.batch_backoff')).toHaveLength(2);
    const epochs = await h.store.listEpochs(trialId);
    expect(epochs.map((e) => [e.attempt, e.epoch])).toEqual([
      [1, 1],
      [3, 2],
      [3, 3],
    ]);
  }, 120_000);
});
