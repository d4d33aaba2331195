/**
 * The one registry of stable error codes. A code never changes meaning once published: planners
 * and dashboards match on it. Add new codes at the end of their group.
 */
export const ErrorCodes = {
  /** A message failed its JSON Schema; the message names the field and the expectation. */
  INVALID_MESSAGE: 'AUTOMAT_E_INVALID_MESSAGE',
  /** A message body was not parseable JSON. */
  INVALID_JSON: 'AUTOMAT_E_INVALID_JSON',
  /** A value was valid JSON Schema-wise but refers to something unknown (profile, tokenizer). */
  UNKNOWN_REFERENCE: 'AUTOMAT_E_UNKNOWN_REFERENCE',
  /** A requested lifecycle transition is not legal from the current state. */
  ILLEGAL_STATE: 'AUTOMAT_E_ILLEGAL_STATE',
  DATASET_NOT_FOUND: 'AUTOMAT_E_DATASET_NOT_FOUND',
  DATASET_INVALID: 'AUTOMAT_E_DATASET_INVALID',
  TOKENIZER_INVALID: 'AUTOMAT_E_TOKENIZER_INVALID',
  SHARD_CORRUPT: 'AUTOMAT_E_SHARD_CORRUPT',
  WORKER_START_FAILED: 'AUTOMAT_E_WORKER_START_FAILED',
  WORKER_CRASHED: 'AUTOMAT_E_WORKER_CRASHED',
  WORKER_TIMEOUT: 'AUTOMAT_E_WORKER_TIMEOUT',
  WORKER_REPORTED_FAILURE: 'AUTOMAT_E_WORKER_REPORTED_FAILURE',
  TRAINING_FAILED: 'AUTOMAT_E_TRAINING_FAILED',
  STORE_UNAVAILABLE: 'AUTOMAT_E_STORE_UNAVAILABLE',
  STORE_CONFLICT: 'AUTOMAT_E_STORE_CONFLICT',
  /** The store's tables are not there: its schema was never migrated, or is the wrong one. */
  STORE_NOT_MIGRATED: 'AUTOMAT_E_STORE_NOT_MIGRATED',
  BUS_UNAVAILABLE: 'AUTOMAT_E_BUS_UNAVAILABLE',
  BUS_CLOSED: 'AUTOMAT_E_BUS_CLOSED',
  ARTIFACT_UNAVAILABLE: 'AUTOMAT_E_ARTIFACT_UNAVAILABLE',
  ARTIFACT_NOT_FOUND: 'AUTOMAT_E_ARTIFACT_NOT_FOUND',
  CONFIG_INVALID: 'AUTOMAT_E_CONFIG_INVALID',
  CANCELLED: 'AUTOMAT_E_CANCELLED',
  INTERNAL: 'AUTOMAT_E_INTERNAL',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

const knownCodes = new Set<string>(Object.values(ErrorCodes));

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && knownCodes.has(value);
}
