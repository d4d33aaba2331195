import type {
  BestMetricValue,
  StopReasonName,
  TrialSpec,
  TrialStateName,
} from '../contracts/index.js';
import type { SerializedError } from '../errors/index.js';

/**
 * Durable record of trials: their specs, lifecycle, per-epoch metrics, checkpoints, results and
 * every bus message. Two implementations share one schema and one set of SQL statements:
 * {@link PostgresTrialStore} for the long-running executor, {@link SqliteTrialStore} for
 * `automat0 run`. Timestamps are ISO 8601 strings supplied by the caller's clock.
 *
 * Every method rejects with an `AutomatError` whose code is `AUTOMAT_E_STORE_UNAVAILABLE` (the
 * database cannot be reached, or the store was closed), `AUTOMAT_E_STORE_CONFLICT` (a write
 * contradicts what is stored) or `AUTOMAT_E_INTERNAL`; never with a raw driver error.
 */
export interface TrialStore extends OutboxStore, LeaseStore, PendingCancelStore {
  /** Creates or upgrades the schema; idempotent and safe to run from several processes at once. */
  migrate(): Promise<void>;
  /**
   * Inserts the trial in state `queued`, attempt 1, held under `lease` when given; an existing
   * trial is left untouched.
   */
  createTrial(spec: TrialSpec, at: string, lease?: Lease): Promise<{ created: boolean }>;
  /**
   * Moves the trial to `to` and appends the move to its history. `from` must match the stored
   * state (or be null for the trial's first recorded move); otherwise another writer got there
   * first and the call rejects with `AUTOMAT_E_STORE_CONFLICT`, changing nothing.
   */
  recordTransition(transition: TransitionInput): Promise<void>;
  /** Stores a bus message by `(trialId, seq)`; a second message with the same key is ignored. */
  recordMessage(message: StoredMessage): Promise<{ recorded: boolean }>;
  /** Inserts or replaces the metrics of `(trialId, attempt, epoch)`. */
  recordEpoch(epoch: EpochRecord): Promise<void>;
  /** Inserts or replaces the checkpoint of `(trialId, attempt, epoch)`. */
  recordCheckpoint(checkpoint: CheckpointRecord): Promise<void>;
  /** Sets the trial's best metric and best checkpoint. */
  recordResult(result: ResultInput): Promise<void>;
  getTrial(trialId: string): Promise<TrialRecord | undefined>;
  /** Ordered by attempt, then epoch. */
  listEpochs(trialId: string): Promise<EpochRecord[]>;
  /** Ordered by attempt, then epoch. */
  listCheckpoints(trialId: string): Promise<CheckpointRecord[]>;
  /** Ordered by seq. */
  listMessages(trialId: string): Promise<StoredMessage[]>;
  /** In the order they were recorded. */
  listTransitions(trialId: string): Promise<StoredTransition[]>;
  /** Inserts or replaces the back-off that followed `(trialId, attempt)`. */
  recordBatchBackoff(backoff: BatchBackoffRecord): Promise<void>;
  /** Ordered by attempt. */
  listBatchBackoffs(trialId: string): Promise<BatchBackoffRecord[]>;
  /** Releases connections; idempotent, and every call returns the same promise. */
  close(): Promise<void>;
}

/**
 * The transactional outbox: every heartbeat and event is stored (recordMessage) before it is
 * published, and marked once the broker confirmed it. Rows left unmarked by a broker outage or a
 * crash are published again, in `seq` order, by whoever holds the trial's lease.
 */
export interface OutboxStore {
  /** The trial's messages not yet marked published, in `seq` order, at most `limit`. */
  listUnpublished(trialId: string, limit: number): Promise<StoredMessage[]>;
  /**
   * Trials with unpublished messages that `owner` may publish: its own, and those whose lease
   * has expired by `now` or that nobody holds. At most `limit`.
   */
  listTrialsWithUnpublished(owner: string, now: string, limit: number): Promise<string[]>;
  /** Marks a message published; a message that is not stored changes nothing. */
  markPublished(trialId: string, seq: number, at: string): Promise<void>;
  /** One more than the trial's highest stored `seq`, or 0 when it has none. */
  nextSeq(trialId: string): Promise<number>;
}

/**
 * Cancels a planner sent for a trial no executor has received yet: its spec still waits in the
 * intake queue. Whoever stores the trial later, on any executor sharing the database, finds the
 * cancel and ends the trial cancelled at once (docs/generation.md#cancel).
 *
 * The two sides write first and read second — the cancel is recorded, then the trial looked up;
 * the trial is created, then its cancel looked up — each a statement of its own. So when
 * recordPendingCancel finds no trial, the later createTrial's getPendingCancel is bound to find
 * the cancel: no trial can slip between them and run.
 */
export interface PendingCancelStore {
  /**
   * Removes the pending cancels expired by `cancel.requestedAt`, records this one (a trial that
   * already has one keeps its reason and command, and the later expiry of the two), then
   * resolves to the trial's stored state: null when the
   * trial is not stored, so the cancel is sure to be found when it is; a state when the trial
   * arrived meanwhile and may have missed the cancel.
   */
  recordPendingCancel(cancel: PendingCancel): Promise<TrialStateName | null>;
  /** The trial's pending cancel, unless it expired before `now`. */
  getPendingCancel(trialId: string, now: string): Promise<PendingCancel | undefined>;
  /** Forgets the trial's pending cancel; resolves to whether there was one. */
  deletePendingCancel(trialId: string): Promise<boolean>;
}

