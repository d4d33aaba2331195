import type { PrimaryMetricName, TaskTypeName, TrialSpec } from '../contracts/index.js';
import { ValidationError } from '../errors/index.js';
import {
  initialBatchSize,
  resolveDeviceProfile,
  type DeviceProfile,
} from '../policy/device-profiles.js';
import { METRIC_MODE, type MetricMode } from '../policy/metric-direction.js';

/** A TrialSpec with every default filled in; internals use this and never re-check. */
export interface ResolvedTrial {
  spec: TrialSpec;
  profile: DeviceProfile;
  mode: MetricMode;
  epochs: number;
  batchSize: number;
  learningRate: number;
  patience: number;
  minDelta: number;
  /** Epochs early stopping ignores at the start. */
  warmupEpochs: number;
  /** The value the primary metric must beat before an improvement counts; null for none. */
  baseline: number | null;
  /** Transient worker failures the trial survives (each followed by a retry). */
  maxFailures: number;
  /** The floor of the out-of-memory batch back-off. */
  minBatchSize: number;
  seed: number;
  valFraction: number;
  /**
   * Seed of the train/validation split, fixed for every trial so that trials with different
   * training seeds share one set of shards (the split is part of the shard cache key).
   */
  splitSeed: number;
  budgetMs: number;
}

/** Documented defaults for the optional `hparams`. */
export const HPARAM_DEFAULTS = {
  epochs: 5,
  learning_rate: 0.005,
  patience: 2,
  min_delta: 0,
  warmup_epochs: 0,
  max_failures: 2,
  min_batch_size: 1,
  seed: 1337,
  val_fraction: 0.2,
} as const;

/** The split seed of every trial; see {@link ResolvedTrial.splitSeed}. */
export const SPLIT_SEED = 1337;

const METRICS_FOR_TASK: Readonly<Record<TaskTypeName, readonly PrimaryMetricName[]>> = {
  classification: ['val_accuracy', 'val_loss'],
  generation: ['val_perplexity', 'val_loss'],
};

/**
 * Checks what the schema cannot (cross-field rules, known profiles) and fills defaults. Throws a
 * ValidationError naming the field.
 */
export function resolveTrialSpec(spec: TrialSpec): ResolvedTrial {
  checkMetricFitsTask(spec);
  const profile = profileOf(spec);
  const h = spec.hparams ?? {};
  const { batchSize, minBatchSize } = batchSizes(spec, profile);
  return {
    spec,
    profile,
    mode: METRIC_MODE[spec.primary_metric],
    epochs: h.epochs ?? HPARAM_DEFAULTS.epochs,
    batchSize,
    learningRate: h.learning_rate ?? HPARAM_DEFAULTS.learning_rate,
    patience: h.patience ?? HPARAM_DEFAULTS.patience,
    minDelta: h.min_delta ?? HPARAM_DEFAULTS.min_delta,
    warmupEpochs: h.warmup_epochs ?? HPARAM_DEFAULTS.warmup_epochs,
    baseline: h.baseline ?? null,
    maxFailures: h.max_failures ?? HPARAM_DEFAULTS.max_failures,
    minBatchSize,
    seed: h.seed ?? HPARAM_DEFAULTS.seed,
    valFraction: h.val_fraction ?? HPARAM_DEFAULTS.val_fraction,
    splitSeed: SPLIT_SEED,
    budgetMs: spec.budget_seconds * 1000,
  };
}

function checkMetricFitsTask(spec: TrialSpec): void {
  const allowed = METRICS_FOR_TASK[spec.task_type];
  if (allowed.includes(spec.primary_metric)) return;
  throw new ValidationError('trial.primary_metric', [
    `trial.primary_metric must be one of ${allowed.join(', ')} for task_type ` +
      `"${spec.task_type}", got "${spec.primary_metric}"`,
  ]);
}

function profileOf(spec: TrialSpec): DeviceProfile {
  try {
    return resolveDeviceProfile(spec.device_profile);
  } catch (error) {
    throw new ValidationError('trial.device_profile', [(error as Error).message]);
  }
}

/** The initial batch (the profile's unless `batch_size` is given) and the back-off floor. */
function batchSizes(
  spec: TrialSpec,
  profile: DeviceProfile,
): { batchSize: number; minBatchSize: number } {
  const h = spec.hparams ?? {};
  const batchSize = h.batch_size ?? initialBatchSize(profile, spec.seq_len, spec.embed_dim);
  const minBatchSize = h.min_batch_size ?? HPARAM_DEFAULTS.min_batch_size;
  if (minBatchSize > batchSize) {
    throw new ValidationError('trial.hparams.min_batch_size', [
      `trial.hparams.min_batch_size must be at most the batch size ${batchSize}, got ${minBatchSize}`,
    ]);
  }
  return { batchSize, minBatchSize };
}
