export interface RetryOptions {
  /** Failed attempts a trial survives (`hparams.max_failures`); 0 never retries. */
  maxFailures: number;
  /** Pause before the first retry. */
  baseDelayMs: number;
  /** The pause doubles with every failure up to this. */
  maxDelayMs: number;
}

/**
 * The pause before the retry that follows the `failures`-th transient failure (1, 2, …):
 * `baseDelayMs × 2^(failures − 1)`, capped at `maxDelayMs`. No jitter: one executor retries one
 * trial at a time, so there is no herd to spread, and tests stay exact.
 */
export function retryDelayMs(failures: number, options: RetryOptions): number {
  const exponent = Math.max(0, failures - 1);
  return Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** exponent);
}

/** Whether a trial that has now failed `failures` times may try again. */
export function mayRetry(failures: number, options: RetryOptions): boolean {
  return failures <= options.maxFailures;
}
