export interface TimeBudgetOptions {
  /** The trial's `budget_seconds`, in milliseconds. */
  budgetMs: number;
  /** When the clock starts: the worker's `hello` (start-up and ingest are not charged). */
  startedAt: number;
}

/**
 * The time budget of one trial attempt, measured from the worker's `hello`.
 *
 * After each epoch the executor asks {@link TimeBudget.fitsAnotherEpoch}: the next epoch is
 * estimated to take as long as the mean of the epochs so far, and when it would end past the
 * deadline the trial is stopped gracefully at once rather than killed half-way through. If an
 * epoch overruns anyway, the deadline itself asks for a graceful stop and a grace period later
 * the worker is killed.
 */
export class TimeBudget {
  readonly deadline: number;
  #epochDurations: number[] = [];

  constructor(private readonly options: TimeBudgetOptions) {
    this.deadline = options.startedAt + options.budgetMs;
  }

  recordEpoch(durationMs: number): void {
    this.#epochDurations.push(durationMs);
  }

  /** The mean epoch duration so far, or undefined before the first epoch. */
  get estimatedEpochMs(): number | undefined {
    const n = this.#epochDurations.length;
    if (n === 0) return undefined;
    return this.#epochDurations.reduce((a, b) => a + b, 0) / n;
  }

  fitsAnotherEpoch(now: number): boolean {
    const estimate = this.estimatedEpochMs;
    if (estimate === undefined) return now < this.deadline;
    return now + estimate <= this.deadline;
  }

  remainingMs(now: number): number {
    return Math.max(0, this.deadline - now);
  }
}
