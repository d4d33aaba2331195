import { beats, type MetricMode } from './metric-direction.js';

export interface EarlyStoppingOptions {
  mode: MetricMode;
  /** Evaluations without a counted improvement before stopping. */
  patience: number;
  /**
   * The smallest change over the reference that counts as an improvement: an epoch counts when
   * it beats the reference by strictly more than `minDelta` (so with 0, any strict improvement).
   * An improvement of exactly `minDelta` does not count.
   */
  minDelta: number;
}

export interface EpochVerdict {
  /** The epoch is the best value seen so far (whether or not it counted for patience). */
  newBest: boolean;
  /** The epoch beat the reference by more than min_delta and reset patience. */
  counted: boolean;
  /** Evaluations since the last counted improvement. */
  wait: number;
  stop: boolean;
}

/**
 * Patience-based early stopping, decided by the executor from the epochs a worker reports.
 *
 * Two values are tracked: the *best* value seen (what the trial reports and promotes) and the
 * *reference* (the value at the last counted improvement, which patience is measured against).
 * They differ when an epoch improves by less than `minDelta`: it becomes the best, but patience
 * keeps running. A missing value (the worker measured NaN or Infinity) never improves anything
 * and counts as an epoch without improvement.
 */
export class EarlyStopping {
  #best: { epoch: number; value: number } | null = null;
  #reference: number | null = null;
  #wait = 0;

  constructor(private readonly options: EarlyStoppingOptions) {}

  get best(): { epoch: number; value: number } | null {
    return this.#best;
  }

  observe(epoch: number, value: number | null): EpochVerdict {
    const { mode, minDelta, patience } = this.options;
    const usable = value !== null && Number.isFinite(value);

    const newBest = usable && (this.#best === null || beats(mode, value, this.#best.value));
    if (newBest) this.#best = { epoch, value };

    const counted =
      usable && (this.#reference === null || beats(mode, value, this.#reference, minDelta));
    if (counted) {
      this.#reference = value;
      this.#wait = 0;
    } else {
      this.#wait += 1;
    }
    return { newBest, counted, wait: this.#wait, stop: this.#wait >= patience };
  }
}
