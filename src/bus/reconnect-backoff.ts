/**
 * How long to wait before each reconnection attempt: exponential back-off with jitter. Pure, so
 * tests drive it with chosen random draws instead of waiting.
 */
export interface BackoffPolicy {
  /** Milliseconds before the first attempt. */
  initialDelayMs: number;
  /** The delay doubles after each failed attempt up to this many milliseconds. */
  maxDelayMs: number;
  /**
   * Share of each delay, 0 to 1, that is drawn at random and taken off, so that executors cut
   * off by one broker restart do not all come back in the same millisecond.
   */
  jitter: number;
}

/**
 * The delay before attempt `attempt` (1 for the first), given a random draw in [0, 1): the
 * doubled delay, capped, less up to `jitter` of itself. Never more than `maxDelayMs`.
 */
export function backoffDelay(policy: BackoffPolicy, attempt: number, draw: number): number {
  const doubled = policy.initialDelayMs * 2 ** Math.max(0, attempt - 1);
  const capped = Math.min(policy.maxDelayMs, doubled);
  return Math.round(capped * (1 - policy.jitter * draw));
}
