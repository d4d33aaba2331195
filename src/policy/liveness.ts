export interface LivenessOptions {
  /** A launched worker must say `hello` within this time. */
  startupTimeoutMs: number;
  /** After `hello`, the longest silence (no message of any kind) tolerated. */
  heartbeatTimeoutMs: number;
  /** The next epoch is due within this multiple of the longest epoch seen in the trial. */
  progressFactor: number;
  /** The progress deadline is never shorter than this. */
  progressMinMs: number;
  /** The deadline for an epoch while no epoch of the trial has finished yet. */
  firstEpochTimeoutMs: number;
}

export type LivenessFault = 'startup_timeout' | 'heartbeat_timeout' | 'progress_timeout';

export type LivenessVerdict =
  { kind: 'alive'; nextCheckAt: number } | { kind: LivenessFault; message: string };

interface AttemptMarks {
  launchedAt: number;
  helloAt?: number;
  heardAt?: number;
  lastEpochAt?: number;
}

/**
 * Tells a live worker from a dead, silent or stuck one, from the times its messages arrive.
 * Three deadlines, each checked against the injected clock's `now`:
 *
 * - start-up: `hello` within `startupTimeoutMs` of the launch;
 * - heartbeat: after `hello`, some message (a progress beat counts) within `heartbeatTimeoutMs`
 *   of the previous one;
 * - progress: an `epoch` within `max(progressMinMs, progressFactor × longest epoch)` of the
 *   previous epoch (or of `hello`); before the trial's first epoch, within `firstEpochTimeoutMs`.
 *
 * The longest epoch is kept across attempts: a retry is expected to train at a similar pace.
 * The watchdog decides nothing by itself; the TrialRun asks {@link check} when a timer fires.
 */
export class LivenessWatchdog {
  #marks: AttemptMarks | undefined;
  #longestEpochMs = 0;

  constructor(private readonly options: LivenessOptions) {}

  /** A new attempt's worker was launched. */
  launched(now: number): void {
    this.#marks = { launchedAt: now };
  }

  /** The attempt is over; nothing is due until the next launch. */
  ended(): void {
    this.#marks = undefined;
  }

  heard(now: number): void {
    if (this.#marks) this.#marks.heardAt = now;
  }

  hello(now: number): void {
    if (!this.#marks) return;
    this.#marks.helloAt = now;
    this.#marks.heardAt = now;
  }

  epoch(now: number, durationMs: number): void {
    if (!this.#marks) return;
    this.#marks.lastEpochAt = now;
    this.#marks.heardAt = now;
    this.#longestEpochMs = Math.max(this.#longestEpochMs, durationMs);
  }

  /** How long the next epoch may take, from the epochs seen so far. */
  get progressDeadlineMs(): number {
    const { progressFactor, progressMinMs, firstEpochTimeoutMs } = this.options;
    if (this.#longestEpochMs === 0) return firstEpochTimeoutMs;
    return Math.max(progressMinMs, progressFactor * this.#longestEpochMs);
  }

  check(now: number): LivenessVerdict {
    const marks = this.#marks;
    if (!marks) return { kind: 'alive', nextCheckAt: Number.POSITIVE_INFINITY };
    if (marks.helloAt === undefined) return this.#checkStartup(marks, now);

    const { heartbeatTimeoutMs } = this.options;
    const heardAt = marks.heardAt ?? marks.helloAt;
    const silentUntil = heardAt + heartbeatTimeoutMs;
    if (now >= silentUntil) {
      const message = `no message from the worker for ${now - heardAt} ms (limit ${heartbeatTimeoutMs} ms)`;
      return { kind: 'heartbeat_timeout', message };
    }
    const since = marks.lastEpochAt ?? marks.helloAt;
    const progressUntil = since + this.progressDeadlineMs;
    if (now >= progressUntil) {
      return {
        kind: 'progress_timeout',
        message: `no epoch for ${now - since} ms (limit ${this.progressDeadlineMs} ms)`,
      };
    }
    return { kind: 'alive', nextCheckAt: Math.min(silentUntil, progressUntil) };
  }

  #checkStartup(marks: AttemptMarks, now: number): LivenessVerdict {
    const until = marks.launchedAt + this.options.startupTimeoutMs;
    if (now < until) return { kind: 'alive', nextCheckAt: until };
    return {
      kind: 'startup_timeout',
      message: `no hello within ${this.options.startupTimeoutMs} ms`,
    };
  }
}
