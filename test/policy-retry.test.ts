import { describe, expect, it } from 'vitest';
import { classifyAttemptFailure, type ExitFacts } from '../src/policy/attempt-failure.js';
import { planNextAttempt, type PlanInput } from '../src/policy/attempt-planner.js';
import { halveBatch } from '../src/policy/batch-backoff.js';
import { retryDelayMs, type RetryOptions } from '../src/policy/retry-policy.js';

const retry: RetryOptions = { maxFailures: 2, baseDelayMs: 1_000, maxDelayMs: 5_000 };

function exit(overrides: Partial<ExitFacts> = {}): ExitFacts {
  return { code: 1, signal: null, classification: 'crashed', stderrTail: '', ...overrides };
}

describe('retry back-off', () => {
  it('doubles from the base and stops at the cap', () => {
    expect([1, 2, 3, 4, 10].map((n) => retryDelayMs(n, retry))).toEqual([
      1_000, 2_000, 4_000, 5_000, 5_000,
    ]);
  });
});

describe('attempt failure classification', () => {
  it('classifies a SIGKILL from outside as transient', () => {
    const failure = classifyAttemptFailure({
      exit: exit({ code: null, signal: 'SIGKILL', classification: 'killed' }),
    });
    expect(failure.kind).toBe('transient');
    expect(failure.error.code).toBe('AUTOMAT_E_WORKER_CRASHED');
    expect(failure.error.message).toContain('signal SIGKILL');
  });

  it('classifies a liveness kill as transient WORKER_TIMEOUT, whatever the exit says', () => {
    const failure = classifyAttemptFailure({
      exit: exit({ code: null, signal: 'SIGKILL', classification: 'killed' }),
      killedFor: { fault: 'heartbeat_timeout', message: 'no message for 61000 ms' },
    });
    expect(failure).toMatchObject({
      kind: 'transient',
      error: { code: 'AUTOMAT_E_WORKER_TIMEOUT' },
    });
  });

  it('recognises out of memory by exit code 3, by heap exhaustion on stderr, and by message', () => {
    const byCode = classifyAttemptFailure({ exit: exit({ code: 3 }) });
    const byStderr = classifyAttemptFailure({
      exit: exit({
        code: null,
        signal: 'SIGABRT',
        classification: 'oom',
        stderrTail:
          'FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory',
      }),
    });
    const byMessage = classifyAttemptFailure({
      exit: exit(),
      reported: {
        name: 'RangeError',
        code: 'AUTOMAT_E_TRAINING_FAILED',
        message: 'training failed: Array buffer allocation failed',
      },
    });
    expect([byCode.kind, byStderr.kind, byMessage.kind]).toEqual(['oom', 'oom', 'oom']);
    expect(byStderr.detail).toContain('stderr');
  });

  it('fails at once on a bad dataset or bad arguments', () => {
    const dataset = classifyAttemptFailure({
      exit: exit(),
      reported: { name: 'AutomatError', code: 'AUTOMAT_E_DATASET_INVALID', message: 'bad shard' },
    });
    const usage = classifyAttemptFailure({ exit: exit({ code: 2 }) });
    expect([dataset.kind, usage.kind]).toEqual(['fatal', 'fatal']);
    expect(dataset.error.message).toBe('bad shard');
  });
});

describe('batch back-off', () => {
  it('halves down to the floor, then is exhausted', () => {
    expect(halveBatch(32, 8)).toEqual({ kind: 'halved', before: 32, after: 16 });
    expect(halveBatch(16, 8)).toEqual({ kind: 'halved', before: 16, after: 8 });
    expect(halveBatch(8, 8)).toEqual({ kind: 'exhausted', before: 8, floor: 8 });
    expect(halveBatch(7, 1)).toEqual({ kind: 'halved', before: 7, after: 3 });
    expect(halveBatch(1, 1).kind).toBe('exhausted');
  });
});

describe('planning after a failed attempt', () => {
  const transient = classifyAttemptFailure({ exit: exit() });
  const oom = classifyAttemptFailure({ exit: exit({ code: 3 }) });
  const base: PlanInput = {
    failure: transient,
    failures: 0,
    batchSize: 32,
    minBatchSize: 8,
    retry,
    budgetFits: true,
  };

  it('retries a transient failure with back-off until max_failures is used up', () => {
    const first = planNextAttempt(base);
    expect(first).toMatchObject({ kind: 'retry', delayMs: 1_000, failures: 1, batchSize: 32 });
    const second = planNextAttempt({ ...base, failures: 1 });
    expect(second).toMatchObject({ kind: 'retry', delayMs: 2_000, failures: 2 });
    const third = planNextAttempt({ ...base, failures: 2 });
    expect(third).toMatchObject({ kind: 'end', stopReason: 'failed' });
    expect(third.kind === 'end' && third.error?.message).toContain(
      'failure 3, after the 2 retries max_failures allows',
    );
  });

  it('never retries with max_failures 0', () => {
    const plan = planNextAttempt({ ...base, retry: { ...retry, maxFailures: 0 } });
    expect(plan).toMatchObject({ kind: 'end', stopReason: 'failed' });
  });

  it('halves the batch on out of memory at once, without counting a failure', () => {
    const plan = planNextAttempt({ ...base, failure: oom, failures: 2 });
    expect(plan).toMatchObject({
      kind: 'retry',
      delayMs: 0,
      batchSize: 16,
      failures: 2,
      backoff: { before: 32, after: 16 },
    });
  });

  it('ends oom_exhausted instead of repeating the crash at the floor', () => {
    const plan = planNextAttempt({ ...base, failure: oom, batchSize: 8 });
    expect(plan).toMatchObject({ kind: 'end', stopReason: 'oom_exhausted' });
    expect(plan.kind === 'end' && plan.error?.message).toContain('floor 8');
  });

  it('keeps a stop already requested, and ends a trial whose budget is spent', () => {
    expect(planNextAttempt({ ...base, stopRequested: 'early_stopped' })).toMatchObject({
      kind: 'end',
      stopReason: 'early_stopped',
    });
    expect(planNextAttempt({ ...base, failure: oom, budgetFits: false })).toMatchObject({
      kind: 'end',
      stopReason: 'budget_exhausted',
    });
  });

  it('fails a fatal failure at once, even with retries and budget left', () => {
    const fatal = classifyAttemptFailure({ exit: exit({ code: 2 }) });
    expect(planNextAttempt({ ...base, failure: fatal })).toMatchObject({
      kind: 'end',
      stopReason: 'failed',
    });
  });
});
