import type {
  BestMetricValue,
  StopReasonName,
  TrialSpec,
  TrialStateName,
} from '../contracts/index.js';
import type { SerializedError } from '../errors/index.js';
import type {
  BatchBackoffRecord,
  CheckpointRecord,
  EpochRecord,
  PendingCancel,
  HandoverRecord,
  StoredMessage,
  StoredTransition,
  TrialRecord,
} from './trial-store.js';

/**
 * Rows as the drivers return them, and their conversion to records. Both databases give TEXT and
 * DOUBLE PRECISION as strings and numbers; PostgreSQL gives BIGINT as a string (it may not fit
 * a double), SQLite as a number, so integer columns go through Number() here.
 */
export interface TrialRow {
  trial_id: string;
  spec_json: string;
  state: string;
  stop_reason: string | null;
  attempt: number | string;
  best_metric_json: string | null;
  best_checkpoint_uri: string | null;
  error_json: string | null;
  owner_id: string | null;
  lease_expires_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface EpochRow {
  trial_id: string;
  attempt: number | string;
  epoch: number | string;
  primary_value: number | null;
  metrics_json: string;
  duration_ms: number;
  recorded_at: string;
}

export interface CheckpointRow {
  trial_id: string;
  attempt: number | string;
  epoch: number | string;
  uri: string;
  bytes: number | string;
  recorded_at: string;
  files_json: string | null;
}

export interface MessageRow {
  trial_id: string;
  seq: number | string;
  type: string;
  payload_json: string;
  recorded_at: string;
  published_at: string | null;
}

export interface TransitionRow {
  from_state: string | null;
  to_state: string;
  reason: string;
  stop_reason: string | null;
  error_json: string | null;
  attempt: number | string;
  at: string;
}

export interface BatchBackoffRow {
  trial_id: string;
  attempt: number | string;
  next_attempt: number | string;
  batch_before: number | string;
  batch_after: number | string;
  reason: string;
  recorded_at: string;
}

export interface PendingCancelRow {
  trial_id: string;
  reason: string;
  command_id: string | null;
  requested_at: string;
  expires_at: string;
}

/** NaN and ±Infinity have no JSON or portable SQL form; the store keeps them as null. */
export function finiteOrNull(value: number | null | undefined): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/** JSON text of `value`; `JSON.stringify` already writes NaN and infinities as null. */
export function toJson(value: unknown): string {
  return JSON.stringify(value ?? null);
}

export function toJsonOrNull(value: unknown): string | null {
  return value == null ? null : JSON.stringify(value);
}

function fromJsonOrNull<T>(text: string | null): T | null {
  return text == null ? null : (JSON.parse(text) as T);
}

export function toTrialRecord(row: TrialRow): TrialRecord {
  return {
    trialId: row.trial_id,
    spec: JSON.parse(row.spec_json) as TrialSpec,
    state: row.state as TrialStateName,
    stopReason: row.stop_reason as StopReasonName | null,
    attempt: Number(row.attempt),
    bestMetric: fromJsonOrNull<BestMetricValue>(row.best_metric_json),
    bestCheckpointUri: row.best_checkpoint_uri,
    error: fromJsonOrNull<SerializedError>(row.error_json),
    owner: row.owner_id,
    leaseExpiresAt: row.lease_expires_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function toEpochRecord(row: EpochRow): EpochRecord {
  return {
    trialId: row.trial_id,
    attempt: Number(row.attempt),
    epoch: Number(row.epoch),
    primary: row.primary_value,
    metrics: JSON.parse(row.metrics_json) as Record<string, number | null>,
    durationMs: row.duration_ms,
    recordedAt: row.recorded_at,
  };
}

export function toCheckpointRecord(row: CheckpointRow): CheckpointRecord {
  return {
    trialId: row.trial_id,
    attempt: Number(row.attempt),
    epoch: Number(row.epoch),
    uri: row.uri,
    bytes: Number(row.bytes),
    ...(row.files_json === null ? {} : { files: JSON.parse(row.files_json) as string[] }),
    recordedAt: row.recorded_at,
  };
}

export function toStoredMessage(row: MessageRow): StoredMessage {
  return {
    trialId: row.trial_id,
    seq: Number(row.seq),
    type: row.type,
    payload: JSON.parse(row.payload_json) as unknown,
    recordedAt: row.recorded_at,
    ...(row.published_at === null ? {} : { publishedAt: row.published_at }),
  };
}

export function toStoredTransition(row: TransitionRow): StoredTransition {
  return {
    from: row.from_state as TrialStateName | null,
    to: row.to_state as TrialStateName,
    reason: row.reason,
    stopReason: row.stop_reason as StopReasonName | null,
    error: fromJsonOrNull<SerializedError>(row.error_json),
    attempt: Number(row.attempt),
    at: row.at,
  };
}

export interface HandoverRow {
  trial_id: string;
  attempt: number | string;
  executor_id: string;
  state: string;
  resume_epoch: number | string | null;
  reason: string;
  recorded_at: string;
}

export function toHandoverRecord(row: HandoverRow): HandoverRecord {
  return {
    trialId: row.trial_id,
    attempt: Number(row.attempt),
    executor: row.executor_id,
    state: row.state as TrialStateName,
    resumeEpoch: row.resume_epoch === null ? null : Number(row.resume_epoch),
    reason: row.reason,
    recordedAt: row.recorded_at,
  };
}

export function toBatchBackoffRecord(row: BatchBackoffRow): BatchBackoffRecord {
  return {
    trialId: row.trial_id,
    attempt: Number(row.attempt),
    nextAttempt: Number(row.next_attempt),
    batchBefore: Number(row.batch_before),
    batchAfter: Number(row.batch_after),
    reason: row.reason,
    recordedAt: row.recorded_at,
  };
}

export function toPendingCancel(row: PendingCancelRow): PendingCancel {
  return {
    trialId: row.trial_id,
    reason: row.reason,
    commandId: row.command_id,
    requestedAt: row.requested_at,
    expiresAt: row.expires_at,
  };
}
