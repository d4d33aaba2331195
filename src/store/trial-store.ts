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
export interface TrialStore {
  /** Creates or upgrades the schema; idempotent and safe to run from several processes at once. */
  migrate(): Promise<void>;
  /** Inserts the trial in state `queued`, attempt 1; an existing trial is left untouched. */
  createTrial(spec: TrialSpec, at: string): Promise<{ created: boolean }>;
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
