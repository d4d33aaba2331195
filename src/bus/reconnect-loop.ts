import type { Clock } from '../clock/clock.js';
import { backoffDelay, type BackoffPolicy } from './reconnect-backoff.js';

/** One failed attempt, as reported to {@link ReconnectLoopDeps.onFailure}. */
export interface ReconnectFailure {
  /** 1 for the first attempt of this outage. */
  attempt: number;
  error: unknown;
  /** Milliseconds until the next attempt. */
  nextDelayMs: number;
}

export interface ReconnectLoopDeps {
  clock: Clock;
  policy: BackoffPolicy;
  /** Resolves when the attempt reconnected; rejects when it failed and should be retried. */
  attempt: (attempt: number) => Promise<void>;
  onFailure: (failure: ReconnectFailure) => void;
  /** A draw in [0, 1) for the jitter. Default `Math.random`. */
  random?: () => number;
}

/**
 * Runs reconnection attempts one at a time, waiting {@link backoffDelay} before each, until one
 * succeeds or {@link ReconnectLoop.stop} is called. Timers come from the injected Clock (the
 * system clock unrefs them, so a waiting loop never keeps the process alive).
 */
export class ReconnectLoop {
  readonly #deps: ReconnectLoopDeps;
  readonly #random: () => number;
  #attempts = 0;
  #running = false;
  #cancelTimer: (() => void) | undefined;

  constructor(deps: ReconnectLoopDeps) {
    this.#deps = deps;
    this.#random = deps.random ?? Math.random;
  }

  /** Attempts made since the last {@link start}. */
  get attempts(): number {
    return this.#attempts;
  }

  get running(): boolean {
    return this.#running;
  }

  /** Starts a fresh series of attempts; does nothing while one is running. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#attempts = 0;
    this.#schedule(this.#delay(1));
  }

  /**
   * Stops at once: a pending wait is cancelled and the outcome of an attempt already under way
   * is ignored (the attempt itself has to notice that it is no longer wanted).
   */
  stop(): void {
    this.#running = false;
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
  }

  #schedule(delayMs: number): void {
    this.#cancelTimer = this.#deps.clock.setTimer(delayMs, () => {
      this.#cancelTimer = undefined;
      void this.#run();
    });
  }

  async #run(): Promise<void> {
    if (!this.#running) return;
    const attempt = ++this.#attempts;
    try {
      await this.#deps.attempt(attempt);
    } catch (error) {
      if (!this.#running) return;
      const nextDelayMs = this.#delay(attempt + 1);
      this.#schedule(nextDelayMs);
      this.#deps.onFailure({ attempt, error, nextDelayMs });
      return;
    }
    this.#running = false;
  }

  #delay(attempt: number): number {
    return backoffDelay(this.#deps.policy, attempt, this.#random());
  }
}
