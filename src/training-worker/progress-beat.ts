import type { Clock } from '../clock/clock.js';
import type { Logger } from '../log/logger.js';
import type { WorkerEndpoint } from '../worker-protocol/worker-endpoint.js';

/**
 * The environment variable through which the executor asks a worker for progress beats, in
 * milliseconds between beats. Unset (as for a worker started by hand or by a protocol test) means
 * no beats, so the exact message sequences of the worker protocol stay as they were.
 */
export const PROGRESS_INTERVAL_ENV = 'AUTOMAT_WORKER_PROGRESS_MS';

/** The interval the executor's launcher asks for. */
export const DEFAULT_PROGRESS_INTERVAL_MS = 2_000;

/** The interval `env` asks for, or undefined for none (unset, not a positive integer). */
export function progressIntervalFrom(env: NodeJS.ProcessEnv): number | undefined {
  const value = Number(env[PROGRESS_INTERVAL_ENV]);
  return Number.isInteger(value) && value > 0 ? value : undefined;
}

/**
 * Sends `heartbeat.progress` every `intervalMs` between `hello` and `final`, so the executor can
 * tell a silent process from a long epoch. A beat is sent from a timer, so a worker whose event
 * loop is blocked (or that is stopped) falls silent, which is the point.
 */
export class ProgressBeat {
  #epoch: number;
  #epochStartedAt: number;
  #cancel: (() => void) | undefined;

  constructor(
    private readonly endpoint: WorkerEndpoint,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly intervalMs: number | undefined,
    firstEpoch: number,
  ) {
    this.#epoch = firstEpoch;
    this.#epochStartedAt = clock.now();
  }

  /** Starts beating, unless no interval was asked for. */
  start(): void {
    if (this.intervalMs !== undefined) this.#schedule(this.intervalMs);
  }

  /** The worker moved on to `epoch`. */
  epochStarted(epoch: number): void {
    this.#epoch = epoch;
    this.#epochStartedAt = this.clock.now();
  }

  stop(): void {
    this.#cancel?.();
    this.#cancel = undefined;
  }

  #schedule(intervalMs: number): void {
    this.#cancel = this.clock.setTimer(intervalMs, () => {
      this.#beat();
      if (this.#cancel) this.#schedule(intervalMs);
    });
  }

  #beat(): void {
    const { rss, heapUsed } = process.memoryUsage();
    this.endpoint
      .send({
        type: 'heartbeat.progress',
        epoch: this.#epoch,
        epoch_elapsed_ms: Math.max(0, this.clock.now() - this.#epochStartedAt),
        rss_bytes: rss,
        heap_used_bytes: heapUsed,
      })
      .catch((error: unknown) => this.log.warn('progress beat not sent', { error: String(error) }));
  }
}
