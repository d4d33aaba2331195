import type { Clock } from '../clock/clock.js';
import type { BestMetricValue, EpochMessage, StopReasonName } from '../contracts/index.js';
import { EarlyStopping } from '../policy/early-stopping.js';
import { LivenessWatchdog } from '../policy/liveness.js';
import type { RetryOptions } from '../policy/retry-policy.js';
import { TimeBudget } from '../policy/time-budget.js';
import type { EpochRecord } from '../store/trial-store.js';
import type { ResolvedTrial } from './resolve-trial-spec.js';
import type { TrialSettings } from './trial-settings.js';

export interface EpochDecision {
  /** Evaluations since the last counted improvement. */
  wait: number;
  /** Set when the worker should stop after this epoch. */
  stop?: { reason: StopReasonName; detail: string };
}

/**
 * The policies of one trial, built from its resolved spec and the executor's settings: early
 * stopping, the time budget, the liveness watchdog and the retry options. It holds no timers and
 * sends nothing; the TrialRun acts on its answers.
 */
export class TrialPolicies {
  readonly early: EarlyStopping;
  readonly budget: TimeBudget;
  readonly liveness: LivenessWatchdog;
  readonly retryOptions: RetryOptions;
  #epochsCompleted = 0;

  constructor(
    private readonly trial: ResolvedTrial,
    settings: TrialSettings,
    private readonly clock: Clock,
  ) {
    this.early = new EarlyStopping({
      mode: trial.mode,
      patience: trial.patience,
      minDelta: trial.minDelta,
      warmupEpochs: trial.warmupEpochs,
      baseline: trial.baseline,
    });
    this.budget = new TimeBudget({ budgetMs: trial.budgetMs });
    this.liveness = new LivenessWatchdog(settings);
    this.retryOptions = {
      maxFailures: trial.maxFailures,
      baseDelayMs: settings.retryBaseDelayMs,
      maxDelayMs: settings.retryMaxDelayMs,
    };
  }

  get epochsCompleted(): number {
    return this.#epochsCompleted;
  }

  get bestMetric(): BestMetricValue {
    const best = this.early.best;
    return {
      name: this.trial.spec.primary_metric,
      value: best?.value ?? null,
      epoch: best?.epoch ?? null,
    };
  }

  noteEpochsCompleted(epochs: number): void {
    this.#epochsCompleted = Math.max(this.#epochsCompleted, epochs);
  }

  /**
   * Feeds one epoch to every policy and says whether to stop after it. At the epoch cap
   * (`hparams.epochs`) nothing stops the trial: it completes. Early stopping is asked before
   * the budget, so a trial that meets both ends `early_stopped`.
   */
  onEpoch(epoch: EpochMessage, now: number): EpochDecision {
    this.#epochsCompleted = epoch.epoch;
    this.budget.recordEpoch(epoch.duration_ms);
    this.liveness.epoch(now, epoch.duration_ms);
    const verdict = this.early.observe(epoch.epoch, epoch.metrics.primary);
    const cap = this.trial.epochs;
    if (epoch.epoch > cap) {
      return { wait: verdict.wait, stop: { reason: 'completed', detail: `epoch cap ${cap}` } };
    }
    if (epoch.epoch === cap) return { wait: verdict.wait };
    if (verdict.stop) {
      const detail = `no improvement for ${verdict.wait} epochs`;
      return { wait: verdict.wait, stop: { reason: 'early_stopped', detail } };
    }
    if (!this.budget.fitsAnotherEpoch(now)) {
      const detail = 'the budget cannot fit another epoch';
      return { wait: verdict.wait, stop: { reason: 'budget_exhausted', detail } };
    }
    return { wait: verdict.wait };
  }

  /**
   * Takes up the epochs of a trial taken over from another executor, in the order they ran
   * (attempt, then epoch): early stopping sees them again and the budget is charged for them.
   */
  replayEpochs(epochs: readonly EpochRecord[]): void {
    for (const epoch of epochs) {
      this.early.observe(epoch.epoch, epoch.primary);
      this.#epochsCompleted = epoch.epoch;
    }
    this.budget.chargeEarlierEpochs(epochs.map((e) => e.durationMs));
  }

  /** A retry resumes from the checkpoint of `epoch`: later epochs are forgotten. */
  rewindTo(epoch: number): void {
    this.early.rewindTo(epoch);
    this.#epochsCompleted = epoch;
  }

  attemptLaunched(): void {
    this.liveness.launched(this.clock.now());
  }

  attemptEnded(now: number): void {
    this.budget.stop(now);
    this.liveness.ended();
  }
}