/** A cancel waiting for its trial's spec to arrive. */
export interface PendingCancel {
  trialId: string;
  /** Recorded with the trial's cancellation, e.g. `planner: seen enough`. */
  reason: string;
  /** The planner command's command_id, or null when it had none. */
  commandId: string | null;
  requestedAt: string;
  /** ISO 8601; a spec that arrives after this instant runs as if never cancelled. */
  expiresAt: string;
}

/** Who runs a trial: the executor holding its lease, which it renews while it works on it. */
export interface Lease {
  /** The executor's id (see `executorId`). */
  owner: string;
  /** ISO 8601; the lease is free to take after this instant. */
  expiresAt: string;
}

export interface LeaseStore {
  /**
   * Takes the trial's lease when nobody holds it, `lease.owner` already does, or the holder let
   * it expire before `now`. Resolves to whether `lease.owner` holds it now.
   */
  claimTrial(trialId: string, lease: Lease, now: string): Promise<boolean>;
  /**
   * Extends every lease `lease.owner` holds on a trial that is unfinished or still has unpublished
   * messages; resolves to the ids of those trials. A trial missing from the answer was taken over.
   */
  renewLeases(lease: Lease): Promise<string[]>;
  /** Unfinished trials whose lease expired before `now`, or that nobody holds; at most `limit`. */
  listOrphanedTrials(now: string, limit: number): Promise<string[]>;
  /**
   * Gives the trial's lease up at once, so that another executor may claim it without waiting
   * for it to expire; resolves to whether `owner` held it (otherwise nothing changes).
   */
  releaseLease(trialId: string, owner: string): Promise<boolean>;
  /** Inserts or replaces the handover of `(trialId, attempt)`. */
  recordHandover(handover: HandoverRecord): Promise<void>;
  /** Ordered by attempt. */
  listHandovers(trialId: string): Promise<HandoverRecord[]>;
}

/**
 * An attempt that ended because its executor shut down gracefully and handed the trial over:
 * not a failure. Attempts without one that a takeover finds ended by a crash or a failure.
 */
export interface HandoverRecord {
  trialId: string;
  attempt: number;
  /** The executor that handed the trial over. */
  executor: string;
  /** The state the trial was left in. */
  state: TrialStateName;
  /** The epoch of the latest checkpoint, which the next attempt resumes from. */
  resumeEpoch: number | null;
  reason: string;
  recordedAt: string;
}

export interface TrialRecord {
  trialId: string;
  spec: TrialSpec;
  state: TrialStateName;
  stopReason: StopReasonName | null;
  /** Starts at 1; raised by a transition that carries a new attempt number. */
  attempt: number;
  bestMetric: BestMetricValue | null;
  bestCheckpointUri: string | null;
  /** The latest error a transition carried. */
  error: SerializedError | null;
  /** The executor holding the lease, or null. */
  owner: string | null;
  leaseExpiresAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface TransitionInput {
  trialId: string;
  /** The state the caller believes the trial is in; null for its first recorded move. */
  from: TrialStateName | null;
  to: TrialStateName;
  reason: string;
  stopReason?: StopReasonName;
  error?: SerializedError;
  /** The attempt from now on; omitted keeps the current one. */
  attempt?: number;
  at: string;
}

export interface StoredTransition {
  from: TrialStateName | null;
  to: TrialStateName;
  reason: string;
  stopReason: StopReasonName | null;
  error: SerializedError | null;
  /** The trial's attempt once the move was made. */
  attempt: number;
  at: string;
}

export interface EpochRecord {
  trialId: string;
  attempt: number;
  epoch: number;
  /** Null when the value was missing, NaN or infinite. */
  primary: number | null;
  /** NaN and infinite values are stored, and read back, as null. */
  metrics: Record<string, number | null>;
  durationMs: number;
  recordedAt: string;
}

export interface CheckpointRecord {
  trialId: string;
  attempt: number;
  epoch: number;
  uri: string;
  bytes: number;
  /** Paths of its files relative to `uri`, when known (stored from schema version 3 on). */
  files?: readonly string[];
  recordedAt: string;
}

export interface StoredMessage {
  trialId: string;
  /** The executor's per-trial sequence number shared by heartbeats and lifecycle events. */
  seq: number;
  type: string;
  /** Any JSON value; NaN and infinite numbers inside it become null. */
  payload: unknown;
  recordedAt: string;
  /** When the broker confirmed it; absent while it waits in the outbox. */
  publishedAt?: string;
}

export interface ResultInput {
  trialId: string;
  bestMetric: BestMetricValue | null;
  bestCheckpointUri: string | null;
  at: string;
}

/** An out-of-memory back-off: `attempt` ran out of memory at `batchBefore`. */
export interface BatchBackoffRecord {
  trialId: string;
  attempt: number;
  /** The attempt that runs at `batchAfter`. */
  nextAttempt: number;
  batchBefore: number;
  batchAfter: number;
  /** How the out-of-memory condition was detected. */
  reason: string;
  recordedAt: string;
}
