import { ValidationError } from '../errors/index.js';

/**
 * `<prefix>/trials/<schema>`: where one deployment's checkpoints go in S3. Trial ids are unique
 * within a deployment (its database schema), not across deployments sharing a bucket, so the
 * schema keeps two deployments from overwriting each other's checkpoints. Shards, which are
 * content-addressed, are shared under `<prefix>/shards/` instead.
 */
export function trialsPrefix(prefix: string, databaseSchema: string): string {
  return joinKey(prefix, 'trials', databaseSchema);
}

/** `<trial_id>/<attempt>/epoch-<n>`: where one epoch's checkpoint folder goes. */
export function checkpointKeyPrefix(trialId: string, attempt: number, epoch: number): string {
  return `${trialId}/${attempt}/epoch-${epoch}`;
}

/**
 * Checks a key or prefix and returns it without leading or trailing `/`. Refusing `.` and `..`
 * segments keeps the local store inside its folder and S3 keys free of surprises.
 */
export function normalizeKey(key: string, field: string, allowEmpty = false): string {
  const trimmed = key.replace(/^\/+|\/+$/g, '');
  const segments = trimmed === '' ? [] : trimmed.split('/');
  const bad = segments.find((s) => s === '' || s === '.' || s === '..' || s.includes('\\'));
  if (bad !== undefined || (!allowEmpty && segments.length === 0)) {
    throw new ValidationError(field, [
      `${field} must be ${allowEmpty ? 'empty or ' : ''}"/"-separated names without ` +
        `empty, ".", ".." or "\\" parts, got ${JSON.stringify(key)}`,
    ]);
  }
  return trimmed;
}

/** Joins normalised parts, skipping empty ones. */
export function joinKey(...parts: string[]): string {
  return parts.filter((p) => p !== '').join('/');
}
