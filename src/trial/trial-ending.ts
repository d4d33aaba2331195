import type { FinalMessage, StopReasonName } from '../contracts/index.js';
import type { SerializedError } from '../errors/index.js';
import type { CheckpointLedger } from './checkpoint-ledger.js';
import type { ResolvedTrial } from './resolve-trial-spec.js';
import { TERMINAL_STATE_FOR } from './trial-fsm.js';
import type { TrialOutcome } from './trial-outcome.js';
import type { TrialRunDeps } from './trial-ports.js';
import type { TrialPolicies } from './trial-policies.js';
import type { TrialRecorder } from './trial-recorder.js';

/** A stop the executor asked a worker for, and why. */
export interface StopRequest {
  reason: StopReasonName;
  detail: string;
}

/**
 * The stop reason and transition reason for a worker that sent its `final` (not failed). A stop
 * the executor asked for names the reason, unless every planned epoch was done before it could
 * cut any: then the trial completed, and the reason says the stop came too late.
 */
export function finishedVerdict(
  final: Pick<FinalMessage, 'status' | 'epochs_completed'>,
  plannedEpochs: number,
  stop: StopRequest | undefined,
): { reason: StopReasonName; why: string } {
  const why = `worker finished: ${final.status}`;
  const completedAll = final.status === 'completed' && final.epochs_completed >= plannedEpochs;
  if (completedAll) {
    if (stop === undefined) return { reason: 'completed', why };
    const late = `every epoch was done before the ${stop.reason} stop could cut any`;
    return { reason: 'completed', why: `${why} (${late}: ${stop.detail})` };
  }
  if (stop !== undefined) {
    const stopped = `worker stopped after epoch ${final.epochs_completed}`;
    return { reason: stop.reason, why: `${stopped} (${stop.detail})` };
  }
  return { reason: final.status === 'cancelled' ? 'cancelled' : 'completed', why };
}

/** What the run knows about its attempts when it ends or reports. */
export interface AttemptSummary {
  attempts: number;
  /** No worker process of the trial may still be running. */
  workerGone: boolean;
  batchSize: number;
}

/**
 * How a trial ends: the result is stored, the terminal state recorded (with the stop reason and
 * the best value so far), a `trial.promotion_candidate` published whatever the stop reason, and
 * the outcome reported once, after the last worker process is gone.
 */
export class TrialEnding {
  #outcome: TrialOutcome | undefined;
  #reported = false;

  constructor(
    private readonly trial: ResolvedTrial,
    private readonly deps: Pick<TrialRunDeps, 'store' | 'logger'>,
    private readonly recorder: TrialRecorder,
    private readonly policies: TrialPolicies,
    private readonly ledger: CheckpointLedger,
    private readonly onFinished: (outcome: TrialOutcome) => void,
  ) {}

  async finish(
    stopReason: StopReasonName,
    reason: string,
    summary: AttemptSummary,
    error?: SerializedError,
  ): Promise<void> {
    const state = TERMINAL_STATE_FOR[stopReason];
    const bestMetric = this.policies.bestMetric;
    const bestCheckpointUri =
      bestMetric.epoch === null ? null : this.ledger.uriFor(bestMetric.epoch);
    const { trialId } = this.recorder;
    await this.deps.store.recordResult({
      trialId,
      bestMetric,
      bestCheckpointUri,
      at: this.recorder.isoNow(),
    });
    await this.recorder.transition(state, reason, {
      stopReason,
      bestMetric,
      ...(error ? { error } : {}),
    });
    const epochsCompleted = this.policies.epochsCompleted;
    this.recorder.publishEvent({
      type: 'trial.promotion_candidate',
      task_type: this.trial.spec.task_type,
      primary_metric: this.trial.spec.primary_metric,
      mode: this.trial.mode,
      best_metric: bestMetric,
      checkpoint_uri: bestCheckpointUri,
      stop_reason: stopReason,
      epochs_completed: epochsCompleted,
    });
    this.#outcome = {
      trialId,
      state,
      stopReason,
      bestMetric,
      bestCheckpointUri,
      epochsCompleted,
      attempts: summary.attempts,
      batchSize: summary.batchSize,
      ...(error ? { error } : {}),
    };
  }

  /** Whether the trial has ended, its worker is gone, and its outcome is not reported yet. */
  readyToReport(summary: AttemptSummary): boolean {
    return !this.#reported && this.#outcome !== undefined && summary.workerGone;
  }

  /** Reports the outcome once the trial has ended and its worker is gone; true when it did. */
  reportIfDone(summary: AttemptSummary): boolean {
    const outcome = this.#outcome;
    if (outcome === undefined || !this.readyToReport(summary)) return false;
    this.#reported = true;
    this.onFinished(outcome);
    return true;
  }

  /** A trial handed over has an outcome but no ending; it is reported the same way. */
  handOver(outcome: TrialOutcome): void {
    this.#outcome ??= outcome;
  }

  /** After a crash of the actor: reports a failed outcome even when nothing could be written. */
  forceOutcome(error: SerializedError, summary: AttemptSummary): void {
    this.#outcome ??= {
      trialId: this.recorder.trialId,
      state: 'failed',
      stopReason: 'failed',
      bestMetric: this.policies.bestMetric,
      bestCheckpointUri: null,
      epochsCompleted: this.policies.epochsCompleted,
      attempts: summary.attempts,
      batchSize: summary.batchSize,
      error,
    };
    this.reportIfDone({ ...summary, workerGone: true });
  }

  /** Records an out-of-memory back-off in the store and as a `trial.batch_backoff` event. */
  async recordBackoff(
    attempt: number,
    nextAttempt: number,
    backoff: { before: number; after: number },
    reason: string,
  ): Promise<void> {
    const { trialId } = this.recorder;
    this.deps.logger.warn('batch halved after running out of memory', {
      trialId,
      attempt,
      batchBefore: backoff.before,
      batchAfter: backoff.after,
    });
    await this.deps.store.recordBatchBackoff({
      trialId,
      attempt,
      nextAttempt,
      batchBefore: backoff.before,
      batchAfter: backoff.after,
      reason,
      recordedAt: this.recorder.isoNow(),
    });
    this.recorder.publishEvent({
      type: 'trial.batch_backoff',
      attempt,
      next_attempt: nextAttempt,
      batch_before: backoff.before,
      batch_after: backoff.after,
      min_batch_size: this.trial.minBatchSize,
      reason,
    });
  }
}
