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
import { waitFor } from './support/wait-for.js';

describe('liveness watchdog with real workers', () => {
  let h: ExecutorHarness;
  let dataset: string;
  const received: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    h = await startExecutorHarness({
      policy: {
        heartbeatTimeoutMs: 6_000,
        progressMinMs: 10_000,
        progressFactor: 3,
        retryBaseDelayMs: 500,
      },
    });
    // Workers inherit this process's environment; the fault names the stalling trial only.
    process.env[WORKER_FAULTS_ENV] = JSON.stringify({
      [`${h.id}-stall`]: { stall_after_epoch: 1 },
    });
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

  async function submit(trialId: string, hparams: object) {
    const spec = contracts.trialSpec.parse(
      syntheticSpec(trialId, dataset, {
        hparams: { batch_size: 32, learning_rate: 0.05, patience: 100, ...hparams },
      }),
    );
    await h.store.createTrial(spec, new Date().toISOString());
    return h.executor.submit(resolveTrialSpec(spec));
  }

  // The two trials run side by side (concurrency 2), so the file takes as long as the slower.
  it.concurrent(
    'kills a worker that hangs (SIGSTOP: alive but silent); the trial fails',
    async () => {
      const trialId = `${h.id}-hang`;
      const started = Date.now();
      const outcome = submit(trialId, { epochs: 200, max_failures: 0 });
      await waitFor(
        () => received.some((m) => m.trial_id === trialId && m.type === 'heartbeat.epoch'),
        60_000,
        'the first epoch',
      );
      const hello = received.find((m) => m.trial_id === trialId && m.type === 'heartbeat.hello');
      process.kill(Number(hello?.pid), 'SIGSTOP');

      const result = await outcome;
      console.log(`hung worker trial took ${Date.now() - started} ms`);
      expect(result).toMatchObject({
        state: 'failed',
        stopReason: 'failed',
        attempts: 1,
        error: { code: 'AUTOMAT_E_WORKER_TIMEOUT' },
      });
      expect(result.error?.message).toMatch(/no message from the worker for \d+ ms/);
      expect(result.bestMetric.value).not.toBeNull();
      const stored = await h.store.getTrial(trialId);
      expect(stored?.state).toBe('failed');
    },
    90_000,
  );

  it.concurrent(
    'kills a worker stuck after an epoch (progress watchdog); the retry completes',
    async () => {
      const trialId = `${h.id}-stall`;
      const started = Date.now();
      const result = await submit(trialId, { epochs: 3, max_failures: 1 });
      console.log(`stalled worker trial took ${Date.now() - started} ms`);

      expect(result).toMatchObject({ state: 'completed', attempts: 2, epochsCompleted: 3 });
      const transitions = await h.store.listTransitions(trialId);
      const retry = transitions.find((t) => t.to === 'launching' && t.attempt === 2);
      expect(retry?.reason).toContain('progress_timeout');
      expect(retry?.error?.code).toBe('AUTOMAT_E_WORKER_TIMEOUT');
    },
    90_000,
  );
});
