import { describe, expect, it } from 'vitest';
import { formatTrialRecord } from '../src/cli/print-trial.js';
import type { EpochRecord, TrialRecord } from '../src/store/trial-store.js';
import { spec } from './store-harness.js';

const running: TrialRecord = {
  trialId: 't-1',
  spec: spec('t-1'),
  state: 'running',
  stopReason: null,
  attempt: 1,
  bestMetric: null,
  bestCheckpointUri: null,
  error: null,
  owner: 'exec-a',
  leaseExpiresAt: null,
  createdAt: '2026-12-04T10:00:00.000Z',
  updatedAt: '2026-12-04T10:01:00.000Z',
};

function epoch(n: number, primary: number | null): EpochRecord {
  return {
    trialId: 't-1',
    attempt: 1,
    epoch: n,
    primary,
    metrics: {},
    durationMs: 1000,
    recordedAt: '2026-12-04T10:01:00.000Z',
  };
}

describe('show', () => {
  it('gives a running trial its best epoch so far, by the metric’s direction, and why it is where it is', () => {
    const epochs = [epoch(1, 0.5), epoch(2, null), epoch(3, 0.75), epoch(4, 0.6)];
    const accuracy = { ...running, spec: spec('t-1', { primary_metric: 'val_accuracy' }) };
    const loss = { ...running, spec: spec('t-1', { primary_metric: 'val_loss' }) };

    const text = formatTrialRecord(accuracy, 'worker 42 started at batch 64', epochs);

    expect(text).toContain('why        worker 42 started at batch 64');
    expect(text).toContain('best       val_accuracy = 0.7500 at epoch 3 so far');
    expect(formatTrialRecord(loss, undefined, epochs)).toContain(
      'best       val_loss = 0.5000 at epoch 1 so far',
    );
  });

  it('says none before any epoch, and prefers the stored result once there is one', () => {
    expect(formatTrialRecord(running)).toContain('best       none');
    const ended: TrialRecord = {
      ...running,
      state: 'completed',
      bestMetric: { name: running.spec.primary_metric, value: 0.9, epoch: 2 },
    };
    expect(formatTrialRecord(ended, undefined, [epoch(1, 0.95)])).toContain(
      `best       ${running.spec.primary_metric} = 0.9000 at epoch 2`,
    );
  });
});
