import type { StopReasonName } from '../contracts/index.js';
import { deserializeError, serializeError, type SerializedError } from '../errors/index.js';
import { classifyAttemptFailure, type AttemptFailure } from '../policy/attempt-failure.js';
import { planNextAttempt, type AttemptPlan } from '../policy/attempt-planner.js';
import type { ResolvedTrial } from './resolve-trial-spec.js';
import type { WorkerExit } from './trial-ports.js';
import type { TrialPolicies } from './trial-policies.js';
import type { WorkerAttempt } from './worker-attempt.js';

export interface ExitContext {
  /** Transient failures of the trial so far. */
  failures: number;
  batchSize: number;
  stopRequested: StopReasonName | undefined;
  now: number;
}

/**
 * What follows an attempt whose worker exited without a successful `final`: the failure as
 * classified from everything known (its failed `final`, the exit, a liveness kill) and the
 * plan the policies make of it.
 */
export function planAfterExit(
  attempt: WorkerAttempt,
  exit: WorkerExit,
  trial: ResolvedTrial,
  policies: TrialPolicies,
  context: ExitContext,
): { failure: AttemptFailure; plan: AttemptPlan } {
  const failure = classifyAttemptFailure({
    exit,
    ...(attempt.final?.error ? { reported: toKnownError(attempt.final.error) } : {}),
    ...(attempt.killedFor ? { killedFor: attempt.killedFor } : {}),
  });
  const plan = planNextAttempt({
    failure,
    failures: context.failures,
    batchSize: context.batchSize,
    minBatchSize: trial.minBatchSize,
    retry: policies.retryOptions,
    budgetFits: policies.budget.fitsAnotherEpoch(context.now),
    ...(context.stopRequested ? { stopRequested: context.stopRequested } : {}),
  });
  return { failure, plan };
}

/** A worker's wire error with its code checked against the registry (unknown codes → INTERNAL). */
function toKnownError(wire: { name: string; code: string; message: string }): SerializedError {
  return serializeError(deserializeError(wire));
}
