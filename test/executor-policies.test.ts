import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contracts } from '../src/contracts/index.js';
import { resolveTrialSpec } from '../src/trial/resolve-trial-spec.js';
import {
  startExecutorHarness,
  syntheticSpec,
  type ExecutorHarness,
} from './support/executor-harness.js';
import { writeSyntheticDataset } from './support/synthetic-dataset.js';
import { waitFor } from './support/wait-for.js';

describe('executor policies with a real worker', () => {
  let h: ExecutorHarness;
  let small: string;
  let large: string;
  const received: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    h = await startExecutorHarness();
    small = join(h.workDir, 'small.jsonl');
    large = join(h.workDir, 'large.jsonl');
    await writeSyntheticDataset(small, { rows: 400 });
    await writeSyntheticDataset(large, { rows: 6000, wordsPerLine: 48 });
    await h.bus.subscribe('automat.events.#', (_key, message) =>
      received.push(message as Record<string, unknown>),
    );
  });

  afterAll(async () => {
    await h?.cleanup();
  });

  async function run(spec: object) {
    const parsed = contracts.trialSpec.parse(spec);
    await h.store.createTrial(parsed, new Date().toISOString());
    return h.executor.submit(resolveTrialSpec(parsed));
  }

  it('stops early once patience runs out and keeps the best epoch', async () => {
    // min_delta 0.5 cannot be beaten after the first epoch, so patience 1 stops after epoch 2.
    const outcome = await run(
      syntheticSpec(`${h.id}-early`, small, {
        hparams: { epochs: 8, patience: 1, min_delta: 0.5, batch_size: 32, learning_rate: 0.05 },
      }),
    );
    expect(outcome.state).toBe('early_stopped');
    expect(outcome.stopReason).toBe('early_stopped');
    expect(outcome.epochsCompleted).toBeGreaterThanOrEqual(2);
    expect(outcome.epochsCompleted).toBeLessThan(8);
    expect(outcome.bestMetric.value).not.toBeNull();
    expect(outcome.bestCheckpointUri).toContain(`/epoch-${outcome.bestMetric.epoch}/`);
    const stored = await h.store.getTrial(`${h.id}-early`);
    expect(stored?.state).toBe('early_stopped');
    expect(stored?.stopReason).toBe('early_stopped');
  });

  it('ends a trial whose budget cannot fit another epoch as timed_out with its best metric', async () => {
    const outcome = await run(
      syntheticSpec(`${h.id}-budget`, large, {
        seq_len: 64,
        budget_seconds: 2,
        hparams: { epochs: 50, batch_size: 32, learning_rate: 0.05 },
      }),
    );
    expect(outcome.state).toBe('timed_out');
    expect(outcome.stopReason).toBe('budget_exhausted');
    expect(outcome.epochsCompleted).toBeGreaterThanOrEqual(1);
    expect(outcome.epochsCompleted).toBeLessThan(50);
    expect(outcome.bestMetric.value).not.toBeNull();

    // The final event and the promotion candidate both carry the stop reason and the best.
    // Published and confirmed once the mirror is flushed; delivery to our subscriber follows.
    await h.executor.flushMirror();
    const ofTrial = () => received.filter((m) => m.trial_id === `${h.id}-budget`);
    await waitFor(
      () => ofTrial().some((m) => m.type === 'trial.promotion_candidate'),
      10_000,
      'the promotion candidate on the bus',
    );
    const mine = ofTrial();
    const terminal = mine.find((m) => m.type === 'trial.state_changed' && m.to === 'timed_out');
    const candidate = mine.find((m) => m.type === 'trial.promotion_candidate');
    for (const event of [terminal, candidate]) {
      expect(event).toMatchObject({
        stop_reason: 'budget_exhausted',
        best_metric: outcome.bestMetric,
      });
    }
  });

  it('fails a trial whose dataset does not exist, naming the path, without a worker', async () => {
    const outcome = await run(syntheticSpec(`${h.id}-missing`, join(h.workDir, 'nope.jsonl')));
    expect(outcome.state).toBe('failed');
    expect(outcome.error?.code).toBe('AUTOMAT_E_DATASET_NOT_FOUND');
    expect(outcome.error?.message).toContain('nope.jsonl');
    expect(outcome.attempts).toBe(0);
  });
});
