import { beats, type MetricMode } from './metric-direction.js';

export interface EarlyStoppingOptions {
  mode: MetricMode;
  /** Evaluations after the warm-up without a counted improvement before stopping. */
  patience: number;
  /**
   * The margin an improvement must exceed to count (the Keras reading): an epoch counts when it
   * beats the reference by strictly more than `minDelta`, so with 0 any strict improvement
   * counts and an improvement of exactly `minDelta` never does.
   */
  minDelta: number;
  /** Epochs at the start that neither count nor use up patience. Default 0. */
  warmupEpochs?: number;
  /** The reference before any counted improvement; without it the first usable epoch counts. */
  baseline?: number | null;
}

export interface EpochVerdict {
  /** The value is a finite number (a NaN or infinite metric arrives as null). */
  usable: boolean;
  /** The epoch is within the warm-up: tracked for best, ignored by patience. */
  warmup: boolean;
  /** The epoch is the best value seen so far (whether or not it counted for patience). */
  newBest: boolean;
  /** The epoch beat the reference by more than min_delta and reset patience. */
  counted: boolean;
  /** Evaluations since the last counted improvement (or since the warm-up ended). */
  wait: number;
  stop: boolean;
}

export interface BestEpoch {
  epoch: number;
  value: number;
}

/**
 * Patience-based early stopping, decided by the executor from the epochs a worker reports.
 *
 * Two values are tracked: the *best* value seen (what the trial reports and promotes) and the
 * *reference* (the baseline, then the value at the last counted improvement, which patience is
 * measured against). They differ when an epoch improves by less than `minDelta`: it becomes the
 * best, but patience keeps running. A missing value (NaN or infinite) never improves anything
 * and, after the warm-up, counts as an epoch without improvement.
 *
 * The verdicts are a pure function of the epochs observed, so {@link rewindTo} can replay them
 * when a retry resumes from an earlier checkpoint; an epoch observed again replaces the history
 * from that epoch on.
 */
export class EarlyStopping {
  readonly #history: Array<{ epoch: number; value: number | null }> = [];
  #best: BestEpoch | null = null;
  #reference: number | null;
  #wait = 0;

  constructor(private readonly options: EarlyStoppingOptions) {
    this.#reference = options.baseline ?? null;
  }

  get best(): BestEpoch | null {
    return this.#best;
  }

  /** The last epoch observed, or 0. */
  get lastEpoch(): number {
    return this.#history.at(-1)?.epoch ?? 0;
  }

  observe(epoch: number, value: number | null): EpochVerdict {
    if (epoch <= this.lastEpoch) this.rewindTo(epoch - 1);
    this.#history.push({ epoch, value });
    return this.#apply(epoch, value);
  }

  /** Forgets every epoch after `epoch`, as if they had never been observed. */
  rewindTo(epoch: number): void {
    const kept = this.#history.filter((entry) => entry.epoch <= epoch);
    this.#history.length = 0;
    this.#best = null;
    this.#reference = this.options.baseline ?? null;
    this.#wait = 0;
    for (const entry of kept) {
      this.#history.push(entry);
      this.#apply(entry.epoch, entry.value);
    }
  }

  #apply(epoch: number, value: number | null): EpochVerdict {
    const { mode, minDelta, patience } = this.options;
    const usable = value !== null && Number.isFinite(value);
    const newBest = usable && (this.#best === null || beats(mode, value, this.#best.value));
    if (newBest) this.#best = { epoch, value };

    const warmup = epoch <= (this.options.warmupEpochs ?? 0);
    if (warmup) return { usable, warmup, newBest, counted: false, wait: 0, stop: false };

    const counted =
      usable && (this.#reference === null || beats(mode, value, this.#reference, minDelta));
    if (counted) {
      this.#reference = value;
      this.#wait = 0;
    } else {
      this.#wait += 1;
    }
    return { usable, warmup, newBest, counted, wait: this.#wait, stop: this.#wait >= patience };
  }
}
