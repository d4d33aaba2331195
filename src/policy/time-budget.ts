export interface TimeBudgetOptions {
  /** The trial's `budget_seconds`, in milliseconds. */
  budgetMs: number;
  /** Starts the clock at once, as a call to `start(startedAt)` would. */
  startedAt?: number;
}

/**
 * The time budget of one trial. It is charged only while a worker is running: from each
 * attempt's `hello` until that attempt ends, summed over attempts. Dataset preparation, process
 * start-up and the pause between retries are not charged.
 *
 * After each epoch the executor asks {@link TimeBudget.fitsAnotherEpoch}: the next epoch is
 * estimated as the mean duration of the current attempt's epochs (of all earlier epochs while
 * the current attempt has finished none), and when it would end past the budget the trial is
 * stopped gracefully at once rather than killed half-way through. An epoch that would end
 * exactly on the budget fits.
 */
export class TimeBudget {
  readonly budgetMs: number;
  #spentBefore = 0;
  #runningSince: number | undefined;
  #earlier: number[] = [];
  #current: number[] = [];

  constructor(options: TimeBudgetOptions) {
    this.budgetMs = options.budgetMs;
    if (options.startedAt !== undefined) this.start(options.startedAt);
  }

  /** A worker said hello: the budget runs from now. A new attempt starts a new epoch estimate. */
  start(now: number): void {
    if (this.#runningSince !== undefined) return;
    this.#runningSince = now;
    this.#earlier.push(...this.#current);
    this.#current = [];
  }

  /** The attempt ended: the budget stops running until the next `start`. */
  stop(now: number): void {
    if (this.#runningSince === undefined) return;
    this.#spentBefore += Math.max(0, now - this.#runningSince);
    this.#runningSince = undefined;
  }

  /**
   * Charges attempts this executor did not watch (a trial taken over from an executor that
   * died), as their epochs' durations: a lower bound, since the time of an epoch cut short by the
   * crash is not known.
   */
  chargeEarlierEpochs(durationsMs: readonly number[]): void {
    this.#spentBefore += durationsMs.reduce((a, b) => a + b, 0);
    this.#earlier.push(...durationsMs);
  }

  get running(): boolean {
    return this.#runningSince !== undefined;
  }

  recordEpoch(durationMs: number): void {
    this.#current.push(durationMs);
  }

  /** The estimated duration of the next epoch, or undefined before any epoch finished. */
  get estimatedEpochMs(): number | undefined {
    const sample = this.#current.length > 0 ? this.#current : this.#earlier;
    if (sample.length === 0) return undefined;
    return sample.reduce((a, b) => a + b, 0) / sample.length;
  }

  spentMs(now: number): number {
    const running = this.#runningSince === undefined ? 0 : Math.max(0, now - this.#runningSince);
    return this.#spentBefore + running;
  }

  remainingMs(now: number): number {
    return Math.max(0, this.budgetMs - this.spentMs(now));
  }

  exhausted(now: number): boolean {
    return this.spentMs(now) >= this.budgetMs;
  }

  /** Whether another epoch, at the estimated duration, ends within the budget. */
  fitsAnotherEpoch(now: number): boolean {
    const estimate = this.estimatedEpochMs;
    if (estimate === undefined) return !this.exhausted(now);
    return this.spentMs(now) + estimate <= this.budgetMs;
  }
}
