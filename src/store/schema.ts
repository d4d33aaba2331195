/**
 * The one schema of the trial store, as ordered migrations in SQL that PostgreSQL and SQLite both
 * run unchanged. Portability rules: only TEXT, INTEGER, BIGINT and DOUBLE PRECISION columns; JSON
 * is stored as TEXT; timestamps are ISO 8601 TEXT, which sorts chronologically when every writer
 * uses UTC (`toISOString()`); no serial columns, so ordering keys are computed by the store.
 *
 * A published migration never changes: add a new one at the end with the next version.
 */
export interface Migration {
  version: number;
  name: string;
  /** Run in order inside one transaction; one statement per entry, without parameters. */
  statements: readonly string[];
}

/** Records which migrations ran; created before any migration, outside the numbered list. */
export const CREATE_MIGRATIONS_TABLE = `
CREATE TABLE IF NOT EXISTS schema_migrations (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  applied_at TEXT NOT NULL
)`;

export const SELECT_APPLIED_VERSIONS = 'SELECT version FROM schema_migrations ORDER BY version';

export const INSERT_APPLIED_VERSION =
  'INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)';

const initialSchema: Migration = {
  version: 1,
  name: 'initial trial store',
  statements: [
    // transition_count numbers the rows of trial_transitions; updating it also locks the trial
    // row in PostgreSQL, so two writers cannot interleave moves of one trial.
    `CREATE TABLE trials (
      trial_id TEXT PRIMARY KEY,
      spec_json TEXT NOT NULL,
      state TEXT NOT NULL,
      stop_reason TEXT,
      attempt INTEGER NOT NULL,
      best_metric_json TEXT,
      best_checkpoint_uri TEXT,
      error_json TEXT,
      transition_count INTEGER NOT NULL,
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL
    )`,
    `CREATE TABLE trial_transitions (
      trial_id TEXT NOT NULL REFERENCES trials (trial_id),
      position INTEGER NOT NULL,
      from_state TEXT,
      to_state TEXT NOT NULL,
      reason TEXT NOT NULL,
      stop_reason TEXT,
      error_json TEXT,
      attempt INTEGER NOT NULL,
      at TEXT NOT NULL,
      PRIMARY KEY (trial_id, position)
    )`,
    // "primary" is a reserved word in SQL, hence primary_value.
    `CREATE TABLE epoch_metrics (
      trial_id TEXT NOT NULL REFERENCES trials (trial_id),
      attempt INTEGER NOT NULL,
      epoch INTEGER NOT NULL,
      primary_value DOUBLE PRECISION,
      metrics_json TEXT NOT NULL,
      duration_ms DOUBLE PRECISION NOT NULL,
      recorded_at TEXT NOT NULL,
      PRIMARY KEY (trial_id, attempt, epoch)
    )`,
    `CREATE TABLE checkpoints (
      trial_id TEXT NOT NULL REFERENCES trials (trial_id),
      attempt INTEGER NOT NULL,
      epoch INTEGER NOT NULL,
      uri TEXT NOT NULL,
      bytes BIGINT NOT NULL,
      recorded_at TEXT NOT NULL,
      PRIMARY KEY (trial_id, attempt, epoch)
    )`,
    // The future outbox: published_at stays null until the message reached the bus.
    `CREATE TABLE trial_messages (
      trial_id TEXT NOT NULL REFERENCES trials (trial_id),
      seq BIGINT NOT NULL,
      type TEXT NOT NULL,
      payload_json TEXT NOT NULL,
      recorded_at TEXT NOT NULL,
      published_at TEXT,
      PRIMARY KEY (trial_id, seq)
    )`,
  ],
};

/** Every out-of-memory batch back-off: the attempt that ran out and the batch it ran at. */
const batchBackoffs: Migration = {
  version: 2,
  name: 'batch back-offs',
  statements: [
    `CREATE TABLE batch_backoffs (
      trial_id TEXT NOT NULL REFERENCES trials (trial_id),
      attempt INTEGER NOT NULL,
      next_attempt INTEGER NOT NULL,
      batch_before INTEGER NOT NULL,
      batch_after INTEGER NOT NULL,
      reason TEXT NOT NULL,
      recorded_at TEXT NOT NULL,
      PRIMARY KEY (trial_id, attempt)
    )`,
  ],
};

/** Terminal states, as SQL; kept in step with TERMINAL_STATE_FOR in src/trial/trial-fsm.ts. */
export const SQL_TERMINAL_STATES = `('completed', 'early_stopped', 'failed', 'cancelled', 'timed_out')`;

/**
 * Crash recovery and the outbox: which executor owns a trial and until when (a lease it renews),
 * the files of each checkpoint (so another machine can download it to resume), and an index of
 * the messages still waiting for the bus.
 */
const outboxAndLeases: Migration = {
  version: 3,
  name: 'outbox and leases',
  statements: [
    'ALTER TABLE trials ADD COLUMN owner_id TEXT',
    'ALTER TABLE trials ADD COLUMN lease_expires_at TEXT',
    'ALTER TABLE checkpoints ADD COLUMN files_json TEXT',
    `CREATE INDEX trial_messages_unpublished ON trial_messages (trial_id, seq)
      WHERE published_at IS NULL`,
    `CREATE INDEX trials_unfinished ON trials (lease_expires_at)
      WHERE state NOT IN ${SQL_TERMINAL_STATES}`,
  ],
};

/**
 * Cancels a planner sent for a trial whose spec no executor has taken yet (it waits in the
 * intake queue). Not keyed to `trials`, since the trial is not stored yet; each row expires, and
 * expired rows are removed whenever a new one is recorded, so a trial that never arrives leaves
 * nothing behind for long.
 */
const pendingCancels: Migration = {
  version: 4,
  name: 'pending cancels',
  statements: [
    `CREATE TABLE pending_cancels (
      trial_id TEXT PRIMARY KEY,
      reason TEXT NOT NULL,
      command_id TEXT,
      requested_at TEXT NOT NULL,
      expires_at TEXT NOT NULL
    )`,
    'CREATE INDEX pending_cancels_expiry ON pending_cancels (expires_at)',
  ],
};

/**
 * Graceful handovers: an executor that shut down gave the trial up after `attempt` stopped
 * cleanly. The next owner counts the attempts without a row here as failures, so that a
 * handover costs nothing against `max_failures` while a crash still does.
 */
const trialHandovers: Migration = {
  version: 5,
  name: 'trial handovers',
  statements: [
    `CREATE TABLE trial_handovers (
      trial_id TEXT NOT NULL REFERENCES trials (trial_id),
      attempt INTEGER NOT NULL,
      executor_id TEXT NOT NULL,
      state TEXT NOT NULL,
      resume_epoch INTEGER,
      reason TEXT NOT NULL,
      recorded_at TEXT NOT NULL,
      PRIMARY KEY (trial_id, attempt)
    )`,
  ],
};

/** Every migration, in the order it must run. */
export const MIGRATIONS: readonly Migration[] = [
  initialSchema,
  batchBackoffs,
  outboxAndLeases,
  pendingCancels,
  trialHandovers,
];

/** The migrations not yet in `applied`, in order. */
export function pendingMigrations(applied: ReadonlySet<number>): Migration[] {
  return MIGRATIONS.filter((m) => !applied.has(m.version));
}
