import type { StopReasonName } from '../contracts/index.js';
import type { SerializedError } from '../errors/index.js';
import type { AttemptFailure } from './attempt-failure.js';
import { halveBatch } from './batch-backoff.js';
import { mayRetry, retryDelayMs, type RetryOptions } from './retry-policy.js';

export interface PlanInput {
  failure: AttemptFailure;
  /** Transient failures of this trial before this one. */
  failures: number;
  batchSize: number;
  minBatchSize: number;
  retry: RetryOptions;
  /** Whether the remaining budget still fits an estimated epoch. */
  budgetFits: boolean;
  /** A stop the executor had already asked for; a failure after it does not undo it. */
  stopRequested?: StopReasonName;
}

export type AttemptPlan =
  | {
      kind: 'retry';
      delayMs: number;
      batchSize: number;
      /** Transient failures counted so far, this one included. */
      failures: number;
      backoff?: { before: number; after: number };
      why: string;
    }
  | { kind: 'end'; stopReason: StopReasonName; error?: SerializedError; why: string };

/**
 * What follows a failed attempt, in this order of precedence:
 *
 * 1. a stop already requested (early stop, budget, cancel) ends the trial with that reason;
 * 2. a fatal failure ends it `failed` at once;
 * 3. a budget that cannot fit another epoch ends it `budget_exhausted`;
 * 4. out of memory halves the batch and retries at once (not counted in `max_failures`), or
 *    ends it `oom_exhausted` when the batch is at its floor;
 * 5. a transient failure is retried after a back-off while `max_failures` allows, else ends
 *    the trial `failed`.
 */
export function planNextAttempt(input: PlanInput): AttemptPlan {
  const { failure, stopRequested } = input;
  if (stopRequested) {
    const why = `the worker ended after a stop request (${failure.detail})`;
    const error = stopRequested === 'failed' ? failure.error : undefined;
    return { kind: 'end', stopReason: stopRequested, why, ...(error ? { error } : {}) };
  }
  if (failure.kind === 'fatal') {
    return { kind: 'end', stopReason: 'failed', error: failure.error, why: failure.detail };
  }
  if (!input.budgetFits) {
    const why = `${failure.detail}; the budget cannot fit another epoch`;
    return { kind: 'end', stopReason: 'budget_exhausted', error: failure.error, why };
  }
  return failure.kind === 'oom' ? planOutOfMemory(input) : planTransient(input);
}

function planOutOfMemory(input: PlanInput): AttemptPlan {
  const { failure, batchSize, minBatchSize } = input;
  const step = halveBatch(batchSize, minBatchSize);
  if (step.kind === 'exhausted') {
    const message = `${failure.error.message}; batch ${batchSize} cannot be halved below the floor ${minBatchSize}`;
    return {
      kind: 'end',
      stopReason: 'oom_exhausted',
      error: { ...failure.error, message },
      why: `${failure.detail} at the smallest batch`,
    };
  }
  return {
    kind: 'retry',
    delayMs: 0,
    batchSize: step.after,
    failures: input.failures,
    backoff: { before: step.before, after: step.after },
    why: `${failure.detail}; batch ${step.before} → ${step.after}`,
  };
}

function planTransient(input: PlanInput): AttemptPlan {
  const { failure, retry } = input;
  const failures = input.failures + 1;
  if (!mayRetry(failures, retry)) {
    const used = `failure ${failures}, after the ${retry.maxFailures} retries max_failures allows`;
    const message = `${failure.error.message} (${used})`;
    return {
      kind: 'end',
      stopReason: 'failed',
      error: { ...failure.error, message },
      why: failure.detail,
    };
  }
  const delayMs = retryDelayMs(failures, retry);
  return {
    kind: 'retry',
    delayMs,
    batchSize: input.batchSize,
    failures,
    why: `${failure.detail}; retry ${failures} of ${retry.maxFailures}`,
  };
}
