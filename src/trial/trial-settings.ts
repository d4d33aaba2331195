/**
 * Executor-wide policy settings, the same for every trial. Per-trial settings (patience,
 * budget, max_failures, …) come from the TrialSpec instead; see ResolvedTrial.
 */
export interface PolicySettings {
  /** After `hello`, the longest a worker may stay silent before it is killed. Default 60 s. */
  heartbeatTimeoutMs: number;
  /** The next epoch is due within this multiple of the longest epoch so far. Default 3. */
  progressFactor: number;
  /** The progress deadline is never shorter than this. Default 120 s. */
  progressMinMs: number;
  /** The deadline of a trial's first epoch, before any epoch time is known. Default 1 h. */
  firstEpochTimeoutMs: number;
  /** Pause before the first retry of a failed attempt; doubles per failure. Default 1 s. */
  retryBaseDelayMs: number;
  /** The longest pause between retries. Default 60 s. */
  retryMaxDelayMs: number;
  /** A worker's heap limit in MiB; undefined uses the device profile's memory. */
  workerMemoryMiB: number | undefined;
  /** How long a finishing trial keeps retrying checkpoint uploads that failed. Default 30 s. */
  checkpointFlushMs: number;
}

export const POLICY_DEFAULTS: PolicySettings = {
  heartbeatTimeoutMs: 60_000,
  progressFactor: 3,
  progressMinMs: 120_000,
  firstEpochTimeoutMs: 3_600_000,
  retryBaseDelayMs: 1_000,
  retryMaxDelayMs: 60_000,
  workerMemoryMiB: undefined,
  checkpointFlushMs: 30_000,
};

/** Everything a TrialRun is configured with by its executor. */
export interface TrialSettings extends PolicySettings {
  /** Grace after a graceful stop request (or a failed `final`) before the worker is killed. */
  stopGraceMs: number;
  /** Time a launched worker has to say `hello`. */
  startupTimeoutMs: number;
  /** Local folder under which workers write checkpoints, `<dir>/<trial>/<attempt>/epoch-<n>`. */
  checkpointDir: string;
}
