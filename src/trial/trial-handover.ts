import type { TrialStateName } from '../contracts/index.js';
import type { Logger } from '../log/logger.js';
import type { TrialStore } from '../store/trial-store.js';
import type { CheckpointLedger } from './checkpoint-ledger.js';
import type { AttemptSummary } from './trial-ending.js';
import type { TrialOutcome } from './trial-outcome.js';
import type { TrialPolicies } from './trial-policies.js';
import type { TrialRecorder } from './trial-recorder.js';

/** An executor's request to give a trial up at a graceful shutdown. */
export interface HandoverRequest {
  /** The executor shutting down. */
  executor: string;
  reason: string;
  /** Set once the worker outstayed the stop grace and was killed for the handover. */
  killed?: boolean;
}

/** The parts of a TrialRun that a handover reads and writes. */
export interface HandoverParts {
  recorder: TrialRecorder;
  policies: TrialPolicies;
  ledger: CheckpointLedger;
  store: Pick<TrialStore, 'recordHandover'>;
  logger: Logger;
}

/**
 * The attempt a handover records as ended cleanly: the one this run launched or was about to
 * launch. None before any launch (queued, ingesting), and none for an attempt this run only
 * adopted from a takeover and never replaced: that attempt's fate (a crash, or an earlier
 * handover) is already in the store, and must not be rewritten as a handover here.
 */
export function handedOverAttempt(
  state: TrialStateName,
  attempt: number,
  adoptedAttempt: number | undefined,
): number | null {
  if (state !== 'launching' && state !== 'running') return null;
  if (adoptedAttempt !== undefined && attempt <= adoptedAttempt) return null;
  return attempt;
}

/**
 * Gives a trial up without ending it: the attempt that stopped cleanly is stored as a handover
 * (so that the next owner does not count it against `max_failures`), a `trial.handed_over`
 * event is published, and the outcome to report says what the next executor resumes from. The
 * state stays as it is and no transition is recorded; the executor releases the lease after
 * the event is stored (see Executor.close).
 */
export async function recordHandover(
  parts: HandoverParts,
  request: HandoverRequest,
  how: string,
  context: { adoptedAttempt: number | undefined; summary: AttemptSummary },
): Promise<TrialOutcome> {
  const { recorder, policies, ledger, store, logger } = parts;
  const state = recorder.state ?? 'queued';
  const attempt = handedOverAttempt(state, recorder.attempt, context.adoptedAttempt);
  const resumeEpoch = ledger.latest()?.epoch ?? null;
  const reason = `${request.reason}; ${how}`;
  if (attempt !== null) {
    await store.recordHandover({
      trialId: recorder.trialId,
      attempt,
      executor: request.executor,
      state,
      resumeEpoch,
      reason,
      recordedAt: recorder.isoNow(),
    });
  }
  const epochsCompleted = policies.epochsCompleted;
  recorder.publishEvent({
    type: 'trial.handed_over',
    executor: request.executor,
    state,
    attempt,
    resume_epoch: resumeEpoch,
    epochs_completed: epochsCompleted,
    reason,
  });
  logger.info('trial handed over', { trialId: recorder.trialId, state, attempt, resumeEpoch, how });
  const bestMetric = policies.bestMetric;
  return {
    trialId: recorder.trialId,
    state,
    stopReason: null,
    bestMetric,
    bestCheckpointUri: bestMetric.epoch === null ? null : ledger.uriFor(bestMetric.epoch),
    epochsCompleted,
    attempts: context.summary.attempts,
    batchSize: context.summary.batchSize,
    handedOver: { attempt, resumeEpoch, reason },
  };
}
