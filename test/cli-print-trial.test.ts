import { describe, expect, it } from 'vitest';
import { formatTrialRecord } from '../src/cli/print-trial.js';
import { ErrorCodes } from '../src/errors/index.js';
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

    const text = formatTrialRecord(accuracy, { why: 'worker 42 started at batch 64', epochs });

    expect(text).toContain('why        worker 42 started at batch 64');
    expect(text).toContain('best       val_accuracy = 0.7500 at epoch 3 so far');
    expect(formatTrialRecord(loss, { epochs })).toContain(
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
    expect(formatTrialRecord(ended, { epochs: [epoch(1, 0.95)] })).toContain(
      `best       ${running.spec.primary_metric} = 0.9000 at epoch 2`,
    );
  });

  it('escapes control characters a planner or a dataset put into the record', () => {
    const forged = 'bye\nstate      completed\n\u001b[31mRED\u001b[0m \u0007';
    const failed: TrialRecord = {
      ...running,
      state: 'failed',
      error: { name: 'E', code: ErrorCodes.DATASET_INVALID, message: 'dataset /x\u001b[2J' },
    };

    const text = formatTrialRecord(failed, { why: forged });

    expect(text).not.toContain('\u0007');
    expect(text).not.toContain('\u001b');
    expect(text.split('\n').filter((line) => line.startsWith('state'))).toHaveLength(1);
    expect(text).toContain('why        bye\\u000astate      completed\\u000a\\u001b[31mRED');
    expect(text).toContain('error      AUTOMAT_E_DATASET_INVALID: dataset /x\\u001b[2J');
  });

  it('shows the latest checkpoint while running, and labels an earlier attempt’s error once completed', () => {
    const checkpoint = {
      trialId: 't-1',
      attempt: 2,
      epoch: 3,
      uri: 's3://b/automat0/t-1/2/epoch-3/',
      bytes: 10,
      recordedAt: running.updatedAt,
    };
    expect(formatTrialRecord(running, { checkpoints: [checkpoint] })).toContain(
      'checkpoint latest s3://b/automat0/t-1/2/epoch-3/ (attempt 2, epoch 3)',
    );
    const error = {
      name: 'E',
      code: ErrorCodes.WORKER_CRASHED,
      message: 'worker 7 was killed',
    };
    const completed: TrialRecord = { ...running, state: 'completed', error };
    expect(formatTrialRecord(completed)).toContain(
      'retried    AUTOMAT_E_WORKER_CRASHED: worker 7 was killed',
    );
    expect(formatTrialRecord({ ...completed, state: 'failed' })).toContain(
      'error      AUTOMAT_E_WORKER_CRASHED',
    );
  });
});
