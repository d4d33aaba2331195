import { SQL_TERMINAL_STATES } from './schema.js';

/**
 * Every statement the trial store runs after migration, written once with PostgreSQL's `$1`
 * placeholders. SQLite reads `$1` as a parameter named "1", which the SQLite driver binds by
 * name, so the text runs unchanged on both. `ON CONFLICT` and `RETURNING` need SQLite 3.35 or
 * later; better-sqlite3 12 bundles a newer one.
 */
export const TrialStoreQueries = {
  insertTrial: `
    INSERT INTO trials (trial_id, spec_json, state, stop_reason, attempt, best_metric_json,
      best_checkpoint_uri, error_json, transition_count, created_at, updated_at, owner_id,
      lease_expires_at)
    VALUES ($1, $2, 'queued', NULL, 1, NULL, NULL, NULL, 0, $3, $3, $4, $5)
    ON CONFLICT (trial_id) DO NOTHING`,

  // The guard on from_state makes a stale writer change nothing; the caller then tells "unknown
  // trial" from "state moved on" with selectTrialState.
  advanceTrial: `
    UPDATE trials
    SET state = $3,
      stop_reason = COALESCE($4, stop_reason),
      error_json = COALESCE($5, error_json),
      attempt = COALESCE($6, attempt),
      transition_count = transition_count + 1,
      updated_at = $7
    WHERE trial_id = $1
      AND ((CAST($2 AS TEXT) IS NULL AND transition_count = 0) OR state = $2)
    RETURNING transition_count, attempt`,

  selectTrialState: 'SELECT state, transition_count FROM trials WHERE trial_id = $1',

  insertTransition: `
    INSERT INTO trial_transitions (trial_id, position, from_state, to_state, reason, stop_reason,
      error_json, attempt, at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,

  insertMessage: `
    INSERT INTO trial_messages (trial_id, seq, type, payload_json, recorded_at, published_at)
    VALUES ($1, $2, $3, $4, $5, $6)
    ON CONFLICT (trial_id, seq) DO NOTHING`,

  upsertEpoch: `
    INSERT INTO epoch_metrics (trial_id, attempt, epoch, primary_value, metrics_json, duration_ms,
      recorded_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7)
    ON CONFLICT (trial_id, attempt, epoch) DO UPDATE SET
      primary_value = excluded.primary_value,
      metrics_json = excluded.metrics_json,
      duration_ms = excluded.duration_ms,
      recorded_at = excluded.recorded_at`,

  upsertCheckpoint: `
    INSERT INTO checkpoints (trial_id, attempt, epoch, uri, bytes, recorded_at, files_json)
    VALUES ($1, $2, $3, $4, $5, $6, $7)
    ON CONFLICT (trial_id, attempt, epoch) DO UPDATE SET
      uri = excluded.uri,
      bytes = excluded.bytes,
      recorded_at = excluded.recorded_at,
      files_json = excluded.files_json`,

  updateResult: `
    UPDATE trials SET best_metric_json = $2, best_checkpoint_uri = $3, updated_at = $4
    WHERE trial_id = $1`,

  selectTrial: `
    SELECT trial_id, spec_json, state, stop_reason, attempt, best_metric_json, best_checkpoint_uri,
      error_json, owner_id, lease_expires_at, created_at, updated_at
    FROM trials WHERE trial_id = $1`,

  selectEpochs: `
    SELECT trial_id, attempt, epoch, primary_value, metrics_json, duration_ms, recorded_at
    FROM epoch_metrics WHERE trial_id = $1 ORDER BY attempt, epoch`,

  selectCheckpoints: `
    SELECT trial_id, attempt, epoch, uri, bytes, recorded_at, files_json
    FROM checkpoints WHERE trial_id = $1 ORDER BY attempt, epoch`,

  selectMessages: `
    SELECT trial_id, seq, type, payload_json, recorded_at, published_at
    FROM trial_messages WHERE trial_id = $1 ORDER BY seq`,

  upsertBatchBackoff: `
    INSERT INTO batch_backoffs (trial_id, attempt, next_attempt, batch_before, batch_after,
      reason, recorded_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7)
    ON CONFLICT (trial_id, attempt) DO UPDATE SET
      next_attempt = excluded.next_attempt,
      batch_before = excluded.batch_before,
      batch_after = excluded.batch_after,
      reason = excluded.reason,
      recorded_at = excluded.recorded_at`,

  selectBatchBackoffs: `
    SELECT trial_id, attempt, next_attempt, batch_before, batch_after, reason, recorded_at
    FROM batch_backoffs WHERE trial_id = $1 ORDER BY attempt`,

  selectTransitions: `
    SELECT from_state, to_state, reason, stop_reason, error_json, attempt, at
    FROM trial_transitions WHERE trial_id = $1 ORDER BY position`,
} as const;

/** The outbox and the leases; see OutboxStore and LeaseStore. */
export const OutboxLeaseQueries = {
  selectUnpublished: `
    SELECT trial_id, seq, type, payload_json, recorded_at, published_at
    FROM trial_messages WHERE trial_id = $1 AND published_at IS NULL ORDER BY seq LIMIT $2`,

  // The CASTs tell PostgreSQL the parameters' types, which it cannot infer inside OR.
  selectTrialsWithUnpublished: `
    SELECT DISTINCT m.trial_id FROM trial_messages m JOIN trials t ON t.trial_id = m.trial_id
    WHERE m.published_at IS NULL
      AND (t.owner_id IS NULL OR t.owner_id = CAST($1 AS TEXT)
        OR t.lease_expires_at < CAST($2 AS TEXT))
    ORDER BY m.trial_id LIMIT $3`,

  markPublished: `
    UPDATE trial_messages SET published_at = $3
    WHERE trial_id = $1 AND seq = $2 AND published_at IS NULL`,

  selectNextSeq: `
    SELECT COALESCE(MAX(seq) + 1, 0) AS next_seq FROM trial_messages WHERE trial_id = $1`,

  claimTrial: `
    UPDATE trials SET owner_id = $2, lease_expires_at = $3
    WHERE trial_id = $1
      AND (owner_id IS NULL OR owner_id = $2 OR lease_expires_at < CAST($4 AS TEXT))`,

  renewLeases: `
    UPDATE trials SET lease_expires_at = $2
    WHERE owner_id = $1
      AND (state NOT IN ${SQL_TERMINAL_STATES} OR EXISTS (
        SELECT 1 FROM trial_messages m
        WHERE m.trial_id = trials.trial_id AND m.published_at IS NULL))
    RETURNING trial_id`,

  releaseLease: `
    UPDATE trials SET owner_id = NULL, lease_expires_at = NULL
    WHERE trial_id = $1 AND owner_id = $2`,

  upsertHandover: `
    INSERT INTO trial_handovers (trial_id, attempt, executor_id, state, resume_epoch, reason,
      recorded_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7)
    ON CONFLICT (trial_id, attempt) DO UPDATE SET
      executor_id = excluded.executor_id,
      state = excluded.state,
      resume_epoch = excluded.resume_epoch,
      reason = excluded.reason,
      recorded_at = excluded.recorded_at`,

  selectHandovers: `
    SELECT trial_id, attempt, executor_id, state, resume_epoch, reason, recorded_at
    FROM trial_handovers WHERE trial_id = $1 ORDER BY attempt`,

  selectOrphanedTrials: `
    SELECT trial_id FROM trials
    WHERE state NOT IN ${SQL_TERMINAL_STATES}
      AND (owner_id IS NULL OR lease_expires_at < CAST($1 AS TEXT))
    ORDER BY created_at, trial_id LIMIT $2`,
} as const;

/** Cancels waiting for their trial's spec; see PendingCancelStore. */
export const PendingCancelQueries = {
  purgeExpiredCancels: 'DELETE FROM pending_cancels WHERE expires_at < $1',

  // A second cancel for the same trial keeps the first one's reason and command, and moves the
  // expiry to the later of the two.
  upsertPendingCancel: `
    INSERT INTO pending_cancels (trial_id, reason, command_id, requested_at, expires_at)
    VALUES ($1, $2, $3, $4, $5)
    ON CONFLICT (trial_id) DO UPDATE SET
      expires_at = CASE WHEN excluded.expires_at > pending_cancels.expires_at
        THEN excluded.expires_at ELSE pending_cancels.expires_at END`,

  selectPendingCancel: `
    SELECT trial_id, reason, command_id, requested_at, expires_at
    FROM pending_cancels WHERE trial_id = $1 AND expires_at >= $2`,

  deletePendingCancel: 'DELETE FROM pending_cancels WHERE trial_id = $1',
} as const;
